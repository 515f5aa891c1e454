//! AI agents in the database: which conversations an agent answers, the lease an edge takes on
//! an owed answer, storing the answer once (and dropping it when a human took over in between),
//! handoffs (the visitor's button, the model's tool, a failure, a budget), answering without a
//! language model, the owner's settings with a key nobody reads back, and the inbox's view.

mod common;

use common::guest_writes as write;
use common::{
    connect_as_guest, connect_as_service, connect_as_user, database, join_online, new_site, new_user, refusal,
};
use serde_json::{Value, json};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

/// A site of a new owner with an agent (Maya) and, when `enabled`, AI answering on with Maya
/// as the default agent.
struct AiSite {
    site: Uuid,
    key: String,
    owner: Uuid,
    agent: Uuid,
}

async fn ai_site(db: &PgPool, enabled: bool) -> AiSite {
    let owner = new_user(db).await;
    let (site, key) = new_site(db, owner).await;
    let agent = sqlx::query_scalar(
        "insert into public.agents (site_id, name, persona, system_prompt, model) \
         values ($1, 'Maya', 'Warm and brief.', 'We sell socks.', 'gpt-4o-mini') returning id",
    )
    .bind(site)
    .fetch_one(db)
    .await
    .unwrap();
    sqlx::query("update public.site_ai_settings set enabled = $2, default_agent_id = $3 where site_id = $1")
        .bind(site)
        .bind(enabled)
        .bind(agent)
        .execute(db)
        .await
        .unwrap();
    AiSite { site, key, owner, agent }
}

/// The site publishes the article "Shipping times".
async fn publish_shipping_times(db: &PgPool, site: Uuid) {
    sqlx::query(
        "insert into public.knowledge_articles (site_id, title, body, is_published) \
         values ($1, 'Shipping times', 'We ship every order within three days.', true)",
    )
    .bind(site)
    .execute(db)
    .await
    .unwrap();
}

/// A visitor's chat on the site: the session's ids and a connection as that guest.
async fn chat(site: &AiSite) -> (Value, PgConnection) {
    let session = common::widget_session(&site.key).await;
    let guest = connect_as_guest(&session).await;
    (session, guest)
}

fn conversation_of(session: &Value) -> Uuid {
    session["conversation_id"].as_str().unwrap().parse().unwrap()
}

/// The edge's `take_owed_answer`, `later` seconds from now.
async fn take(message: Uuid, model: bool, later: f64) -> Value {
    let mut service = connect_as_service().await;
    sqlx::query_scalar("select public.take_owed_answer($1, $2, 90, now() + make_interval(secs => $3))")
        .bind(message)
        .bind(model)
        .bind(later)
        .fetch_one(&mut service)
        .await
        .unwrap()
}

async fn store(message: Uuid, content: &str, handoff: Option<&str>) -> Value {
    let mut service = connect_as_service().await;
    sqlx::query_scalar(
        "select public.store_agent_answer($1, $2, 'gpt-4o-mini', 100, 20, \
         '[{\"id\": \"00000000-0000-0000-0000-000000000001\", \"title\": \"Shipping times\"}]', $3)",
    )
    .bind(message)
    .bind(content)
    .bind(handoff)
    .fetch_one(&mut service)
    .await
    .unwrap()
}

async fn status(db: &PgPool, conversation: Uuid) -> String {
    sqlx::query_scalar("select status from public.conversations where id = $1")
        .bind(conversation)
        .fetch_one(db)
        .await
        .unwrap()
}

/// The conversation's messages other than the visitor's: (sender type, metadata kind, content).
async fn replies(db: &PgPool, conversation: Uuid) -> Vec<(String, Option<String>, String)> {
    sqlx::query_as(
        "select sender_type, metadata ->> 'kind', content from public.messages \
         where conversation_id = $1 and sender_type <> 'customer' order by seq",
    )
    .bind(conversation)
    .fetch_all(db)
    .await
    .unwrap()
}

/// Today's usage: (tokens, answers, handoffs, refusals).
async fn usage(db: &PgPool, site: Uuid) -> (i64, i32, i32, i32) {
    sqlx::query_as(
        "select coalesce(sum(prompt_tokens + completion_tokens), 0)::bigint, coalesce(sum(answers), 0)::integer, \
         coalesce(sum(handoffs), 0)::integer, coalesce(sum(refusals), 0)::integer \
         from public.ai_usage_days where site_id = $1",
    )
    .bind(site)
    .fetch_one(db)
    .await
    .unwrap()
}

