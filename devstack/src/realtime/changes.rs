//! postgres_changes subscriptions and delivery of what the database announces after commit
//! (see `sql/realtime.sql`): row changes of published tables and `realtime.send()` broadcasts.
//!
//! As on Supabase, a row change reaches a subscriber only if its filters match and, unless it
//! is a DELETE, the subscriber can see the row: the check re-reads the live row by primary key
//! as the subscriber's role and claims, inside a transaction that is rolled back.

use super::binding::{Binding, Op};
use super::hub::{Audience, Fanout, Hub, Member, TopicKey};
use super::token::Token;
use crate::database::quote_ident;
use axum::extract::ws::Message as WsMessage;
use chat_client::realtime::{BinaryBroadcast, Body, Message, Vsn, encode_binary, encode_text};
use serde_json::{Value, json};
use sqlx::postgres::PgListener;
use sqlx::{AssertSqlSafe, PgPool, Row};
use std::sync::Arc;
use std::time::Duration;

/// What the server needs to know about a table to deliver its changes.
#[derive(Clone, Debug)]
pub struct TableInfo {
    /// `(name, type name)` in column order, as `columns` lists them.
    pub columns: Vec<(String, String)>,
    /// Primary key columns.
    pub primary_key: Vec<String>,
    /// Row level security is enabled.
    pub rls: bool,
    /// `replica identity full`: UPDATE/DELETE carry the whole old row.
    pub replica_full: bool,
}

/// Reads a table's description, or `None` when it does not exist.
pub async fn table_info(pool: &PgPool, schema: &str, table: &str) -> sqlx::Result<Option<TableInfo>> {
    let row = sqlx::query(
        "select c.relrowsecurity, c.relreplident = 'f', \
           coalesce((select array_agg(a.attname::text order by a.attnum) from pg_attribute a \
             where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped), '{}'), \
           coalesce((select array_agg(t.typname::text order by a.attnum) from pg_attribute a \
             join pg_type t on t.oid = a.atttypid \
             where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped), '{}'), \
           coalesce((select array_agg(a.attname::text) from pg_index i \
             join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any (i.indkey) \
             where i.indrelid = c.oid and i.indisprimary), '{}') \
         from pg_class c join pg_namespace n on n.oid = c.relnamespace \
         where n.nspname = $1 and c.relname = $2 and c.relkind in ('r', 'p')",
    )
    .bind(schema)
    .bind(table)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|row| {
        let names: Vec<String> = row.get(2);
        let types: Vec<String> = row.get(3);
        TableInfo {
            rls: row.get(0),
            replica_full: row.get(1),
            columns: names.into_iter().zip(types).collect(),
            primary_key: row.get(4),
        }
    }))
}

/// Checks a binding against the database at join time; the error is the `system` message.
pub async fn check_binding(pool: &PgPool, binding: &Binding) -> Result<(), String> {
    let (Some(table), Some(filter)) = (&binding.table, &binding.filter) else {
        return Ok(());
    };
    let unable = || {
        format!(
            "Unable to subscribe to changes with given parameters. Please check Realtime is enabled for the \
             given connect parameters: [event: {}, schema: {}, table: {}, filters: [{}]]",
            binding.event, binding.schema, table, filter.column
        )
    };
    let info = table_info(pool, &binding.schema, table).await.map_err(|_| unable())?.ok_or_else(unable)?;
    if !info.columns.iter().any(|(name, _)| *name == filter.column) {
        return Err(format!("{} Exception: invalid column for filter {}", unable(), filter.column));
    }
    Ok(())
}

