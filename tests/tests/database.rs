//! Project-wide schema rules (RLS on every table, pinned search_path, who may run definer
//! functions) and checks that mirror `chat_core`. The per-role matrix is `rls_matrix.rs`.

mod common;

use common::database;
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

/// A new site owned by a new user; returns the site id.
async fn new_site(db: &PgPool) -> Uuid {
    let owner = Uuid::new_v4();
    sqlx::query("insert into auth.users (id, email) values ($1, $2)")
        .bind(owner)
        .bind(format!("{owner}@example.test"))
        .execute(db)
        .await
        .unwrap();
    sqlx::query_scalar("insert into public.sites (owner_id, name) values ($1, 'Schema shop') returning id")
        .bind(owner)
        .fetch_one(db)
        .await
        .unwrap()
}

#[tokio::test]
async fn new_sites_get_default_settings_and_checks_hold() {
    let db = database().await;
    let site = new_site(&db).await;
    let count: i64 = sqlx::query_scalar("select count(*) from public.widget_settings where site_id = $1")
        .bind(site)
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(count, 1);
    for bad in [
        "update public.widget_settings set primary_color = 'red' where site_id = $1",
        "update public.widget_settings set position = 'top' where site_id = $1",
        "update public.widget_settings set welcome_message = '' where site_id = $1",
        "update public.widget_settings set custom_fields = '{}' where site_id = $1",
    ] {
        assert!(sqlx::query(bad).bind(site).execute(&db).await.is_err(), "{bad} should violate a CHECK");
    }
}

/// Every email the edge accepts, the database accepts too (anything else would pass the edge
/// and fail in PostgREST); the edge may be stricter (it also refuses Unicode spaces the
/// database's `\s` does not match, like U+00A0).
#[tokio::test]
async fn emails_the_edge_accepts_the_database_accepts() {
    let db = database().await;
    let site = new_site(&db).await;
    let long = format!("{}@example.com", "a".repeat(243));
    let samples = [
        ("ann@example.com", true),
        ("a@b.c", true),
        ("\u{fc}ber@b\u{fc}cher.de", true),
        (long.as_str(), true),
        (&format!("a{long}"), false),
        ("a@b@example.de", false),
        ("ann@@example.com", false),
        ("a b@example.com", false),
        ("ann@ex ample.com", false),
        ("ann@example.com\u{2003}", false),
        ("ann\u{a0}@example.com", false),
        ("ann@localhost", false),
        ("@example.com", false),
        ("ann@.example", false),
        ("ann@example.", false),
    ];
    let mut tx = db.begin().await.unwrap();
    for (email, edge_accepts) in samples {
        assert_eq!(chat_core::api::is_email(email), edge_accepts, "{email:?}");
        sqlx::query("savepoint sample").execute(&mut *tx).await.unwrap();
        let sql_accepts = sqlx::query("insert into public.customers (site_id, email) values ($1, $2)")
            .bind(site)
            .bind(email)
            .execute(&mut *tx)
            .await
            .is_ok();
        sqlx::query("rollback to savepoint sample").execute(&mut *tx).await.unwrap();
        assert!(sql_accepts || !edge_accepts, "the edge accepts {email:?}, the database does not");
    }
}

#[tokio::test]
async fn site_key_check_matches_core() {
    let db = database().await;
    let samples =
        ["demo-site", "abcd", "abc", "-abc", "Upper", "with space", "a_b-c", &"k".repeat(64), &"k".repeat(65)];
    for key in samples {
        let sql_accepts: bool =
            sqlx::query_scalar("select $1 ~ '^[a-z0-9][a-z0-9_-]{3,63}$'").bind(key).fetch_one(&db).await.unwrap();
        let constraint: String = sqlx::query_scalar(
            "select pg_get_constraintdef(oid) from pg_constraint where conrelid = 'public.sites'::regclass and conname = 'sites_site_key_check'",
        )
        .fetch_one(&db)
        .await
        .unwrap();
        assert!(constraint.contains("^[a-z0-9][a-z0-9_-]{3,63}$"), "the CHECK changed: {constraint}");
        assert_eq!(sql_accepts, chat_core::widget::is_valid_site_key(key), "{key}");
    }
}

