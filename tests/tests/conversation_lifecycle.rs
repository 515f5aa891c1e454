//! The conversation's life as one state machine (README "Conversation lifecycle"): every
//! transition legal and illegal, the close that used to break the cleanup, the visitor writing
//! after a close, and the state columns no API role may write directly.

mod common;

use common::{connect_as_guest, connect_as_user, database, new_site, new_user, refusal, widget_session};
use serde_json::Value;
use sqlx::{Connection, PgConnection, PgPool};
use uuid::Uuid;

struct Desk {
    site: Uuid,
    site_key: String,
    owner: Uuid,
    operators: Vec<Uuid>,
}

/// A site with `n` online T1 operators of capacity 3.
async fn desk(db: &PgPool, n: usize) -> Desk {
    let owner = new_user(db).await;
    let (site, site_key) = new_site(db, owner).await;
    let mut operators = Vec::new();
    for _ in 0..n {
        let id = new_user(db).await;
        sqlx::query("insert into public.site_members (site_id, user_id, role, availability, max_concurrent_chats) values ($1, $2, 'operator', 'online', 3)")
            .bind(site)
            .bind(id)
            .execute(db)
            .await
            .unwrap();
        operators.push(id);
    }
    Desk { site, site_key, owner, operators }
}

/// A visitor who wrote once; returns the session JSON.
async fn visitor(desk: &Desk) -> Value {
    let session = widget_session(&desk.site_key).await;
    write(&session, "I need help").await.unwrap();
    session
}

/// The visitor writes `text`.
async fn write(session: &Value, text: &str) -> Result<Value, sqlx::Error> {
    let mut guest = connect_as_guest(session).await;
    sqlx::query_scalar("select public.post_message($1, $2)").bind(Uuid::new_v4()).bind(text).fetch_one(&mut guest).await
}

fn id(value: &Value, field: &str) -> Uuid {
    Uuid::parse_str(value[field].as_str().unwrap()).unwrap()
}

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
    let desk = desk(&db, 1).await;
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
