//! The conversation's life as one state machine (README "Conversation lifecycle"): every
//! transition legal and illegal, the close that used to break the cleanup, the visitor writing
//! after a close, and the state columns no API role may write directly.

mod common;

use common::desk::{Desk, desk, id, visitor, write};
use common::{connect_as_guest, connect_as_user, database, new_site, new_user, refusal, widget_session};
use serde_json::Value;
use sqlx::{Connection, PgConnection, PgPool};
use uuid::Uuid;

/// Act as the service role on `conn` until the transaction ends.
async fn become_service(conn: &mut PgConnection) {
    sqlx::query("select set_config('role', 'service_role', true), set_config('request.jwt.claims', '{\"role\":\"service_role\"}', true)")
        .execute(conn)
        .await
        .unwrap();
}

/// The defect this state machine fixes: a conversation closed while its assignment stayed open
/// (what an operator's `PATCH /rest/v1/conversations` did when the customer's last message was
/// newer than the operator's last activity) made the idle detection put it back in the queue,
/// which violated the conversations CHECK and failed the whole cleanup, every run.
#[tokio::test]
async fn a_close_with_an_open_assignment_never_breaks_the_cleanup() {
    let db = database().await;
    let desk = desk(&db, 1, 3, "online", false).await;
    let session = visitor(&desk).await;
    let conversation = id(&session, "conversation_id");
    let mut operator = connect_as_user(desk.operators[0]).await;
    sqlx::query("select public.take_next_conversation($1)").bind(desk.site).execute(&mut operator).await.unwrap();
    write(&session, "Hello? Anyone?").await.unwrap();

    // The cleanup sweeps the whole database: everything below is rolled back.
    let mut tx = operator.begin().await.unwrap();
    become_service(&mut tx).await;
    // The state the REST update used to leave (written here as the service role, which has
    // the table's privileges): closed, assignment open.
    sqlx::query("update public.conversation_assignments set last_activity_at = now() - interval '10 minutes' where conversation_id = $1")
        .bind(conversation)
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query("update public.conversations set status = 'closed', closed_at = now() where id = $1")
        .bind(conversation)
        .execute(&mut *tx)
        .await
        .unwrap();
    let summary: Value =
        sqlx::query_scalar("select public.cleanup_expired(now())").fetch_one(&mut *tx).await.expect("the cleanup runs");
    assert_eq!(summary["errors"], serde_json::json!([]), "{summary}");
    let status: String = sqlx::query_scalar("select status from public.conversations where id = $1")
        .bind(conversation)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(status, "closed", "a closed conversation never returns to the queue by itself");
    tx.rollback().await.unwrap();
}

/// A staff call `function(args...)` as `conn`; the JSON it returns.
async fn call(
    conn: &mut PgConnection,
    sql: &'static str,
    conversation: Uuid,
    other: Option<Uuid>,
) -> Result<Value, sqlx::Error> {
    let query = sqlx::query_scalar(sql).bind(conversation);
    match other {
        Some(other) => query.bind(other).fetch_one(conn).await,
        None => query.fetch_one(conn).await,
    }
}

async fn state(db: &PgPool, conversation: Uuid) -> (String, Option<Uuid>) {
    sqlx::query_as("select status, assigned_operator_id from public.conversations where id = $1")
        .bind(conversation)
        .fetch_one(db)
        .await
        .unwrap()
}

async fn set_availability(db: &PgPool, operator: Uuid, availability: &str) {
    sqlx::query("update public.site_members set availability = $2 where user_id = $1")
        .bind(operator)
        .bind(availability)
        .execute(db)
        .await
        .unwrap();
}

/// Releases of the conversation's assignments, oldest first: (operator, reason).
async fn releases(db: &PgPool, conversation: Uuid) -> Vec<(Uuid, Option<String>)> {
    sqlx::query_as("select operator_id, release_reason from public.conversation_assignments where conversation_id = $1 order by assigned_at, released_at nulls last")
        .bind(conversation)
        .fetch_all(db)
        .await
        .unwrap()
}

#[tokio::test]
async fn no_api_role_writes_the_state_columns_directly() {
    let db = database().await;
    let desk = desk(&db, 1, 3, "online", false).await;
    let session = visitor(&desk).await;
    let conversation = id(&session, "conversation_id");
    let stranger = new_user(&db).await;
    for who in [desk.owner, desk.operators[0], stranger] {
        let mut conn = connect_as_user(who).await;
        for set in [
            "status = 'closed', closed_at = now()",
            "assigned_operator_id = auth.uid()",
            "closed_at = now()",
            "snoozed_until = now()",
            "closed_by = auth.uid()",
            "assigned_at = now()",
        ] {
            // `set` is one of the literals above.
            let error =
                sqlx::query(sqlx::AssertSqlSafe(format!("update public.conversations set {set} where id = $1")))
                    .bind(conversation)
                    .execute(&mut conn)
                    .await
                    .unwrap_err();
            assert!(error.to_string().contains("permission denied"), "{set}: {error}");
        }
    }
    let mut guest = connect_as_guest(&session).await;
    let error = sqlx::query("update public.conversations set status = 'closed', closed_at = now() where id = $1")
        .bind(conversation)
        .execute(&mut guest)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("permission denied"), "{error}");
    // What a person edits stays editable.
    let mut operator = connect_as_user(desk.operators[0]).await;
    let changed = sqlx::query("update public.conversations set tags = array['vip'], priority = 'high' where id = $1")
        .bind(conversation)
        .execute(&mut operator)
        .await
        .unwrap();
    assert_eq!(changed.rows_affected(), 1);
}

