//! The numbers of `chat_core::limits` and the SQL CHECKs agree: each range's lowest and
//! highest value is accepted by the database and the first value outside it refused.

mod common;

use chat_core::limits;
use sqlx::{Connection, Executor, PgConnection};
use std::ops::RangeInclusive;

const FIXTURE: &str = include_str!("../rls/fixture.sql");

/// How a limit's value is written into its column.
enum Kind {
    /// The column holds a number.
    Number,
    /// The column holds text of that many characters.
    Chars,
    /// The column is a timestamp that many hours after the row's creation.
    HoursAfterCreation,
}

/// (what, update with `$1` as the value, the range in chat_core, how the value is written)
fn cases() -> Vec<(&'static str, &'static str, RangeInclusive<i64>, Kind)> {
    use Kind::*;
    vec![
        (
            "message content",
            "update public.messages set content = $1 where id = 'a5000000-0000-4000-8000-000000000001'",
            limits::MESSAGE_CHARS,
            Chars,
        ),
        (
            "link title",
            "update public.chat_links set title = $1 where id = 'a6000000-0000-4000-8000-000000000001'",
            limits::LINK_TITLE_CHARS,
            Chars,
        ),
        (
            "link description",
            "update public.chat_links set description = $1 where id = 'a6000000-0000-4000-8000-000000000001'",
            limits::LINK_DESCRIPTION_CHARS,
            Chars,
        ),
        (
            "link welcome",
            "update public.chat_links set welcome_message = $1 where id = 'a6000000-0000-4000-8000-000000000001'",
            limits::WELCOME_MESSAGE_CHARS,
            Chars,
        ),
        (
            "widget welcome",
            "update public.widget_settings set welcome_message = $1 where site_id = 'a1000000-0000-4000-8000-000000000000'",
            limits::WELCOME_MESSAGE_CHARS,
            Chars,
        ),
        (
            "link lifetime",
            "update public.chat_links set expires_at = created_at + make_interval(hours => $1::integer) where id = 'a6000000-0000-4000-8000-000000000001'",
            limits::LINK_EXPIRES_IN_HOURS,
            HoursAfterCreation,
        ),
        (
            "link max sessions",
            "update public.chat_links set max_sessions = $1::integer where id = 'a6000000-0000-4000-8000-000000000001'",
            limits::LINK_MAX_SESSIONS,
            Number,
        ),
        (
            "link max messages",
            "update public.chat_links set max_messages_per_session = $1::integer where id = 'a6000000-0000-4000-8000-000000000001'",
            limits::MAX_MESSAGES_PER_SESSION,
            Number,
        ),
        (
            "link session timeout",
            "update public.chat_links set session_timeout_minutes = $1::integer where id = 'a6000000-0000-4000-8000-000000000001'",
            limits::SESSION_TIMEOUT_MINUTES,
            Number,
        ),
        (
            "link rate limit",
            "update public.chat_links set rate_limit_per_minute = $1::integer where id = 'a6000000-0000-4000-8000-000000000001'",
            limits::RATE_LIMIT_PER_MINUTE,
            Number,
        ),
        (
            "session max messages",
            "update public.chat_sessions set max_messages = $1::integer where id = 'a7000000-0000-4000-8000-000000000001'",
            limits::MAX_MESSAGES_PER_SESSION,
            Number,
        ),
        (
            "session timeout",
            "update public.chat_sessions set timeout_minutes = $1::integer where id = 'a7000000-0000-4000-8000-000000000001'",
            limits::SESSION_TIMEOUT_MINUTES,
            Number,
        ),
        (
            "session rate limit",
            "update public.chat_sessions set rate_limit_per_minute = $1::integer where id = 'a7000000-0000-4000-8000-000000000001'",
            limits::RATE_LIMIT_PER_MINUTE,
            Number,
        ),
        (
            "site rate limit",
            "update public.sites set default_rate_limit_per_minute = $1::integer where id = 'a1000000-0000-4000-8000-000000000000'",
            limits::RATE_LIMIT_PER_MINUTE,
            Number,
        ),
        (
            "rating",
            "update public.chat_sessions set rating = $1::integer where id = 'a7000000-0000-4000-8000-000000000001'",
            limits::RATING,
            Number,
        ),
        (
            "feedback",
            "update public.chat_sessions set feedback = $1 where id = 'a7000000-0000-4000-8000-000000000001'",
            limits::FEEDBACK_CHARS,
            Chars,
        ),
        (
            "escalation priority",
            "update public.escalations set priority = $1::integer where conversation_id = 'a4000000-0000-4000-8000-000000000001'",
            limits::ESCALATION_PRIORITY,
            Number,
        ),
        (
            "sms rate per hour",
            "update public.sms_settings set rate_limit_per_hour = $1::integer where agent_id = 'a2000000-0000-4000-8000-000000000001'",
            limits::SMS_RATE_LIMIT_PER_HOUR,
            Number,
        ),
        (
            "sms daily conversations",
            "update public.sms_settings set max_daily_conversations = $1::integer where agent_id = 'a2000000-0000-4000-8000-000000000001'",
            limits::SMS_MAX_DAILY_CONVERSATIONS,
            Number,
        ),
        (
            "sms response timeout",
            "update public.sms_settings set response_timeout_minutes = $1::integer where agent_id = 'a2000000-0000-4000-8000-000000000001'",
            limits::SMS_RESPONSE_TIMEOUT_MINUTES,
            Number,
        ),
        (
            "origins per site",
            "update public.sites set allowed_origins = array_fill('https://a.example'::text, array[char_length($1)]) where id = 'a1000000-0000-4000-8000-000000000000'",
            limits::ORIGINS_PER_SITE,
            Chars,
        ),
        (
            "origin characters",
            "update public.sites set allowed_origins = array['http://' || repeat('a', greatest(char_length($1) - 7, 0))] where id = 'a1000000-0000-4000-8000-000000000000'",
            limits::ORIGIN_CHARS,
            Chars,
        ),
        (
            "tags per conversation",
            "update public.conversations set tags = string_to_array($1, null) where id = 'a4000000-0000-4000-8000-000000000001'",
            limits::TAGS_PER_CONVERSATION,
            Chars,
        ),
        (
            "tag characters",
            "update public.conversations set tags = array[$1] where id = 'a4000000-0000-4000-8000-000000000001'",
            limits::TAG_CHARS,
            Chars,
        ),
        (
            "operator capacity",
            "update public.site_members set max_concurrent_chats = $1::integer where user_id = 'a0000000-0000-4000-8000-000000000003' and site_id = 'a1000000-0000-4000-8000-000000000000'",
            limits::OPERATOR_MAX_CONCURRENT,
            Number,
        ),
        (
            "site name",
            "update public.sites set name = $1 where id = 'a1000000-0000-4000-8000-000000000000'",
            limits::SITE_NAME_CHARS,
            Chars,
        ),
        (
            "widget title",
            "update public.widget_settings set title = $1 where site_id = 'a1000000-0000-4000-8000-000000000000'",
            limits::WIDGET_TITLE_CHARS,
            Chars,
        ),
        (
            "widget offline message",
            "update public.widget_settings set offline_message = $1 where site_id = 'a1000000-0000-4000-8000-000000000000'",
            limits::OFFLINE_MESSAGE_CHARS,
            Chars,
        ),
        (
            "offline grace minutes",
            "update public.widget_settings set offline_grace_minutes = $1::integer where site_id = 'a1000000-0000-4000-8000-000000000000'",
            limits::OFFLINE_GRACE_MINUTES,
            Number,
        ),
        (
            "pre-chat fields per site",
            "update public.widget_settings set custom_fields = (select coalesce(jsonb_agg(jsonb_build_object('key', 'f' || i, 'label', 'F')), '[]') \
             from generate_series(1, char_length($1)) i) where site_id = 'a1000000-0000-4000-8000-000000000000'",
            limits::CUSTOM_FIELDS_PER_SITE,
            Chars,
        ),
        (
            "pre-chat field label",
            "update public.widget_settings set custom_fields = jsonb_build_array(jsonb_build_object('key', 'k', 'label', $1)) \
             where site_id = 'a1000000-0000-4000-8000-000000000000'",
            limits::CUSTOM_FIELD_LABEL_CHARS,
            Chars,
        ),
        (
            "opening spans per day",
            "update public.widget_settings set business_hours = jsonb_build_object('mon', (select coalesce(jsonb_agg(jsonb_build_array('09:00', '10:00')), '[]') \
             from generate_series(1, char_length($1)))) where site_id = 'a1000000-0000-4000-8000-000000000000'",
            limits::SPANS_PER_DAY,
            Chars,
        ),
        (
            "closed dates",
            "update public.widget_settings set business_hours = jsonb_build_object('closed', (select coalesce(jsonb_agg(to_jsonb('2027-01-01'::text)), '[]') \
             from generate_series(1, char_length($1)))) where site_id = 'a1000000-0000-4000-8000-000000000000'",
            limits::CLOSED_DATES,
            Chars,
        ),
        (
            "days of an analytics report",
            "select count(*) from public.analytics_conversations('a1000000-0000-4000-8000-000000000000', \
             current_date, current_date + $1::integer - 1)",
            limits::ANALYTICS_RANGE_DAYS,
            Number,
        ),
        (
            "agent name",
            "update public.agents set name = $1 where id = 'a2000000-0000-4000-8000-000000000001'",
            limits::AGENT_NAME_CHARS,
            Chars,
        ),
        (
            "agent persona",
            "update public.agents set persona = $1 where id = 'a2000000-0000-4000-8000-000000000001'",
            limits::AGENT_PERSONA_CHARS,
            Chars,
        ),
        (
            "agent system prompt",
            "update public.agents set system_prompt = $1 where id = 'a2000000-0000-4000-8000-000000000001'",
            limits::AGENT_PROMPT_CHARS,
            Chars,
        ),
        (
            "agent model",
            "update public.agents set model = $1 where id = 'a2000000-0000-4000-8000-000000000001'",
            limits::AGENT_MODEL_CHARS,
            Chars,
        ),
        (
            "handoff message",
            "update public.site_ai_settings set handoff_message = $1 where site_id = 'a1000000-0000-4000-8000-000000000000'",
            limits::AI_HANDOFF_MESSAGE_CHARS,
            Chars,
        ),
        (
            "daily token budget",
            "update public.site_ai_settings set daily_token_budget = $1::integer where site_id = 'a1000000-0000-4000-8000-000000000000'",
            limits::AI_DAILY_TOKEN_BUDGET,
            Number,
        ),
        (
            "conversation token cap",
            "update public.site_ai_settings set conversation_token_cap = $1::integer where site_id = 'a1000000-0000-4000-8000-000000000000'",
            limits::AI_CONVERSATION_TOKEN_CAP,
            Number,
        ),
        (
            "provider key",
            "update public.site_ai_settings set provider_key = $1 where site_id = 'a1000000-0000-4000-8000-000000000000'",
            limits::AI_PROVIDER_KEY_CHARS,
            Chars,
        ),
        (
            "provider model",
            "update public.site_ai_settings set provider_model = $1 where site_id = 'a1000000-0000-4000-8000-000000000000'",
            limits::AI_PROVIDER_MODEL_CHARS,
            Chars,
        ),
        (
            "provider endpoint",
            "update public.site_ai_settings set provider_base_url = 'http://' || substr($1, 8) where site_id = 'a1000000-0000-4000-8000-000000000000'",
            limits::AI_PROVIDER_URL_CHARS,
            Chars,
        ),
        (
            "article title",
            "update public.knowledge_articles set title = $1 where body = 'We ship worldwide.'",
            limits::ARTICLE_TITLE_CHARS,
            Chars,
        ),
        (
            "article body",
            "update public.knowledge_articles set body = $1 where title = 'Shipping'",
            limits::ARTICLE_BODY_CHARS,
            Chars,
        ),
        (
            "retention days",
            "update public.sites set retention_days = $1::integer where id = 'a1000000-0000-4000-8000-000000000000'",
            limits::RETENTION_DAYS,
            Number,
        ),
    ]
}

