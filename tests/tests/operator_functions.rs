//! The operator side in SQL: the assignment queue, release and review, idle detection,
//! escalation, analytics, stats, the audit trail and cleanup.

mod common;

use common::desk::{Desk, desk, id, visitor};
use common::{connect_as_guest, connect_as_service, connect_as_user, database, new_user, refusal, token_hash};
use serde_json::Value;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

async fn take(conn: &mut PgConnection, site: Uuid) -> Result<Option<Value>, sqlx::Error> {
    sqlx::query_scalar("select public.take_next_conversation($1)").bind(site).fetch_one(conn).await
}

#[tokio::test]
async fn operators_take_the_oldest_waiting_conversations_without_collisions() {
    let db = database().await;
    let desk = desk(&db, 4, 5, "online", false).await;
    let mut sessions = Vec::new();
    for _ in 0..6 {
        sessions.push(visitor(&desk).await);
    }
    let mut tasks = Vec::new();
    for operator in desk.operators.clone() {
        let site = desk.site;
        tasks.push(tokio::spawn(async move {
            let mut conn = connect_as_user(operator).await;
            take(&mut conn, site).await.unwrap().map(|c| id(&c, "id"))
        }));
    }
    let mut taken = Vec::new();
    for task in tasks {
        taken.push(task.await.unwrap().expect("each operator gets one"));
    }
    taken.sort();
    taken.dedup();
    assert_eq!(taken.len(), 4, "four operators, four different conversations");
    let oldest: Vec<Uuid> = sessions[..4].iter().map(|s| id(s, "conversation_id")).collect();
    for conversation in &taken {
        assert!(oldest.contains(conversation), "the oldest four are taken first");
    }
    let waiting: i64 =
        sqlx::query_scalar("select count(*) from public.conversations where site_id = $1 and status = 'waiting'")
            .bind(desk.site)
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(waiting, 2);
}

#[tokio::test]
async fn capacity_availability_and_membership_are_enforced() {
    let db = database().await;
    let desk = desk(&db, 1, 1, "online", false).await;
    visitor(&desk).await;
    visitor(&desk).await;
    let mut operator = connect_as_user(desk.operators[0]).await;
    assert!(take(&mut operator, desk.site).await.unwrap().is_some());
    assert_eq!(refusal(take(&mut operator, desk.site).await.unwrap_err()), "operator_at_capacity");
    sqlx::query("update public.site_members set availability = 'away' where user_id = $1")
        .bind(desk.operators[0])
        .execute(&db)
        .await
        .unwrap();
    assert_eq!(refusal(take(&mut operator, desk.site).await.unwrap_err()), "operator_unavailable");
    let stranger = new_user(&db).await;
    let mut stranger = connect_as_user(stranger).await;
    assert_eq!(refusal(take(&mut stranger, desk.site).await.unwrap_err()), "forbidden");
    let empty = desk_with_nothing_waiting(&db).await;
    let mut idle_operator = connect_as_user(empty.operators[0]).await;
    assert!(take(&mut idle_operator, empty.site).await.unwrap().is_none());
}

async fn desk_with_nothing_waiting(db: &PgPool) -> Desk {
    desk(db, 1, 5, "online", false).await
}

