//! Sessions, links and messages through the SQL functions, as the edge and guests call them.

mod common;

use common::{
    connect_as_guest, connect_as_service, database, new_site, new_user, refusal, site_with_guest, token_hash,
    widget_session,
};
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

async fn start_session(
    service: &mut PgConnection,
    site_key: &str,
    resume: Option<&str>,
    token: &str,
) -> Result<Value, sqlx::Error> {
    sqlx::query_scalar("select public.start_widget_session($1, $2, $3, 'Ann', 'ann@example.test')")
        .bind(site_key)
        .bind(token)
        .bind(resume)
        .fetch_one(service)
        .await
}

async fn post(guest: &mut PgConnection, client_msg_id: Uuid, content: &str) -> Result<Value, sqlx::Error> {
    sqlx::query_scalar("select public.post_message($1, $2)").bind(client_msg_id).bind(content).fetch_one(guest).await
}

/// A site with a link of the given limits; returns (site id, link id, link token hash).
async fn link(db: &sqlx::PgPool, max_sessions: i32, max_messages: i32, rate: i32) -> (Uuid, Uuid, String) {
    let owner = new_user(db).await;
    let (site, _) = new_site(db, owner).await;
    let agent: Uuid =
        sqlx::query_scalar("insert into public.agents (site_id, name) values ($1, 'Helper') returning id")
            .bind(site)
            .fetch_one(db)
            .await
            .unwrap();
    let link: Uuid = sqlx::query_scalar(
        "insert into public.chat_links (site_id, agent_id, title, expires_at, max_sessions, max_messages_per_session, \
         rate_limit_per_minute, allowed_ips, allowed_domains) \
         values ($1, $2, 'Talk to Helper', now() + interval '2 hours', $3, $4, $5, '{}', '{}') returning id",
    )
    .bind(site)
    .bind(agent)
    .bind(max_sessions)
    .bind(max_messages)
    .bind(rate)
    .fetch_one(db)
    .await
    .unwrap();
    let hash = token_hash();
    sqlx::query("insert into public.chat_link_tokens (link_id, site_id, token_hash) values ($1, $2, $3)")
        .bind(link)
        .bind(site)
        .bind(&hash)
        .execute(db)
        .await
        .unwrap();
    (site, link, hash)
}

async fn open_link(service: &mut PgConnection, link_hash: &str, now_offset_hours: i32) -> Result<Value, sqlx::Error> {
    sqlx::query_scalar(
        "select public.open_link_session($1, $2, '203.0.113.7', 'shop.example', 'test', null, 'DE', now() + make_interval(hours => $3))",
    )
    .bind(link_hash)
    .bind(token_hash())
    .bind(now_offset_hours)
    .fetch_one(service)
    .await
}

#[tokio::test]
async fn widget_sessions_start_and_resume_by_token() {
    let db = database().await;
    let owner = new_user(&db).await;
    let (_, key) = new_site(&db, owner).await;
    let mut service = connect_as_service().await;
    let token = token_hash();
    let first = start_session(&mut service, &key, None, &token).await.unwrap();
    assert_eq!(first["resumed"], false);
    let resumed = start_session(&mut service, &key, Some(&token), &token_hash()).await.unwrap();
    assert_eq!(resumed["resumed"], true);
    assert_eq!(resumed["conversation_id"], first["conversation_id"]);
    // The same email on the same site is the same customer, in a new conversation.
    let other = start_session(&mut service, &key, Some(&token_hash()), &token_hash()).await.unwrap();
    assert_eq!(other["resumed"], false);
    assert_eq!(other["customer_id"], first["customer_id"]);
    assert_ne!(other["conversation_id"], first["conversation_id"]);
    // A session idle past its timeout is not resumed.
    sqlx::query(
        "update public.chat_sessions set last_activity_at = now() - interval '31 minutes' where id = $1::text::uuid",
    )
    .bind(first["session_id"].as_str().unwrap())
    .execute(&db)
    .await
    .unwrap();
    let after_timeout = start_session(&mut service, &key, Some(&token), &token_hash()).await.unwrap();
    assert_eq!(after_timeout["resumed"], false);
    assert_eq!(
        refusal(start_session(&mut service, "no-such-site", None, &token_hash()).await.unwrap_err()),
        "site_not_found"
    );
}

