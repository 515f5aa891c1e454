//! AI agents through the edge in workerd, with the language model played by the stand-in
//! (`tests/stand-ins/model.mjs`, the one stand-in allowed: it streams scripted chunks, tool
//! calls, errors and slow answers): the answer streams to the visitor's private topic and is
//! stored once, the articles reach the prompt, the handoff button and tool queue the chat,
//! failures and timeouts hand off with a message and no stuck draft, a takeover drops a racing
//! answer, budgets refuse, a site's own provider is used with its key, and the cron answers
//! what no post did.

mod common;

use chat_client::realtime::RowChange;
use chat_client::realtime::client::{Event, JoinConfig};
use chat_core::api::{DRAFT_EVENT, DRAFT_SEQ, Message, MessagePage, Session};
use common::socket::Socket;
use common::{client, connect_as_user, database, edge, env, join_online, new_site, new_user};
use serde_json::{Value, json};
use sqlx::PgPool;
use std::time::Duration;
use uuid::Uuid;

/// A site with AI answering on (agent Maya, the default) and no pre-chat fields.
async fn ai_site(db: &PgPool) -> (Uuid, String) {
    let owner = new_user(db).await;
    let (site, key) = new_site(db, owner).await;
    sqlx::query("update public.widget_settings set require_name = false, require_email = false where site_id = $1")
        .bind(site)
        .execute(db)
        .await
        .unwrap();
    let agent: Uuid = sqlx::query_scalar(
        "insert into public.agents (site_id, name, persona, model) values ($1, 'Maya', 'Warm and brief.', 'stand-in-model') \
         returning id",
    )
    .bind(site)
    .fetch_one(db)
    .await
    .unwrap();
    sqlx::query("update public.site_ai_settings set enabled = true, default_agent_id = $2 where site_id = $1")
        .bind(site)
        .bind(agent)
        .execute(db)
        .await
        .unwrap();
    (site, key)
}