async fn online_operator(db: &PgPool, site: Uuid) -> Uuid {
    let operator = new_user(db).await;
    join_online(db, site, operator).await;
    operator
}

#[tokio::test]
async fn agents_answer_link_chats_and_widget_chats_of_sites_that_turned_ai_on() {
    let db = database().await;
    let on = ai_site(&db, true).await;
    let (session, _) = chat(&on).await;
    let (state, agent): (String, Option<Uuid>) =
        sqlx::query_as("select status, agent_id from public.conversations where id = $1")
            .bind(conversation_of(&session))
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!((state.as_str(), agent), ("bot", Some(on.agent)));

    let off = ai_site(&db, false).await;
    let (session, _) = chat(&off).await;
    assert_eq!(status(&db, conversation_of(&session)).await, "waiting", "AI off: the human queue");

    // A link's conversation is its agent's, AI setting or not; a switched-off agent answers nothing.
    let link_chat = |agent: Uuid| {
        sqlx::query_scalar::<_, String>(
            "insert into public.conversations (site_id, agent_id, source) values ($1, $2, 'link') returning status",
        )
        .bind(off.site)
        .bind(agent)
        .fetch_one(&db)
    };
    assert_eq!(link_chat(off.agent).await.unwrap(), "bot");
    sqlx::query("update public.agents set is_active = false where id = $1").bind(off.agent).execute(&db).await.unwrap();
    assert_eq!(link_chat(off.agent).await.unwrap(), "waiting");
}

#[tokio::test]
async fn the_model_gets_one_lease_with_the_agent_the_history_and_the_articles() {
    let db = database().await;
    let site = ai_site(&db, true).await;
    publish_shipping_times(&db, site.site).await;
    let (_, mut guest) = chat(&site).await;
    let hello = write(&mut guest, "Hello").await;
    assert!(take(hello, true, 0.0).await["turn"].is_object());
    let message = write(&mut guest, "How long does shipping take?").await;

    let turn = take(message, true, 0.0).await["turn"].clone();
    assert_eq!(turn["agent"]["name"], "Maya");
    assert_eq!(turn["agent"]["system_prompt"], "We sell socks.");
    assert_eq!(turn["provider"], Value::Null);
    let history = turn["history"].as_array().unwrap();
    assert_eq!(history.last().unwrap(), &json!({"visitor": true, "content": "How long does shipping take?"}));
    assert_eq!(history.len(), 2, "{history:?}");
    assert_eq!(turn["articles"][0]["title"], "Shipping times");
    assert_eq!(turn["max_tokens"], 20000, "the conversation cap is the smaller budget");

    // Leased: a second edge, a retried post and the SQL cron leave it alone.
    assert_eq!(take(message, true, 0.0).await, json!({"done": true}));
    let mut service = connect_as_service().await;
    let owed_now: Vec<Uuid> =
        sqlx::query_scalar("select unnest(public.owed_agent_turns(100))").fetch_all(&mut service).await.unwrap();
    assert!(!owed_now.contains(&message));
    sqlx::query("select public.answer_owed(100000)").execute(&mut service).await.unwrap();
    assert!(replies(&db, conversation_of_message(&db, message).await).await.is_empty());
    // When the lease runs out (the edge is gone), the cron's list has it again, three times.
    let later: Vec<Uuid> =
        sqlx::query_scalar("select unnest(public.owed_agent_turns(100000, now() + interval '100 seconds'))")
            .fetch_all(&mut service)
            .await
            .unwrap();
    assert!(later.contains(&message));
    assert!(take(message, true, 100.0).await["turn"].is_object());
    assert!(take(message, true, 200.0).await["turn"].is_object());
    assert_eq!(take(message, true, 300.0).await, json!({"done": true}), "handed off after three leases");
    let conversation = conversation_of_message(&db, message).await;
    assert_eq!(status(&db, conversation).await, "waiting");
    let said = replies(&db, conversation).await;
    assert_eq!(said.len(), 1);
    assert_eq!((said[0].0.as_str(), said[0].1.as_deref()), ("system", Some("handoff")));
    assert!(said[0].2.starts_with("Our assistant could not answer just now."), "{said:?}");
}

async fn conversation_of_message(db: &PgPool, message: Uuid) -> Uuid {
    sqlx::query_scalar("select conversation_id from public.messages where id = $1")
        .bind(message)
        .fetch_one(db)
        .await
        .unwrap()
}