#[tokio::test]
async fn the_third_reassignment_flags_for_review() {
    let db = database().await;
    let desk = desk(&db, 1, 5, "online", false).await;
    let session = visitor(&desk).await;
    let conversation = id(&session, "conversation_id");
    let mut operator = connect_as_user(desk.operators[0]).await;
    let review_after = chat_core::limits::REVIEW_AFTER_REASSIGNMENTS;
    for round in 1..=review_after {
        assert!(take(&mut operator, desk.site).await.unwrap().is_some());
        let released: Value = sqlx::query_scalar("select public.release_conversation($1, 'transfer')")
            .bind(conversation)
            .fetch_one(&mut operator)
            .await
            .unwrap();
        assert_eq!(released["reassignment_count"], round);
        assert_eq!(released["needs_review"], round >= review_after);
        assert_eq!(released["status"], "waiting");
    }
    let history: Vec<String> = sqlx::query_scalar(
        "select release_reason from public.conversation_assignments where conversation_id = $1 order by assigned_at",
    )
    .bind(conversation)
    .fetch_all(&db)
    .await
    .unwrap();
    assert_eq!(history, vec!["transfer"; review_after as usize]);
    let other = new_user(&db).await;
    let mut other = connect_as_user(other).await;
    take(&mut operator, desk.site).await.unwrap();
    let refused = sqlx::query_scalar::<_, Value>("select public.release_conversation($1)")
        .bind(conversation)
        .fetch_one(&mut other)
        .await;
    assert_eq!(refusal(refused.unwrap_err()), "forbidden");
}

#[tokio::test]
async fn idle_operators_lose_their_conversations() {
    let db = database().await;
    let desk = desk(&db, 1, 5, "online", false).await;
    let session = visitor(&desk).await;
    let conversation = id(&session, "conversation_id");
    let mut operator = connect_as_user(desk.operators[0]).await;
    take(&mut operator, desk.site).await.unwrap();
    // The customer writes again and the operator stays silent for ten minutes.
    let mut guest = connect_as_guest(&session).await;
    sqlx::query("select public.post_message($1, 'Hello?')").bind(Uuid::new_v4()).execute(&mut guest).await.unwrap();
    sqlx::query("update public.conversation_assignments set last_activity_at = now() - interval '10 minutes' where conversation_id = $1")
        .bind(conversation)
        .execute(&db)
        .await
        .unwrap();
    let mut service = connect_as_service().await;
    let released: i32 =
        sqlx::query_scalar("select public.detect_idle_assignments(5)").fetch_one(&mut service).await.unwrap();
    assert!(released >= 1);
    let (status, idle): (String, i32) = sqlx::query_as(
        "select c.status, (select idle_incidents from public.operator_daily_stats s where s.user_id = $2 and s.site_id = c.site_id) \
         from public.conversations c where c.id = $1",
    )
    .bind(conversation)
    .bind(desk.operators[0])
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!((status.as_str(), idle), ("waiting", 1));
    let again: i32 =
        sqlx::query_scalar("select public.detect_idle_assignments(5)").fetch_one(&mut service).await.unwrap();
    let still_waiting: String = sqlx::query_scalar("select status from public.conversations where id = $1")
        .bind(conversation)
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(still_waiting, "waiting", "a second run ({again} released elsewhere) changes nothing here");
}

#[tokio::test]
async fn escalation_moves_the_conversation_up_the_ladder() {
    let db = database().await;
    let desk = desk(&db, 1, 5, "online", false).await;
    let t2 = new_user(&db).await;
    sqlx::query("insert into public.site_members (site_id, user_id, role, availability, support_level) values ($1, $2, 'operator', 'online', 't2')")
        .bind(desk.site)
        .bind(t2)
        .execute(&db)
        .await
        .unwrap();
    let session = visitor(&desk).await;
    let conversation = id(&session, "conversation_id");
    let mut t1 = connect_as_user(desk.operators[0]).await;
    take(&mut t1, desk.site).await.unwrap();
    let escalation: Value = sqlx::query_scalar("select public.escalate_conversation($1, 't2', 'Billing dispute', 2)")
        .bind(conversation)
        .fetch_one(&mut t1)
        .await
        .unwrap();
    assert_eq!((escalation["from_level"].as_str(), escalation["to_level"].as_str()), (Some("t1"), Some("t2")));
    let down = sqlx::query_scalar::<_, Value>("select public.escalate_conversation($1, 't1', 'down?')")
        .bind(conversation)
        .fetch_one(&mut t1)
        .await;
    assert_eq!(refusal(down.unwrap_err()), "bad_request");
    // T1 can no longer take it; T2 can, and was notified.
    assert!(take(&mut t1, desk.site).await.unwrap().is_none());
    let mut t2_conn = connect_as_user(t2).await;
    let notified: i64 =
        sqlx::query_scalar("select count(*) from public.operator_notifications where type = 'escalation'")
            .fetch_one(&mut t2_conn)
            .await
            .unwrap();
    assert_eq!(notified, 1);
    let taken = take(&mut t2_conn, desk.site).await.unwrap().unwrap();
    assert_eq!(id(&taken, "id"), conversation);
    assert_eq!(taken["priority"], "high");
}