#[tokio::test]
async fn every_public_table_has_rls() {
    let db = database().await;
    let missing: Vec<String> = sqlx::query_scalar(
        "select c.relname::text from pg_class c join pg_namespace n on n.oid = c.relnamespace \
         where n.nspname = 'public' and c.relkind in ('r', 'p') and not c.relrowsecurity",
    )
    .fetch_all(&db)
    .await
    .unwrap();
    assert!(missing.is_empty(), "tables without RLS: {missing:?}");
}

/// Realtime cannot apply RLS to a DELETE event, so no table of the product is published for
/// postgres_changes; its rows travel on private broadcast topics.
#[tokio::test]
async fn no_public_table_is_published() {
    let db = database().await;
    let published: Vec<String> = sqlx::query_scalar(
        "select tablename::text from pg_publication_tables where pubname = 'supabase_realtime' and schemaname = 'public'",
    )
    .fetch_all(&db)
    .await
    .unwrap();
    assert!(published.is_empty(), "published where RLS cannot guard deletions: {published:?}");
}

#[tokio::test]
async fn every_public_function_pins_its_search_path() {
    let db = database().await;
    let unpinned: Vec<String> = sqlx::query_scalar(
        "select p.proname::text from pg_proc p join pg_namespace n on n.oid = p.pronamespace \
         where n.nspname = 'public' and not exists \
           (select 1 from unnest(coalesce(p.proconfig, '{}')) c where c like 'search_path=%')",
    )
    .fetch_all(&db)
    .await
    .unwrap();
    assert!(unpinned.is_empty(), "functions without a pinned search_path: {unpinned:?}");
}

/// Every function of the public schema is listed here with exactly the API roles that may
/// call it, read as effective privileges (`has_function_privilege`, which counts grants to
/// PUBLIC), and none is granted to PUBLIC. Definer and trigger functions run with more rights
/// than the caller; the others run under the caller's RLS but are still only for their callers.
#[tokio::test]
async fn every_function_is_executable_only_by_its_callers() {
    let db = database().await;
    let rows: Vec<(String, bool, bool, bool)> = sqlx::query_as(
        "select p.proname::text, has_function_privilege('anon', p.oid, 'execute'), \
                has_function_privilege('authenticated', p.oid, 'execute'), \
                exists (select 1 from aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a \
                        where a.grantee = 0 and a.privilege_type = 'EXECUTE') \
         from pg_proc p join pg_namespace n on n.oid = p.pronamespace \
         where n.nspname = 'public' order by 1",
    )
    .fetch_all(&db)
    .await
    .unwrap();
    let public: Vec<&String> = rows.iter().filter(|(_, _, _, public)| *public).map(|(name, ..)| name).collect();
    assert!(public.is_empty(), "functions executable through PUBLIC: {public:?}");
    // (function, anon may run it, authenticated may run it)
    let expected = [
        ("accept_invitations", false, true),
        ("add_site_owner", false, false),
        ("analytics_answers", false, true),
        ("analytics_busiest_hours", false, true),
        ("analytics_conversations", false, true),
        ("analytics_operators", false, true),
        ("analytics_report", false, true),
        ("analytics_response_times", false, true),
        ("analytics_satisfaction", false, true),
        ("analytics_window", false, true),
        ("answer_automatically", false, false),
        ("answer_owed", false, false),
        ("apply_credit_entry", false, false),
        ("assign_conversation", false, true),
        ("assign_to", false, false),
        ("automatic_answer_choice", false, false),
        ("broadcast_conversation", false, false),
        ("broadcast_message", false, false),
        ("broadcast_notification", false, false),
        ("business_hours_valid", false, true),
        ("check_rating", false, false),
        ("choose_responder", false, false),
        ("cleanup_expired", false, false),
        ("close_conversation", false, true),
        ("count_ai_usage", false, false),
        ("count_new_message", false, false),
        ("count_session_start", false, false),
        ("create_chat_link", false, true),
        ("create_default_ai_settings", false, false),
        ("create_default_widget_settings", false, false),
        ("custom_fields_valid", false, true),
        ("detect_idle_assignments", false, false),
        ("drain_after_change", false, false),
        ("drain_queue", false, false),
        ("end_session", false, true),
        ("escalate_conversation", false, true),
        ("fail_agent_turn", false, false),
        ("guard_member_update", false, false),
        ("guest_conversation_id", false, true),
        ("guest_metadata", false, true),
        ("guest_session_id", false, true),
        ("guest_site_id", false, true),
        ("hand_off", false, false),
        ("has_site_role", false, true),
        ("inbox", false, true),
        ("inbox_text_matches", false, true),
        ("is_open", false, true),
        ("link_analytics", false, true),
        ("link_json", false, true),
        ("link_stats", false, true),
        ("lock_conversation_for_message", false, false),
        ("lock_guest_session", false, false),
        ("mark_conversation_read", false, true),
        ("may_use_conversation_topic", false, true),
        ("member_site_ids", false, true),
        ("message_json", false, false),
        ("normalize_phone", false, true),
        ("note_availability_change", false, false),
        ("notify_mentions", false, false),
        ("offer_to_last_assignee", false, false),
        ("open_link_session", false, false),
        ("operator_stats", false, true),
        ("origins_valid", false, true),
        ("owe_answer", false, false),
        ("owed_agent_turns", false, false),
        ("post_automatic_answer", false, false),
        ("post_message", false, true),
        ("post_staff_message", false, true),
        ("priority_rank", false, false),
        ("rate_session", false, true),
        ("realtime_topic_id", true, true),
        ("record_message_change", false, false),
        ("record_rating", false, false),
        ("refuse", false, false),
        ("refuse_unless_open", false, false),
        ("release_conversation", false, true),
        ("release_offline_operators", false, false),
        ("reopen_conversation", false, true),
        ("request_handoff", false, true),
        ("requeue", false, false),
        ("resolve_escalation", false, true),
        ("resume_session", false, false),
        ("save_ai_settings", false, true),
        ("save_site", false, true),
        ("save_widget_settings", false, true),
        ("search_knowledge", false, true),
        ("set_updated_at", false, false),
        ("site_role", false, true),
        ("snooze_conversation", false, true),
        ("staff_conversation", false, false),
        ("staff_reply_takes_over", false, false),
        ("start_widget_session", false, false),
        ("store_agent_answer", false, false),
        ("support_level_rank", false, true),
        ("tags_fit", false, true),
        ("take_conversation", false, true),
        ("take_next_conversation", false, true),
        ("take_owed_answer", false, false),
        ("team_members", false, true),
        ("transfer_conversation", false, true),
        ("try_automatic_answer", false, true),
        ("update_chat_link", false, true),
        ("widget_config", true, true),
    ];
    let expected: Vec<(String, bool, bool)> = expected.iter().map(|(n, a, b)| (n.to_string(), *a, *b)).collect();
    let got: Vec<(String, bool, bool)> = rows.into_iter().map(|(n, a, b, _)| (n, a, b)).collect();
    assert_eq!(got, expected);
}