#[tokio::test]
async fn closing_releases_records_the_closer_and_reopening_offers_it_back() {
    let db = database().await;
    let desk = desk(&db, 1, 3, "online", false).await;
    let conversation = id(&visitor(&desk).await, "conversation_id");
    let op = desk.operators[0];
    let mut operator = connect_as_user(op).await;
    sqlx::query("select public.take_next_conversation($1)").bind(desk.site).execute(&mut operator).await.unwrap();

    let closed = call(&mut operator, "select public.close_conversation($1)", conversation, None).await.unwrap();
    assert_eq!(
        (closed["status"].as_str(), closed["closed_by"].as_str()),
        (Some("closed"), Some(op.to_string().as_str()))
    );
    assert!(closed["assigned_operator_id"].is_null() && closed["closed_at"].is_string());
    assert_eq!(releases(&db, conversation).await, vec![(op, Some("closed".into()))]);
    let again = call(&mut operator, "select public.close_conversation($1)", conversation, None).await.unwrap();
    assert_eq!(again["closed_at"], closed["closed_at"], "closing twice changes nothing");

    let mut owner = connect_as_user(desk.owner).await;
    for (by_owner, sql, other) in [
        (false, "select public.snooze_conversation($1)", None),
        (false, "select public.transfer_conversation($1, $2)", Some(desk.owner)),
        (true, "select public.assign_conversation($1, $2)", Some(op)),
    ] {
        let conn = if by_owner { &mut owner } else { &mut operator };
        let refused = call(conn, sql, conversation, other).await.unwrap_err();
        assert_eq!(refusal(refused), "conversation_closed", "{sql}");
    }

    // Reopened: back to its last operator, who is online with a free seat.
    let reopened = call(&mut owner, "select public.reopen_conversation($1)", conversation, None).await.unwrap();
    assert_eq!(
        (reopened["status"].as_str(), reopened["assigned_operator_id"].as_str()),
        (Some("active"), Some(op.to_string().as_str()))
    );
    assert!(reopened["closed_at"].is_null() && reopened["closed_by"].is_null());
    let again = call(&mut owner, "select public.reopen_conversation($1)", conversation, None).await.unwrap();
    assert_eq!(again["assigned_at"], reopened["assigned_at"], "reopening an open conversation changes nothing");
    assert_eq!(releases(&db, conversation).await.len(), 2);

    // With the operator away, a reopened conversation waits in the queue.
    call(&mut owner, "select public.close_conversation($1)", conversation, None).await.unwrap();
    set_availability(&db, op, "away").await;
    let queued = call(&mut owner, "select public.reopen_conversation($1)", conversation, None).await.unwrap();
    assert_eq!((queued["status"].as_str(), queued["assigned_operator_id"].is_null()), (Some("waiting"), true));

    let stranger = new_user(&db).await;
    let mut stranger = connect_as_user(stranger).await;
    let hidden = call(&mut stranger, "select public.close_conversation($1)", conversation, None).await.unwrap_err();
    assert_eq!(refusal(hidden), "conversation_not_found");
    let missing = call(&mut owner, "select public.close_conversation($1)", Uuid::new_v4(), None).await.unwrap_err();
    assert_eq!(refusal(missing), "conversation_not_found");
}

#[tokio::test]
async fn the_visitor_is_heard_after_a_close_until_the_session_ends() {
    let db = database().await;
    let desk = desk(&db, 1, 3, "online", false).await;
    let session = visitor(&desk).await;
    let conversation = id(&session, "conversation_id");
    let op = desk.operators[0];
    let mut operator = connect_as_user(op).await;
    sqlx::query("select public.take_next_conversation($1)").bind(desk.site).execute(&mut operator).await.unwrap();
    call(&mut operator, "select public.close_conversation($1)", conversation, None).await.unwrap();

    write(&session, "Thanks!").await.unwrap();
    assert_eq!(state(&db, conversation).await, ("active".into(), Some(op)), "back to its operator, online");
    call(&mut operator, "select public.close_conversation($1)", conversation, None).await.unwrap();
    set_availability(&db, op, "offline").await;
    write(&session, "One more thing").await.unwrap();
    assert_eq!(state(&db, conversation).await, ("waiting".into(), None), "in the queue while nobody is online");

    // Only the session's own end refuses posts, and nothing is stored.
    let mut guest = connect_as_guest(&session).await;
    sqlx::query("select public.end_session()").execute(&mut guest).await.unwrap();
    let count = |db: PgPool| async move {
        sqlx::query_scalar::<_, i64>("select count(*) from public.messages where conversation_id = $1")
            .bind(conversation)
            .fetch_one(&db)
            .await
            .unwrap()
    };
    let before = count(db.clone()).await;
    assert_eq!(refusal(write(&session, "Hello?").await.unwrap_err()), "session_ended");
    assert_eq!(count(db.clone()).await, before);
}

/// The visitor learns of the close from the conversation itself (a system message the guest
/// may read), rates the chat once without ending it, and a later end keeps that rating.
#[tokio::test]
async fn the_visitor_is_told_of_the_close_and_rates_without_ending() {
    let db = database().await;
    let desk = desk(&db, 1, 3, "online", false).await;
    let session = visitor(&desk).await;
    let conversation = id(&session, "conversation_id");
    let mut operator = connect_as_user(desk.operators[0]).await;
    call(&mut operator, "select public.close_conversation($1)", conversation, None).await.unwrap();
    call(&mut operator, "select public.close_conversation($1)", conversation, None).await.unwrap();

    let mut guest = connect_as_guest(&session).await;
    let seen: Vec<(String, String, Value)> =
        sqlx::query_as("select sender_type, message_type, metadata from public.guest_messages order by seq")
            .fetch_all(&mut guest)
            .await
            .unwrap();
    let closes: Vec<_> = seen.iter().filter(|(_, _, m)| m["kind"] == "conversation_closed").collect();
    assert_eq!(closes.len(), 1, "one notice, however often the close is retried: {seen:?}");
    assert_eq!((closes[0].0.as_str(), closes[0].1.as_str()), ("system", "system"));
    assert_eq!(seen.last().unwrap().2["kind"], "conversation_closed", "the newest line of the chat");
    assert_eq!(state(&db, conversation).await.0, "closed", "the notice reopens nothing");

    assert_eq!(
        refusal(sqlx::query("select public.rate_session(6)").execute(&mut guest).await.unwrap_err()),
        "invalid_rating"
    );
    let rated: Value =
        sqlx::query_scalar("select public.rate_session(4, 'Quick')").fetch_one(&mut guest).await.unwrap();
    assert_eq!((rated["rating"].as_i64(), rated["status"].as_str()), (Some(4), Some("active")), "{rated}");
    let again = sqlx::query("select public.rate_session(1)").execute(&mut guest).await.unwrap_err();
    assert_eq!(refusal(again), "already_rated");
    write(&session, "Thanks!").await.expect("the session goes on after a rating");

    sqlx::query("select public.end_session(2, 'changed my mind')").execute(&mut guest).await.unwrap();
    let (rating, feedback, csat): (Option<i16>, Option<String>, Option<i16>) = sqlx::query_as(
        "select s.rating, s.feedback, c.csat from public.chat_sessions s \
         join public.conversations c on c.id = s.conversation_id where s.id = $1",
    )
    .bind(id(&session, "session_id"))
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!((rating, feedback.as_deref(), csat), (Some(4), Some("Quick"), Some(4)), "the first rating counts");
}