#[tokio::test]
async fn post_message_is_idempotent_and_counts() {
    let db = database().await;
    let (_, session, mut guest) = site_with_guest(&db).await;
    let id = Uuid::new_v4();
    let first = post(&mut guest, id, "Hello, is anyone there?").await.unwrap();
    assert_eq!(first["created"], true);
    assert_eq!(first["sender_type"], "customer");
    let retry = post(&mut guest, id, "Hello, is anyone there?").await.unwrap();
    assert_eq!(retry["created"], false);
    assert_eq!(retry["id"], first["id"]);
    let (messages, count, unread): (i64, i32, i32) = sqlx::query_as(
        "select (select count(*) from public.messages where conversation_id = c.id), c.message_count, c.unread_count \
         from public.conversations c where c.id = $1::text::uuid",
    )
    .bind(session["conversation_id"].as_str().unwrap())
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!((messages, count, unread), (1, 1, 1));
    for bad in ["", "   ", &"x".repeat(5001)] {
        assert_eq!(refusal(post(&mut guest, Uuid::new_v4(), bad).await.unwrap_err()), "invalid_content");
    }
    assert!(post(&mut guest, Uuid::new_v4(), &"x".repeat(5000)).await.is_ok());
}

#[tokio::test]
async fn a_retry_with_another_text_is_a_conflict() {
    let db = database().await;
    let (_, _, mut guest) = site_with_guest(&db).await;
    let id = Uuid::new_v4();
    let first = post(&mut guest, id, "My order is 1042").await.unwrap();
    assert_eq!(refusal(post(&mut guest, id, "My order is 1043").await.unwrap_err()), "idempotency_conflict");
    let stored: String = sqlx::query_scalar("select content from public.messages where id = $1::text::uuid")
        .bind(first["id"].as_str().unwrap())
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(stored, "My order is 1042");
    assert_eq!(post(&mut guest, id, "My order is 1042").await.unwrap()["created"], false);
}

/// Guests post plain visitor text: no message type and no metadata of their choosing (a
/// 'system' message or a fake knowledge answer would be served by the edge as genuine).
#[tokio::test]
async fn guests_cannot_post_typed_messages() {
    let db = database().await;
    let (_, _, mut guest) = site_with_guest(&db).await;
    for forged in [
        "select public.post_message(gen_random_uuid(), 'Your refund is approved', 'system', '{}')",
        "select public.post_message(p_client_msg_id => gen_random_uuid(), p_content => 'Refund approved', \
         p_message_type => 'text', p_metadata => '{\"knowledge_article_id\": \"x\"}')",
    ] {
        let error = sqlx::query(forged).execute(&mut guest).await.unwrap_err();
        assert_eq!(error.as_database_error().and_then(|e| e.code()).as_deref(), Some("42883"), "{forged}: {error}");
    }
    let stored = post(&mut guest, Uuid::new_v4(), "Plain text").await.unwrap();
    assert_eq!((stored["message_type"].as_str(), stored["metadata"].clone()), (Some("text"), serde_json::json!({})));
}

#[tokio::test]
async fn a_guest_cannot_post_into_another_conversation() {
    let db = database().await;
    let owner = new_user(&db).await;
    let (_, key) = new_site(&db, owner).await;
    let mine = widget_session(&key).await;
    let theirs = widget_session(&key).await;
    // Forge a token naming my session but their conversation.
    let mut forged = mine.clone();
    forged["conversation_id"] = theirs["conversation_id"].clone();
    let mut guest = connect_as_guest(&forged).await;
    assert_eq!(refusal(post(&mut guest, Uuid::new_v4(), "sneaky").await.unwrap_err()), "unauthorized");
}