#[tokio::test]
async fn allowed_origins_are_origins_as_browsers_send_them() {
    let db = database().await;
    let valid = |origin: &'static str| {
        let db = db.clone();
        async move {
            sqlx::query_scalar::<_, bool>("select public.origins_valid(array[$1])")
                .bind(origin)
                .fetch_one(&db)
                .await
                .unwrap()
        }
    };
    for good in [
        "https://shop.example",
        "http://127.0.0.1:8080",
        "http://localhost:8080",
        "https://[::1]:8443",
        "https://a-b.c.example",
    ] {
        assert!(valid(good).await, "{good} should be accepted");
        assert!(chat_core::settings::is_origin(good), "the console refuses {good}");
    }
    for bad in [
        "https://shop.example/",
        "https://shop.example/path",
        "shop.example",
        "https://*.example",
        "HTTPS://Shop.example",
        "ftp://shop.example",
        "https://shop.example:",
        "https://-shop.example",
        "https://shop.example ",
        "",
    ] {
        assert!(!valid(bad).await, "{bad:?} should be refused");
        assert!(!chat_core::settings::is_origin(bad), "the console takes {bad:?}");
    }
}

/// The console's checks of pre-chat fields and business hours (`chat_core::settings`) and the
/// database's agree, case by case; closed dates close the site for the day.
#[tokio::test]
async fn widget_settings_shapes_are_checked_alike_by_the_console_and_the_database() {
    use chat_core::settings::WidgetSettings;
    let db = database().await;
    let row: serde_json::Value =
        sqlx::query_scalar("select to_jsonb(w) from public.widget_settings w order by site_id limit 1")
            .fetch_one(&db)
            .await
            .unwrap();
    let fields = [
        (json!([]), true),
        (
            json!([{"key": "order_id", "label": "Order number", "required": true}, {"key": "plan", "label": "Plan"}]),
            true,
        ),
        (json!([{"key": "a", "label": "A"}, {"key": "a", "label": "B"}]), false),
        (json!([{"key": "Order", "label": "Order"}]), false),
        (json!([{"key": "order", "label": ""}]), false),
        (json!([{"label": "No key"}]), false),
        (json!([{"key": "x", "label": "X", "required": "yes"}]), false),
        (json!(["order"]), false),
    ];
    let hours = [
        (json!(null), true),
        (json!({}), true),
        (
            json!({"mon": [["09:00", "12:00"], ["13:00", "17:30"]], "sat": [], "closed": ["2026-12-25", "2028-02-29"]}),
            true,
        ),
        (json!({"mon": [["17:00", "09:00"]]}), false),
        (json!({"mon": [["9:00", "17:00"]]}), false),
        (json!({"mon": [["09:00", "24:00"]]}), false),
        (json!({"monday": [["09:00", "17:00"]]}), false),
        (json!({"closed": ["2026-02-29"]}), false),
        (json!({"closed": ["2026-04-31"]}), false),
        (json!({"closed": ["25/12/2026"]}), false),
        (
            json!({"tue": [["09:00", "10:00"], ["10:00", "11:00"], ["11:00", "12:00"], ["12:00", "13:00"], ["13:00", "14:00"]]}),
            false,
        ),
    ];
    for (value, want) in fields {
        let sql: bool =
            sqlx::query_scalar("select public.custom_fields_valid($1)").bind(&value).fetch_one(&db).await.unwrap();
        assert_eq!(sql, want, "SQL on custom fields {value}");
        let mut settings = row.clone();
        settings["custom_fields"] = value.clone();
        let console = serde_json::from_value::<WidgetSettings>(settings).is_ok_and(|s| s.problems().is_empty());
        assert_eq!(console, want, "the console on custom fields {value}");
    }
    for (value, want) in hours {
        // A JSON null is the column's SQL NULL (always open).
        let bound = Some(value.clone()).filter(|v| !v.is_null());
        let sql: bool =
            sqlx::query_scalar("select public.business_hours_valid($1)").bind(&bound).fetch_one(&db).await.unwrap();
        assert_eq!(sql, want, "SQL on business hours {value}");
        let mut settings = row.clone();
        settings["business_hours"] = value.clone();
        let console = serde_json::from_value::<WidgetSettings>(settings).is_ok_and(|s| s.problems().is_empty());
        assert_eq!(console, want, "the console on business hours {value}");
    }
    let open_at = |at: &'static str| {
        let db = db.clone();
        async move {
            sqlx::query_scalar::<_, bool>(
                "select public.is_open('{\"fri\": [[\"09:00\", \"17:00\"]], \"sat\": [[\"00:00\", \"23:59\"]], \"closed\": [\"2026-12-25\"]}', 'Europe/Paris', $1::timestamptz)",
            )
            .bind(at)
            .fetch_one(&db)
            .await
            .unwrap()
        }
    };
    assert!(open_at("2027-01-01 10:00+01").await, "a Friday in hours");
    assert!(!open_at("2026-12-25 10:00+01").await, "Christmas, a Friday, is closed");
    assert!(open_at("2026-12-25 23:30+00").await, "the 25th in UTC is Saturday the 26th in Paris: open");
}