#[tokio::test]
async fn transfers_go_to_a_named_operator_or_back_to_the_queue() {
    let db = database().await;
    let desk = desk(&db, 3, 3, "online", false).await;
    let conversation = id(&visitor(&desk).await, "conversation_id");
    let [first, second, third] = [desk.operators[0], desk.operators[1], desk.operators[2]];
    let mut holder = connect_as_user(first).await;
    sqlx::query("select public.take_next_conversation($1)").bind(desk.site).execute(&mut holder).await.unwrap();

    let mut other = connect_as_user(second).await;
    let refused = call(&mut other, "select public.transfer_conversation($1, $2)", conversation, Some(second)).await;
    assert_eq!(refusal(refused.unwrap_err()), "not_assigned_to_you");
    let stranger = new_user(&db).await;
    let refused = call(&mut holder, "select public.transfer_conversation($1, $2)", conversation, Some(stranger)).await;
    assert_eq!(refusal(refused.unwrap_err()), "operator_not_member");
    set_availability(&db, third, "offline").await;
    let refused = call(&mut holder, "select public.transfer_conversation($1, $2)", conversation, Some(third)).await;
    assert_eq!(refusal(refused.unwrap_err()), "operator_unavailable");

    let moved: Value =
        sqlx::query_scalar("select public.transfer_conversation($1, $2, 'Billing question, over to you')")
            .bind(conversation)
            .bind(second)
            .fetch_one(&mut holder)
            .await
            .unwrap();
    assert_eq!(moved["assigned_operator_id"], second.to_string());
    assert_eq!(moved["reassignment_count"], 1);
    assert_eq!(releases(&db, conversation).await, vec![(first, Some("transfer".into())), (second, None)]);
    let note: String = sqlx::query_scalar(
        "select body from public.operator_notifications where user_id = $1 and type = 'chat_transferred'",
    )
    .bind(second)
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(note, "Billing question, over to you");
    // The same transfer again (a retry) changes nothing; the old holder can no longer move it.
    call(&mut other, "select public.transfer_conversation($1, $2)", conversation, Some(second)).await.unwrap();
    assert_eq!(releases(&db, conversation).await.len(), 2);
    let refused = call(&mut holder, "select public.transfer_conversation($1, $2)", conversation, Some(first)).await;
    assert_eq!(refusal(refused.unwrap_err()), "not_assigned_to_you");

    let queued: Value = sqlx::query_scalar("select public.transfer_conversation($1, null)")
        .bind(conversation)
        .fetch_one(&mut other)
        .await
        .unwrap();
    assert_eq!((queued["status"].as_str(), queued["assigned_operator_id"].is_null()), (Some("waiting"), true));
    let again: Value = sqlx::query_scalar("select public.transfer_conversation($1, null)")
        .bind(conversation)
        .fetch_one(&mut other)
        .await
        .unwrap();
    assert_eq!(again["reassignment_count"], queued["reassignment_count"], "a retry changes nothing");
}

#[tokio::test]
async fn owners_and_admins_assign_within_capacity() {
    let db = database().await;
    let desk = desk(&db, 2, 3, "online", false).await;
    let conversations = [id(&visitor(&desk).await, "conversation_id"), id(&visitor(&desk).await, "conversation_id")];
    let op = desk.operators[0];
    let mut owner = connect_as_user(desk.owner).await;
    let assigned =
        call(&mut owner, "select public.assign_conversation($1, $2)", conversations[0], Some(op)).await.unwrap();
    assert_eq!(
        (assigned["status"].as_str(), assigned["assigned_operator_id"].as_str()),
        (Some("active"), Some(op.to_string().as_str()))
    );
    let again =
        call(&mut owner, "select public.assign_conversation($1, $2)", conversations[0], Some(op)).await.unwrap();
    assert_eq!(again["assigned_at"], assigned["assigned_at"], "assigning twice changes nothing");
    let notified: i64 = sqlx::query_scalar(
        "select count(*) from public.operator_notifications where user_id = $1 and type = 'chat_assigned'",
    )
    .bind(op)
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(notified, 1);

    let mut operator = connect_as_user(desk.operators[1]).await;
    let refused = call(&mut operator, "select public.assign_conversation($1, $2)", conversations[1], Some(op)).await;
    assert_eq!(refusal(refused.unwrap_err()), "forbidden");
    sqlx::query("update public.site_members set max_concurrent_chats = 1 where user_id = $1")
        .bind(op)
        .execute(&db)
        .await
        .unwrap();
    let full = call(&mut owner, "select public.assign_conversation($1, $2)", conversations[1], Some(op)).await;
    assert_eq!(refusal(full.unwrap_err()), "operator_at_capacity");
    assert_eq!(state(&db, conversations[1]).await, ("waiting".into(), None), "a refusal changes nothing");
}

