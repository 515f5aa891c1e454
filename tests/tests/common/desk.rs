//! A help desk to test the operator side: a site, its owner and operators, and visitors who
//! write. Shared by the operator-function and lifecycle tests.

use super::{connect_as_guest, new_site, new_user, widget_session};
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

/// A site with its owner and operators.
pub struct Desk {
    /// The site.
    pub site: Uuid,
    /// Its public key.
    pub site_key: String,
    /// Its owner.
    pub owner: Uuid,
    /// Its T1 operators.
    pub operators: Vec<Uuid>,
}

/// A site with `n` T1 operators of capacity `capacity`, each `availability`; its queue hands
/// itself out only when `auto_assignment` is on.
pub async fn desk(db: &PgPool, n: usize, capacity: i32, availability: &str, auto_assignment: bool) -> Desk {
    let owner = new_user(db).await;
    let (site, site_key) = new_site(db, owner).await;
    sqlx::query("update public.widget_settings set auto_assignment = $2 where site_id = $1")
        .bind(site)
        .bind(auto_assignment)
        .execute(db)
        .await
        .unwrap();
    let mut operators = Vec::new();
    for _ in 0..n {
        let id = new_user(db).await;
        sqlx::query("insert into public.site_members (site_id, user_id, role, availability, max_concurrent_chats) values ($1, $2, 'operator', $3, $4)")
            .bind(site)
            .bind(id)
            .bind(availability)
            .bind(capacity)
            .execute(db)
            .await
            .unwrap();
        operators.push(id);
    }
    Desk { site, site_key, owner, operators }
}

/// A visitor who wrote once ("I need help"); returns the session JSON.
pub async fn visitor(desk: &Desk) -> Value {
    let session = widget_session(&desk.site_key).await;
    write(&session, "I need help").await.unwrap();
    session
}

/// The visitor of `session` writes `text`.
pub async fn write(session: &Value, text: &str) -> Result<Value, sqlx::Error> {
    let mut guest = connect_as_guest(session).await;
    sqlx::query_scalar("select public.post_message($1, $2)").bind(Uuid::new_v4()).bind(text).fetch_one(&mut guest).await
}

/// The id in `value[field]`.
pub fn id(value: &Value, field: &str) -> Uuid {
    Uuid::parse_str(value[field].as_str().unwrap()).unwrap()
}