async fn session(key: &str) -> Session {
    let response =
        client().post(format!("{}/v1/sessions", edge())).json(&json!({"site_key": key})).send().await.unwrap();
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

async fn post(session: &Session, id: Uuid, content: &str) -> u16 {
    let response = client()
        .post(format!("{}/v1/messages", edge()))
        .bearer_auth(&session.guest_jwt)
        .json(&json!({"client_msg_id": id, "content": content}))
        .send()
        .await
        .unwrap();
    response.status().as_u16()
}

async fn history(session: &Session) -> MessagePage {
    let response =
        client().get(format!("{}/v1/messages?limit=100", edge())).bearer_auth(&session.guest_jwt).send().await.unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// The guest's history once it has a message from `sender` of `kind`; panics after 15 s.
async fn until_reply(session: &Session, sender: &str, kind: &str) -> MessagePage {
    for _ in 0..150 {
        let page = history(session).await;
        if page
            .messages
            .iter()
            .any(|m| serde_json::to_value(m.sender_type).unwrap() == sender && m.metadata.kind.as_deref() == Some(kind))
        {
            return page;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no {sender} message of kind {kind}: {:?}", history(session).await.messages);
}

/// What the model stand-in was sent with `marker` in its last message.
async fn model_requests(marker: &str) -> Vec<Value> {
    let all: Vec<Value> =
        client().get(format!("{}/requests", env("STACK_MODEL_URL"))).send().await.unwrap().json().await.unwrap();
    all.into_iter()
        .filter(|r| {
            r["body"]["messages"]
                .as_array()
                .and_then(|m| m.last())
                .and_then(|m| m["content"].as_str())
                .is_some_and(|text| text.contains(marker))
        })
        .collect()
}

async fn status(db: &PgPool, session: &Session) -> String {
    sqlx::query_scalar("select status from public.conversations where id = $1")
        .bind(session.conversation_id)
        .fetch_one(db)
        .await
        .unwrap()
}

/// A draft of the agent's answer (a row change), if the broadcast is one.
fn draft(event: &Event) -> Option<Message> {
    match event {
        Event::Broadcast { event, payload, .. } if event == DRAFT_EVENT => {
            payload.decode::<RowChange<Message>>().map(|change| change.record)
        }
        _ => None,
    }
}

#[tokio::test]
async fn a_streamed_answer_reaches_the_visitor_in_pieces_and_is_stored_once() {
    let db = database().await;
    let (site, key) = ai_site(&db).await;
    sqlx::query(
        "insert into public.knowledge_articles (site_id, title, body, is_published) \
         values ($1, 'Price list', 'Socks cost 5 euros a pair; prices include taxes.', true)",
    )
    .bind(site)
    .execute(&db)
    .await
    .unwrap();
    let visitor = session(&key).await;
    let mut socket = Socket::open(&visitor.guest_jwt).await;
    let topic = format!("conversation:{}", visitor.conversation_id);
    let joined = socket.join(&topic, JoinConfig { private: true, ..JoinConfig::default() }).await;
    assert_eq!(joined, Event::Joined { topic: topic.clone() });

    let marker = Uuid::new_v4().to_string();
    let question = format!("What are your prices? [pieces] {marker}");
    let id = Uuid::new_v4();
    assert_eq!(post(&visitor, id, &question).await, 201);

    // "Thinking" at once (`…`), then the answer as it forms, all under the id it is stored
    // with and after every message, then the stored answer itself.
    let mut drafts = Vec::new();
    let stored = loop {
        let Some(row) = draft(&socket.until(|e| draft(e).is_some()).await) else { unreachable!() };
        if row.seq != DRAFT_SEQ {
            break row;
        }
        assert!(row.deleted_at.is_none());
        drafts.push((row.id, row.content));
    };
    assert!(drafts.iter().all(|(id, _)| *id == stored.id), "one id from thinking to the stored answer");
    let drafts: Vec<String> = drafts.into_iter().map(|(_, text)| text).collect();
    assert_eq!(drafts.first().map(String::as_str), Some("…"), "thinking first: {drafts:?}");
    let texts: Vec<&String> = drafts.iter().skip(1).collect();
    assert!(texts.len() >= 2, "the answer arrives in pieces: {drafts:?}");
    assert!(texts.windows(2).all(|w| w[1].starts_with(w[0].as_str())), "each draft extends the last: {drafts:?}");

    let page = until_reply(&visitor, "ai", "ai_reply").await;
    let answer = page.messages.iter().find(|m| m.metadata.kind.as_deref() == Some("ai_reply")).unwrap();
    // The same instant, written by jsonb (trailing zeros of the microseconds dropped) or PostgREST.
    let instant = |at: &str| {
        at.split_once('+').map(|(t, z)| format!("{}+{z}", t.trim_end_matches('0').trim_end_matches('.'))).unwrap()
    };
    assert_eq!(instant(&answer.created_at), instant(&stored.created_at));
    let stored = Message { created_at: answer.created_at.clone(), ..stored };
    assert_eq!(answer, &stored, "the last broadcast is the stored answer as the history has it");
    assert_eq!(answer.content, "Price list: Socks cost 5 euros a pair; prices include taxes. [1]");
    assert_eq!(&answer.content, texts.last().unwrap().as_str());

    // The article reached the prompt; the deployment's key went to the provider.
    let sent = model_requests(&marker).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["authorization"], "Bearer stand-in-deployment-key");
    assert_eq!(sent[0]["body"]["model"], "stand-in-model");
    assert!(sent[0]["body"]["messages"][0]["content"].as_str().unwrap().contains("[1] Price list"));
    let (sources, tokens): (Value, Option<i32>) = sqlx::query_as(
        "select metadata -> 'sources', ai_completion_tokens from public.messages \
         where conversation_id = $1 and sender_type = 'ai'",
    )
    .bind(visitor.conversation_id)
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(sources[0]["title"], "Price list");
    assert!(tokens.unwrap() > 0);

    // The visitor's retry is answered once: no second model call, no second answer.
    assert_eq!(post(&visitor, id, &question).await, 200);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(model_requests(&marker).await.len(), 1);
    let answers =
        history(&visitor).await.messages.into_iter().filter(|m| m.metadata.kind.as_deref() == Some("ai_reply"));
    assert_eq!(answers.count(), 1);
    assert_eq!(status(&db, &visitor).await, "bot");
}

#[tokio::test]
async fn the_handoff_tool_and_the_button_queue_the_chat_and_stop_the_agent() {
    let db = database().await;
    let (_, key) = ai_site(&db).await;

    let asked = session(&key).await;
    assert_eq!(post(&asked, Uuid::new_v4(), "[handoff] Can I talk to someone?").await, 201);
    let page = until_reply(&asked, "system", "handoff").await;
    let said: Vec<_> = page.messages.iter().skip(1).map(|m| m.content.as_str()).collect();
    assert_eq!(
        said,
        [
            "Of course, let me find a person for you.",
            "I'm passing you to a person from our team. They will answer here as soon as they can."
        ]
    );
    assert_eq!(status(&db, &asked).await, "waiting");

    let pressed = session(&key).await;
    for _ in 0..2 {
        let response =
            client().post(format!("{}/v1/handoff", edge())).bearer_auth(&pressed.guest_jwt).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.json::<Value>().await.unwrap(), json!({"status": "waiting"}));
    }
    assert_eq!(history(&pressed).await.messages.len(), 1, "one handoff message");

    // The agent is done with both: the next messages reach no model.
    let marker = Uuid::new_v4().to_string();
    for visitor in [&asked, &pressed] {
        assert_eq!(post(visitor, Uuid::new_v4(), &format!("Hello? {marker}")).await, 201);
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(model_requests(&marker).await.is_empty());
    let unauthorized = client().post(format!("{}/v1/handoff", edge())).send().await.unwrap();
    assert_eq!(unauthorized.status(), 401);
}

#[tokio::test]
async fn provider_errors_and_timeouts_hand_off_with_a_message_and_no_stuck_draft() {
    let db = database().await;
    let (_, key) = ai_site(&db).await;
    for (marker, opening) in [
        ("[error]", "Our assistant could not answer just now."),
        ("[cut]", "Our assistant could not answer just now."),
        ("[slow]", "Our assistant took too long to answer."),
    ] {
        let visitor = session(&key).await;
        let mut socket = Socket::open(&visitor.guest_jwt).await;
        let topic = format!("conversation:{}", visitor.conversation_id);
        socket.join(&topic, JoinConfig { private: true, ..JoinConfig::default() }).await;
        assert_eq!(post(&visitor, Uuid::new_v4(), &format!("Hi {marker}")).await, 201);
        let page = until_reply(&visitor, "system", "handoff").await;
        let handoff = page.messages.last().unwrap();
        assert!(handoff.content.starts_with(opening), "{marker}: {}", handoff.content);
        assert_eq!(status(&db, &visitor).await, "waiting");
        // The draft is removed (the widget stops showing "thinking").
        let removed = socket.until(|e| draft(e).is_some_and(|d| d.deleted_at.is_some())).await;
        assert_eq!(draft(&removed).unwrap().seq, DRAFT_SEQ);
        assert!(page.messages.iter().all(|m| m.metadata.kind.as_deref() != Some("ai_reply")), "{marker}");
    }
}

#[tokio::test]
async fn a_takeover_racing_the_answer_drops_it() {
    let db = database().await;
    let (site, key) = ai_site(&db).await;
    let operator = new_user(&db).await;
    join_online(&db, site, operator).await;
    let visitor = session(&key).await;
    let marker = Uuid::new_v4().to_string();
    assert_eq!(post(&visitor, Uuid::new_v4(), &format!("Where is my parcel? [hold] {marker}")).await, 201);
    // The model is holding its answer: an operator takes the conversation meanwhile.
    for _ in 0..50 {
        if !model_requests(&marker).await.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut staff = connect_as_user(operator).await;
    sqlx::query("select public.take_conversation($1)").bind(visitor.conversation_id).execute(&mut staff).await.unwrap();
    let dropped = "select count(*) from public.bot_interactions \
                   where conversation_id = $1 and kind = 'ai_reply' and error_message like 'dropped%'";
    let mut seen = 0;
    for _ in 0..100 {
        seen = sqlx::query_scalar::<_, i64>(dropped).bind(visitor.conversation_id).fetch_one(&db).await.unwrap();
        if seen == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(seen, 1, "the answer was written and dropped");
    assert!(history(&visitor).await.messages.iter().all(|m| m.metadata.kind.as_deref() != Some("ai_reply")));
    assert_eq!(status(&db, &visitor).await, "active");
}

#[tokio::test]
async fn spent_budgets_refuse_politely_without_calling_the_model() {
    let db = database().await;
    let (site, key) = ai_site(&db).await;
    sqlx::query("update public.site_ai_settings set daily_token_budget = 1000 where site_id = $1")
        .bind(site)
        .execute(&db)
        .await
        .unwrap();
    sqlx::query(
        "insert into public.ai_usage_days (site_id, day, prompt_tokens) values ($1, (now() at time zone 'UTC')::date, 1000)",
    )
    .bind(site)
    .execute(&db)
    .await
    .unwrap();
    let visitor = session(&key).await;
    let marker = Uuid::new_v4().to_string();
    assert_eq!(post(&visitor, Uuid::new_v4(), &format!("Hi {marker}")).await, 201);
    let page = until_reply(&visitor, "system", "handoff").await;
    assert!(page.messages.last().unwrap().content.starts_with("Our assistant cannot answer more questions for now."));
    assert!(model_requests(&marker).await.is_empty());
}

#[tokio::test]
async fn a_sites_own_provider_is_called_with_its_key() {
    let db = database().await;
    let (site, key) = ai_site(&db).await;
    let owner: Uuid =
        sqlx::query_scalar("select owner_id from public.sites where id = $1").bind(site).fetch_one(&db).await.unwrap();
    let mut as_owner = connect_as_user(owner).await;
    let provider_url = format!("{}/site/v1", env("STACK_MODEL_URL"));
    let save = |key: String| {
        sqlx::query(
            "select public.save_ai_settings($1, (select updated_at from public.site_ai_settings where site_id = $1), \
             jsonb_build_object('provider_base_url', $2::text, 'provider_model', 'site-model'), $3)",
        )
        .bind(site)
        .bind(provider_url.clone())
        .bind(key)
    };
    let site_key = env("STACK_MODEL_SITE_KEY");
    save(site_key.clone()).execute(&mut as_owner).await.unwrap();
    let visitor = session(&key).await;
    let marker = Uuid::new_v4().to_string();
    assert_eq!(post(&visitor, Uuid::new_v4(), &format!("Hi {marker}")).await, 201);
    until_reply(&visitor, "ai", "ai_reply").await;
    let sent = model_requests(&marker).await;
    assert_eq!(sent[0]["path"], "/site/v1/chat/completions");
    assert_eq!(sent[0]["authorization"], format!("Bearer {site_key}"));
    assert_eq!(sent[0]["body"]["model"], "site-model");

    // A wrong key: the provider's 401 hands the chat to a person.
    save("sk-wrong".into()).execute(&mut as_owner).await.unwrap();
    let visitor = session(&key).await;
    assert_eq!(post(&visitor, Uuid::new_v4(), "Hi").await, 201);
    let page = until_reply(&visitor, "system", "handoff").await;
    assert!(page.messages.last().unwrap().content.starts_with("Our assistant could not answer just now."));
    let error: String = sqlx::query_scalar(
        "select error_message from public.bot_interactions where conversation_id = $1 and kind = 'ai_reply'",
    )
    .bind(visitor.conversation_id)
    .fetch_one(&db)
    .await
    .unwrap();
    assert!(error.contains("401") && error.contains("Incorrect API key"), "{error}");
}

#[tokio::test]
async fn the_minute_cron_answers_an_agents_message_no_post_answered() {
    let db = database().await;
    let (_, key) = ai_site(&db).await;
    let visitor = session(&key).await;
    // Stored without the edge's post (its background answer never ran).
    let session_row: Value = json!({
        "customer_id": sqlx::query_scalar::<_, Uuid>("select customer_id from public.conversations where id = $1")
            .bind(visitor.conversation_id).fetch_one(&db).await.unwrap(),
        "site_id": sqlx::query_scalar::<_, Uuid>("select site_id from public.conversations where id = $1")
            .bind(visitor.conversation_id).fetch_one(&db).await.unwrap(),
        "conversation_id": visitor.conversation_id,
        "session_id": visitor.session_id,
    });
    let mut guest = common::connect_as_guest(&session_row).await;
    sqlx::query("select public.post_message($1, 'Anyone there?')")
        .bind(Uuid::new_v4())
        .execute(&mut guest)
        .await
        .unwrap();
    for _ in 0..30 {
        let cron = client().get(format!("{}/__scheduled?cron=*+*+*+*+*", edge())).send().await.unwrap();
        assert!(cron.status().is_success(), "{}", cron.status());
        if history(&visitor).await.messages.iter().any(|m| m.metadata.kind.as_deref() == Some("ai_reply")) {
            return;
        }
    }
    panic!("the cron did not answer: {:?}", history(&visitor).await.messages);
}
