//! The demo customer site: a page on its own origin that embeds the widget with one
//! `<script>` tag, exactly as a real customer site would.

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::path::PathBuf;
use std::sync::Arc;
use tower_http::services::ServeDir;

/// Placeholder in HTML pages replaced by the edge's URL.
const EDGE_URL_PLACEHOLDER: &str = "%EDGE_URL%";
/// Placeholder replaced by the site key to embed: `?site=KEY`, or the seeded demo site.
const SITE_KEY_PLACEHOLDER: &str = "%SITE_KEY%";
/// The seeded demo site (devstack/sql/seed.sql).
const DEMO_SITE_KEY: &str = "demo-site";

#[derive(serde::Deserialize)]
struct PageQuery {
    site: Option<String>,
    /// `off` serves the strict page without `'wasm-unsafe-eval'` (what a site that forgot it sees).
    wasm: Option<String>,
}

struct Site {
    dir: PathBuf,
    edge_url: String,
    api_url: String,
}

/// Serve `dir` (normally `public/demo`), with the edge URL filled into `index.html` and
/// `strict.html` (the latter under [`content_security_policy`]).
pub fn router(dir: PathBuf, edge_url: String, api_url: String) -> Router {
    let files = ServeDir::new(&dir);
    Router::new()
        .route("/", get(index))
        .route("/index.html", get(index))
        .route("/strict.html", get(strict))
        .fallback_service(files)
        .with_state(Arc::new(Site { dir, edge_url, api_url }))
}

/// The strictest policy a page embedding the widget can have (the README documents it):
/// scripts from the edge, WebAssembly compiled (`'wasm-unsafe-eval'`), requests to the edge and
/// to Supabase (REST origin and Realtime's WebSocket), pictures over HTTPS; no inline style or
/// script (the widget's styles are constructed stylesheets).
pub fn content_security_policy(edge_url: &str, api_url: &str, wasm: bool) -> String {
    let realtime = api_url.replacen("http", "ws", 1);
    let wasm = if wasm { " 'wasm-unsafe-eval'" } else { "" };
    format!(
        "default-src 'none'; script-src {edge_url}{wasm}; connect-src {edge_url} {api_url} {realtime}; img-src https: data:"
    )
}

async fn index(State(site): State<Arc<Site>>, Query(query): Query<PageQuery>) -> Response {
    page(&site, "index.html", &query, None).await
}

async fn strict(State(site): State<Arc<Site>>, Query(query): Query<PageQuery>) -> Response {
    let policy = content_security_policy(&site.edge_url, &site.api_url, query.wasm.as_deref() != Some("off"));
    page(&site, "strict.html", &query, Some(policy)).await
}

/// Read on every request so edits show up on reload. `?site=KEY` embeds another site's widget
/// (unknown keys too); the key is cut down to the characters a key may have, so it cannot inject HTML.
async fn page(site: &Site, file: &str, query: &PageQuery, policy: Option<String>) -> Response {
    let site_key = query.site.clone().unwrap_or_else(|| DEMO_SITE_KEY.to_string());
    let site_key: String = site_key.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_')).collect();
    match tokio::fs::read_to_string(site.dir.join(file)).await {
        Ok(html) => {
            let html = html.replace(EDGE_URL_PLACEHOLDER, &site.edge_url).replace(SITE_KEY_PLACEHOLDER, &site_key);
            let mut response =
                ([(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::CACHE_CONTROL, "no-store")], html)
                    .into_response();
            if let Some(policy) = policy.and_then(|p| header::HeaderValue::from_str(&p).ok()) {
                response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, policy);
            }
            response
        }
        Err(error) => {
            tracing::error!(%error, file, "demo page missing");
            (StatusCode::NOT_FOUND, "demo page missing").into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::content_security_policy;

    /// The README shows this policy for a production site; it allows no inline code.
    #[test]
    fn the_strict_policy_allows_no_inline_code() {
        let policy = content_security_policy("https://chat.example.com", "https://abc.supabase.co", true);
        assert_eq!(
            policy,
            "default-src 'none'; script-src https://chat.example.com 'wasm-unsafe-eval'; \
             connect-src https://chat.example.com https://abc.supabase.co wss://abc.supabase.co; img-src https: data:"
        );
        let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
        assert!(readme.contains(&policy), "the README shows the policy the strict demo page is served with");
        assert!(!content_security_policy("https://e", "https://a", false).contains("wasm"));
    }
}