#[tokio::test]
async fn operators_take_a_conversation_picked_from_the_queue() {
    let db = database().await;
    let desk = desk(&db, 2, 1, "online", false).await;
    let conversations = [id(&visitor(&desk).await, "conversation_id"), id(&visitor(&desk).await, "conversation_id")];
    let [first, second] = [desk.operators[0], desk.operators[1]];
    let mut taker = connect_as_user(first).await;
    // The newer one, not the oldest: take_next would have given the other.
    let taken = call(&mut taker, "select public.take_conversation($1)", conversations[1], None).await.unwrap();
    assert_eq!(
        (taken["status"].as_str(), taken["assigned_operator_id"].as_str()),
        (Some("active"), Some(first.to_string().as_str()))
    );
    let again = call(&mut taker, "select public.take_conversation($1)", conversations[1], None).await.unwrap();
    assert_eq!(again["assigned_at"], taken["assigned_at"], "taking twice changes nothing");
    assert_eq!(releases(&db, conversations[1]).await, vec![(first, None)]);

    let mut other = connect_as_user(second).await;
    let refused = call(&mut other, "select public.take_conversation($1)", conversations[1], None).await;
    assert_eq!(refusal(refused.unwrap_err()), "already_assigned");
    let full = call(&mut taker, "select public.take_conversation($1)", conversations[0], None).await;
    assert_eq!(refusal(full.unwrap_err()), "operator_at_capacity");
    set_availability(&db, second, "away").await;
    let away = call(&mut other, "select public.take_conversation($1)", conversations[0], None).await;
    assert_eq!(refusal(away.unwrap_err()), "operator_unavailable");
    set_availability(&db, second, "online").await;
    sqlx::query("update public.conversations set escalation_level = 't2' where id = $1")
        .bind(conversations[0])
        .execute(&db)
        .await
        .unwrap();
    let low = call(&mut other, "select public.take_conversation($1)", conversations[0], None).await;
    assert_eq!(refusal(low.unwrap_err()), "level_too_low");
    assert_eq!(state(&db, conversations[0]).await, ("waiting".into(), None), "a refusal changes nothing");

    // A viewer and a stranger learn nothing; a closed conversation is reopened first.
    let viewer = new_user(&db).await;
    sqlx::query(
        "insert into public.site_members (site_id, user_id, role, availability) values ($1, $2, 'viewer', 'online')",
    )
    .bind(desk.site)
    .bind(viewer)
    .execute(&db)
    .await
    .unwrap();
    for outsider in [viewer, new_user(&db).await] {
        let mut conn = connect_as_user(outsider).await;
        let refused = call(&mut conn, "select public.take_conversation($1)", conversations[0], None).await;
        assert_eq!(refusal(refused.unwrap_err()), "conversation_not_found");
    }
    call(&mut taker, "select public.close_conversation($1)", conversations[1], None).await.unwrap();
    let closed = call(&mut taker, "select public.take_conversation($1)", conversations[1], None).await;
    assert_eq!(refusal(closed.unwrap_err()), "conversation_closed");
}

#[tokio::test]
async fn members_change_only_their_own_availability_name_and_picture() {
    let db = database().await;
    let desk = desk(&db, 1, 3, "offline", false).await;
    let op = desk.operators[0];
    let mut operator = connect_as_user(op).await;
    let own = "update public.site_members set availability = 'away', display_name = 'Olga' where user_id = $1 and site_id = $2";
    let changed = sqlx::query(own).bind(op).bind(desk.site).execute(&mut operator).await.unwrap();
    assert_eq!(changed.rows_affected(), 1);
    for raise in [
        "update public.site_members set support_level = 'manager' where user_id = $1 and site_id = $2",
        "update public.site_members set max_concurrent_chats = 50 where user_id = $1 and site_id = $2",
    ] {
        let refused = sqlx::query(raise).bind(op).bind(desk.site).execute(&mut operator).await;
        assert_eq!(refusal(refused.unwrap_err()), "forbidden", "{raise}");
    }
    let row: (String, String, i32, Option<String>) = sqlx::query_as(
        "select availability, support_level, max_concurrent_chats, display_name from public.site_members where user_id = $1",
    )
    .bind(op)
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(row, ("away".into(), "t1".into(), 3, Some("Olga".into())));
    let mut owner = connect_as_user(desk.owner).await;
    sqlx::query("update public.site_members set support_level = 't2', max_concurrent_chats = 4 where user_id = $1 and site_id = $2")
        .bind(op)
        .bind(desk.site)
        .execute(&mut owner)
        .await
        .expect("owners set levels and seats");
}

#[tokio::test]
async fn snoozes_end_at_their_time_or_with_the_customers_next_message() {
    let db = database().await;
    let desk = desk(&db, 1, 3, "online", false).await;
    let session = visitor(&desk).await;
    let conversation = id(&session, "conversation_id");
    let op = desk.operators[0];
    let mut operator = connect_as_user(op).await;
    sqlx::query("select public.take_next_conversation($1)").bind(desk.site).execute(&mut operator).await.unwrap();

    let past = sqlx::query_scalar::<_, Value>("select public.snooze_conversation($1, now() - interval '1 minute')")
        .bind(conversation)
        .fetch_one(&mut operator)
        .await;
    assert_eq!(refusal(past.unwrap_err()), "bad_request");
    let snoozed = call(&mut operator, "select public.snooze_conversation($1)", conversation, None).await.unwrap();
    assert_eq!((snoozed["status"].as_str(), snoozed["snoozed_until"].is_null()), (Some("snoozed"), true));
    write(&session, "Back again").await.unwrap();
    assert_eq!(state(&db, conversation).await, ("active".into(), Some(op)), "woken, still with its operator");

    // The operator answers, then snoozes for an hour (answered: no idle release at wake-up).
    sqlx::query("insert into public.messages (conversation_id, site_id, sender_type, sender_user_id, content) values ($1, $2, 'operator', $3, 'Let me check and come back to you')")
        .bind(conversation)
        .bind(desk.site)
        .bind(op)
        .execute(&mut operator)
        .await
        .unwrap();
    sqlx::query("select public.snooze_conversation($1, now() + interval '1 hour')")
        .bind(conversation)
        .execute(&mut operator)
        .await
        .unwrap();
    let mut tx = operator.begin().await.unwrap();
    become_service(&mut tx).await;
    let summary: Value = sqlx::query_scalar("select public.cleanup_expired(now() + interval '2 hours')")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert!(summary["snoozes_ended"].as_i64().unwrap() >= 1, "{summary}");
    let status: String = sqlx::query_scalar("select status from public.conversations where id = $1")
        .bind(conversation)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(status, "active");
    tx.rollback().await.unwrap();
}

#[tokio::test]
async fn escalations_are_resolved_once_by_staff_of_their_level() {
    let db = database().await;
    let desk = desk(&db, 2, 3, "online", false).await;
    let conversation = id(&visitor(&desk).await, "conversation_id");
    let mut first = connect_as_user(desk.operators[0]).await;
    let escalation: Value = sqlx::query_scalar("select public.escalate_conversation($1, 't2', 'Needs billing')")
        .bind(conversation)
        .fetch_one(&mut first)
        .await
        .unwrap();
    let escalation = id(&escalation, "id");
    let resolve = "select public.resolve_escalation($1, $2)";
    let refused = sqlx::query_scalar::<_, Value>(resolve).bind(escalation).bind("done").fetch_one(&mut first).await;
    assert_eq!(refusal(refused.unwrap_err()), "forbidden", "a T1 operator does not resolve a T2 escalation");
    sqlx::query("update public.site_members set support_level = 't2' where user_id = $1")
        .bind(desk.operators[1])
        .execute(&db)
        .await
        .unwrap();
    let mut second = connect_as_user(desk.operators[1]).await;
    let resolved: Value =
        sqlx::query_scalar(resolve).bind(escalation).bind("Refunded").fetch_one(&mut second).await.unwrap();
    assert_eq!(
        (resolved["status"].as_str(), resolved["resolution_notes"].as_str()),
        (Some("resolved"), Some("Refunded"))
    );
    let again: Value = sqlx::query_scalar(resolve).bind(escalation).bind("other").fetch_one(&mut second).await.unwrap();
    assert_eq!(again["resolution_notes"], "Refunded", "resolving twice changes nothing");
    let stranger = new_user(&db).await;
    let mut stranger = connect_as_user(stranger).await;
    let hidden = sqlx::query_scalar::<_, Value>(resolve).bind(escalation).bind("x").fetch_one(&mut stranger).await;
    assert_eq!(refusal(hidden.unwrap_err()), "conversation_not_found");
}

