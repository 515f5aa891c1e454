//! The owners' analytics: what each `analytics_*` function counts, in the site's time zone,
//! under row-level security, from the counters the message trigger keeps.

mod common;

use chat_core::analytics::Report;
use common::{connect_as_user, database, new_site, new_user, refusal};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

/// A site in New York with an operator, and a customer to write.
struct Shop {
    site: Uuid,
    owner: Uuid,
    operator: Uuid,
    customer: Uuid,
}

async fn shop(db: &PgPool) -> Shop {
    let owner = new_user(db).await;
    let (site, _) = new_site(db, owner).await;
    let operator = new_user(db).await;
    sqlx::query(
        "insert into public.site_members (site_id, user_id, role, display_name) values ($1, $2, 'operator', 'Olga')",
    )
    .bind(site)
    .bind(operator)
    .execute(db)
    .await
    .unwrap();
    sqlx::query("update public.widget_settings set timezone = 'America/New_York' where site_id = $1")
        .bind(site)
        .execute(db)
        .await
        .unwrap();
    let customer = sqlx::query_scalar("insert into public.customers (site_id, name) values ($1, 'Cleo') returning id")
        .bind(site)
        .fetch_one(db)
        .await
        .unwrap();
    Shop { site, owner, operator, customer }
}

/// A conversation through `source` started at `at` (UTC), held by the shop's operator.
async fn conversation(db: &PgPool, shop: &Shop, source: &str, at: &str) -> Uuid {
    sqlx::query_scalar(
        "insert into public.conversations (site_id, customer_id, source, status, assigned_operator_id, assigned_at, created_at, last_message_at) \
         values ($1, $2, $3, 'active', $4, $5::timestamptz, $5::timestamptz, $5::timestamptz) returning id",
    )
    .bind(shop.site)
    .bind(shop.customer)
    .bind(source)
    .bind(shop.operator)
    .bind(at)
    .fetch_one(db)
    .await
    .unwrap()
}

/// A message `seconds` after the conversation started: `customer`, `operator`, or an `ai`
/// message of metadata kind `kind`.
async fn message(db: &PgPool, shop: &Shop, conversation: Uuid, sender: &str, kind: Option<&str>, seconds: i32) {
    sqlx::query(
        "insert into public.messages (conversation_id, site_id, sender_type, sender_user_id, sender_customer_id, content, metadata, created_at) \
         select c.id, c.site_id, $2, case when $2 = 'operator' then $3 end, case when $2 = 'customer' then $4 end, 'Hello', \
                case when $5::text is null then '{}'::jsonb else jsonb_build_object('kind', $5::text) end, \
                c.created_at + make_interval(secs => $6) \
         from public.conversations c where c.id = $1",
    )
    .bind(conversation)
    .bind(sender)
    .bind(shop.operator)
    .bind(shop.customer)
    .bind(kind)
    .bind(f64::from(seconds))
    .execute(db)
    .await
    .unwrap();
}

async fn rate(db: &PgPool, conversation: Uuid, csat: i16) {
    sqlx::query("update public.conversations set csat = $2 where id = $1")
        .bind(conversation)
        .bind(csat)
        .execute(db)
        .await
        .unwrap();
}

async fn report(user: Uuid, site: Uuid, from: &str, to: &str) -> Result<Value, sqlx::Error> {
    let mut conn = connect_as_user(user).await;
    sqlx::query_scalar("select public.analytics_report($1, $2::date, $3::date)")
        .bind(site)
        .bind(from)
        .bind(to)
        .fetch_one(&mut conn)
        .await
}

/// Three conversations on November 2 and 3, 2026 in New York (UTC-5), one in October.
async fn seeded(db: &PgPool) -> Shop {
    let shop = shop(db).await;
    // Monday 09:00 in New York: a knowledge answer, then the operator takes over at 2 minutes.
    let a = conversation(db, &shop, "widget", "2026-11-02 14:00:00+00").await;
    message(db, &shop, a, "customer", None, 0).await;
    message(db, &shop, a, "ai", Some("knowledge_answer"), 1).await;
    message(db, &shop, a, "operator", None, 120).await;
    rate(db, a, 5).await;
    // Monday 22:00 in New York, already Tuesday in UTC: the operator answers at 10 minutes.
    let b = conversation(db, &shop, "link", "2026-11-03 03:00:00+00").await;
    message(db, &shop, b, "customer", None, 0).await;
    message(db, &shop, b, "operator", None, 600).await;
    message(db, &shop, b, "operator", None, 660).await;
    rate(db, b, 2).await;
    // Tuesday 10:00: only the away message, and an AI answer.
    let c = conversation(db, &shop, "sms", "2026-11-03 15:00:00+00").await;
    message(db, &shop, c, "customer", None, 0).await;
    message(db, &shop, c, "ai", Some("away_message"), 1).await;
    message(db, &shop, c, "ai", None, 2).await;
    // October: outside the range.
    let d = conversation(db, &shop, "widget", "2026-10-20 15:00:00+00").await;
    message(db, &shop, d, "customer", None, 0).await;
    message(db, &shop, d, "operator", None, 30).await;
    rate(db, d, 1).await;
    shop
}

