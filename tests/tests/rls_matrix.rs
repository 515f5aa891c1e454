//! The RLS matrix of `tests/rls/matrix.md`, cell by cell, as PostgREST would run each request.

mod common;

use sqlx::{Connection, Executor, PgConnection};
use uuid::Uuid;

const MATRIX: &str = include_str!("../rls/matrix.md");
const FIXTURE: &str = include_str!("../rls/fixture.sql");

const SITE_A: &str = "a1000000-0000-4000-8000-000000000000";
const SITE_B: &str = "b1000000-0000-4000-8000-000000000000";

/// The roles of the matrix's columns, in order, with the claims PostgREST would set.
fn roles() -> [(&'static str, &'static str, serde_json::Value); 6] {
    use serde_json::json;
    [
        ("anon", "anon", json!({"role": "anon"})),
        (
            "guest",
            "authenticated",
            json!({"role": "authenticated", "sub": "a3000000-0000-4000-8000-000000000001", "is_anonymous": true,
                   "guest": {"site_id": SITE_A, "conversation_id": "a4000000-0000-4000-8000-000000000001",
                             "session_id": "a7000000-0000-4000-8000-000000000001"}}),
        ),
        (
            "operator A",
            "authenticated",
            json!({"role": "authenticated", "sub": "a0000000-0000-4000-8000-000000000003"}),
        ),
        ("admin A", "authenticated", json!({"role": "authenticated", "sub": "a0000000-0000-4000-8000-000000000002"})),
        ("member B", "authenticated", json!({"role": "authenticated", "sub": "b0000000-0000-4000-8000-000000000001"})),
        ("service", "service_role", json!({"role": "service_role"})),
    ]
}

/// The column a no-op update touches: one the API is allowed to edit where any role may.
fn editable_column(table: &str) -> &'static str {
    match table {
        "sites" | "agents" | "customers" => "name",
        "site_members" | "site_invitations" => "display_name",
        "widget_settings" => "title",
        "conversations" => "tags",
        "conversation_participants" => "last_read_at",
        "messages" => "content",
        "message_attachments" => "file_name",
        "message_history" => "old_content",
        "bot_interactions" => "status",
        "chat_links" => "title",
        "escalations" => "reason",
        "conversation_assignments" => "last_activity_at",
        "operator_notifications" => "read_at",
        "canned_responses" => "content",
        "operator_daily_stats" => "messages_sent",
        "owed_answers" => "attempts",
        "site_ai_settings" => "enabled",
        "ai_usage_days" => "answers",
        "chat_link_tokens" | "chat_session_tokens" => "token_hash",
        "session_start_windows" => "starts",
        "chat_sessions" => "max_messages",
        "knowledge_articles" => "title",
        "sms_settings" => "enabled",
        "sms_conversations" => "is_active",
        "credit_ledger" => "reference",
        other => panic!("no editable column for {other}"),
    }
}

