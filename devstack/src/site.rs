//! The demo customer site: a page on its own origin that embeds the widget with one
//! `<script>` tag, exactly as a real customer site would.

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::path::PathBuf;
use std::sync::Arc;
use tower_http::services::ServeDir;

/// Placeholder in HTML pages replaced by the edge's URL.
const EDGE_URL_PLACEHOLDER: &str = "%EDGE_URL%";

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

/// Read on every request so edits show up on reload.
async fn index(State(site): State<Arc<Site>>) -> Response {
    match tokio::fs::read_to_string(site.dir.join("index.html")).await {
        Ok(html) => (
            [(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::CACHE_CONTROL, "no-store")],
            html.replace(EDGE_URL_PLACEHOLDER, &site.edge_url),
        )
            .into_response(),
        Err(error) => {
            tracing::error!(%error, "demo page missing");
            (StatusCode::NOT_FOUND, "demo page missing").into_response()
        }
    }
}