#[tokio::test]
async fn the_report_counts_the_conversations_started_in_the_range_in_the_sites_time_zone() {
    let db = database().await;
    let shop = seeded(&db).await;
    let value = report(shop.owner, shop.site, "2026-11-02", "2026-11-03").await.unwrap();
    let got: Report = serde_json::from_value(value.clone()).unwrap();
    assert_eq!(got.time_zone, "America/New_York");

    let mut channels: Vec<(String, String, u64)> =
        got.conversations.iter().map(|r| (r.day.clone(), r.channel.clone(), r.conversations)).collect();
    channels.sort();
    assert_eq!(
        channels,
        [
            ("2026-11-02".into(), "link".into(), 1),
            ("2026-11-02".into(), "widget".into(), 1),
            ("2026-11-03".into(), "sms".into(), 1)
        ]
    );

    // First human replies at 120 s and 600 s, both on Monday in New York.
    let times: Vec<(Option<String>, u64, f64, f64)> =
        got.response_times.iter().map(|r| (r.day.clone(), r.answered, r.p50_seconds, r.p90_seconds)).collect();
    assert_eq!(times, [(None, 2, 360.0, 552.0), (Some("2026-11-02".into()), 2, 360.0, 552.0)]);

    let ratings: Vec<(u8, u64)> = got.satisfaction.iter().map(|r| (r.rating, r.conversations)).collect();
    assert_eq!(ratings, [(2, 1), (5, 1)]);

    let answers: Vec<(String, u64, u64, u64, u64)> =
        got.answers.iter().map(|r| (r.day.clone(), r.automatic, r.ai, r.human, r.handoffs)).collect();
    assert_eq!(answers, [("2026-11-02".into(), 1, 0, 3, 1), ("2026-11-03".into(), 1, 1, 0, 0)]);

    let hours: Vec<(u8, u8, u64)> = got.busiest_hours.iter().map(|r| (r.weekday, r.hour, r.conversations)).collect();
    assert_eq!(hours, [(0, 9, 1), (0, 22, 1), (1, 10, 1)]);

    // Operators' stats are kept per UTC day: Nov 2 and 3 hold all three replies. Only B's
    // first reply answered a waiting customer (A's came after the knowledge answer).
    assert_eq!(got.operators.len(), 1, "{value}");
    let olga = &got.operators[0];
    assert_eq!((olga.user_id, olga.display_name.as_deref()), (shop.operator, Some("Olga")));
    assert_eq!(
        (olga.messages_sent, olga.avg_response_seconds, olga.rated, olga.average_rating),
        (3, Some(600), 2, Some(3.5))
    );

    // One day, and a range with nothing in it.
    let monday: Report =
        serde_json::from_value(report(shop.owner, shop.site, "2026-11-02", "2026-11-02").await.unwrap()).unwrap();
    assert_eq!(monday.conversations.iter().map(|r| r.conversations).sum::<u64>(), 2);
    let empty = report(shop.owner, shop.site, "2025-01-01", "2025-01-31").await.unwrap();
    assert_eq!(
        empty,
        json!({"time_zone": "America/New_York", "conversations": [], "response_times": [], "satisfaction": [],
               "answers": [], "busiest_hours": [], "operators": []})
    );
}