#[tokio::test]
async fn operator_messages_count_stats_and_edits_are_audited() {
    let db = database().await;
    let desk = desk(&db, 1, 5, "online", false).await;
    let session = visitor(&desk).await;
    let conversation = id(&session, "conversation_id");
    let operator_id = desk.operators[0];
    let mut operator = connect_as_user(operator_id).await;
    take(&mut operator, desk.site).await.unwrap();
    let message: Uuid = sqlx::query_scalar(
        "insert into public.messages (conversation_id, site_id, sender_type, sender_user_id, content) \
         values ($1, $2, 'operator', $3, 'Hi! Let me check.') returning id",
    )
    .bind(conversation)
    .bind(desk.site)
    .bind(operator_id)
    .fetch_one(&mut operator)
    .await
    .unwrap();
    sqlx::query("update public.messages set content = 'Hi! Let me check that for you.' where id = $1")
        .bind(message)
        .execute(&mut operator)
        .await
        .unwrap();
    let (unread, first_response): (i32, Option<i32>) =
        sqlx::query_as("select unread_count, first_response_seconds from public.conversations where id = $1")
            .bind(conversation)
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(unread, 0);
    assert!(first_response.is_some());
    let stats: Value = sqlx::query_scalar("select public.operator_stats($1, null, 7)")
        .bind(desk.site)
        .fetch_one(&mut operator)
        .await
        .unwrap();
    assert_eq!(stats["messages_sent"], 1);
    assert_eq!(stats["conversations_handled"], 1);
    let history: Vec<(String, String)> =
        sqlx::query_as("select operation, old_content from public.message_history where message_id = $1")
            .bind(message)
            .fetch_all(&db)
            .await
            .unwrap();
    assert_eq!(history, vec![("update".to_string(), "Hi! Let me check.".to_string())]);
    let edited: bool = sqlx::query_scalar("select edited_at is not null from public.messages where id = $1")
        .bind(message)
        .fetch_one(&db)
        .await
        .unwrap();
    assert!(edited);
    // The owner sees the audit trail; the operator does not.
    let seen: i64 = sqlx::query_scalar("select count(*) from public.message_history where message_id = $1")
        .bind(message)
        .fetch_one(&mut operator)
        .await
        .unwrap();
    assert_eq!(seen, 0);
    let mut owner = connect_as_user(desk.owner).await;
    let seen: i64 = sqlx::query_scalar("select count(*) from public.message_history where message_id = $1")
        .bind(message)
        .fetch_one(&mut owner)
        .await
        .unwrap();
    assert_eq!(seen, 1);
}