#[tokio::test]
async fn an_answer_is_stored_once_with_its_tokens_and_sources() {
    let db = database().await;
    let site = ai_site(&db, true).await;
    let (session, mut guest) = chat(&site).await;
    let conversation = conversation_of(&session);
    let message = write(&mut guest, "How long does shipping take?").await;
    assert!(take(message, true, 0.0).await["turn"].is_object());

    let stored = store(message, "Three days [1].", None).await;
    assert_eq!(stored["stored"], true, "{stored}");
    assert_eq!(store(message, "Three days [1].", None).await, json!({"stored": false, "reason": "not_owed"}));
    let (kind, model, prompt, completion): (String, String, i32, i32) = sqlx::query_as(
        "select metadata ->> 'kind', ai_model, ai_prompt_tokens, ai_completion_tokens from public.messages \
         where conversation_id = $1 and sender_type = 'ai'",
    )
    .bind(conversation)
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!((kind.as_str(), model.as_str(), prompt, completion), ("ai_reply", "gpt-4o-mini", 100, 20));
    assert_eq!(status(&db, conversation).await, "bot", "the agent keeps the conversation");
    let spent: i32 = sqlx::query_scalar("select ai_tokens from public.conversations where id = $1")
        .bind(conversation)
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(spent, 120);
    assert_eq!(usage(&db, site.site).await, (120, 1, 0, 0));
    // The visitor sees which articles the answer cited (their titles), nothing else of it.
    let metadata: Value = sqlx::query_scalar("select metadata from public.guest_messages where sender_type = 'ai'")
        .fetch_one(&mut guest)
        .await
        .unwrap();
    assert_eq!(metadata, json!({"kind": "ai_reply", "sources": ["Shipping times"]}));
}

#[tokio::test]
async fn an_answer_racing_a_takeover_is_dropped() {
    let db = database().await;
    let site = ai_site(&db, true).await;
    let operator = online_operator(&db, site.site).await;
    let (session, mut guest) = chat(&site).await;
    let conversation = conversation_of(&session);
    let message = write(&mut guest, "Where is my order?").await;
    assert!(take(message, true, 0.0).await["turn"].is_object());

    // While the model writes, an operator takes the conversation.
    let mut staff = connect_as_user(operator).await;
    sqlx::query("select public.take_conversation($1)").bind(conversation).execute(&mut staff).await.unwrap();
    assert_eq!(status(&db, conversation).await, "active");

    assert_eq!(store(message, "It is on its way.", None).await, json!({"stored": false, "reason": "not_the_agents"}));
    assert!(replies(&db, conversation).await.is_empty(), "no answer after the takeover");
    assert_eq!(usage(&db, site.site).await.0, 120, "the tokens were spent all the same");
    let dropped: String = sqlx::query_scalar(
        "select error_message from public.bot_interactions where conversation_id = $1 and kind = 'ai_reply'",
    )
    .bind(conversation)
    .fetch_one(&db)
    .await
    .unwrap();
    assert!(dropped.starts_with("dropped"), "{dropped}");
}

#[tokio::test]
async fn the_model_and_the_visitor_hand_off_once_with_the_owners_message() {
    let db = database().await;
    let site = ai_site(&db, true).await;
    sqlx::query(
        "update public.site_ai_settings set handoff_message = 'Sam will be right with you.' where site_id = $1",
    )
    .bind(site.site)
    .execute(&db)
    .await
    .unwrap();

    // The model calls handoff_to_human: its words are kept, then the conversation is queued.
    let (session, mut guest) = chat(&site).await;
    let conversation = conversation_of(&session);
    let message = write(&mut guest, "I want a person").await;
    take(message, true, 0.0).await;
    store(message, "Of course.", Some("the visitor asked for a person")).await;
    assert_eq!(status(&db, conversation).await, "waiting");
    let said = replies(&db, conversation).await;
    let kinds: Vec<_> = said.iter().map(|(sender, kind, _)| (sender.as_str(), kind.as_deref())).collect();
    assert_eq!(kinds, [("ai", Some("ai_reply")), ("system", Some("handoff"))]);
    assert_eq!(said[1].2, "Sam will be right with you.");

    // The visitor presses the button: once is enough; twice changes nothing.
    let (session, mut guest) = chat(&site).await;
    let conversation = conversation_of(&session);
    for _ in 0..2 {
        let state: Value = sqlx::query_scalar("select public.request_handoff()").fetch_one(&mut guest).await.unwrap();
        assert_eq!(state, json!({"status": "waiting"}));
    }
    assert_eq!(replies(&db, conversation).await.len(), 1);
    assert_eq!(usage(&db, site.site).await.2, 2, "two handoffs counted");
    let handed_off: bool =
        sqlx::query_scalar("select handed_off_at is not null from public.conversations where id = $1")
            .bind(conversation)
            .fetch_one(&db)
            .await
            .unwrap();
    assert!(handed_off, "analytics count it");
    // The widget's button sends its words as the visitor's message: the same handoff.
    let (session, mut guest) = chat(&site).await;
    let conversation = conversation_of(&session);
    let pressed = write(&mut guest, chat_core::api::HANDOFF_REQUEST).await;
    assert_eq!(take(pressed, true, 0.0).await, json!({"done": true}));
    assert_eq!(status(&db, conversation).await, "waiting");
    assert_eq!(replies(&db, conversation).await[0].2, "Sam will be right with you.");
    assert_eq!(usage(&db, site.site).await.2, 3);

    // The visitor's next message is no longer the agent's: the SQL answerer has it.
    let next = write(&mut guest, "Hello?").await;
    let taken = take(next, true, 0.0).await;
    assert_eq!(taken["done"], true, "{taken}");
}

