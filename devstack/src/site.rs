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
}

struct Site {
    dir: PathBuf,
    edge_url: String,
}

/// Serve `dir` (normally `public/demo`), with the edge URL filled into `index.html`.
pub fn router(dir: PathBuf, edge_url: String) -> Router {
    let files = ServeDir::new(&dir);
    Router::new()
        .route("/", get(index))
        .route("/index.html", get(index))
        .fallback_service(files)
        .with_state(Arc::new(Site { dir, edge_url }))
}

/// Read on every request so edits show up on reload. `?site=KEY` embeds another site's widget
/// (unknown keys too); the key is cut down to the characters a key may have, so it cannot inject HTML.
async fn index(State(site): State<Arc<Site>>, Query(query): Query<PageQuery>) -> Response {
    let site_key = query.site.unwrap_or_else(|| DEMO_SITE_KEY.to_string());
    let site_key: String = site_key.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_')).collect();
    match tokio::fs::read_to_string(site.dir.join("index.html")).await {
        Ok(html) => (
            [(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::CACHE_CONTROL, "no-store")],
            html.replace(EDGE_URL_PLACEHOLDER, &site.edge_url).replace(SITE_KEY_PLACEHOLDER, &site_key),
        )
            .into_response(),
        Err(error) => {
            tracing::error!(%error, "demo page missing");
            (StatusCode::NOT_FOUND, "demo page missing").into_response()
        }
    }
}