async fn accepted(conn: &mut PgConnection, sql: &'static str, kind: &Kind, value: i64) -> bool {
    sqlx::query("savepoint probe").execute(&mut *conn).await.unwrap();
    let query = sqlx::query(sql);
    let query = match kind {
        Kind::Chars => query.bind("x".repeat(value as usize)),
        Kind::Number | Kind::HoursAfterCreation => query.bind(value.to_string()),
    };
    let outcome = query.execute(&mut *conn).await;
    sqlx::query("rollback to savepoint probe").execute(&mut *conn).await.unwrap();
    match outcome {
        Ok(done) => {
            assert_eq!(done.rows_affected(), 1, "{sql} touched no row");
            true
        }
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("23514") => false,
        // A function's own refusal of its arguments (public.refuse's shape).
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("P0001") && e.message() == "validation_failed" => {
            false
        }
        Err(other) => panic!("{sql} with {value}: {other}"),
    }
}

#[tokio::test]
async fn sql_checks_equal_the_core_limits() {
    let mut conn = PgConnection::connect(&common::env("STACK_DATABASE_URL")).await.unwrap();
    let mut tx = conn.begin().await.unwrap();
    tx.execute(sqlx::raw_sql(FIXTURE)).await.unwrap();
    let mut failures = Vec::new();
    for (what, sql, range, kind) in cases() {
        let (lo, hi) = (*range.start(), *range.end());
        let mut probes = vec![(lo, true), (hi, true), (hi + 1, false)];
        if lo > 0 || matches!(kind, Kind::Number) {
            probes.push((lo - 1, false));
        }
        for (value, want) in probes {
            if accepted(&mut tx, sql, &kind, value).await != want {
                failures.push(format!("{what}: {value} should be {}", if want { "accepted" } else { "refused" }));
            }
        }
    }
    tx.rollback().await.unwrap();
    assert!(failures.is_empty(), "SQL and chat_core::limits disagree:\n{}", failures.join("\n"));
}