/// A guest token counts only when every claim agrees with its session: a correctly signed
/// token mixing one session's ids with another conversation, site or subject (or acting as
/// another role) reads nothing and writes nothing, its own conversation included.
#[tokio::test]
async fn mixed_guest_claims_grant_nothing() {
    let db = database().await;
    let owner = new_user(&db).await;
    let (_, key) = new_site(&db, owner).await;
    let (_, other_key) = new_site(&db, owner).await;
    let mine = widget_session(&key).await;
    let theirs = widget_session(&key).await;
    let elsewhere = widget_session(&other_key).await;
    let mut theirs_guest = connect_as_guest(&theirs).await;
    post(&mut theirs_guest, Uuid::new_v4(), "their secret").await.unwrap();
    post(&mut connect_as_guest(&mine).await, Uuid::new_v4(), "mine").await.unwrap();

    let claims = |session: &Value, conversation: &Value, site: &Value, sub: &Value| {
        serde_json::json!({"role": "authenticated", "sub": sub, "is_anonymous": true,
            "guest": {"site_id": site, "conversation_id": conversation, "session_id": session}})
    };
    let forgeries = [
        (
            "their conversation",
            claims(&mine["session_id"], &theirs["conversation_id"], &mine["site_id"], &mine["customer_id"]),
        ),
        (
            "their customer",
            claims(&mine["session_id"], &mine["conversation_id"], &mine["site_id"], &theirs["customer_id"]),
        ),
        (
            "another site",
            claims(&mine["session_id"], &mine["conversation_id"], &elsewhere["site_id"], &mine["customer_id"]),
        ),
        (
            "their session",
            claims(&theirs["session_id"], &mine["conversation_id"], &mine["site_id"], &mine["customer_id"]),
        ),
        (
            "not a uuid",
            claims(&serde_json::json!("x'; --"), &mine["conversation_id"], &mine["site_id"], &mine["customer_id"]),
        ),
    ];
    for (what, forged) in forgeries {
        let mut guest = common::connect_as("authenticated", forged).await;
        let seen: (i64, i64, i64) = sqlx::query_as(
            "select (select count(*) from public.guest_messages), (select count(*) from public.messages), \
                    (select count(*) from public.conversations)",
        )
        .fetch_one(&mut guest)
        .await
        .unwrap();
        assert_eq!(seen, (0, 0, 0), "{what}: a token with mixed claims read rows");
        assert_eq!(refusal(post(&mut guest, Uuid::new_v4(), "forged").await.unwrap_err()), "unauthorized", "{what}");
    }
    let mut honest = connect_as_guest(&mine).await;
    let contents: Vec<String> =
        sqlx::query_scalar("select content from public.guest_messages").fetch_all(&mut honest).await.unwrap();
    assert_eq!(contents, ["mine"]);
}

#[tokio::test]
async fn message_limit_ends_the_session() {
    let db = database().await;
    let (_, _, hash) = link(&db, 1, 2, 100).await;
    let mut service = connect_as_service().await;
    let session = open_link(&mut service, &hash, 0).await.unwrap();
    let mut guest = connect_as_guest(&session).await;
    post(&mut guest, Uuid::new_v4(), "one").await.unwrap();
    post(&mut guest, Uuid::new_v4(), "two").await.unwrap();
    assert_eq!(refusal(post(&mut guest, Uuid::new_v4(), "three").await.unwrap_err()), "session_ended");
    let (status, reason): (String, String) =
        sqlx::query_as("select status, end_reason from public.chat_sessions where id = $1::text::uuid")
            .bind(session["session_id"].as_str().unwrap())
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!((status.as_str(), reason.as_str()), ("ended", "max_messages"));
    let link_messages: i32 =
        sqlx::query_scalar("select message_count from public.chat_links where id = $1::text::uuid")
            .bind(session["link_id"].as_str().unwrap())
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(link_messages, 2);
}

#[tokio::test]
async fn rate_limit_refuses_with_retry_after_then_recovers() {
    let db = database().await;
    let (_, _, hash) = link(&db, 1, 1000, 3).await;
    let mut service = connect_as_service().await;
    let session = open_link(&mut service, &hash, 0).await.unwrap();
    let mut guest = connect_as_guest(&session).await;
    for i in 0..3 {
        post(&mut guest, Uuid::new_v4(), &format!("message {i}")).await.unwrap();
    }
    let error = post(&mut guest, Uuid::new_v4(), "one too many").await.unwrap_err();
    let sqlx::Error::Database(db_error) = &error else { panic!("{error}") };
    assert_eq!(db_error.message(), "rate_limited");
    let pg = db_error.try_downcast_ref::<sqlx::postgres::PgDatabaseError>().unwrap();
    let retry_after: i32 = pg.hint().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "retry_after {retry_after}");
    // A retry of an accepted message is not rate limited.
    sqlx::query(
        "update public.chat_sessions set rate_window_start = now() - interval '61 seconds' where id = $1::text::uuid",
    )
    .bind(session["session_id"].as_str().unwrap())
    .execute(&db)
    .await
    .unwrap();
    post(&mut guest, Uuid::new_v4(), "after a minute").await.unwrap();
}