/// A step that fails is rolled back alone and reported; the others still run.
#[tokio::test]
async fn one_failing_cleanup_step_stops_no_other() {
    let db = database().await;
    let desk = desk(&db, 0, 3, "online", false).await;
    let agent: Uuid =
        sqlx::query_scalar("insert into public.agents (site_id, name) values ($1, 'Helper') returning id")
            .bind(desk.site)
            .fetch_one(&db)
            .await
            .unwrap();
    let link: Uuid = sqlx::query_scalar(
        "insert into public.chat_links (site_id, agent_id, title, expires_at) values ($1, $2, 'Link', now() + interval '1 hour') returning id",
    )
    .bind(desk.site)
    .bind(agent)
    .fetch_one(&db)
    .await
    .unwrap();
    // Someone holds the link's row: switching it off waits, and times out.
    let mut holder = db.begin().await.unwrap();
    sqlx::query("select 1 from public.chat_links where id = $1 for update")
        .bind(link)
        .execute(&mut *holder)
        .await
        .unwrap();
    let mut cleaner = connect_as_user(desk.owner).await;
    let mut tx = cleaner.begin().await.unwrap();
    become_service(&mut tx).await;
    sqlx::query("set local lock_timeout = '200ms'").execute(&mut *tx).await.unwrap();
    let summary: Value = sqlx::query_scalar("select public.cleanup_expired(now() + interval '2 hours')")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    let failed: Vec<&str> = summary["errors"].as_array().unwrap().iter().filter_map(|e| e["step"].as_str()).collect();
    assert!(failed.contains(&"links_expired"), "{summary}");
    for step in ["idle_sessions_ended", "customers_offline", "snoozes_ended", "messages_purged"] {
        assert!(summary[step].is_number(), "{step} still ran: {summary}");
    }
    tx.rollback().await.unwrap();
    holder.rollback().await.unwrap();
}

/// Internal notes are for staff: the guest's view leaves them out, a guest cannot write one,
/// and a note moves no counter (it is no answer to the customer).
#[tokio::test]
async fn internal_notes_stay_with_staff() {
    let db = database().await;
    let desk = desk(&db, 1, 3, "online", false).await;
    let session = visitor(&desk).await;
    let conversation = id(&session, "conversation_id");
    let op = desk.operators[0];
    let mut operator = connect_as_user(op).await;
    let counters = "select message_count, unread_count, first_response_seconds from public.conversations where id = $1";
    let before: (i32, i32, Option<i32>) = sqlx::query_as(counters).bind(conversation).fetch_one(&db).await.unwrap();
    sqlx::query("insert into public.messages (conversation_id, site_id, sender_type, sender_user_id, content, internal) values ($1, $2, 'operator', $3, 'Staff only: angry customer', true)")
        .bind(conversation)
        .bind(desk.site)
        .bind(op)
        .execute(&mut operator)
        .await
        .unwrap();
    let after: (i32, i32, Option<i32>) = sqlx::query_as(counters).bind(conversation).fetch_one(&db).await.unwrap();
    assert_eq!(after, before, "a note is no answer");

    let mut guest = connect_as_guest(&session).await;
    let seen: Vec<String> =
        sqlx::query_scalar("select content from public.guest_messages").fetch_all(&mut guest).await.unwrap();
    assert_eq!(seen, vec!["I need help".to_string()]);
    let rows: i64 = sqlx::query_scalar("select count(*) from public.messages").fetch_one(&mut guest).await.unwrap();
    assert_eq!(rows, 0, "guests read no base table");
    let forged = sqlx::query("insert into public.messages (conversation_id, site_id, sender_type, sender_customer_id, content, internal) values ($1, $2, 'customer', $3::uuid, 'x', true)")
        .bind(conversation)
        .bind(desk.site)
        .bind(session["customer_id"].as_str())
        .execute(&mut guest)
        .await;
    assert!(forged.is_err(), "a guest writes no message row directly");
}

/// Each staff member's read cursor moves forward only; the customer's messages up to it get
/// `read_at`, which the guest sees (the widget's "Seen").
#[tokio::test]
async fn reading_moves_my_cursor_and_marks_the_customers_messages_read() {
    let db = database().await;
    let desk = desk(&db, 1, 3, "online", false).await;
    let session = visitor(&desk).await;
    let conversation = id(&session, "conversation_id");
    let second = write(&session, "Are you there?").await.unwrap();
    let first: (Uuid, i64) =
        sqlx::query_as("select id, seq from public.messages where conversation_id = $1 order by seq limit 1")
            .bind(conversation)
            .fetch_one(&db)
            .await
            .unwrap();
    let mut operator = connect_as_user(desk.operators[0]).await;
    let mark = "select public.mark_conversation_read($1, $2)";
    let read: Value = sqlx::query_scalar(mark).bind(conversation).bind(first.0).fetch_one(&mut operator).await.unwrap();
    assert_eq!((read["last_read_seq"].as_i64(), read["marked"].as_i64()), (Some(first.1), Some(1)));
    let mut guest = connect_as_guest(&session).await;
    let seen: Vec<(String, bool)> =
        sqlx::query_as("select content, read_at is not null from public.guest_messages order by seq")
            .fetch_all(&mut guest)
            .await
            .unwrap();
    assert_eq!(seen, vec![("I need help".into(), true), ("Are you there?".into(), false)]);

    let all: Value = sqlx::query_scalar("select public.mark_conversation_read($1)")
        .bind(conversation)
        .fetch_one(&mut operator)
        .await
        .unwrap();
    assert_eq!((all["last_read_seq"].as_i64(), all["marked"].as_i64()), (second["seq"].as_i64(), Some(1)));
    let back: Value = sqlx::query_scalar(mark).bind(conversation).bind(first.0).fetch_one(&mut operator).await.unwrap();
    assert_eq!(
        (back["last_read_seq"].as_i64(), back["marked"].as_i64()),
        (second["seq"].as_i64(), Some(0)),
        "never backwards"
    );

    let elsewhere = visitor(&desk).await;
    let foreign: Uuid = sqlx::query_scalar("select id from public.messages where conversation_id = $1")
        .bind(id(&elsewhere, "conversation_id"))
        .fetch_one(&db)
        .await
        .unwrap();
    let refused = sqlx::query_scalar::<_, Value>(mark).bind(conversation).bind(foreign).fetch_one(&mut operator).await;
    assert_eq!(refusal(refused.unwrap_err()), "not_found");
    let stranger = new_user(&db).await;
    let mut stranger = connect_as_user(stranger).await;
    let refused = sqlx::query_scalar::<_, Value>("select public.mark_conversation_read($1)")
        .bind(conversation)
        .fetch_one(&mut stranger)
        .await;
    assert_eq!(refusal(refused.unwrap_err()), "conversation_not_found");
}

