//! Durable automatic answers: a visitor's message is owed an answer from the moment it is
//! stored, answered once however many callers race, answered by the cron when nobody else did,
//! retried with backoff when answering fails, and given up (recorded) after the fifth attempt.

mod common;

use common::guest_writes as write;
use common::{connect_as_service, database, site_with_guest};
use serde_json::Value;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

/// `answer_owed` answers every site's due messages: the tests of this file take turns (the
/// lock lasts as long as the returned connection).
async fn alone() -> PgConnection {
    let mut conn = connect_as_service().await;
    sqlx::query("select pg_advisory_lock(hashtext('tests/owed_answers.rs'))").execute(&mut conn).await.unwrap();
    conn
}

async fn owed(db: &PgPool, message: Uuid) -> Option<(i32, Option<String>)> {
    sqlx::query_as("select attempts, last_error from public.owed_answers where message_id = $1")
        .bind(message)
        .fetch_optional(db)
        .await
        .unwrap()
}

async fn answers(db: &PgPool, site: Uuid) -> i64 {
    sqlx::query_scalar("select count(*) from public.messages where site_id = $1 and sender_type = 'ai'")
        .bind(site)
        .fetch_one(db)
        .await
        .unwrap()
}

/// The cron's run at `at` (seconds since the epoch), or now.
async fn answer_owed(db: &PgPool, at: Option<f64>) -> Value {
    sqlx::query_scalar("select public.answer_owed(100000, coalesce(to_timestamp($1), now()))")
        .bind(at)
        .fetch_one(db)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_message_is_owed_from_its_storing_and_answered_once_by_racing_callers() {
    let _alone = alone().await;
    let db = database().await;
    let (site, _, mut guest) = site_with_guest(&db).await;
    let message = write(&mut guest, "Is anyone there?").await;
    assert_eq!(owed(&db, message).await, Some((0, None)), "owed in the transaction that stored it");

    let mut callers = Vec::new();
    for _ in 0..4 {
        callers.push(tokio::spawn(async move {
            let mut service = connect_as_service().await;
            sqlx::query_scalar::<_, Option<Value>>("select public.answer_automatically($1)")
                .bind(message)
                .fetch_one(&mut service)
                .await
                .unwrap()
        }));
    }
    let mut answered = Vec::new();
    for caller in callers {
        answered.push(caller.await.unwrap());
    }
    assert_eq!(answered.iter().filter(|a| a.is_some()).count(), 1, "{answered:?}");
    assert_eq!(answers(&db, site).await, 1);
    assert_eq!(owed(&db, message).await, None);
}

#[tokio::test]
async fn what_the_edge_never_answered_the_cron_answers() {
    let _alone = alone().await;
    let db = database().await;
    let (site, _, mut guest) = site_with_guest(&db).await;
    let message = write(&mut guest, "Hello?").await;
    // The edge's background call never ran (the Worker stopped, the database was away).
    let outcome = answer_owed(&db, None).await;
    assert!(outcome["answered"].as_i64().unwrap() >= 1, "{outcome}");
    assert_eq!(answers(&db, site).await, 1, "the away message");
    assert_eq!(owed(&db, message).await, None);
    // A retried post is a duplicate; answering it again gives nothing more.
    let mut service = connect_as_service().await;
    let again: Option<Value> = sqlx::query_scalar("select public.answer_automatically($1)")
        .bind(message)
        .fetch_one(&mut service)
        .await
        .unwrap();
    assert_eq!(again, None);
}

#[tokio::test]
async fn a_message_a_human_holds_is_no_longer_owed() {
    let _alone = alone().await;
    let db = database().await;
    let (site, session, mut guest) = site_with_guest(&db).await;
    let message = write(&mut guest, "Hi").await;
    let operator = common::new_user(&db).await;
    common::join(&db, site, operator, "operator").await;
    sqlx::query("update public.conversations set assigned_operator_id = $2, status = 'active' where id = $1")
        .bind(session["conversation_id"].as_str().unwrap().parse::<Uuid>().unwrap())
        .bind(operator)
        .execute(&db)
        .await
        .unwrap();
    answer_owed(&db, None).await;
    assert_eq!(answers(&db, site).await, 0);
    assert_eq!(owed(&db, message).await, None);
}

#[tokio::test]
async fn a_failing_answer_is_retried_with_backoff_and_the_fifth_failure_is_recorded() {
    let _alone = alone().await;
    let db = database().await;
    let (site, _, mut guest) = site_with_guest(&db).await;
    // Answers to this site fail, as when the database refuses for a moment.
    // (Outside `public`, where the schema tests would count it.)
    sqlx::raw_sql(
        "create schema if not exists test_faults; \
         create or replace function test_faults.refuse_answers() returns trigger language plpgsql as $$ \
         begin raise exception 'the database is away'; end $$",
    )
    .execute(&db)
    .await
    .unwrap();
    let trigger = format!("refuse_answers_{}", site.simple());
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "create trigger {trigger} before insert on public.messages for each row \
         when (new.site_id = '{site}' and new.sender_type = 'ai') execute function test_faults.refuse_answers()"
    )))
    .execute(&db)
    .await
    .unwrap();
    let message = write(&mut guest, "Anyone?").await;
    let due: f64 = sqlx::query_scalar(
        "select extract(epoch from next_attempt_at)::float8 from public.owed_answers where message_id = $1",
    )
    .bind(message)
    .fetch_one(&db)
    .await
    .unwrap();
    let at = |minutes: f64| Some(due + minutes * 60.0);
    answer_owed(&db, at(0.0)).await;
    assert_eq!(owed(&db, message).await, Some((1, Some("the database is away".into()))));
    // Not due again before a minute has passed; then after 2, 4 and 8 more.
    answer_owed(&db, at(0.0)).await;
    assert_eq!(owed(&db, message).await.unwrap().0, 1);
    for (minutes, attempts) in [(1.0, 2), (3.0, 3), (7.0, 4)] {
        answer_owed(&db, at(minutes)).await;
        assert_eq!(owed(&db, message).await.unwrap().0, attempts);
    }
    answer_owed(&db, at(15.0)).await;
    assert_eq!(owed(&db, message).await, None, "given up after the fifth attempt");
    let recorded: (String, String, Option<String>) =
        sqlx::query_as("select kind, status, error_message from public.bot_interactions where message_id = $1")
            .bind(message)
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(recorded, ("handoff".into(), "failed".into(), Some("the database is away".into())));
    assert_eq!(answers(&db, site).await, 0);

    // Once the database is back, a new message is answered by the cron.
    sqlx::query(sqlx::AssertSqlSafe(format!("drop trigger {trigger} on public.messages"))).execute(&db).await.unwrap();
    let next = write(&mut guest, "Still there?").await;
    answer_owed(&db, None).await;
    assert_eq!(owed(&db, next).await, None);
    assert_eq!(answers(&db, site).await, 1);
}