#[tokio::test]
async fn phone_numbers_normalize_to_e164() {
    let db = database().await;
    for (input, want) in
        [("+1 (555) 010-0000", "+15550100000"), ("0049 30 1234567", "+49301234567"), ("447700900123", "+447700900123")]
    {
        let got: String =
            sqlx::query_scalar("select public.normalize_phone($1)").bind(input).fetch_one(&db).await.unwrap();
        assert_eq!(got, want, "{input}");
    }
    for bad in ["", "+0123", "12345678901234567", "call me"] {
        let refused =
            sqlx::query_scalar::<_, String>("select public.normalize_phone($1)").bind(bad).fetch_one(&db).await;
        assert!(refused.is_err(), "{bad:?} should be refused");
    }
}

#[tokio::test]
async fn knowledge_search_ranks_published_articles_of_the_site() {
    let db = database().await;
    let site = new_site(&db).await;
    let other = new_site(&db).await;
    for (site, title, body, published) in [
        (site, "Shipping times", "We ship worldwide within 3 days. Express shipping is available.", true),
        (site, "Returns", "Return any item within 30 days for a refund.", true),
        (site, "Secret shipping plan", "Unpublished draft about shipping.", false),
        (other, "Shipping elsewhere", "Another site's shipping article.", true),
    ] {
        sqlx::query(
            "insert into public.knowledge_articles (site_id, title, body, is_published) values ($1, $2, $3, $4)",
        )
        .bind(site)
        .bind(title)
        .bind(body)
        .bind(published)
        .execute(&db)
        .await
        .unwrap();
    }
    let search = |query: &'static str| {
        let db = db.clone();
        async move {
            sqlx::query_scalar::<_, String>("select title from public.search_knowledge($1, $2, 5)")
                .bind(site)
                .bind(query)
                .fetch_all(&db)
                .await
                .unwrap()
        }
    };
    // A visitor's question: stemmed, stop words dropped, any word may match; drafts and other
    // sites' articles never show.
    assert_eq!(search("How long does shipping take?").await, vec!["Shipping times"]);
    assert_eq!(search("I want a refund for my order").await, vec!["Returns"]);
    assert_eq!(search("refunds or express shipments").await.len(), 2);
    assert!(search("how are you").await.is_empty(), "stop words alone match nothing");
    assert!(search("").await.is_empty());
}