/// Canned responses: staff write them, shortcuts are unique per site, and other sites see none.
#[tokio::test]
async fn canned_responses_belong_to_their_site() {
    let db = database().await;
    let desk = desk(&db, 1, 3, "online", false).await;
    let other = desk_of_another_site(&db).await;
    let mut operator = connect_as_user(desk.operators[0]).await;
    let insert = "insert into public.canned_responses (site_id, shortcut, content) values ($1, $2, 'Your refund is on its way.') returning id";
    let created: Uuid =
        sqlx::query_scalar(insert).bind(desk.site).bind("refund").fetch_one(&mut operator).await.unwrap();
    let duplicate = sqlx::query_scalar::<_, Uuid>(insert).bind(desk.site).bind("refund").fetch_one(&mut operator).await;
    assert!(duplicate.unwrap_err().to_string().contains("duplicate key"));
    let bad =
        sqlx::query_scalar::<_, Uuid>(insert).bind(desk.site).bind("Bad Shortcut!").fetch_one(&mut operator).await;
    assert!(bad.unwrap_err().to_string().contains("check constraint"));
    let foreign = sqlx::query_scalar::<_, Uuid>(insert).bind(other).bind("refund").fetch_one(&mut operator).await;
    assert!(foreign.unwrap_err().to_string().contains("row-level security"));
    let updated = sqlx::query("update public.canned_responses set content = 'Refunded within 3 days.' where id = $1")
        .bind(created)
        .execute(&mut operator)
        .await
        .unwrap();
    assert_eq!(updated.rows_affected(), 1);
    let moved = sqlx::query("update public.canned_responses set site_id = $2 where id = $1")
        .bind(created)
        .bind(other)
        .execute(&mut operator)
        .await;
    assert!(moved.is_err(), "a canned response never moves to another site");
}

async fn desk_of_another_site(db: &PgPool) -> Uuid {
    let owner = new_user(db).await;
    new_site(db, owner).await.0
}

/// A note's mentions notify the staff it names, and nobody else.
#[tokio::test]
async fn mentions_in_notes_notify_the_staff_named() {
    let db = database().await;
    let desk = desk(&db, 2, 3, "online", false).await;
    let session = visitor(&desk).await;
    let conversation = id(&session, "conversation_id");
    let stranger = new_user(&db).await;
    let [writer, mentioned] = [desk.operators[0], desk.operators[1]];
    let mut operator = connect_as_user(writer).await;
    let mentions = serde_json::json!({"mentions": [mentioned, stranger, writer]});
    sqlx::query("insert into public.messages (conversation_id, site_id, sender_type, sender_user_id, content, internal, metadata) values ($1, $2, 'operator', $3, 'Can you take this refund?', true, $4)")
        .bind(conversation)
        .bind(desk.site)
        .bind(writer)
        .bind(&mentions)
        .execute(&mut operator)
        .await
        .unwrap();
    let notified: Vec<(Uuid, String, String)> = sqlx::query_as(
        "select user_id, type, body from public.operator_notifications where conversation_id = $1 order by user_id",
    )
    .bind(conversation)
    .fetch_all(&db)
    .await
    .unwrap();
    assert_eq!(notified, vec![(mentioned, "mention".into(), "Can you take this refund?".into())]);
}

/// Open assignments per operator of the site.
async fn seats(db: &PgPool, desk: &Desk) -> Vec<i64> {
    let mut held = Vec::new();
    for operator in &desk.operators {
        held.push(
            sqlx::query_scalar(
                "select count(*) from public.conversation_assignments where operator_id = $1 and released_at is null",
            )
            .bind(operator)
            .fetch_one(db)
            .await
            .unwrap(),
        );
    }
    held
}

#[tokio::test]
async fn auto_assignment_hands_out_the_queue_whenever_it_can_move() {
    let db = database().await;
    let desk = desk(&db, 2, 2, "offline", true).await;
    let mut sessions = Vec::new();
    for _ in 0..5 {
        sessions.push(visitor(&desk).await);
    }
    assert_eq!(seats(&db, &desk).await, vec![0, 0], "nobody online: everything waits");
    // Urgent first, then the oldest.
    let urgent = id(&sessions[4], "conversation_id");
    sqlx::query("update public.conversations set priority = 'urgent' where id = $1")
        .bind(urgent)
        .execute(&db)
        .await
        .unwrap();

    set_availability(&db, desk.operators[0], "online").await;
    assert_eq!(seats(&db, &desk).await, vec![2, 0], "an operator coming online drains the queue up to capacity");
    assert_eq!(state(&db, urgent).await, ("active".into(), Some(desk.operators[0])));
    assert_eq!(state(&db, id(&sessions[0], "conversation_id")).await.0, "active");
    set_availability(&db, desk.operators[1], "online").await;
    assert_eq!(seats(&db, &desk).await, vec![2, 2]);

    // A freed seat is filled at once; the one who let a conversation go does not get it back.
    let mut first = connect_as_user(desk.operators[0]).await;
    call(&mut first, "select public.close_conversation($1)", urgent, None).await.unwrap();
    assert_eq!(seats(&db, &desk).await, vec![2, 2], "the last waiting conversation took the freed seat");
    let held: Uuid = sqlx::query_scalar("select conversation_id from public.conversation_assignments where operator_id = $1 and released_at is null limit 1")
        .bind(desk.operators[0])
        .fetch_one(&db)
        .await
        .unwrap();
    call(&mut first, "select public.transfer_conversation($1, null)", held, None).await.unwrap();
    assert_eq!(state(&db, held).await, ("waiting".into(), None), "not handed back to who just let it go");
    let notified: i64 = sqlx::query_scalar(
        "select count(*) from public.operator_notifications where site_id = $1 and type = 'chat_assigned'",
    )
    .bind(desk.site)
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(notified, 5, "every automatic assignment is announced");
}

