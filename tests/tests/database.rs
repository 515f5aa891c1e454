//! Project-wide schema rules (RLS on every table, pinned search_path, who may run definer
//! functions) and checks that mirror `chat_core`. The per-role matrix is `rls_matrix.rs`.

mod common;

use common::database;
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

/// Who a statement runs as, the way PostgREST runs it: role plus JWT claims.
#[derive(Clone, Copy, Debug)]
enum Who {
    Anon,
    User(Uuid),
    Service,
}

/// Run `sql` (with `$1` = the site id, `$2` = the acting user or owner id) as `who` inside a
/// transaction that is rolled back; returns the rows affected or the error.
async fn run_as(db: &PgPool, who: Who, sql: &'static str, site: Uuid, owner: Uuid) -> Result<u64, sqlx::Error> {
    let mut tx: Transaction<'_, Postgres> = db.begin().await?;
    let (role, claims) = match who {
        Who::Anon => ("anon", serde_json::json!({"role": "anon"})),
        Who::User(id) => ("authenticated", serde_json::json!({"role": "authenticated", "sub": id})),
        Who::Service => ("service_role", serde_json::json!({"role": "service_role"})),
    };
    sqlx::query("select set_config('role', $1, true), set_config('request.jwt.claims', $2, true)")
        .bind(role)
        .bind(claims.to_string())
        .execute(&mut *tx)
        .await?;
    let result = sqlx::query(sql).bind(site).bind(owner).execute(&mut *tx).await.map(|r| r.rows_affected());
    tx.rollback().await?;
    result
}

struct Tenants {
    owner: Uuid,
    other: Uuid,
    site: Uuid,
}

async fn tenants(db: &PgPool) -> Tenants {
    let (owner, other) = (Uuid::new_v4(), Uuid::new_v4());
    for id in [owner, other] {
        sqlx::query("insert into auth.users (id, email) values ($1, $2)")
            .bind(id)
            .bind(format!("{id}@example.test"))
            .execute(db)
            .await
            .unwrap();
    }
    let site: Uuid = sqlx::query_scalar("insert into public.sites (owner_id, name) values ($1, 'RLS shop') returning id")
        .bind(owner)
        .fetch_one(db)
        .await
        .unwrap();
    Tenants { owner, other, site }
}

/// Expected outcome: `Some(n)` rows affected, `None` refused with an error.
async fn check(db: &PgPool, t: &Tenants, sql: &'static str, expected: [(Who, Option<u64>); 4]) {
    for (who, want) in expected {
        let got = run_as(db, who, sql, t.site, t.owner).await;
        match (want, &got) {
            (Some(n), Ok(m)) if n == *m => {}
            (None, Err(_)) => {}
            _ => panic!("{sql}\n  as {who:?}: expected {want:?}, got {got:?}"),
        }
    }
}

#[tokio::test]
async fn new_sites_get_default_settings_and_checks_hold() {
    let db = database().await;
    let t = tenants(&db).await;
    let count: i64 = sqlx::query_scalar("select count(*) from public.widget_settings where site_id = $1")
        .bind(t.site)
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(count, 1);
    for bad in ["update public.widget_settings set primary_color = 'red' where site_id = $1",
                "update public.widget_settings set position = 'top' where site_id = $1",
                "update public.widget_settings set welcome_message = '' where site_id = $1",
                "update public.widget_settings set custom_fields = '{}' where site_id = $1"] {
        assert!(sqlx::query(bad).bind(t.site).execute(&db).await.is_err(), "{bad} should violate a CHECK");
    }
}

#[tokio::test]
async fn site_key_check_matches_core() {
    let db = database().await;
    let samples = ["demo-site", "abcd", "abc", "-abc", "Upper", "with space", "a_b-c", &"k".repeat(64), &"k".repeat(65)];
    for key in samples {
        let sql_accepts: bool = sqlx::query_scalar("select $1 ~ '^[a-z0-9][a-z0-9_-]{3,63}$'")
            .bind(key)
            .fetch_one(&db)
            .await
            .unwrap();
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

/// Definer functions and trigger functions run with more rights than the caller: each is
/// listed here with exactly the API roles that may call it.
#[tokio::test]
async fn privileged_functions_are_executable_only_by_their_callers() {
    let db = database().await;
    let rows: Vec<(String, bool, bool)> = sqlx::query_as(
        "select p.proname::text, has_function_privilege('anon', p.oid, 'execute'), \
                has_function_privilege('authenticated', p.oid, 'execute') \
         from pg_proc p join pg_namespace n on n.oid = p.pronamespace \
         where n.nspname = 'public' and (p.prosecdef or p.prorettype = 'trigger'::regtype) order by 1",
    )
    .fetch_all(&db)
    .await
    .unwrap();
    // (function, anon may run it, authenticated may run it)
    let expected = [
        ("add_site_owner", false, false),
        ("apply_credit_entry", false, false),
        ("cleanup_expired", false, false),
        ("count_new_message", false, false),
        ("create_default_widget_settings", false, false),
        ("detect_idle_assignments", false, false),
        ("end_session", false, true),
        ("escalate_conversation", false, true),
        ("has_site_role", false, true),
        ("is_site_member", false, true),
        ("open_link_session", false, false),
        ("post_message", false, true),
        ("record_message_change", false, false),
        ("release_conversation", false, true),
        ("set_updated_at", false, false),
        ("site_role", false, true),
        ("start_widget_session", false, false),
        ("take_next_conversation", false, true),
        ("widget_config", true, true),
    ];
    let expected: Vec<(String, bool, bool)> = expected.iter().map(|(n, a, b)| (n.to_string(), *a, *b)).collect();
    assert_eq!(rows, expected);
}