#[tokio::test]
async fn link_refusals_each_have_their_code() {
    let db = database().await;
    let (_, link_id, hash) = link(&db, 5, 10, 10).await;
    let mut service = connect_as_service().await;
    assert!(open_link(&mut service, &hash, 1).await.is_ok());
    assert_eq!(refusal(open_link(&mut service, &hash, 3).await.unwrap_err()), "link_expired");
    assert_eq!(refusal(open_link(&mut service, &token_hash(), 0).await.unwrap_err()), "link_not_found");
    sqlx::query("update public.chat_links set allowed_ips = '{10.0.0.0/8}' where id = $1")
        .bind(link_id)
        .execute(&db)
        .await
        .unwrap();
    assert_eq!(refusal(open_link(&mut service, &hash, 0).await.unwrap_err()), "ip_not_allowed");
    sqlx::query("update public.chat_links set allowed_ips = '{203.0.113.0/24}', allowed_domains = '{other.example}' where id = $1")
        .bind(link_id)
        .execute(&db)
        .await
        .unwrap();
    assert_eq!(refusal(open_link(&mut service, &hash, 0).await.unwrap_err()), "domain_not_allowed");
    sqlx::query("update public.chat_links set allowed_domains = '{example}' where id = $1")
        .bind(link_id)
        .execute(&db)
        .await
        .unwrap();
    assert!(open_link(&mut service, &hash, 0).await.is_ok(), "subdomains of an allowed domain are allowed");
    sqlx::query("update public.chat_links set is_active = false where id = $1")
        .bind(link_id)
        .execute(&db)
        .await
        .unwrap();
    assert_eq!(refusal(open_link(&mut service, &hash, 0).await.unwrap_err()), "link_inactive");
}

#[tokio::test]
async fn fifty_parallel_opens_of_a_five_session_link_make_exactly_five() {
    let db = database().await;
    let (_, link_id, hash) = link(&db, 5, 10, 10).await;
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let hash = hash.clone();
        tasks.push(tokio::spawn(async move {
            let mut service = connect_as_service().await;
            open_link(&mut service, &hash, 0).await.map_err(refusal)
        }));
    }
    let mut opened = 0;
    let mut full = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => opened += 1,
            Err(code) => {
                assert_eq!(code, "link_full");
                full += 1;
            }
        }
    }
    assert_eq!((opened, full), (5, 45));
    let (count, sessions): (i32, i64) = sqlx::query_as(
        "select session_count, (select count(*) from public.chat_sessions where link_id = $1) from public.chat_links where id = $1",
    )
    .bind(link_id)
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!((count, sessions), (5, 5));
}

#[tokio::test]
async fn credits_are_debited_per_message_and_never_go_negative() {
    let db = database().await;
    let (site, session, mut guest) = site_with_guest(&db).await;
    sqlx::query("update public.sites set credits_per_message = 2 where id = $1").bind(site).execute(&db).await.unwrap();
    sqlx::query("insert into public.credit_ledger (site_id, customer_id, amount, reason, reference) values ($1, $2::text::uuid, 3, 'purchase', $3)")
        .bind(site)
        .bind(session["customer_id"].as_str().unwrap())
        .bind(Uuid::new_v4().to_string())
        .execute(&db)
        .await
        .unwrap();
    post(&mut guest, Uuid::new_v4(), "costs two").await.unwrap();
    assert_eq!(refusal(post(&mut guest, Uuid::new_v4(), "cannot afford").await.unwrap_err()), "insufficient_credits");
    let (balance, entries): (i32, i64) = sqlx::query_as(
        "select credit_balance, (select count(*) from public.credit_ledger where customer_id = c.id) from public.customers c where id = $1::text::uuid",
    )
    .bind(session["customer_id"].as_str().unwrap())
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!((balance, entries), (1, 2));
}

#[tokio::test]
async fn ending_a_session_records_the_rating() {
    let db = database().await;
    let (_, session, mut guest) = site_with_guest(&db).await;
    let invalid = sqlx::query_scalar::<_, Value>("select public.end_session(6, null)").fetch_one(&mut guest).await;
    assert_eq!(refusal(invalid.unwrap_err()), "invalid_rating");
    let ended: Value =
        sqlx::query_scalar("select public.end_session(5, 'Quick and kind')").fetch_one(&mut guest).await.unwrap();
    assert_eq!(ended["end_reason"], "visitor");
    let csat: i16 = sqlx::query_scalar("select csat from public.conversations where id = $1::text::uuid")
        .bind(session["conversation_id"].as_str().unwrap())
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(csat, 5);
    assert_eq!(refusal(post(&mut guest, Uuid::new_v4(), "still there?").await.unwrap_err()), "session_ended");
    // Ending is once: a second call changes nothing.
    let again = sqlx::query_scalar::<_, Value>("select public.end_session(1, 'Changed my mind')").fetch_one(&mut guest);
    assert_eq!(refusal(again.await.unwrap_err()), "session_ended");
    let kept: (Option<i16>, Option<String>) =
        sqlx::query_as("select rating, feedback from public.chat_sessions where id = $1::text::uuid")
            .bind(session["session_id"].as_str().unwrap())
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(kept, (Some(5), Some("Quick and kind".into())));
}