/// One new row of the table, as a client of the given role would try to insert it.
fn insert_statement(table: &str) -> &'static str {
    match table {
        "sites" => {
            "insert into public.sites (owner_id, name) values (coalesce(auth.uid(), 'a0000000-0000-4000-8000-000000000001'), 'New site')"
        }
        "site_members" => {
            "insert into public.site_members (site_id, user_id, role) values ('a1000000-0000-4000-8000-000000000000', 'c0000000-0000-4000-8000-000000000001', 'viewer')"
        }
        "site_invitations" => {
            "insert into public.site_invitations (site_id, email, role, invited_by) values ('a1000000-0000-4000-8000-000000000000', 'new-person@rls.test', 'operator', coalesce(auth.uid(), 'a0000000-0000-4000-8000-000000000001'))"
        }
        "widget_settings" => {
            "insert into public.widget_settings (site_id) values ('c1000000-0000-4000-8000-000000000000')"
        }
        "agents" => {
            "insert into public.agents (site_id, name) values ('a1000000-0000-4000-8000-000000000000', 'New agent')"
        }
        "customers" => {
            "insert into public.customers (site_id, name) values ('a1000000-0000-4000-8000-000000000000', 'New customer')"
        }
        "conversations" => {
            "insert into public.conversations (site_id, customer_id) values ('a1000000-0000-4000-8000-000000000000', 'a3000000-0000-4000-8000-000000000001')"
        }
        "conversation_participants" => {
            "insert into public.conversation_participants (conversation_id, site_id, user_id, role) values ('a4000000-0000-4000-8000-000000000001', 'a1000000-0000-4000-8000-000000000000', 'a0000000-0000-4000-8000-000000000002', 'observer')"
        }
        // Also the forging attack: a guest claiming to be an operator.
        "messages" => {
            "insert into public.messages (conversation_id, site_id, sender_type, sender_user_id, content) values ('a4000000-0000-4000-8000-000000000001', 'a1000000-0000-4000-8000-000000000000', 'operator', coalesce(auth.uid(), 'a0000000-0000-4000-8000-000000000003'), 'How can I help?')"
        }
        "message_attachments" => {
            "insert into public.message_attachments (message_id, site_id, storage_path, file_name, mime_type, size_bytes) values ('a5000000-0000-4000-8000-000000000002', 'a1000000-0000-4000-8000-000000000000', 'a/3.pdf', '3.pdf', 'application/pdf', 100)"
        }
        "message_history" => {
            "insert into public.message_history (message_id, site_id, operation, old_content, old_metadata) values ('a5000000-0000-4000-8000-000000000001', 'a1000000-0000-4000-8000-000000000000', 'update', 'forged', '{}')"
        }
        "bot_interactions" => {
            "insert into public.bot_interactions (site_id, conversation_id, kind) values ('a1000000-0000-4000-8000-000000000000', 'a4000000-0000-4000-8000-000000000001', 'ai_reply')"
        }
        "escalations" => {
            "insert into public.escalations (site_id, conversation_id, from_level, to_level, reason, created_by) values ('a1000000-0000-4000-8000-000000000000', 'a4000000-0000-4000-8000-000000000001', 't1', 't3', 'Needs T3', coalesce(auth.uid(), 'a0000000-0000-4000-8000-000000000003'))"
        }
        "conversation_assignments" => {
            "insert into public.conversation_assignments (site_id, conversation_id, operator_id) values ('a1000000-0000-4000-8000-000000000000', 'a4000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000003')"
        }
        "canned_responses" => {
            "insert into public.canned_responses (site_id, shortcut, content) values ('a1000000-0000-4000-8000-000000000000', 'new-reply', 'Thanks for waiting!')"
        }
        "operator_notifications" => {
            "insert into public.operator_notifications (site_id, user_id, type, title, body) values ('a1000000-0000-4000-8000-000000000000', 'a0000000-0000-4000-8000-000000000003', 'system_alert', 'Forged', '')"
        }
        "owed_answers" => {
            "insert into public.owed_answers (message_id, site_id, conversation_id) values ('a5000000-0000-4000-8000-000000000002', 'a1000000-0000-4000-8000-000000000000', 'a4000000-0000-4000-8000-000000000002')"
        }
        "site_ai_settings" => {
            "insert into public.site_ai_settings (site_id) values ('c1000000-0000-4000-8000-000000000000')"
        }
        "ai_usage_days" => {
            "insert into public.ai_usage_days (site_id, day) values ('a1000000-0000-4000-8000-000000000000', current_date - 1)"
        }
        "operator_daily_stats" => {
            "insert into public.operator_daily_stats (site_id, user_id, day, messages_sent) values ('a1000000-0000-4000-8000-000000000000', 'a0000000-0000-4000-8000-000000000003', current_date - 1, 999)"
        }
        "chat_links" => {
            "insert into public.chat_links (site_id, agent_id, title, expires_at, created_by) values ('a1000000-0000-4000-8000-000000000000', 'a2000000-0000-4000-8000-000000000001', 'New link', now() + interval '1 hour', coalesce(auth.uid(), 'a0000000-0000-4000-8000-000000000001'))"
        }
        "chat_link_tokens" => {
            "insert into public.chat_link_tokens (link_id, site_id, token_hash) values ('a6000000-0000-4000-8000-000000000002', 'a1000000-0000-4000-8000-000000000000', repeat('e', 64))"
        }
        "chat_sessions" => {
            "insert into public.chat_sessions (site_id, conversation_id, customer_id) values ('a1000000-0000-4000-8000-000000000000', 'a4000000-0000-4000-8000-000000000001', 'a3000000-0000-4000-8000-000000000001')"
        }
        "chat_session_tokens" => {
            "insert into public.chat_session_tokens (session_id, site_id, token_hash) values ('a7000000-0000-4000-8000-000000000002', 'a1000000-0000-4000-8000-000000000000', repeat('f', 64))"
        }
        "session_start_windows" => {
            "insert into public.session_start_windows (site_id, scope, window_start, starts) values ('a1000000-0000-4000-8000-000000000000', 'ip:192.0.2.1', now(), 1)"
        }
        "knowledge_articles" => {
            "insert into public.knowledge_articles (site_id, title, body) values ('a1000000-0000-4000-8000-000000000000', 'New', 'Article')"
        }
        "sms_settings" => {
            "insert into public.sms_settings (agent_id, site_id) values ('a2000000-0000-4000-8000-000000000002', 'a1000000-0000-4000-8000-000000000000')"
        }
        "sms_conversations" => {
            "insert into public.sms_conversations (site_id, agent_id, phone_number, conversation_id) values ('a1000000-0000-4000-8000-000000000000', 'a2000000-0000-4000-8000-000000000001', '+15550000002', 'a4000000-0000-4000-8000-000000000001')"
        }
        "credit_ledger" => {
            "insert into public.credit_ledger (site_id, customer_id, amount, reason) values ('a1000000-0000-4000-8000-000000000000', 'a3000000-0000-4000-8000-000000000001', 1000, 'adjustment')"
        }
        other => panic!("no insert statement for {other}"),
    }
}