/// What a guest can read through /rest/v1, listed exactly: every relation of the public
/// schema is read as the guest of a conversation holding an operator's reply (with its
/// author, AI model and internal metadata), a knowledge answer and a deleted message; only
/// `guest_messages` answers, with the columns of the API's `Message` and of the metadata only
/// what the API shows guests.
#[tokio::test]
async fn guests_read_exactly_the_api_columns() {
    let db = database().await;
    let (site, session, mut guest) = common::site_with_guest(&db).await;
    let operator = common::new_user(&db).await;
    let conversation = Uuid::parse_str(session["conversation_id"].as_str().unwrap()).unwrap();
    sqlx::query(
        "insert into public.messages (conversation_id, site_id, sender_type, sender_user_id, content, ai_model, metadata) values \
         ($1, $2, 'operator', $3, 'How can I help?', 'internal-model', '{\"internal_note\": \"VIP, refund ok\"}'), \
         ($1, $2, 'system', null, 'Returns take 30 days.', null, \
          '{\"kind\": \"knowledge_answer\", \"article_title\": \"Returns\", \"score\": 0.9}')",
    )
    .bind(conversation)
    .bind(site)
    .bind(operator)
    .execute(&db)
    .await
    .unwrap();
    sqlx::query(
        "insert into public.messages (conversation_id, site_id, sender_type, content, deleted_at) \
         values ($1, $2, 'system', 'withdrawn', now())",
    )
    .bind(conversation)
    .bind(site)
    .execute(&db)
    .await
    .unwrap();
    sqlx::query("update public.customers set profile = '{\"notes\": \"difficult\"}' where site_id = $1")
        .bind(site)
        .execute(&db)
        .await
        .unwrap();

    let relations: Vec<String> = sqlx::query_scalar(
        "select c.relname::text from pg_class c where c.relnamespace = 'public'::regnamespace \
         and c.relkind in ('r', 'p', 'v', 'm') order by 1",
    )
    .fetch_all(&db)
    .await
    .unwrap();
    let mut readable = std::collections::BTreeMap::new();
    for relation in &relations {
        let rows: Option<serde_json::Value> =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("select jsonb_agg(to_jsonb(t)) from public.{relation} t")))
                .fetch_one(&mut guest)
                .await
                .unwrap_or_default();
        if let Some(serde_json::Value::Array(rows)) = rows {
            let mut columns: Vec<String> = rows[0].as_object().unwrap().keys().cloned().collect();
            columns.sort();
            readable.insert(relation.clone(), (rows, columns));
        }
    }
    let (mut rows, columns) = readable.remove("guest_messages").expect("the guest reads its messages");
    rows.sort_by_key(|row| row["seq"].as_i64());
    assert!(readable.is_empty(), "a guest reads more than its messages: {:?}", readable.keys().collect::<Vec<_>>());
    let mut api = [
        "client_msg_id",
        "content",
        "conversation_id",
        "created_at",
        "edited_at",
        "id",
        "message_type",
        "metadata",
        "read_at",
        "sender_type",
        "seq",
    ];
    api.sort();
    assert_eq!(columns, api);
    let seen: Vec<(String, serde_json::Value)> =
        rows.iter().map(|r| (r["content"].as_str().unwrap().to_string(), r["metadata"].clone())).collect();
    assert_eq!(
        seen,
        [
            ("How can I help?".to_string(), serde_json::json!({})),
            (
                "Returns take 30 days.".to_string(),
                serde_json::json!({"kind": "knowledge_answer", "article_title": "Returns"})
            ),
        ],
        "deleted messages left out, metadata cut to what guests may know"
    );
}

