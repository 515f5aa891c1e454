//! postgres_changes subscriptions and delivery of what the database announces after commit
//! (see `sql/realtime.sql`): row changes of published tables and `realtime.send()` broadcasts.
//!
//! As on Supabase, a row change reaches a subscriber only if its filters match and, unless it
//! is a DELETE, the subscriber can see the row: the check re-reads the live row by primary key
//! as the subscriber's role and claims, inside a transaction that is rolled back.

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

/// Most values an `in` filter may list.
pub const MAX_IN_VALUES: usize = 100;

/// A comparison of a postgres_changes filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `=`
    Eq,
    /// `<>`
    Neq,
    /// `<`
    Lt,
    /// `<=`
    Lte,
    /// `>`
    Gt,
    /// `>=`
    Gte,
    /// `= any(...)`
    In,
}

impl Op {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "eq" => Self::Eq,
            "neq" => Self::Neq,
            "lt" => Self::Lt,
            "lte" => Self::Lte,
            "gt" => Self::Gt,
            "gte" => Self::Gte,
            "in" => Self::In,
            _ => return None,
        })
    }

    fn sql(self) -> &'static str {
        match self {
            Self::Eq | Self::In => "=",
            Self::Neq => "<>",
            Self::Lt => "<",
            Self::Lte => "<=",
            Self::Gt => ">",
            Self::Gte => ">=",
        }
    }
}

/// `column=op.value`; for `in`, the value is a Postgres array literal `{a,b}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Filter {
    /// The column compared.
    pub column: String,
    /// The comparison.
    pub op: Op,
    /// The value, cast to the column's type in SQL.
    pub value: String,
}

/// Reads a filter; the error is the `system` message Realtime sends.
pub fn parse_filter(filter: &str) -> Result<Option<Filter>, String> {
    let filter = filter.trim();
    if filter.is_empty() {
        return Ok(None);
    }
    let refuse = |parts: &[&str]| format!("Error parsing `filter` params: {parts:?}");
    let Some((column, rest)) = filter.split_once('=') else {
        return Err(refuse(&[filter]));
    };
    let Some((op_name, value)) = rest.split_once('.') else {
        return Err(refuse(&[column, rest]));
    };
    let op = Op::parse(op_name).ok_or_else(|| refuse(&[column, op_name, value]))?;
    let value = if op == Op::In {
        let list = value
            .strip_prefix('(')
            .and_then(|v| v.strip_suffix(')'))
            .ok_or_else(|| refuse(&[column, op_name, value]))?;
        let values: Vec<&str> = list.split(',').map(str::trim).collect();
        if values.len() > MAX_IN_VALUES {
            return Err(format!("Error parsing `filter` params: an `in` filter takes at most {MAX_IN_VALUES} values"));
        }
        let quoted: Vec<String> =
            values.iter().map(|v| format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))).collect();
        format!("{{{}}}", quoted.join(","))
    } else {
        value.to_owned()
    };
    Ok(Some(Filter { column: column.trim().to_owned(), op, value }))
}

/// One postgres_changes subscription of a channel.
#[derive(Clone, Debug)]
pub struct Binding {
    /// The id sent in the join reply and in every matching change's `ids`.
    pub id: u32,
    /// `INSERT`, `UPDATE`, `DELETE` or `*`.
    pub event: String,
    /// Schema name or `*`.
    pub schema: String,
    /// Table name; `None` for every table of the schema.
    pub table: Option<String>,
    /// The parsed filter.
    pub filter: Option<Filter>,
}

impl Binding {
    /// Reads one `postgres_changes` entry of a join; the error is a `system` message.
    pub fn parse(entry: &Value) -> Result<Self, String> {
        let field = |name: &str| entry.get(name).and_then(Value::as_str).map(str::to_owned);
        let event = field("event").map(|e| e.to_uppercase()).unwrap_or_else(|| "*".into());
        let event = if ["INSERT", "UPDATE", "DELETE"].contains(&event.as_str()) { event } else { "*".into() };
        let schema = field("schema").unwrap_or_else(|| "public".into());
        let table = field("table").filter(|t| t != "*");
        let filter = parse_filter(&field("filter").unwrap_or_default())?;
        Ok(Self { id: binding_id(entry), event, schema, table, filter })
    }

    fn matches(&self, schema: &str, table: &str, operation: &str) -> bool {
        (self.event == "*" || self.event == operation)
            && (self.schema == "*" || self.schema == schema)
            && self.table.as_deref().is_none_or(|t| t == table)
    }
}

/// A stable integer id for an entry (Realtime uses a hash of the entry, below 2^27).
fn binding_id(entry: &Value) -> u32 {
    let text = entry.to_string();
    let hash = text.bytes().fold(0x811c_9dc5u32, |hash, byte| (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193));
    hash & 0x07ff_ffff
}

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

async fn deliver(pool: &PgPool, hub: &Hub, mut listener: PgListener, cursor: &mut Cursor) -> sqlx::Result<()> {
    // Changes queued before the first LISTEN are still in the table.
    deliver_changes(pool, hub).await?;
    loop {
        let notification = listener.recv().await?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse_like_realtime() {
        let filter = parse_filter("room_id=eq.42").unwrap().unwrap();
        assert_eq!((filter.column.as_str(), filter.op, filter.value.as_str()), ("room_id", Op::Eq, "42"));
        let within = parse_filter("status=in.(open, \"a\\\"b\")").unwrap().unwrap();
        assert_eq!((within.op, within.value.as_str()), (Op::In, r#"{"open","\"a\\\"b\""}"#));
        assert_eq!(parse_filter("  ").unwrap(), None);
        assert_eq!(
            parse_filter("room_id=foo.hey").unwrap_err(),
            r#"Error parsing `filter` params: ["room_id", "foo", "hey"]"#
        );
        assert!(parse_filter("status=in.open").is_err());
        assert!(parse_filter("nothing").is_err());
        let many = format!("id=in.({})", vec!["1"; 101].join(","));
        assert!(parse_filter(&many).is_err());
    }

    #[test]
    fn bindings_match_events_and_tables() {
        let entry = json!({"event": "insert", "schema": "public", "table": "messages", "filter": "seq=gt.5"});
        let binding = Binding::parse(&entry).unwrap();
        assert_eq!(binding.id, Binding::parse(&entry).unwrap().id);
        assert!(binding.id < 1 << 27);
        assert!(binding.matches("public", "messages", "INSERT"));
        assert!(!binding.matches("public", "messages", "UPDATE"));
        assert!(!binding.matches("public", "conversations", "INSERT"));
        let all = Binding::parse(&json!({"event": "*", "schema": "public"})).unwrap();
        assert!(all.matches("public", "anything", "DELETE"));
        let unknown_event = Binding::parse(&json!({"event": "TRUNCATE", "schema": "public"})).unwrap();
        assert_eq!(unknown_event.event, "*");
    }
}