fn statement(table: &str, op: &str) -> String {
    let scope = if table == "sites" { "id = any($1)" } else { "site_id = any($1)" };
    match op {
        "select" => format!("select 1 from public.{table} where {scope}"),
        "update" => {
            let column = editable_column(table);
            format!("update public.{table} set {column} = {column} where {scope}")
        }
        "delete" => format!("delete from public.{table} where {scope}"),
        "insert" => insert_statement(table).to_string(),
        other => panic!("unknown operation {other}"),
    }
}

/// Run `sql` (binding `sites` as `$1` when given) as PostgREST would for `role` with `claims`,
/// inside a savepoint that is rolled back: the outcome, and nothing left behind.
async fn as_role(
    tx: &mut PgConnection,
    role: &str,
    claims: &serde_json::Value,
    sql: &str,
    sites: Option<&Vec<Uuid>>,
) -> Result<sqlx::postgres::PgQueryResult, sqlx::Error> {
    sqlx::query("savepoint probe").execute(&mut *tx).await.unwrap();
    sqlx::query("select set_config('role', $1, true), set_config('request.jwt.claims', $2, true)")
        .bind(role)
        .bind(claims.to_string())
        .execute(&mut *tx)
        .await
        .unwrap();
    let query = sqlx::query(sqlx::AssertSqlSafe(sql.to_string()));
    let outcome = match sites {
        Some(sites) => query.bind(sites).execute(&mut *tx).await,
        None => query.execute(&mut *tx).await,
    };
    sqlx::query("rollback to savepoint probe").execute(&mut *tx).await.unwrap();
    sqlx::query("reset role").execute(&mut *tx).await.unwrap();
    outcome
}

/// The matrix's rows: table, operation and the six expected cells.
fn cells() -> Vec<(String, String, Vec<String>)> {
    MATRIX
        .lines()
        .filter(|line| line.starts_with("| ") && !line.starts_with("| table"))
        .map(|line| {
            let cols: Vec<String> = line.trim_matches('|').split('|').map(|c| c.trim().to_string()).collect();
            assert_eq!(cols.len(), 8, "malformed matrix row: {line}");
            (cols[0].clone(), cols[1].clone(), cols[2..].to_vec())
        })
        .collect()
}

#[tokio::test]
async fn every_cell_of_the_matrix_holds() {
    let mut conn = PgConnection::connect(&common::env("STACK_DATABASE_URL")).await.unwrap();
    let mut tx = conn.begin().await.unwrap();
    tx.execute(sqlx::raw_sql(FIXTURE)).await.expect("fixture applies");
    let sites = vec![Uuid::parse_str(SITE_A).unwrap(), Uuid::parse_str(SITE_B).unwrap()];
    let rows = cells();
    let tables: std::collections::BTreeSet<&str> = rows.iter().map(|(t, _, _)| t.as_str()).collect();
    let mut failures = Vec::new();
    let mut checked = 0;
    for (table, op, expected) in &rows {
        let sql = statement(table, op);
        for ((name, role, claims), want) in roles().iter().zip(expected) {
            let got = match as_role(&mut tx, role, claims, &sql, Some(&sites)).await {
                Ok(done) => done.rows_affected().to_string(),
                Err(_) => "✗".to_string(),
            };
            checked += 1;
            if &got != want {
                failures.push(format!("{table} {op} as {name}: expected {want}, got {got}"));
            }
        }
    }
    tx.rollback().await.unwrap();
    assert!(failures.is_empty(), "{} of {checked} cells differ:\n{}", failures.len(), failures.join("\n"));
    assert_eq!(checked, 116 * 6, "the matrix should cover every table x operation x role");

    // Every table of the public schema is in the matrix.
    let db = common::database().await;
    let all: Vec<String> = sqlx::query_scalar(
        "select c.relname::text from pg_class c join pg_namespace n on n.oid = c.relnamespace \
         where n.nspname = 'public' and c.relkind in ('r', 'p') order by 1",
    )
    .fetch_all(&db)
    .await
    .unwrap();
    let missing: Vec<&String> = all.iter().filter(|t| !tables.contains(t.as_str())).collect();
    assert!(missing.is_empty(), "tables missing from tests/rls/matrix.md: {missing:?}");
}