/// A session that ended without the visitor (here: inactivity) may still be rated, once.
#[tokio::test]
async fn a_session_ended_otherwise_is_rated_once() {
    let db = database().await;
    let (_, session, mut guest) = site_with_guest(&db).await;
    sqlx::query(
        "update public.chat_sessions set status = 'ended', end_reason = 'timeout', ended_at = now() where id = $1::text::uuid",
    )
    .bind(session["session_id"].as_str().unwrap())
    .execute(&db)
    .await
    .unwrap();
    let rated: Value = sqlx::query_scalar("select public.end_session(4, null)").fetch_one(&mut guest).await.unwrap();
    assert_eq!((rated["end_reason"].as_str(), rated["rating"].as_i64()), (Some("timeout"), Some(4)));
    let again = sqlx::query_scalar::<_, Value>("select public.end_session(1, null)").fetch_one(&mut guest);
    assert_eq!(refusal(again.await.unwrap_err()), "session_ended");
}

/// Whether the backend `pid` comes to wait for a row lock (polled for up to 2 s).
async fn waits_for_a_lock(db: &sqlx::PgPool, pid: i32) -> bool {
    for _ in 0..100 {
        let waiting: bool =
            sqlx::query_scalar("select coalesce(wait_event_type = 'Lock', false) from pg_stat_activity where pid = $1")
                .bind(pid)
                .fetch_one(db)
                .await
                .unwrap();
        if waiting {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    false
}

/// Whether the row `id` of `table` can be locked right now (nobody holds it).
async fn row_is_free(db: &sqlx::PgPool, table: &str, id: &str) -> bool {
    let mut probe = db.begin().await.unwrap();
    let sql = format!("select 1 from public.{table} where id = $1::uuid for update nowait");
    let locked = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).execute(&mut *probe).await;
    probe.rollback().await.unwrap();
    locked.is_ok()
}

/// Lock order is conversation, then session (the order a message insert and its counters
/// take): while another transaction holds the conversation, a guest's post or end waits for
/// it without holding the session, so it cannot deadlock with an automatic answer.
#[tokio::test]
async fn guests_wait_for_the_conversation_before_locking_their_session() {
    let db = database().await;
    for call in ["select public.post_message(gen_random_uuid(), 'Hello?')", "select public.end_session(4, null)"] {
        let (_, session, mut guest) = site_with_guest(&db).await;
        let conversation = session["conversation_id"].as_str().unwrap().to_owned();
        let session_id = session["session_id"].as_str().unwrap().to_owned();
        let mut holder = db.begin().await.unwrap();
        sqlx::query("select 1 from public.conversations where id = $1::uuid for update")
            .bind(&conversation)
            .execute(&mut *holder)
            .await
            .unwrap();
        let pid: i32 = sqlx::query_scalar("select pg_backend_pid()").fetch_one(&mut guest).await.unwrap();
        let waiting = tokio::spawn(async move { sqlx::query(call).execute(&mut guest).await.map(drop) });
        assert!(waits_for_a_lock(&db, pid).await, "{call} waits for the conversation");
        assert!(
            row_is_free(&db, "chat_sessions", &session_id).await,
            "{call} holds no lock on the session while it waits"
        );
        holder.commit().await.unwrap();
        waiting.await.unwrap().unwrap();
    }
}

/// Lock order is session, then link (a guest's message counts itself on its link): while a
/// session of an expired link is locked, cleanup waits for it without holding the link.
#[tokio::test]
async fn cleanup_waits_for_a_busy_session_before_locking_its_link() {
    let db = database().await;
    let (_, link_id, hash) = link(&db, 5, 50, 30).await;
    let mut service = connect_as_service().await;
    let session = open_link(&mut service, &hash, 0).await.unwrap();
    let mut holder = db.begin().await.unwrap();
    sqlx::query("select 1 from public.chat_sessions where id = $1::text::uuid for update")
        .bind(session["session_id"].as_str().unwrap())
        .execute(&mut *holder)
        .await
        .unwrap();
    let pid: i32 = sqlx::query_scalar("select pg_backend_pid()").fetch_one(&mut service).await.unwrap();
    // Cleanup sweeps the whole database: its transaction is rolled back, so the tests running
    // beside this one keep their sessions.
    let cleanup = tokio::spawn(async move {
        use sqlx::Connection;
        let mut sweep = service.begin().await?;
        sqlx::query("select public.cleanup_expired(now() + interval '3 hours')").execute(&mut *sweep).await?;
        let ours: (bool, String) = sqlx::query_as(
            "select l.is_active, s.end_reason from public.chat_links l join public.chat_sessions s on s.link_id = l.id \
             where l.id = $1",
        )
        .bind(link_id)
        .fetch_one(&mut *sweep)
        .await?;
        sweep.rollback().await?;
        Ok::<_, sqlx::Error>(ours)
    });
    assert!(waits_for_a_lock(&db, pid).await, "cleanup waits for the session");
    assert!(
        row_is_free(&db, "chat_links", &link_id.to_string()).await,
        "cleanup holds no lock on the link while it waits"
    );
    holder.commit().await.unwrap();
    let (active, reason) = cleanup.await.unwrap().unwrap();
    assert_eq!((active, reason.as_str()), (false, "link_expired"));
}

/// New sessions are limited per visitor address and per site, for widget starts and link
/// opens alike; a refused start leaves nothing behind and says how long to wait.
#[tokio::test]
async fn session_starts_are_limited_per_address_and_per_site() {
    use chat_core::limits::{SESSION_STARTS_PER_IP_PER_MINUTE, SESSION_STARTS_PER_SITE_PER_MINUTE};
    let db = database().await;
    let owner = new_user(&db).await;
    let (site, key) = new_site(&db, owner).await;
    let mut service = connect_as_service().await;
    let mut start = async |ip: &str| {
        sqlx::query_scalar::<_, Value>(
            "select public.start_widget_session(p_site_key => $1, p_token_hash => $2, p_ip => $3::inet)",
        )
        .bind(&key)
        .bind(common::token_hash())
        .bind(ip)
        .fetch_one(&mut service)
        .await
    };
    for _ in 0..SESSION_STARTS_PER_IP_PER_MINUTE {
        start("198.51.100.7").await.unwrap();
    }
    let refused = start("198.51.100.7").await.unwrap_err();
    let hint = refused
        .as_database_error()
        .and_then(|e| e.try_downcast_ref::<sqlx::postgres::PgDatabaseError>())
        .and_then(|e| e.hint().map(str::to_string));
    assert_eq!(refusal(refused), "rate_limited");
    assert!(hint.and_then(|h| h.parse::<i64>().ok()).is_some_and(|s| (1..=60).contains(&s)), "retry_after in seconds");
    start("2001:db8::7").await.expect("another address still gets in");
    // A local stack reports 127.0.0.1 for everyone: counted per site only.
    for _ in 0..=SESSION_STARTS_PER_IP_PER_MINUTE {
        start("127.0.0.1").await.expect("loopback is counted per site only");
    }

    let mut started = 2 * SESSION_STARTS_PER_IP_PER_MINUTE + 2;
    let mut address = 0;
    while started < SESSION_STARTS_PER_SITE_PER_MINUTE {
        start(&format!("203.0.113.{}", address / SESSION_STARTS_PER_IP_PER_MINUTE)).await.unwrap();
        started += 1;
        address += 1;
    }
    assert_eq!(refusal(start("192.0.2.200").await.unwrap_err()), "rate_limited", "the site's own limit");
    let sessions: i64 = sqlx::query_scalar("select count(*) from public.chat_sessions where site_id = $1")
        .bind(site)
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(sessions, SESSION_STARTS_PER_SITE_PER_MINUTE, "refused starts left no session");

    // Link opens count the same way (open_link opens from one address).
    let (_, _, link_hash) = link(&db, 50, 100, 10).await;
    let mut opener = connect_as_service().await;
    for _ in 0..SESSION_STARTS_PER_IP_PER_MINUTE {
        open_link(&mut opener, &link_hash, 0).await.unwrap();
    }
    assert_eq!(refusal(open_link(&mut opener, &link_hash, 0).await.unwrap_err()), "rate_limited");
}