#[tokio::test]
async fn each_role_counts_only_what_row_level_security_shows_it() {
    let db = database().await;
    let shop = seeded(&db).await;
    // Another site's owner learns nothing about this site, not even its time zone.
    let stranger = new_user(&db).await;
    new_site(&db, stranger).await;
    let theirs: Report =
        serde_json::from_value(report(stranger, shop.site, "2026-11-01", "2026-11-30").await.unwrap()).unwrap();
    assert_eq!(theirs, Report { time_zone: "UTC".into(), ..Report::default() });

    // An operator sees the site's conversations but only their own row of the team's stats.
    let colleague = new_user(&db).await;
    common::join(&db, shop.site, colleague, "operator").await;
    sqlx::query("insert into public.operator_daily_stats (site_id, user_id, day, messages_sent) values ($1, $2, '2026-11-02', 7)")
        .bind(shop.site)
        .bind(colleague)
        .execute(&db)
        .await
        .unwrap();
    let owner_view: Report =
        serde_json::from_value(report(shop.owner, shop.site, "2026-11-02", "2026-11-03").await.unwrap()).unwrap();
    assert_eq!(owner_view.operators.len(), 2);
    let theirs: Report =
        serde_json::from_value(report(colleague, shop.site, "2026-11-02", "2026-11-03").await.unwrap()).unwrap();
    assert_eq!(theirs.conversations.len(), 3);
    let rows: Vec<(Uuid, u64)> = theirs.operators.iter().map(|r| (r.user_id, r.messages_sent)).collect();
    // Olga's ratings are counted from conversations (which operators see), not her stats.
    assert!(
        rows.contains(&(colleague, 7)) && !rows.iter().any(|(id, sent)| *id == shop.operator && *sent > 0),
        "{rows:?}"
    );

    // Nobody outside the API's roles may call it.
    let mut anon = common::connect_as("anon", json!({"role": "anon"})).await;
    let refused = sqlx::query("select public.analytics_report($1, current_date, current_date)")
        .bind(shop.site)
        .execute(&mut anon)
        .await;
    assert!(refused.is_err());
}

#[tokio::test]
async fn a_reversed_or_too_long_range_is_refused() {
    let db = database().await;
    let shop = shop(&db).await;
    let reversed = report(shop.owner, shop.site, "2026-11-03", "2026-11-02").await.unwrap_err();
    assert_eq!(refusal(reversed), "validation_failed");
    let long = report(shop.owner, shop.site, "2026-01-01", "2027-01-02").await.unwrap_err();
    assert_eq!(refusal(long), "validation_failed");
    assert!(report(shop.owner, shop.site, "2026-01-01", "2027-01-01").await.is_ok(), "366 days");
}

#[tokio::test]
async fn operators_average_response_is_the_mean_of_their_responses() {
    let db = database().await;
    let shop = shop(&db).await;
    for (at, seconds) in
        [("2026-11-02 14:00:00+00", 100), ("2026-11-02 15:00:00+00", 300), ("2026-11-02 16:00:00+00", 500)]
    {
        let id = conversation(&db, &shop, "widget", at).await;
        message(&db, &shop, id, "customer", None, 0).await;
        message(&db, &shop, id, "operator", None, seconds).await;
    }
    let stats: (i32, i32, i64, Option<i32>) = sqlx::query_as(
        "select messages_sent, responses, response_seconds_total, avg_response_seconds from public.operator_daily_stats \
         where site_id = $1 and user_id = $2",
    )
    .bind(shop.site)
    .bind(shop.operator)
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(stats, (3, 3, 900, Some(300)), "not the running halving it was (350)");
}

#[tokio::test]
async fn the_first_human_response_is_timed_from_the_customers_first_message() {
    let db = database().await;
    let shop = shop(&db).await;
    let first = |id: Uuid| {
        let db = db.clone();
        async move {
            sqlx::query_scalar::<_, Option<i32>>(
                "select first_human_response_seconds from public.conversations where id = $1",
            )
            .bind(id)
            .fetch_one(&db)
            .await
            .unwrap()
        }
    };
    // The visitor opened the chat and wrote five minutes later; the reply came a minute after.
    let late = conversation(&db, &shop, "widget", "2026-11-02 14:00:00+00").await;
    message(&db, &shop, late, "customer", None, 300).await;
    message(&db, &shop, late, "operator", None, 360).await;
    message(&db, &shop, late, "customer", None, 400).await;
    message(&db, &shop, late, "operator", None, 900).await;
    assert_eq!(first(late).await, Some(60));
    // The operator wrote first: nothing to time until the customer writes.
    let outreach = conversation(&db, &shop, "widget", "2026-11-02 15:00:00+00").await;
    message(&db, &shop, outreach, "operator", None, 10).await;
    assert_eq!(first(outreach).await, None);
    message(&db, &shop, outreach, "customer", None, 100).await;
    message(&db, &shop, outreach, "operator", None, 130).await;
    assert_eq!(first(outreach).await, Some(30));
}