#[tokio::test]
async fn offline_operators_keep_their_conversations_for_the_grace_period() {
    let db = database().await;
    let desk = desk(&db, 1, 3, "online", true).await;
    let conversation = id(&visitor(&desk).await, "conversation_id");
    assert_eq!(state(&db, conversation).await, ("active".into(), Some(desk.operators[0])));
    set_availability(&db, desk.operators[0], "offline").await;
    let mut service = connect_as_user(desk.owner).await;
    let mut tx = service.begin().await.unwrap();
    become_service(&mut tx).await;
    let soon: Value = sqlx::query_scalar("select public.cleanup_expired(now() + interval '1 minute')")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(soon["errors"], serde_json::json!([]), "{soon}");
    let held: String = sqlx::query_scalar("select status from public.conversations where id = $1")
        .bind(conversation)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(held, "active", "within the grace period");
    sqlx::query_scalar::<_, Value>("select public.cleanup_expired(now() + interval '6 minutes')")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    let (status, reason): (String, String) = sqlx::query_as(
        "select c.status, a.release_reason from public.conversations c join public.conversation_assignments a on a.conversation_id = c.id where c.id = $1",
    )
    .bind(conversation)
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    assert_eq!((status.as_str(), reason.as_str()), ("waiting", "operator_offline"));
    tx.rollback().await.unwrap();
}