/// Starts listening; returns once `LISTEN` is in place, so nothing committed after this call
/// is missed. Delivery then runs until the process ends, reconnecting when the connection
/// drops and catching up from the tables on every reconnect.
pub async fn start(pool: PgPool, hub: Arc<Hub>) -> sqlx::Result<()> {
    let listener = listen(&pool).await?;
    let since = sqlx::query_scalar("select clock_timestamp()::timestamp").fetch_one(&pool).await?;
    tokio::spawn(async move {
        let mut cursor = Cursor { since };
        let mut listener = Some(listener);
        loop {
            let result = match listener.take() {
                Some(listener) => deliver(&pool, &hub, listener, &mut cursor).await,
                None => match listen(&pool).await {
                    Ok(listener) => match catch_up(&pool, &hub, &mut cursor).await {
                        Ok(()) => deliver(&pool, &hub, listener, &mut cursor).await,
                        Err(error) => Err(error),
                    },
                    Err(error) => Err(error),
                },
            };
            if let Err(error) = result {
                tracing::warn!(%error, "realtime listener lost its connection; reconnecting");
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
    Ok(())
}

/// The newest `realtime.messages` row delivered (inserted_at), for catching up.
struct Cursor {
    since: sqlx::types::chrono::NaiveDateTime,
}

async fn listen(pool: &PgPool) -> sqlx::Result<PgListener> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen_all(["realtime_messages", "realtime_changes"]).await?;
    Ok(listener)
}

/// Delivers what was announced while nobody listened: queued row changes, and broadcasts
/// inserted since the last one delivered.
async fn catch_up(pool: &PgPool, hub: &Hub, cursor: &mut Cursor) -> sqlx::Result<()> {
    deliver_changes(pool, hub).await?;
    let missed: Vec<uuid::Uuid> = sqlx::query_scalar(
        "select id from realtime.messages where extension = 'broadcast' and inserted_at > $1 order by inserted_at",
    )
    .bind(cursor.since)
    .fetch_all(pool)
    .await?;
    for id in missed {
        deliver_message(pool, hub, &id.to_string(), cursor).await?;
    }
    Ok(())
}

/// Delivers until the listener's connection is lost (returns `Ok`) or a query fails. Not
/// `PgListener::recv`, which reconnects by itself and so would skip the catch-up: what was
/// announced while the connection was down would never reach anyone.
async fn deliver(pool: &PgPool, hub: &Hub, mut listener: PgListener, cursor: &mut Cursor) -> sqlx::Result<()> {
    // Changes queued before the first LISTEN are still in the table.
    deliver_changes(pool, hub).await?;
    loop {
        let Some(notification) = listener.try_recv().await? else {
            tracing::warn!("realtime listener lost its connection; reconnecting and catching up");
            return Ok(());
        };
        match notification.channel() {
            "realtime_messages" => deliver_message(pool, hub, notification.payload(), cursor).await?,
            _ => deliver_changes(pool, hub).await?,
        }
    }
}

/// A `realtime.send()` row: a kind-4 broadcast with `meta.id`, as Realtime sends it.
async fn deliver_message(pool: &PgPool, hub: &Hub, id: &str, cursor: &mut Cursor) -> sqlx::Result<()> {
    let Ok(id) = id.parse::<uuid::Uuid>() else { return Ok(()) };
    let row = sqlx::query(
        "select topic, coalesce(event, ''), coalesce(payload, '{}'::jsonb), coalesce(private, false), inserted_at \
         from realtime.messages where id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else { return Ok(()) };
    let (topic, event, payload, private): (String, String, Value, bool) =
        (row.get(0), row.get(1), row.get(2), row.get(3));
    cursor.since = cursor.since.max(row.get(4));
    let broadcast = BinaryBroadcast {
        join_ref: None,
        reference: None,
        topic: format!("realtime:{topic}"),
        event,
        meta: Some(json!({"id": id}).to_string()),
        body: Body::Json(payload.to_string()),
    };
    let Some(frame) = binary_fanout(&broadcast) else { return Ok(()) };
    hub.fan_out(&TopicKey { topic: broadcast.topic, private }, &frame, Audience::Broadcast { from: None });
    Ok(())
}

/// A broadcast as kind 4 for vsn 2.0.0 and as a JSON `broadcast` frame for vsn 1.0.0.
pub fn binary_fanout(broadcast: &BinaryBroadcast) -> Option<Fanout> {
    let v2 = WsMessage::Binary(encode_binary(broadcast, false).ok()?.into());
    let v1 = broadcast.to_text_payload().map(|payload| {
        let message = Message::new(broadcast.topic.clone(), "broadcast", payload);
        WsMessage::Text(encode_text(Vsn::V1, &message, false).into())
    });
    Some(Fanout { v1, v2 })
}

struct Change {
    schema: String,
    table: String,
    operation: String,
    record: Option<Value>,
    old_record: Option<Value>,
    commit_timestamp: String,
}

async fn deliver_changes(pool: &PgPool, hub: &Hub) -> sqlx::Result<()> {
    loop {
        let rows = sqlx::query(
            "with taken as (delete from realtime.changes where id in \
               (select id from realtime.changes order by id limit 100) returning *) \
             select schema_name, table_name, operation, record, old_record, \
               to_char(commit_timestamp at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') \
             from taken order by id",
        )
        .fetch_all(pool)
        .await?;
        if rows.is_empty() {
            return Ok(());
        }
        for row in rows {
            let change = Change {
                schema: row.get(0),
                table: row.get(1),
                operation: row.get(2),
                record: row.get(3),
                old_record: row.get(4),
                commit_timestamp: row.get(5),
            };
            deliver_change(pool, hub, &change).await?;
        }
    }
}

async fn deliver_change(pool: &PgPool, hub: &Hub, change: &Change) -> sqlx::Result<()> {
    let subscribers = hub.subscribers();
    if !subscribers
        .iter()
        .any(|(_, m)| m.bindings.iter().any(|b| b.matches(&change.schema, &change.table, &change.operation)))
    {
        return Ok(());
    }
    let Some(info) = table_info(pool, &change.schema, &change.table).await? else { return Ok(()) };
    let mut data = json!({
        "schema": change.schema,
        "table": change.table,
        "type": change.operation,
        "commit_timestamp": change.commit_timestamp,
        "columns": info.columns.iter().map(|(name, kind)| json!({"name": name, "type": kind})).collect::<Vec<_>>(),
        "errors": null,
    });
    if let Some(record) = &change.record {
        data["record"] = record.clone();
    }
    if let Some(old) = &change.old_record {
        let full = info.replica_full && !(change.operation == "DELETE" && info.rls);
        data["old_record"] = if full { old.clone() } else { only_columns(old, &info.primary_key) };
    }
    for (key, member) in subscribers {
        let mut ids = Vec::new();
        for binding in member.bindings.iter().filter(|b| b.matches(&change.schema, &change.table, &change.operation)) {
            if visible(pool, &member.token, binding, change, &info).await? {
                ids.push(binding.id);
            }
        }
        if ids.is_empty() {
            continue;
        }
        send_change(&key, &member, json!({"ids": ids, "data": data}));
    }
    Ok(())
}

fn send_change(key: &TopicKey, member: &Member, payload: Value) {
    let message = Message::new(key.topic.clone(), "postgres_changes", payload);
    member.outbox.send(WsMessage::Text(encode_text(member.outbox.vsn, &message, false).into()));
}

fn only_columns(row: &Value, columns: &[String]) -> Value {
    let mut kept = serde_json::Map::new();
    for column in columns {
        if let Some(value) = row.get(column) {
            kept.insert(column.clone(), value.clone());
        }
    }
    Value::Object(kept)
}

/// Does the change pass the binding's filter, and may the subscriber see the row?
async fn visible(
    pool: &PgPool,
    token: &Token,
    binding: &Binding,
    change: &Change,
    info: &TableInfo,
) -> sqlx::Result<bool> {
    if !super::authorization::is_api_role(&token.role) {
        return Ok(false);
    }
    let table = format!("{}.{}", quote_ident(&change.schema), quote_ident(&change.table));
    let image = if change.operation == "DELETE" { &change.old_record } else { &change.record };
    let mut conditions = Vec::new();
    if let Some(filter) = &binding.filter {
        let Some((_, kind)) = info.columns.iter().find(|(name, _)| *name == filter.column) else { return Ok(false) };
        let kind = quote_ident(kind);
        let column = format!("r.{}", quote_ident(&filter.column));
        conditions.push(match filter.op {
            Op::In => format!("{column} = any (cast($2 as {kind}[]))"),
            op => format!("{column} {} cast($2 as {kind})", op.sql()),
        });
    }
    let live_row = change.operation != "DELETE" && !info.primary_key.is_empty();
    if live_row {
        for key in &info.primary_key {
            conditions.push(format!("t.{0} = r.{0}", quote_ident(key)));
        }
    }
    let from = if live_row { format!(", {table} t") } else { String::new() };
    let condition = if conditions.is_empty() { "true".to_owned() } else { conditions.join(" and ") };
    let sql =
        format!("select exists (select 1 from jsonb_populate_record(null::{table}, $1) r{from} where {condition})");
    let filter_value = binding.filter.as_ref().map(|f| f.value.clone()).unwrap_or_default();
    let mut tx = pool.begin().await?;
    // Read as the subscriber: its role and claims drive RLS.
    super::authorization::act_as(&mut tx, token, None).await?;
    let result: Result<bool, sqlx::Error> = sqlx::query_scalar(AssertSqlSafe(sql))
        .bind(image.clone().unwrap_or(Value::Null))
        .bind(filter_value)
        .fetch_one(&mut *tx)
        .await;
    tx.rollback().await?;
    // A filter value that does not cast, or a role without SELECT, means "not delivered".
    Ok(result.unwrap_or(false))
}