#[tokio::test]
async fn link_analytics_and_cleanup() {
    let db = database().await;
    let desk = desk(&db, 0, 5, "online", false).await;
    let agent: Uuid =
        sqlx::query_scalar("insert into public.agents (site_id, name) values ($1, 'Helper') returning id")
            .bind(desk.site)
            .fetch_one(&db)
            .await
            .unwrap();
    let mut links = Vec::new();
    for hours in [1, 48] {
        let link: Uuid = sqlx::query_scalar(
            "insert into public.chat_links (site_id, agent_id, title, expires_at, max_sessions) values ($1, $2, 'Link', now() + make_interval(hours => $3), 10) returning id",
        )
        .bind(desk.site)
        .bind(agent)
        .bind(hours)
        .fetch_one(&db)
        .await
        .unwrap();
        let hash = token_hash();
        sqlx::query("insert into public.chat_link_tokens (link_id, site_id, token_hash) values ($1, $2, $3)")
            .bind(link)
            .bind(desk.site)
            .bind(&hash)
            .execute(&db)
            .await
            .unwrap();
        links.push((link, hash));
    }
    let mut service = connect_as_service().await;
    for (country, (_, hash)) in [("DE", &links[0]), ("DE", &links[1]), ("FR", &links[1])] {
        let session: Value = sqlx::query_scalar("select public.open_link_session($1, $2, null, null, null, null, $3)")
            .bind(hash)
            .bind(token_hash())
            .bind(country)
            .fetch_one(&mut service)
            .await
            .unwrap();
        let mut guest = connect_as_guest(&session).await;
        sqlx::query("select public.post_message($1, 'hi')").bind(Uuid::new_v4()).execute(&mut guest).await.unwrap();
    }
    let mut owner = connect_as_user(desk.owner).await;
    let analytics: Value = sqlx::query_scalar("select public.link_analytics($1, null, 30)")
        .bind(desk.site)
        .fetch_one(&mut owner)
        .await
        .unwrap();
    assert_eq!(analytics["total_links"], 2);
    assert_eq!(analytics["active_links"], 2);
    assert_eq!(analytics["total_sessions"], 3);
    assert_eq!(analytics["active_sessions"], 3);
    assert_eq!(analytics["total_messages"], 3);
    assert_eq!(
        analytics["top_countries"],
        serde_json::json!([{"country": "DE", "sessions": 2}, {"country": "FR", "sessions": 1}])
    );
    let stranger = new_user(&db).await;
    let mut stranger = connect_as_user(stranger).await;
    let hidden: Value = sqlx::query_scalar("select public.link_analytics($1, null, 30)")
        .bind(desk.site)
        .fetch_one(&mut stranger)
        .await
        .unwrap();
    assert_eq!(hidden["total_sessions"], 0);

    // Cleanup sweeps the whole database: run it in a transaction that is rolled back, so the
    // tests running beside this one keep their sessions.
    use sqlx::Connection;
    let mut tx = service.begin().await.unwrap();
    // Two hours later the first link has expired: cleanup deactivates it and ends its session.
    let first: Value = sqlx::query_scalar("select public.cleanup_expired(now() + interval '2 hours')")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert!(first["links_expired"].as_i64().unwrap() >= 1);
    let (active, reason): (bool, String) = sqlx::query_as(
        "select l.is_active, s.end_reason from public.chat_links l join public.chat_sessions s on s.link_id = l.id where l.id = $1",
    )
    .bind(links[0].0)
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    assert_eq!((active, reason.as_str()), (false, "link_expired"));
    // Idempotent: the same instant again changes nothing of ours (other tests run beside this
    // one and may add rows the second sweep legitimately handles).
    let ours = "select s.id, s.status, s.end_reason, s.ended_at, l.is_active from public.chat_sessions s \
                join public.chat_links l on l.id = s.link_id where l.site_id = $1 order by s.id";
    type Row = (Uuid, String, Option<String>, Option<sqlx::types::chrono::DateTime<sqlx::types::chrono::Utc>>, bool);
    let before: Vec<Row> = sqlx::query_as(ours).bind(desk.site).fetch_all(&mut *tx).await.unwrap();
    sqlx::query_scalar::<_, Value>("select public.cleanup_expired(now() + interval '2 hours')")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    let after: Vec<Row> = sqlx::query_as(ours).bind(desk.site).fetch_all(&mut *tx).await.unwrap();
    assert_eq!(before, after);
    // An hour later the other link's sessions have timed out (30 minutes idle).
    sqlx::query_scalar::<_, Value>("select public.cleanup_expired(now() + interval '3 hours')")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    let reasons: Vec<String> = sqlx::query_scalar("select end_reason from public.chat_sessions where link_id = $1")
        .bind(links[1].0)
        .fetch_all(&mut *tx)
        .await
        .unwrap();
    assert_eq!(reasons, vec!["timeout", "timeout"]);
    tx.rollback().await.unwrap();
}