/// A reference between two site-scoped tables: `table.column` points at a row of `target`.
struct Reference {
    table: String,
    column: String,
    target: String,
    constraint: String,
}

/// Every foreign key between two tables that both have a `site_id`, with the key's columns.
async fn site_references(db: &sqlx::PgPool) -> Vec<(Reference, Vec<String>, Vec<String>)> {
    type Row = (String, String, String, Vec<String>, Vec<String>);
    let rows: Vec<Row> = sqlx::query_as(
        "select c.conrelid::regclass::text, c.conname::text, c.confrelid::regclass::text, \
           array(select a.attname::text from unnest(c.conkey) with ordinality k(n, i) \
                 join pg_attribute a on a.attrelid = c.conrelid and a.attnum = k.n order by k.i), \
           array(select a.attname::text from unnest(c.confkey) with ordinality k(n, i) \
                 join pg_attribute a on a.attrelid = c.confrelid and a.attnum = k.n order by k.i) \
         from pg_constraint c \
         where c.contype = 'f' and c.connamespace = 'public'::regnamespace \
           and exists (select 1 from pg_attribute a where a.attrelid = c.conrelid and a.attname = 'site_id') \
           and exists (select 1 from pg_attribute a where a.attrelid = c.confrelid and a.attname = 'site_id') \
         order by 1, 2",
    )
    .fetch_all(db)
    .await
    .unwrap();
    rows.into_iter()
        .map(|(table, constraint, target, columns, targets)| {
            let column = columns.iter().find(|c| *c != "site_id").cloned().unwrap_or_default();
            let strip = |t: String| t.trim_start_matches("public.").to_string();
            (Reference { table: strip(table), column, target: strip(target), constraint }, columns, targets)
        })
        .collect()
}

/// Columns of site-scoped tables that name another row (`*_id`, uuid) without a foreign key,
/// and why that is right. Anything else named like a reference must be one.
const NOT_REFERENCES: [(&str, &str, &str); 1] =
    [("message_history", "message_id", "the audit trail outlives the message it records")];