#[tokio::test]
async fn defaults_equal_the_core_constants() {
    let db = common::database().await;
    let default_rate: i32 = sqlx::query_scalar(
        "select column_default::integer from information_schema.columns \
         where table_schema = 'public' and table_name = 'sites' and column_name = 'default_rate_limit_per_minute'",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(i64::from(default_rate), limits::DEFAULT_RATE_LIMIT_PER_MINUTE);
}

/// Every JSON column has a size CHECK of `chat_core::limits` (read from the catalog: a column
/// added without one fails here), and the bound is where the constant says: a value of exactly
/// that many bytes of JSON text is accepted, one more byte refused.
#[tokio::test]
async fn every_json_column_is_bounded() {
    let db = common::database().await;
    let columns: Vec<(String, String, Option<String>)> = sqlx::query_as(
        "select c.table_name::text, c.column_name::text, \
           (select string_agg(pg_get_constraintdef(k.oid), ' ') from pg_constraint k \
            where k.conrelid = ('public.' || c.table_name)::regclass and k.contype = 'c' \
              and pg_get_constraintdef(k.oid) like '%octet_length((' || c.column_name || ')::text)%') \
         from information_schema.columns c join information_schema.tables t \
           on t.table_schema = c.table_schema and t.table_name = c.table_name and t.table_type = 'BASE TABLE' \
         where c.table_schema = 'public' and c.data_type = 'jsonb' order by 1, 2",
    )
    .fetch_all(&db)
    .await
    .unwrap();
    assert!(columns.len() >= 12, "expected the schema's JSON columns, found {columns:?}");
    for (table, column, check) in &columns {
        let bound = if table == "bot_interactions" { limits::BOT_INTERACTION_JSON_BYTES } else { limits::JSON_BYTES };
        let check = check.as_deref().unwrap_or_else(|| panic!("{table}.{column} has no size CHECK"));
        assert!(check.contains(&format!("<= {bound}")), "{table}.{column}: {check} is not {bound} bytes");
    }

    let mut conn = PgConnection::connect(&common::env("STACK_DATABASE_URL")).await.unwrap();
    let mut tx = conn.begin().await.unwrap();
    tx.execute(sqlx::raw_sql(FIXTURE)).await.unwrap();
    // `{"k": "xx..."}` is 9 bytes of JSON text around its value.
    let sql = "update public.customers set custom_fields = jsonb_build_object('k', repeat('x', $1::integer - 9)) \
               where id = 'a3000000-0000-4000-8000-000000000001'";
    for (bytes, want) in [(limits::JSON_BYTES, true), (limits::JSON_BYTES + 1, false)] {
        sqlx::query("savepoint probe").execute(&mut *tx).await.unwrap();
        let outcome = sqlx::query(sql).bind(bytes.to_string()).execute(&mut *tx).await;
        sqlx::query("rollback to savepoint probe").execute(&mut *tx).await.unwrap();
        assert_eq!(outcome.is_ok(), want, "custom_fields of {bytes} bytes: {outcome:?}");
    }
    tx.rollback().await.unwrap();
}

/// The edge's count of a JSON value's bytes is PostgreSQL's `octet_length(value::jsonb::text)`
/// (what the size CHECKs measure) or more, never less, for the value as the edge sends it
/// (parsed, then written again by serde_json): exactly that without exponents.
#[tokio::test]
async fn the_edge_counts_json_bytes_as_the_database_does() {
    let db = common::database().await;
    let samples = [
        (r##"{"logo":"https://x/y.png","colors":["#000000","#ffffff"],"n":1.50,"ok":true,"x":null}"##, true),
        (r#"{"quote":"say \"hi\"\\\n\t\u0001é😀","nested":{"a":[1,[2,{}],[]],"b":false}}"#, true),
        (r#"{"a":1,"a":2,"z":{},"m":[]}"#, true),
        (r#"{"big":1e20,"small":-2.5E-7,"zero":-0}"#, false),
    ];
    for (text, exact) in samples {
        let value: serde_json::Value = serde_json::from_str(text).unwrap();
        let ours = limits::jsonb_text_bytes(&value) as i64;
        let theirs: i32 = sqlx::query_scalar("select octet_length($1::jsonb::text)")
            .bind(value.to_string())
            .fetch_one(&db)
            .await
            .unwrap();
        let theirs = i64::from(theirs);
        assert!(ours >= theirs, "{text}: counted {ours}, PostgreSQL prints {theirs}");
        if exact {
            assert_eq!(ours, theirs, "{text}");
        }
    }
}
