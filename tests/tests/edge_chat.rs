//! The edge's chat API in workerd, through PostgREST to Postgres: every route and error code.

mod common;

use chat_core::api::{MessagePage, Session};
use chat_core::{ApiError, ErrorCode};
use common::{client, database, edge, new_site, new_user};
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

const DEMO_ORIGIN: &str = "http://127.0.0.1:8080";

/// A fresh site (no origin restrictions, no required pre-chat fields); returns its id and key.
async fn open_site(db: &sqlx::PgPool) -> (Uuid, String) {
    let owner = new_user(db).await;
    let (site, key) = new_site(db, owner).await;
    sqlx::query("update public.widget_settings set require_name = false, require_email = false where site_id = $1")
        .bind(site)
        .execute(db)
        .await
        .unwrap();
    (site, key)
}

async fn start(body: Value, origin: Option<&str>) -> Response {
    let mut request = client().post(format!("{}/v1/sessions", edge())).json(&body);
    if let Some(origin) = origin {
        request = request.header("Origin", origin);
    }
    request.send().await.unwrap()
}

async fn session(key: &str) -> Session {
    let response = start(json!({"site_key": key}), None).await;
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

async fn post(session: &Session, id: Uuid, content: &str) -> Response {
    client()
        .post(format!("{}/v1/messages", edge()))
        .bearer_auth(&session.guest_jwt)
        .json(&json!({"client_msg_id": id, "content": content}))
        .send()
        .await
        .unwrap()
}

async fn history(session: &Session, after: i64) -> MessagePage {
    let response = client()
        .get(format!("{}/v1/messages?after={after}&limit=100", edge()))
        .bearer_auth(&session.guest_jwt)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

async fn error(response: Response) -> ApiError {
    let status = response.status();
    let error: ApiError = response.json().await.unwrap();
    assert_eq!(status.as_u16(), error.status(), "status matches the code {:?}", error.code);
    error
}

#[tokio::test]
async fn pre_chat_form_is_validated_against_the_sites_settings() {
    // The demo site requires a name and an email.
    let response = start(json!({"site_key": "demo-site", "email": "not-an-email"}), Some(DEMO_ORIGIN)).await;
    let invalid = error(response).await;
    assert_eq!(invalid.code, ErrorCode::ValidationFailed);
    assert_eq!(invalid.fields.keys().collect::<Vec<_>>(), ["email", "name"]);

    let response =
        start(json!({"site_key": "demo-site", "name": "Ann", "email": "ann@example.test"}), Some(DEMO_ORIGIN)).await;
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["access-control-allow-origin"], DEMO_ORIGIN);
    let session: Session = response.json().await.unwrap();
    assert!(!session.resumed);
    assert_eq!(session.token.len(), 43);
}

#[tokio::test]
async fn origins_outside_the_allowed_list_are_refused() {
    let body = json!({"site_key": "demo-site", "name": "Eve", "email": "eve@example.test"});
    assert_eq!(error(start(body.clone(), Some("https://evil.example")).await).await.code, ErrorCode::OriginNotAllowed);
    // A guest token is bound to the origin it was started from.
    let session: Session = start(body, Some(DEMO_ORIGIN)).await.json().await.unwrap();
    let response = client()
        .post(format!("{}/v1/messages", edge()))
        .header("Origin", "https://evil.example")
        .bearer_auth(&session.guest_jwt)
        .json(&json!({"client_msg_id": Uuid::new_v4(), "content": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(error(response).await.code, ErrorCode::OriginNotAllowed);
    // Resuming and refreshing follow the site's allowed origins as starting does; a new
    // guest token is never bound to a foreign origin.
    let resume = json!({"site_key": "demo-site", "resume_token": session.token});
    assert_eq!(error(start(resume, Some("https://evil.example")).await).await.code, ErrorCode::OriginNotAllowed);
    for origin in [Some("https://evil.example"), None] {
        let mut refresh =
            client().post(format!("{}/v1/sessions/refresh", edge())).json(&json!({"token": session.token}));
        if let Some(origin) = origin {
            refresh = refresh.header("Origin", origin);
        }
        assert_eq!(error(refresh.send().await.unwrap()).await.code, ErrorCode::OriginNotAllowed, "{origin:?}");
    }
    let refreshed = client()
        .post(format!("{}/v1/sessions/refresh", edge()))
        .header("Origin", DEMO_ORIGIN)
        .json(&json!({"token": session.token}))
        .send()
        .await
        .unwrap();
    assert_eq!(refreshed.status(), 200);
}

#[tokio::test]
async fn sessions_resume_by_token_and_refresh() {
    let db = database().await;
    let (_, key) = open_site(&db).await;
    let first = session(&key).await;
    let resumed = start(json!({"site_key": key, "resume_token": first.token}), None).await;
    assert_eq!(resumed.status(), 200);
    let resumed: Session = resumed.json().await.unwrap();
    assert!(resumed.resumed);
    assert_eq!(resumed.conversation_id, first.conversation_id);
    assert_eq!(resumed.token, first.token);

    let unknown: Session =
        start(json!({"site_key": key, "resume_token": "no-such-token"}), None).await.json().await.unwrap();
    assert_ne!(unknown.conversation_id, first.conversation_id);
    // A resume token belongs to its site: under another site's key it starts a new chat there.
    let (_, other_key) = open_site(&db).await;
    let elsewhere = start(json!({"site_key": other_key, "resume_token": first.token}), None).await;
    assert_eq!(elsewhere.status(), 201);
    let elsewhere: Session = elsewhere.json().await.unwrap();
    assert!(!elsewhere.resumed);
    assert_ne!(elsewhere.conversation_id, first.conversation_id);

    let refreshed = client()
        .post(format!("{}/v1/sessions/refresh", edge()))
        .json(&json!({"token": first.token}))
        .send()
        .await
        .unwrap();
    assert_eq!(refreshed.status(), 200);
    let refreshed: Session = refreshed.json().await.unwrap();
    assert_eq!(refreshed.session_id, first.session_id);
    assert!(refreshed.expires_at > 0);
    let missing =
        client().post(format!("{}/v1/sessions/refresh", edge())).json(&json!({"token": "nope"})).send().await.unwrap();
    assert_eq!(error(missing).await.code, ErrorCode::SessionNotFound);
}

#[tokio::test]
async fn messages_are_idempotent_and_paged() {
    let db = database().await;
    let (_, key) = open_site(&db).await;
    let session = session(&key).await;
    let id = Uuid::new_v4();
    let created = post(&session, id, "Hello <img src=x onerror=alert(1)>").await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: Value = created.json().await.unwrap();
    let retried = post(&session, id, "Hello <img src=x onerror=alert(1)>").await;
    assert_eq!(retried.status(), StatusCode::OK);
    let retried: Value = retried.json().await.unwrap();
    assert_eq!(retried["id"], created["id"]);
    assert!(retried.get("created").is_none(), "the status says it: 201 created, 200 retried");
    let conflict = post(&session, id, "Another text under the same id").await;
    assert_eq!(conflict.status(), StatusCode::CONFLICT);
    assert_eq!(error(conflict).await.code, chat_core::ErrorCode::IdempotencyConflict);

    let count: i64 = sqlx::query_scalar(
        "select count(*) from public.messages where conversation_id = $1 and sender_type = 'customer'",
    )
    .bind(session.conversation_id)
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(count, 1);

    for i in 0..3 {
        assert_eq!(post(&session, Uuid::new_v4(), &format!("more {i}")).await.status(), 201);
    }
    let page = history(&session, 0).await;
    let customer: Vec<&str> = page
        .messages
        .iter()
        .filter(|m| m.sender_type == chat_core::api::SenderType::Customer)
        .map(|m| m.content.as_str())
        .collect();
    assert_eq!(customer, ["Hello <img src=x onerror=alert(1)>", "more 0", "more 1", "more 2"]);
    let after = history(&session, page.messages[1].seq).await;
    assert_eq!(after.messages.first().map(|m| m.seq), page.messages.get(2).map(|m| m.seq));
    assert_eq!(after.messages.len(), page.messages.len() - 2);
    assert_eq!(history(&session, page.next_cursor).await.messages.len(), 0);
    let limited = client()
        .get(format!("{}/v1/messages?after=0&limit=2", edge()))
        .bearer_auth(&session.guest_jwt)
        .send()
        .await
        .unwrap()
        .json::<MessagePage>()
        .await
        .unwrap();
    assert_eq!(limited.messages.len(), 2);
}

/// A correctly signed guest token whose claims disagree with its session (one session's ids
/// with another conversation), or that claims another role, is served nothing.
#[tokio::test]
async fn guest_tokens_with_mixed_claims_are_served_nothing() {
    let db = database().await;
    let (_, key) = open_site(&db).await;
    let (mine, theirs) = (session(&key).await, session(&key).await);
    assert_eq!(post(&theirs, Uuid::new_v4(), "their secret").await.status(), 201);
    // Re-signed with a key of the project: the legacy secret (the edge's own key too), or
    // Auth's signing key (a project key, but not the edge's).
    let (edge_key, project_key) = (common::edge_key().verifier(), common::auth_key());
    let mut claims: chat_core::Claims = edge_key.verify(&mine.guest_jwt, true).unwrap();
    let scope = claims.guest.as_mut().unwrap();
    scope.conversation_id = theirs.conversation_id.to_string();
    let mixed = project_key.sign(&claims).unwrap();
    let page =
        client().get(format!("{}/v1/messages?after=0&limit=100", edge())).bearer_auth(&mixed).send().await.unwrap();
    let text = page.text().await.unwrap();
    assert!(!text.contains("their secret"), "served another conversation: {text}");
    let posted = client()
        .post(format!("{}/v1/messages", edge()))
        .bearer_auth(&mixed)
        .json(&json!({"client_msg_id": Uuid::new_v4(), "content": "into theirs"}))
        .send()
        .await
        .unwrap();
    assert_eq!(error(posted).await.code, ErrorCode::Unauthorized);

    let mut service: chat_core::Claims = edge_key.verify(&theirs.guest_jwt, true).unwrap();
    service.role = chat_core::Role::ServiceRole;
    let response = client()
        .get(format!("{}/v1/messages?after=0&limit=100", edge()))
        .bearer_auth(project_key.sign(&service).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(error(response).await.code, ErrorCode::Unauthorized);
}

#[tokio::test]
async fn an_operator_reply_appears_in_the_guests_history() {
    let db = database().await;
    let (site, key) = open_site(&db).await;
    let session = session(&key).await;
    post(&session, Uuid::new_v4(), "Anyone there?").await;
    let operator = new_user(&db).await;
    common::join(&db, site, operator, "operator").await;
    sqlx::query("insert into public.messages (conversation_id, site_id, sender_type, sender_user_id, content) values ($1, $2, 'operator', $3, 'Yes, how can I help?')")
        .bind(session.conversation_id)
        .bind(site)
        .bind(operator)
        .execute(&db)
        .await
        .unwrap();
    // An internal note beside it never reaches the guest's history.
    sqlx::query("insert into public.messages (conversation_id, site_id, sender_type, sender_user_id, content, internal) values ($1, $2, 'operator', $3, 'Staff only: VIP, refund approved', true)")
        .bind(session.conversation_id)
        .bind(site)
        .bind(operator)
        .execute(&db)
        .await
        .unwrap();
    let page = history(&session, 0).await;
    assert!(page.messages.iter().all(|m| !m.content.contains("Staff only")), "a note reached the guest");
    let reply = page.messages.iter().find(|m| m.content == "Yes, how can I help?").expect("reply visible");
    assert_eq!(reply.sender_type, chat_core::api::SenderType::Operator);
    // Another guest never sees it.
    let stranger = self::session(&key).await;
    assert!(history(&stranger, 0).await.messages.iter().all(|m| m.conversation_id == stranger.conversation_id));
}

#[tokio::test]
async fn bad_input_and_bad_tokens_get_their_codes() {
    let db = database().await;
    let (_, key) = open_site(&db).await;
    let session = session(&key).await;
    assert_eq!(error(post(&session, Uuid::new_v4(), "").await).await.code, ErrorCode::InvalidContent);
    assert_eq!(error(post(&session, Uuid::new_v4(), &"x".repeat(5001)).await).await.code, ErrorCode::InvalidContent);
    let no_token = client()
        .post(format!("{}/v1/messages", edge()))
        .json(&json!({"client_msg_id": Uuid::new_v4(), "content": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(error(no_token).await.code, ErrorCode::Unauthorized);
    let forged = client()
        .post(format!("{}/v1/messages", edge()))
        .bearer_auth(format!("{}x", session.guest_jwt))
        .json(&json!({"client_msg_id": Uuid::new_v4(), "content": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(error(forged).await.code, ErrorCode::Unauthorized);
    let not_json = client()
        .post(format!("{}/v1/messages", edge()))
        .bearer_auth(&session.guest_jwt)
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(error(not_json).await.code, ErrorCode::BadRequest);
    let bad_cursor =
        client().get(format!("{}/v1/messages?after=abc", edge())).bearer_auth(&session.guest_jwt).send().await.unwrap();
    assert_eq!(error(bad_cursor).await.code, ErrorCode::BadRequest);
    assert_eq!(error(start(json!({"site_key": "no-such-site"}), None).await).await.code, ErrorCode::SiteNotFound);
}

/// Input the database would refuse (or store mangled) is refused by the edge itself with a
/// clear 4xx: never a 503 that clients retry forever, never stored as something else.
#[tokio::test]
async fn hostile_input_gets_a_clear_4xx() {
    let db = database().await;
    let (site, key) = open_site(&db).await;
    let session = session(&key).await;
    let raw = |path: &str, body: Vec<u8>| {
        client()
            .post(format!("{}{path}", edge()))
            .bearer_auth(&session.guest_jwt)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let id = Uuid::new_v4();
    for (what, body) in [
        ("NUL in a message", format!(r#"{{"client_msg_id":"{id}","content":"a\u0000b"}}"#).into_bytes()),
        ("escape sequence in a message", format!(r#"{{"client_msg_id":"{id}","content":"\u001b[2J"}}"#).into_bytes()),
        (
            "invalid UTF-8",
            [format!(r#"{{"client_msg_id":"{id}","content":"caf"#).into_bytes(), vec![0xe9, b'"', b'}']].concat(),
        ),
        ("an array", b"[1]".to_vec()),
        (
            "an unknown field",
            format!(r#"{{"client_msg_id":"{id}","content":"hi","sender_type":"operator"}}"#).into_bytes(),
        ),
    ] {
        let response = raw("/v1/messages", body).await.unwrap();
        assert_eq!(error(response).await.code, ErrorCode::BadRequest, "{what}");
    }
    let stored: i64 = sqlx::query_scalar("select count(*) from public.messages where site_id = $1")
        .bind(site)
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(stored, 0, "nothing was stored");

    for body in ["[5]".to_string(), format!("{{\"rating\":{}5{}}}", "[".repeat(100_000), "]".repeat(100_000))] {
        assert_eq!(error(raw("/v1/sessions/end", body.into_bytes()).await.unwrap()).await.code, ErrorCode::BadRequest);
    }
    let ended = raw("/v1/sessions/end", br#"{"rating":5,"feedback":"Great"}"#.to_vec()).await.unwrap();
    assert_eq!(ended.status(), 200);
    let again = raw("/v1/sessions/end", br#"{"rating":1,"feedback":"Changed"}"#.to_vec()).await.unwrap();
    assert_eq!(error(again).await.code, ErrorCode::SessionEnded, "ending is once");

    let starts = [
        json!({"site_key": key, "email": "a@b@example.de"}),
        json!({"site_key": key, "name": "Eve\u{0000}"}),
        json!({"site_key": key, "custom_fields": {"is_admin": "yes"}}),
        json!({"site_key": key, "custom_fields": {"is_admin": "x".repeat(2_000_000)}}),
    ];
    for body in starts {
        let response = start(body.clone(), None).await;
        assert!(matches!(response.status().as_u16(), 400 | 422), "{} for {:.80}", response.status(), body.to_string());
        let _ = error(response).await;
    }
    let spoofed = client()
        .post(format!("{}/v1/sessions", edge()))
        .header("CF-Connecting-IP", "1.2.3.4, 5.6.7.8")
        .json(&json!({"site_key": key}))
        .send()
        .await
        .unwrap();
    assert_eq!(spoofed.status(), 201, "a CF-Connecting-IP that is not one address counts as none");
}

/// One visitor address cannot open chat after chat: past the limit a start is 429 with
/// `retry_after`, while other addresses still get in.
#[tokio::test]
async fn session_starts_from_one_address_are_rate_limited() {
    let db = database().await;
    let (_, key) = open_site(&db).await;
    let from = |ip: &str| {
        client()
            .post(format!("{}/v1/sessions", edge()))
            .header("CF-Connecting-IP", ip)
            .json(&json!({"site_key": key}))
            .send()
    };
    for _ in 0..chat_core::limits::SESSION_STARTS_PER_IP_PER_MINUTE {
        assert_eq!(from("198.51.100.23").await.unwrap().status(), 201);
    }
    let limited = from("198.51.100.23").await.unwrap();
    assert_eq!(limited.status(), 429);
    let retry_header: u32 = limited.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    let limited = error(limited).await;
    assert_eq!((limited.code, limited.retry_after), (ErrorCode::RateLimited, Some(retry_header)));
    assert_eq!(from("198.51.100.24").await.unwrap().status(), 201);
}

#[tokio::test]
async fn rate_limits_answer_429_with_retry_after() {
    let db = database().await;
    let (site, key) = open_site(&db).await;
    sqlx::query("update public.sites set default_rate_limit_per_minute = 2 where id = $1")
        .bind(site)
        .execute(&db)
        .await
        .unwrap();
    let session = session(&key).await;
    for _ in 0..2 {
        assert_eq!(post(&session, Uuid::new_v4(), "quick").await.status(), 201);
    }
    let limited = post(&session, Uuid::new_v4(), "too quick").await;
    assert_eq!(limited.status(), 429);
    let retry_header: u32 = limited.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    let limited = error(limited).await;
    assert_eq!(limited.code, ErrorCode::RateLimited);
    assert_eq!(limited.retry_after, Some(retry_header));
    assert!((1..=60).contains(&retry_header));
}

#[tokio::test]
async fn a_rating_without_ending_is_given_once() {
    let db = database().await;
    let (_, key) = open_site(&db).await;
    let session = session(&key).await;
    let rate = |body: &'static str| {
        let jwt = session.guest_jwt.clone();
        async move {
            client()
                .post(format!("{}/v1/sessions/rating", edge()))
                .bearer_auth(jwt)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(error(rate("").await).await.code, ErrorCode::BadRequest, "a rating is required");
    assert_eq!(error(rate(r#"{"feedback":"no stars"}"#).await).await.code, ErrorCode::InvalidRating);
    assert_eq!(error(rate(r#"{"rating":0}"#).await).await.code, ErrorCode::InvalidRating);
    let rated = rate(r#"{"rating":5,"feedback":"Solved"}"#).await;
    assert_eq!(rated.status(), 200);
    assert_eq!(rated.json::<Value>().await.unwrap()["status"], "active", "the session goes on");
    let again = rate(r#"{"rating":1}"#).await;
    assert_eq!(again.status(), 409);
    assert_eq!(error(again).await.code, ErrorCode::AlreadyRated);
    assert_eq!(post(&session, Uuid::new_v4(), "thanks again").await.status(), 201);
}

#[tokio::test]
async fn ended_and_expired_sessions_and_ratings() {
    let db = database().await;
    let (_, key) = open_site(&db).await;
    let session = session(&key).await;
    let end = |body: Value| {
        let jwt = session.guest_jwt.clone();
        async move {
            client().post(format!("{}/v1/sessions/end", edge())).bearer_auth(jwt).json(&body).send().await.unwrap()
        }
    };
    assert_eq!(error(end(json!({"rating": 9})).await).await.code, ErrorCode::InvalidRating);
    assert_eq!(error(end(json!({"feedback": "x".repeat(1001)})).await).await.code, ErrorCode::InvalidFeedback);
    let ended = end(json!({"rating": 4, "feedback": "Helpful"})).await;
    assert_eq!(ended.status(), 200);
    assert_eq!(ended.json::<Value>().await.unwrap()["end_reason"], "visitor");
    assert_eq!(error(post(&session, Uuid::new_v4(), "still there?").await).await.code, ErrorCode::SessionEnded);
    let refresh = client()
        .post(format!("{}/v1/sessions/refresh", edge()))
        .json(&json!({"token": session.token}))
        .send()
        .await
        .unwrap();
    assert_eq!(error(refresh).await.code, ErrorCode::SessionEnded);

    let idle = self::session(&key).await;
    sqlx::query("update public.chat_sessions set last_activity_at = now() - interval '2 hours' where id = $1")
        .bind(idle.session_id)
        .execute(&db)
        .await
        .unwrap();
    assert_eq!(error(post(&idle, Uuid::new_v4(), "hello?").await).await.code, ErrorCode::SessionExpired);
}

#[tokio::test]
async fn credits_run_out_with_402() {
    let db = database().await;
    let (site, key) = open_site(&db).await;
    sqlx::query("update public.sites set credits_per_message = 1 where id = $1").bind(site).execute(&db).await.unwrap();
    let session = session(&key).await;
    assert_eq!(error(post(&session, Uuid::new_v4(), "free?").await).await.code, ErrorCode::InsufficientCredits);
}

#[tokio::test]
async fn disabled_widgets_and_business_hours() {
    let db = database().await;
    let (site, key) = open_site(&db).await;
    let widget = || async {
        client().get(format!("{}/v1/sites/{key}/widget", edge())).send().await.unwrap().json::<Value>().await.unwrap()
    };
    assert_eq!(widget().await["is_online"], false, "nobody online: offline");
    assert_eq!(widget().await["agent"], Value::Null, "no agent yet");
    sqlx::query(
        "insert into public.agents (site_id, name, avatar_url) values ($1, 'Maya', 'https://cdn.example/maya.png')",
    )
    .bind(site)
    .execute(&db)
    .await
    .unwrap();
    assert_eq!(widget().await["agent"], json!({"name": "Maya", "avatar_url": "https://cdn.example/maya.png"}));
    let operator = new_user(&db).await;
    sqlx::query(
        "insert into public.site_members (site_id, user_id, role, availability) values ($1, $2, 'operator', 'online')",
    )
    .bind(site)
    .bind(operator)
    .execute(&db)
    .await
    .unwrap();
    assert_eq!(widget().await["is_online"], true, "always open and an operator online");
    sqlx::query("update public.widget_settings set business_hours = '{}' where site_id = $1")
        .bind(site)
        .execute(&db)
        .await
        .unwrap();
    assert_eq!(widget().await["is_online"], false, "no opening hours: offline");
    sqlx::query("update public.widget_settings set enabled = false where site_id = $1")
        .bind(site)
        .execute(&db)
        .await
        .unwrap();
    assert_eq!(widget().await, json!({"site_key": key, "enabled": false}));
    assert_eq!(error(start(json!({"site_key": key}), None).await).await.code, ErrorCode::WidgetDisabled);
}

#[tokio::test]
async fn knowledge_answers_once_per_message_and_away_message_once() {
    let db = database().await;
    let (site, key) = open_site(&db).await;
    sqlx::query("insert into public.knowledge_articles (site_id, title, body) values ($1, 'Shipping', 'We ship worldwide within 3 business days.')")
        .bind(site)
        .execute(&db)
        .await
        .unwrap();
    let session = session(&key).await;
    let question = Uuid::new_v4();
    post(&session, question, "How long does shipping take?").await;
    post(&session, question, "How long does shipping take?").await;
    post(&session, Uuid::new_v4(), "Can I pay by card?").await;
    post(&session, Uuid::new_v4(), "Hello??").await;
    // Answers are written after the response: poll for up to 5 s.
    let ai = chat_core::api::SenderType::Ai;
    for _ in 0..50 {
        if history(&session, 0).await.messages.iter().filter(|m| m.sender_type == ai).count() >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // Give a wrongly duplicated answer time to show up before counting.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let automatic: Vec<_> = history(&session, 0).await.messages.into_iter().filter(|m| m.sender_type == ai).collect();
    // The two answers run after their responses, side by side: either may be stored first.
    let mut kinds: Vec<&str> = automatic.iter().map(|m| m.metadata.kind.as_deref().unwrap_or("")).collect();
    kinds.sort_unstable();
    assert_eq!(
        kinds,
        ["away_message", "knowledge_answer"],
        "one answer for the question, one away message for the rest"
    );
    let answer = automatic.iter().find(|m| m.metadata.kind.as_deref() == Some("knowledge_answer")).unwrap();
    assert_eq!(answer.content, "We ship worldwide within 3 business days.");
}

/// The minute cron answers a message nobody answered (stored straight into the database here,
/// as when the edge's background answer failed).
#[tokio::test]
async fn the_minute_cron_answers_what_is_still_owed() {
    let db = database().await;
    let (site, _, mut guest) = common::site_with_guest(&db).await;
    let message: Value = sqlx::query_scalar("select public.post_message($1, $2)")
        .bind(Uuid::new_v4())
        .bind("Hello?")
        .fetch_one(&mut guest)
        .await
        .unwrap();
    let owed = "select count(*) from public.owed_answers where message_id = $1::uuid";
    // Each run takes the 100 oldest due: earlier layers may have left more.
    for _ in 0..50 {
        let cron = client().get(format!("{}/__scheduled?cron=*+*+*+*+*", edge())).send().await.unwrap();
        assert!(cron.status().is_success(), "{}", cron.status());
        let left: i64 = sqlx::query_scalar(owed).bind(message["id"].as_str()).fetch_one(&db).await.unwrap();
        if left == 0 {
            break;
        }
    }
    let answers: i64 =
        sqlx::query_scalar("select count(*) from public.messages where site_id = $1 and sender_type = 'ai'")
            .bind(site)
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(answers, 1, "the away message, given by the cron");
}