#[tokio::test]
async fn a_failing_or_slow_model_hands_off_with_a_message_saying_so() {
    let db = database().await;
    let site = ai_site(&db, true).await;
    let mut service = connect_as_service().await;
    for (reason, opening) in [("timeout", "Our assistant took too long"), ("error", "Our assistant could not answer")] {
        let (session, mut guest) = chat(&site).await;
        let conversation = conversation_of(&session);
        let message = write(&mut guest, "Hi").await;
        take(message, true, 0.0).await;
        let failed: Value = sqlx::query_scalar("select public.fail_agent_turn($1, $2, 'the provider said no')")
            .bind(message)
            .bind(reason)
            .fetch_one(&mut service)
            .await
            .unwrap();
        assert_eq!(failed, json!({"handed_off": true}));
        assert_eq!(status(&db, conversation).await, "waiting");
        let said = replies(&db, conversation).await;
        assert!(said[0].2.starts_with(opening), "{said:?}");
    }
    let wrong = sqlx::query("select public.fail_agent_turn($1, 'bored', null)")
        .bind(Uuid::new_v4())
        .execute(&mut service)
        .await
        .unwrap_err();
    assert_eq!(refusal(wrong), "validation_failed");
}

#[tokio::test]
async fn budgets_refuse_politely_and_show_in_the_usage() {
    let db = database().await;
    let site = ai_site(&db, true).await;
    sqlx::query("update public.site_ai_settings set daily_token_budget = 1000 where site_id = $1")
        .bind(site.site)
        .execute(&db)
        .await
        .unwrap();
    sqlx::query(
        "insert into public.ai_usage_days (site_id, day, prompt_tokens, completion_tokens) \
         values ($1, (now() at time zone 'UTC')::date, 900, 100)",
    )
    .bind(site.site)
    .execute(&db)
    .await
    .unwrap();
    let (session, mut guest) = chat(&site).await;
    let conversation = conversation_of(&session);
    assert_eq!(take(write(&mut guest, "Hi").await, true, 0.0).await, json!({"done": true}));
    assert_eq!(status(&db, conversation).await, "waiting");
    assert!(replies(&db, conversation).await[0].2.starts_with("Our assistant cannot answer more questions for now."));
    assert_eq!(usage(&db, site.site).await, (1000, 0, 1, 1));

    // The per-conversation cap, with the day's budget back.
    sqlx::query("update public.site_ai_settings set daily_token_budget = 200000 where site_id = $1")
        .bind(site.site)
        .execute(&db)
        .await
        .unwrap();
    let (session, mut guest) = chat(&site).await;
    let conversation = conversation_of(&session);
    sqlx::query("update public.conversations set ai_tokens = 20000 where id = $1")
        .bind(conversation)
        .execute(&db)
        .await
        .unwrap();
    assert_eq!(take(write(&mut guest, "Hi").await, true, 0.0).await, json!({"done": true}));
    assert_eq!(status(&db, conversation).await, "waiting");
    assert_eq!(usage(&db, site.site).await.3, 2);
}

