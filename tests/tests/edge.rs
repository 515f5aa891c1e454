//! The edge in workerd, end to end through PostgREST to Postgres.

mod common;

use chat_core::{ApiError, ErrorCode, WidgetConfig};
use common::{client, database, edge, env};

#[tokio::test]
async fn widget_settings_come_from_the_database() {
    let db = database().await;
    let welcome = format!("Welcome {}", uuid::Uuid::new_v4());
    let site_key = format!("edge-{}", uuid::Uuid::new_v4().simple());
    let site: uuid::Uuid = sqlx::query_scalar(
        "insert into public.sites (owner_id, name, site_key) \
         values ('00000000-0000-4000-8000-000000000001', 'Edge test', $1) returning id",
    )
    .bind(&site_key)
    .fetch_one(&db)
    .await
    .unwrap();
    sqlx::query("update public.widget_settings set welcome_message = $2, primary_color = '#123456' where site_id = $1")
        .bind(site)
        .bind(&welcome)
        .execute(&db)
        .await
        .unwrap();

    let response = client().get(format!("{}/v1/sites/{site_key}/widget", edge())).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    assert!(response.headers()["cache-control"].to_str().unwrap().contains("max-age="));
    let config: WidgetConfig = response.json().await.unwrap();
    assert_eq!(config.welcome_message, welcome);
    assert_eq!(config.theme.primary_color, "#123456");
    assert_eq!(config.site_name, "Edge test");
}

#[tokio::test]
async fn unknown_site_is_404_json() {
    for key in ["no-such-site", "NOT%20VALID"] {
        let response = client().get(format!("{}/v1/sites/{key}/widget", edge())).send().await.unwrap();
        assert_eq!(response.status(), 404, "{key}");
        let error: ApiError = response.json().await.unwrap();
        assert_eq!(error.code, ErrorCode::SiteNotFound);
        assert!(!error.message.is_empty());
    }
}

#[tokio::test]
async fn unknown_route_and_method_are_json() {
    let response = client().get(format!("{}/v1/nothing-here", edge())).send().await.unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(response.json::<ApiError>().await.unwrap().code, ErrorCode::NotFound);

    let response = client().delete(format!("{}/v1/sites/demo-site/widget", edge())).send().await.unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(response.json::<ApiError>().await.unwrap().code, ErrorCode::MethodNotAllowed);
}

#[tokio::test]
async fn unreachable_api_is_503_json() {
    let url = format!("{}/v1/sites/demo-site/widget", env("STACK_EDGE_UNREACHABLE_URL"));
    let response = client().get(url).send().await.unwrap();
    assert_eq!(response.status(), 503);
    let error: ApiError = response.json().await.unwrap();
    assert_eq!(error.code, ErrorCode::UpstreamUnavailable);
}

#[tokio::test]
async fn preflight_answers_the_asking_origin() {
    let response = client()
        .request(reqwest::Method::OPTIONS, format!("{}/v1/sites/demo-site/widget", edge()))
        .header("Origin", "https://customer.example")
        .header("Access-Control-Request-Method", "GET")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(response.headers()["access-control-allow-origin"], "https://customer.example");
    assert_eq!(response.headers()["vary"], "Origin");
}

/// The widget's content-hashed folder, as embed.js names it.
async fn widget_base() -> String {
    let embed = client().get(format!("{}/embed.js", edge())).send().await.unwrap().text().await.unwrap();
    let start = embed.find("/widget/").expect("embed.js names the widget's folder");
    let base = &embed[start..start + "/widget/".len() + 17];
    assert!(base.ends_with('/') && base[8..24].bytes().all(|b| b.is_ascii_hexdigit()), "{base}");
    base.to_string()
}

#[tokio::test]
async fn widget_assets_are_served_cross_origin_and_immutable() {
    let base = widget_base().await;
    for file in ["chat-widget.js", "chat-widget_bg.wasm"] {
        let response = client().get(format!("{}{base}{file}", edge())).send().await.unwrap();
        assert_eq!(response.status(), 200, "{file}");
        assert_eq!(response.headers()["access-control-allow-origin"], "*");
        assert_eq!(response.headers()["cross-origin-resource-policy"], "cross-origin");
        assert_eq!(response.headers()["cache-control"], "public, max-age=31536000, immutable");
    }
    let wasm = client().get(format!("{}{base}chat-widget_bg.wasm", edge())).send().await.unwrap();
    assert_eq!(wasm.headers()["content-type"], "application/wasm");
    for loader in ["/embed.js", "/link.js"] {
        let response = client().get(format!("{}{loader}", edge())).send().await.unwrap();
        assert_eq!(response.headers()["cache-control"], "public, max-age=300", "{loader}");
    }
    let missing = client().get(format!("{}/widget/0000000000000000/chat-widget.js", edge())).send().await.unwrap();
    assert_eq!(missing.status(), 404);
}