/// Settings are saved only over the version read: a second save from the same version is
/// refused with `version_conflict` and writes nothing; an operator may not save at all.
#[tokio::test]
async fn settings_are_saved_only_over_the_version_they_were_read_at() {
    use common::{connect_as_user, new_site, new_user, refusal};
    let db = database().await;
    let owner = new_user(&db).await;
    let (site, _) = new_site(&db, owner).await;
    let read: String = sqlx::query_scalar("select updated_at::text from public.widget_settings where site_id = $1")
        .bind(site)
        .fetch_one(&db)
        .await
        .unwrap();
    let mut as_owner = connect_as_user(owner).await;
    let save = "select (public.save_widget_settings($1, $2::timestamptz, $3)).title";
    let title: String = sqlx::query_scalar(save)
        .bind(site)
        .bind(&read)
        .bind(json!({"title": "First", "business_hours": null}))
        .fetch_one(&mut as_owner)
        .await
        .unwrap();
    assert_eq!(title, "First");
    let second = sqlx::query_scalar::<_, String>(save)
        .bind(site)
        .bind(&read)
        .bind(json!({"title": "Second"}))
        .fetch_one(&mut as_owner)
        .await;
    assert_eq!(refusal(second.unwrap_err()), "version_conflict");
    let kept: (String, String) =
        sqlx::query_as("select title, welcome_message from public.widget_settings where site_id = $1")
            .bind(site)
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(
        kept,
        ("First".to_string(), "Hi! How can we help you today?".to_string()),
        "keys left out keep their value"
    );

    let operator = new_user(&db).await;
    common::join(&db, site, operator, "operator").await;
    let now: String = sqlx::query_scalar("select updated_at::text from public.sites where id = $1")
        .bind(site)
        .fetch_one(&db)
        .await
        .unwrap();
    let mut as_operator = connect_as_user(operator).await;
    let refused = sqlx::query("select public.save_site($1, $2::timestamptz, 'Mine now', '{}')")
        .bind(site)
        .bind(&now)
        .execute(&mut as_operator)
        .await;
    assert_eq!(refusal(refused.unwrap_err()), "forbidden");
    let renamed: String = sqlx::query_scalar(
        "select (public.save_site($1, $2::timestamptz, 'Renamed', array['https://shop.example'])).name",
    )
    .bind(site)
    .bind(&now)
    .fetch_one(&mut as_owner)
    .await
    .unwrap();
    assert_eq!(renamed, "Renamed");
}

/// "Try a question" shows the site's staff what answer_automatically would post, and nobody else.
#[tokio::test]
async fn staff_try_the_automatic_answer_a_visitor_would_get() {
    use common::{connect_as_user, new_site, new_user, refusal};
    let db = database().await;
    let owner = new_user(&db).await;
    let (site, _) = new_site(&db, owner).await;
    sqlx::query("insert into public.knowledge_articles (site_id, title, body) values ($1, 'Gift wrapping', 'We gift wrap every order for free.')")
        .bind(site)
        .execute(&db)
        .await
        .unwrap();
    let mut as_owner = connect_as_user(owner).await;
    let try_it = "select public.try_automatic_answer($1, $2)";
    let answer: serde_json::Value = sqlx::query_scalar(try_it)
        .bind(site)
        .bind("Can you gift wrap my order?")
        .fetch_one(&mut as_owner)
        .await
        .unwrap();
    assert_eq!(answer["kind"], "knowledge_answer");
    assert_eq!(answer["content"], "We gift wrap every order for free.");
    // Nobody online: a question no article answers gets the away message.
    let away: serde_json::Value = sqlx::query_scalar(try_it)
        .bind(site)
        .bind("Is the moon made of cheese?")
        .fetch_one(&mut as_owner)
        .await
        .unwrap();
    assert_eq!(away["kind"], "away_message");
    let stranger = new_user(&db).await;
    let mut as_stranger = connect_as_user(stranger).await;
    let refused = sqlx::query(try_it).bind(site).bind("Gift wrap?").execute(&mut as_stranger).await;
    assert_eq!(refusal(refused.unwrap_err()), "forbidden");
}