/// 200 visitors arrive while 5 operators of capacity 3 switch on and off in parallel: nobody
/// ever holds more than 3, no conversation is held twice, and once everyone is online every
/// seat is taken.
#[tokio::test]
async fn auto_assignment_under_concurrency_never_overfills_and_leaves_no_seat_free() {
    let db = database().await;
    let desk = desk(&db, 5, 3, "offline", true).await;
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let key = desk.site_key.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..20 {
                widget_session(&key).await;
            }
        }));
    }
    for operator in desk.operators.clone() {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            for round in 0..12 {
                let availability = if round % 2 == 0 { "online" } else { "offline" };
                sqlx::query("update public.site_members set availability = $2 where user_id = $1")
                    .bind(operator)
                    .bind(availability)
                    .execute(&db)
                    .await
                    .unwrap();
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            sqlx::query("update public.site_members set availability = 'online' where user_id = $1")
                .bind(operator)
                .execute(&db)
                .await
                .unwrap();
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let held = seats(&db, &desk).await;
    assert!(held.iter().all(|&n| n <= 3), "over capacity: {held:?}");
    assert_eq!(held.iter().sum::<i64>(), 15, "every seat taken while 185 wait: {held:?}");
    let (active, waiting, mismatched): (i64, i64, i64) = sqlx::query_as(
        "select count(*) filter (where status = 'active'), count(*) filter (where status = 'waiting'), \
                count(*) filter (where status = 'active' and not exists (select 1 from public.conversation_assignments a \
                  where a.conversation_id = c.id and a.released_at is null and a.operator_id = c.assigned_operator_id)) \
         from public.conversations c where site_id = $1",
    )
    .bind(desk.site)
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!((active, waiting, mismatched), (15, 185, 0));
}

/// Fewer visitors than seats, arriving while operators switch on and off: once everyone is
/// online, nobody waits (a drain never misses a conversation or an operator another transaction
/// committed meanwhile).
#[tokio::test]
async fn no_conversation_waits_while_a_seat_is_free() {
    let db = database().await;
    for _ in 0..3 {
        let desk = desk(&db, 5, 3, "offline", true).await;
        let mut tasks = Vec::new();
        for _ in 0..12 {
            let key = desk.site_key.clone();
            tasks.push(tokio::spawn(async move {
                widget_session(&key).await;
            }));
        }
        for operator in desk.operators.clone() {
            let db = db.clone();
            tasks.push(tokio::spawn(async move {
                for availability in ["online", "offline", "online"] {
                    sqlx::query("update public.site_members set availability = $2 where user_id = $1")
                        .bind(operator)
                        .bind(availability)
                        .execute(&db)
                        .await
                        .unwrap();
                }
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        let waiting: i64 =
            sqlx::query_scalar("select count(*) from public.conversations where site_id = $1 and status = 'waiting'")
                .bind(desk.site)
                .fetch_one(&db)
                .await
                .unwrap();
        assert_eq!(waiting, 0, "seats free: {:?}", seats(&db, &desk).await);
    }
}

/// The inbox: filters, search over the customer and the messages, the caller's unread count,
/// the last message, keyset pages; nothing for a non-member.
#[tokio::test]
async fn the_inbox_pages_filters_searches_and_counts_my_unread() {
    let db = database().await;
    let desk = desk(&db, 2, 3, "online", false).await;
    let [me, colleague] = [desk.operators[0], desk.operators[1]];
    let mut sessions = Vec::new();
    for _ in 0..5 {
        sessions.push(visitor(&desk).await);
    }
    let conversation = |i: usize| id(&sessions[i], "conversation_id");
    sqlx::query("update public.customers set name = 'Zoë Quartz', email = 'zoe@quartz.test' where id = $1::uuid")
        .bind(sessions[1]["customer_id"].as_str())
        .execute(&db)
        .await
        .unwrap();
    write(&sessions[2], "My parcel number is XK-4471").await.unwrap();
    let mut mine = connect_as_user(me).await;
    let mut theirs = connect_as_user(colleague).await;
    sqlx::query("select public.take_next_conversation($1)").bind(desk.site).execute(&mut mine).await.unwrap();
    sqlx::query("select public.take_next_conversation($1)").bind(desk.site).execute(&mut theirs).await.unwrap();
    call(&mut mine, "select public.close_conversation($1)", conversation(4), None).await.unwrap();

    let site = desk.site;
    let inbox = |filter: &'static str, search: Option<&'static str>| async move {
        let mut conn = connect_as_user(me).await;
        let rows: Vec<(Uuid, String, i32, Option<String>)> =
            sqlx::query_as("select id, status, unread, last_message from public.inbox($1, $2, $3)")
                .bind(site)
                .bind(filter)
                .bind(search)
                .fetch_all(&mut conn)
                .await
                .unwrap();
        rows
    };
    let ids = |rows: &[(Uuid, String, i32, Option<String>)]| rows.iter().map(|r| r.0).collect::<Vec<_>>();
    assert_eq!(ids(&inbox("mine", None).await), vec![conversation(0)]);
    assert_eq!(inbox("unassigned", None).await.len(), 2);
    assert_eq!(inbox("open", None).await.len(), 4);
    assert_eq!(ids(&inbox("closed", None).await), vec![conversation(4)]);
    assert_eq!(ids(&inbox("open", Some("quartz")).await), vec![conversation(1)], "by customer name or email");
    assert_eq!(ids(&inbox("open", Some("xk-4471")).await), vec![conversation(2)], "by message text");
    assert!(inbox("open", Some("100%_")).await.is_empty(), "% and _ are literal");
    let parcel = inbox("open", Some("XK-4471")).await;
    assert_eq!((parcel[0].2, parcel[0].3.as_deref()), (2, Some("My parcel number is XK-4471")));
    sqlx::query("select public.mark_conversation_read($1)").bind(conversation(2)).execute(&mut mine).await.unwrap();
    assert_eq!(inbox("open", Some("XK-4471")).await[0].2, 0, "my unread count");

    // Keyset pages: two by two, every open conversation once, newest activity first.
    let mut seen = Vec::new();
    let mut cursor: Option<(sqlx::types::chrono::DateTime<sqlx::types::chrono::Utc>, Uuid)> = None;
    loop {
        let page: Vec<(Uuid, sqlx::types::chrono::DateTime<sqlx::types::chrono::Utc>)> =
            sqlx::query_as("select id, last_message_at from public.inbox($1, 'open', null, $2, $3, 2)")
                .bind(site)
                .bind(cursor.map(|c| c.0))
                .bind(cursor.map(|c| c.1))
                .fetch_all(&mut mine)
                .await
                .unwrap();
        if page.is_empty() {
            break;
        }
        cursor = page.last().map(|(id, at)| (*at, *id));
        seen.extend(page);
    }
    assert_eq!(seen.len(), 4);
    assert!(seen.windows(2).all(|w| w[0].1 >= w[1].1), "newest first");
    let stranger = new_user(&db).await;
    let mut stranger = connect_as_user(stranger).await;
    let none: Vec<(Uuid,)> =
        sqlx::query_as("select id from public.inbox($1, 'open')").bind(site).fetch_all(&mut stranger).await.unwrap();
    assert!(none.is_empty());
}

/// A customer is online while a session of theirs is; the cleanup sets the rest offline.
/// A search walks the newest conversations first; when they do not fill the page it asks the
/// trigram index, which only a member's search may use. Both ways give the same answer.
#[tokio::test]
async fn the_inbox_search_finds_old_conversations_through_the_index() {
    let db = database().await;
    let desk = desk(&db, 1, 3, "online", false).await;
    // 250 waiting conversations, one message each; the oldest mentions a rare word.
    sqlx::query(
        "with c as (insert into public.conversations (site_id, status, created_at, last_message_at) \
                    select $1, 'waiting', now() - make_interval(mins => g), now() - make_interval(mins => g) \
                    from generate_series(1, 250) g returning id, last_message_at) \
         insert into public.messages (conversation_id, site_id, sender_type, content, created_at) \
         select id, $1, 'system', case when last_message_at < now() - interval '249 minutes' \
                                      then 'Your xylophone ships today' else 'Your order ships today' end, last_message_at \
         from c",
    )
    .bind(desk.site)
    .execute(&db)
    .await
    .unwrap();
    let inbox = |user: Uuid, search: &'static str| {
        let site = desk.site;
        async move {
            let mut conn = connect_as_user(user).await;
            sqlx::query_as::<_, (Uuid, Option<String>)>("select id, last_message from public.inbox($1, 'open', $2)")
                .bind(site)
                .bind(search)
                .fetch_all(&mut conn)
                .await
                .unwrap()
        }
    };
    let me = desk.operators[0];
    let rare = inbox(me, "XYLOPHONE").await;
    assert_eq!(rare.len(), 1, "found beyond the newest 200 conversations");
    assert_eq!(rare[0].1.as_deref(), Some("Your xylophone ships today"));
    assert_eq!(inbox(me, "order ships").await.len(), 50, "a common phrase fills the page");
    assert!(inbox(me, "sh").await.is_empty(), "under 3 characters only names and emails are searched");

    let stranger = new_user(&db).await;
    assert!(inbox(stranger, "xylophone").await.is_empty());
    let mut conn = connect_as_user(stranger).await;
    let leaked: Vec<Uuid> = sqlx::query_scalar("select public.inbox_text_matches($1, '%xylophone%')")
        .bind(desk.site)
        .fetch_all(&mut conn)
        .await
        .unwrap();
    assert!(leaked.is_empty(), "the index search answers members only");
}

#[tokio::test]
async fn customers_go_offline_with_their_last_session() {
    let db = database().await;
    let desk = desk(&db, 0, 3, "online", false).await;
    let session = visitor(&desk).await;
    let online = "select is_online from public.customers where id = $1::uuid";
    let customer = session["customer_id"].as_str().unwrap().to_string();
    assert!(sqlx::query_scalar::<_, bool>(online).bind(&customer).fetch_one(&db).await.unwrap());
    let mut guest = connect_as_guest(&session).await;
    sqlx::query("select public.end_session()").execute(&mut guest).await.unwrap();
    let mut cleaner = connect_as_user(desk.owner).await;
    let mut tx = cleaner.begin().await.unwrap();
    become_service(&mut tx).await;
    let summary: Value = sqlx::query_scalar("select public.cleanup_expired(now())").fetch_one(&mut *tx).await.unwrap();
    assert!(summary["customers_offline"].as_i64().unwrap() >= 1, "{summary}");
    assert!(!sqlx::query_scalar::<_, bool>(online).bind(&customer).fetch_one(&mut *tx).await.unwrap());
    tx.rollback().await.unwrap();
}