/// No row of one site can point at another site's row: every reference between site-scoped
/// tables includes `site_id` on both sides, and for every one of them (read from the catalog,
/// so a reference added later is attacked too) a site-B row pointed at a site-A row is refused
/// by the database itself (even for the service role, which RLS does not restrain) and for
/// site B's owner through the API roles.
#[tokio::test]
async fn no_reference_crosses_sites() {
    let db = common::database().await;
    let references = site_references(&db).await;
    let mut failures = Vec::new();
    if references.len() < 31 {
        failures.push(format!("expected the 31 references of the schema, found {}", references.len()));
    }
    for (reference, columns, targets) in &references {
        if columns.first().map(String::as_str) != Some("site_id")
            || targets.first().map(String::as_str) != Some("site_id")
        {
            failures.push(format!(
                "{}: ({}) -> {} ({}) does not carry the site",
                reference.table,
                columns.join(", "),
                reference.target,
                targets.join(", ")
            ));
        }
    }

    let unreferenced: Vec<(String, String)> = sqlx::query_as(
        "select c.table_name::text, c.column_name::text from information_schema.columns c \
         where c.table_schema = 'public' and c.data_type = 'uuid' and c.column_name like '%\\_id' \
           and c.column_name <> 'site_id' and c.column_name not in ('client_msg_id') \
           and exists (select 1 from information_schema.columns s where s.table_schema = 'public' \
                       and s.table_name = c.table_name and s.column_name = 'site_id') \
           and not exists (select 1 from pg_constraint k join pg_attribute a on a.attrelid = k.conrelid and a.attnum = any (k.conkey) \
                           where k.contype in ('f', 'p') and k.conrelid = ('public.' || c.table_name)::regclass and a.attname = c.column_name) \
         order by 1, 2",
    )
    .fetch_all(&db)
    .await
    .unwrap();
    for (table, column) in &unreferenced {
        if !NOT_REFERENCES.iter().any(|(t, c, _)| t == table && c == column) {
            failures.push(format!("{table}.{column} names a row but is no foreign key (or list it in NOT_REFERENCES)"));
        }
    }

    let mut conn = PgConnection::connect(&common::env("STACK_DATABASE_URL")).await.unwrap();
    let mut tx = conn.begin().await.unwrap();
    tx.execute(sqlx::raw_sql(FIXTURE)).await.expect("fixture applies");
    let [.., (_, _, member_b), (_, _, service)] = roles();
    for (reference, _, _) in &references {
        let Reference { table, column, target, constraint } = reference;
        let site_b_rows: i64 =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("select count(*) from public.{table} where site_id = $1")))
                .bind(Uuid::parse_str(SITE_B).unwrap())
                .fetch_one(&mut *tx)
                .await
                .unwrap();
        if site_b_rows == 0 {
            failures.push(format!("{table}: the fixture has no site-B row to attack {column} with"));
            continue;
        }
        // A site-A row, preferably one the column does not point at yet (a unique column would
        // otherwise collide with an existing row before the reference is checked); read here,
        // as site B's owner could not see it.
        let victim: Option<Uuid> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "select t.id from public.{target} t where t.site_id = $1 \
             order by exists (select 1 from public.{table} x where x.{column} = t.id) limit 1"
        )))
        .bind(Uuid::parse_str(SITE_A).unwrap())
        .fetch_optional(&mut *tx)
        .await
        .unwrap();
        let Some(victim) = victim else {
            failures.push(format!("{table}.{column}: the fixture has no site-A row of {target} to point at"));
            continue;
        };
        let attack = format!("update public.{table} set {column} = '{victim}' where site_id = '{SITE_B}'");
        for (name, role, claims) in [("service", "service_role", &service), ("member B", "authenticated", &member_b)] {
            match as_role(&mut tx, role, claims, &attack, None).await {
                Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("23503") => {
                    if e.constraint() != Some(constraint.as_str()) {
                        failures.push(format!(
                            "{table}.{column} as {name}: refused by {:?}, not {constraint}",
                            e.constraint()
                        ));
                    }
                }
                // The API roles may be stopped earlier, by RLS or a column privilege.
                Err(_) if name != "service" => {}
                Ok(done) if name != "service" && done.rows_affected() == 0 => {}
                other => failures.push(format!(
                    "{table}.{column} as {name}: a site-B row pointed at site A's {target} was not refused: {other:?}"
                )),
            }
        }
    }

    // The attacks an outside review made through /rest/v1, as site B's owner.
    let inserts = [
        "insert into public.sms_settings (agent_id, site_id) values ('a2000000-0000-4000-8000-000000000002', 'b1000000-0000-4000-8000-000000000000')",
        "insert into public.message_attachments (message_id, site_id, storage_path, file_name, mime_type, size_bytes) values ('a5000000-0000-4000-8000-000000000001', 'b1000000-0000-4000-8000-000000000000', 'b/x.pdf', 'x.pdf', 'application/pdf', 1)",
        "insert into public.chat_links (site_id, agent_id, title, expires_at, created_by) values ('b1000000-0000-4000-8000-000000000000', 'a2000000-0000-4000-8000-000000000001', 'Borrowed agent', now() + interval '1 hour', 'b0000000-0000-4000-8000-000000000001')",
        "insert into public.escalations (site_id, conversation_id, from_level, to_level, reason, created_by) values ('b1000000-0000-4000-8000-000000000000', 'a4000000-0000-4000-8000-000000000001', 't1', 't2', 'Not mine', 'b0000000-0000-4000-8000-000000000001')",
    ];
    for insert in inserts {
        if as_role(&mut tx, "authenticated", &member_b, insert, None).await.is_ok() {
            failures.push(format!("accepted as member B: {insert}"));
        }
    }
    tx.rollback().await.unwrap();
    assert!(failures.is_empty(), "{} cross-site references possible:\n{}", failures.len(), failures.join("\n"));
}