#[tokio::test]
async fn without_a_model_articles_answer_and_the_queue_takes_the_rest() {
    let db = database().await;
    let site = ai_site(&db, true).await;
    online_operator(&db, site.site).await;
    publish_shipping_times(&db, site.site).await;
    let (session, mut guest) = chat(&site).await;
    let conversation = conversation_of(&session);
    take(write(&mut guest, "How long does shipping take?").await, false, 0.0).await;
    assert_eq!(status(&db, conversation).await, "bot", "answered from an article, still the agent's");
    assert_eq!(replies(&db, conversation).await[0].1.as_deref(), Some("knowledge_answer"));

    take(write(&mut guest, "Can I pay by cheque?").await, false, 0.0).await;
    assert_eq!(
        status(&db, conversation).await,
        "active",
        "no article: auto-assignment gives it to the operator online"
    );
    let said = replies(&db, conversation).await;
    assert_eq!(said.last().unwrap().1.as_deref(), Some("handoff"));
}

#[tokio::test]
async fn a_staff_reply_takes_the_conversation_from_the_agent() {
    let db = database().await;
    let site = ai_site(&db, true).await;
    let operator = online_operator(&db, site.site).await;
    let (session, mut guest) = chat(&site).await;
    let conversation = conversation_of(&session);
    let message = write(&mut guest, "Hi").await;
    take(message, true, 0.0).await;
    let mut staff = connect_as_user(operator).await;
    sqlx::query("select public.post_staff_message($1, $2, 'Hi, Olivia here.')")
        .bind(conversation)
        .bind(Uuid::new_v4())
        .execute(&mut staff)
        .await
        .unwrap();
    let (state, holder): (String, Option<Uuid>) =
        sqlx::query_as("select status, assigned_operator_id from public.conversations where id = $1")
            .bind(conversation)
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!((state.as_str(), holder), ("active", Some(operator)));
    assert_eq!(store(message, "Late answer", None).await["stored"], false);
}

#[tokio::test]
async fn owners_save_ai_settings_and_nobody_reads_the_key_back() {
    let db = database().await;
    let site = ai_site(&db, false).await;
    let mut owner = connect_as_user(site.owner).await;
    let version: String = sqlx::query_scalar("select updated_at::text from public.site_ai_settings where site_id = $1")
        .bind(site.site)
        .fetch_one(&mut owner)
        .await
        .unwrap();
    let settings = json!({"enabled": true, "provider_base_url": "https://llm.example/v1", "provider_model": "mistral"});
    let saved: Value =
        sqlx::query_scalar("select public.save_ai_settings($1, $2::text::timestamptz, $3, 'sk-site-secret')")
            .bind(site.site)
            .bind(&version)
            .bind(&settings)
            .fetch_one(&mut owner)
            .await
            .unwrap();
    assert_eq!(saved["enabled"], true);
    assert_eq!(saved["provider_key_set"], true);
    assert!(!saved.to_string().contains("sk-site-secret"));
    let again = sqlx::query("select public.save_ai_settings($1, $2::text::timestamptz, '{}')")
        .bind(site.site)
        .bind(version)
        .execute(&mut owner)
        .await
        .unwrap_err();
    assert_eq!(refusal(again), "version_conflict");
    for sql in ["select provider_key from public.site_ai_settings", "select * from public.site_ai_settings"] {
        let error = sqlx::query(sql).fetch_all(&mut owner).await.unwrap_err();
        assert!(error.to_string().contains("permission denied"), "{sql}: {error}");
    }
    let operator = online_operator(&db, site.site).await;
    let mut staff = connect_as_user(operator).await;
    let forbidden = sqlx::query("select public.save_ai_settings($1, now(), '{}')")
        .bind(site.site)
        .execute(&mut staff)
        .await
        .unwrap_err();
    assert_eq!(refusal(forbidden), "forbidden");

    // The edge gets the site's provider with its key, for this site's conversations only.
    let (_, mut guest) = chat(&site).await;
    let turn = take(write(&mut guest, "Hi").await, false, 0.0).await["turn"].clone();
    assert_eq!(
        turn["provider"],
        json!({"base_url": "https://llm.example/v1", "model": "mistral", "key": "sk-site-secret"})
    );
}

#[tokio::test]
async fn the_inbox_shows_the_agents_conversations_apart_and_among_the_open() {
    let db = database().await;
    let site = ai_site(&db, true).await;
    let (session, _) = chat(&site).await;
    let conversation = conversation_of(&session);
    let mut owner = connect_as_user(site.owner).await;
    for (filter, listed) in [("agent", true), ("open", true), ("unassigned", false)] {
        let ids: Vec<Uuid> = sqlx::query_scalar("select id from public.inbox($1, $2)")
            .bind(site.site)
            .bind(filter)
            .fetch_all(&mut owner)
            .await
            .unwrap();
        assert_eq!(ids.contains(&conversation), listed, "{filter}");
    }
}