/// Staff reply and write notes exactly once per client_msg_id (the console's outbox retries
/// with the same id); a viewer writes nothing; a reply to a closed conversation is refused, a
/// note is not; the note stays out of the guest's view.
#[tokio::test]
async fn staff_messages_are_stored_once_per_id_and_viewers_write_nothing() {
    let db = database().await;
    let desk = desk(&db, 1, 3, "online", false).await;
    let session = visitor(&desk).await;
    let conversation = id(&session, "conversation_id");
    let mut operator = connect_as_user(desk.operators[0]).await;
    let reply = Uuid::new_v4();
    let first = write_as_staff(&mut operator, conversation, reply, "Hello, how can I help?", false).await.unwrap();
    assert_eq!((&first["created"], &first["sender_type"]), (&Value::Bool(true), &Value::from("operator")));
    let again = write_as_staff(&mut operator, conversation, reply, "Hello, how can I help?", false).await.unwrap();
    assert_eq!((&again["created"], &again["id"]), (&Value::Bool(false), &first["id"]), "a retry answers with the row");
    let changed = write_as_staff(&mut operator, conversation, reply, "Another text", false).await.unwrap_err();
    assert_eq!(refusal(changed), "idempotency_conflict");
    let empty = write_as_staff(&mut operator, conversation, Uuid::new_v4(), " ", false).await;
    assert_eq!(refusal(empty.unwrap_err()), "invalid_content");

    let viewer = new_user(&db).await;
    sqlx::query("insert into public.site_members (site_id, user_id, role) values ($1, $2, 'viewer')")
        .bind(desk.site)
        .bind(viewer)
        .execute(&db)
        .await
        .unwrap();
    let mut viewer = connect_as_user(viewer).await;
    let refused = write_as_staff(&mut viewer, conversation, Uuid::new_v4(), "Viewers cannot write", false).await;
    assert_eq!(refusal(refused.unwrap_err()), "conversation_not_found");

    let mut owner = connect_as_user(desk.owner).await;
    sqlx::query("select public.close_conversation($1)").bind(conversation).execute(&mut owner).await.unwrap();
    let closed = write_as_staff(&mut operator, conversation, Uuid::new_v4(), "Too late", false).await;
    assert_eq!(refusal(closed.unwrap_err()), "conversation_closed");
    let note = write_as_staff(&mut operator, conversation, Uuid::new_v4(), "Follow up next week", true).await.unwrap();
    assert_eq!(note["internal"], true);
    let mut guest = connect_as_guest(&session).await;
    let seen: Vec<String> = sqlx::query_scalar("select content from public.guest_messages order by seq")
        .fetch_all(&mut guest)
        .await
        .unwrap();
    assert!(seen.contains(&"Hello, how can I help?".to_string()), "{seen:?}");
    assert!(!seen.iter().any(|c| c == "Follow up next week"), "the note never reaches the guest: {seen:?}");
    let stored: i64 = sqlx::query_scalar("select count(*) from public.messages where client_msg_id = $1")
        .bind(reply)
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(stored, 1);
}

/// `post_staff_message` as the caller of `conn`.
async fn write_as_staff(
    conn: &mut PgConnection,
    conversation: Uuid,
    client_msg_id: Uuid,
    content: &str,
    internal: bool,
) -> Result<Value, sqlx::Error> {
    sqlx::query_scalar("select public.post_staff_message($1, $2, $3, $4)")
        .bind(conversation)
        .bind(client_msg_id)
        .bind(content)
        .bind(internal)
        .fetch_one(conn)
        .await
}
