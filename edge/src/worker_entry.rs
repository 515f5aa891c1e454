//! The Worker's fetch handler: route, call the handler, answer JSON with CORS.

use crate::routes::{self, Route};
use crate::{console, http, link_sessions, links, messages, sessions, sites, tools};
use chat_core::ApiError;
use chat_core::limits::AGENT_TURNS_PER_CRON;
use uuid::Uuid;
use worker::{Context, Env, Headers, Request, Response, ScheduleContext, ScheduledEvent, event};

/// Once per isolate, before any request: logging. Events go to the console without colours or
/// times (the Workers runtime stamps each log line itself).
#[event(start)]
fn start() {
    tracing_subscriber::fmt().with_ansi(false).without_time().with_writer(tracing_web::MakeConsoleWriter).init();
}

#[event(fetch)]
async fn fetch(request: Request, env: Env, ctx: Context) -> worker::Result<Response> {
    let origin = request.headers().get("Origin").ok().flatten();
    let outcome = match routes::resolve(request.method().as_ref(), &request.path()) {
        Ok(Route::WidgetConfig { site_key }) => sites::widget(&env, &site_key).await,
        Ok(Route::StartSession) => sessions::start_session(request, &env).await,
        Ok(Route::RefreshSession) => sessions::refresh_session(request, &env).await,
        Ok(Route::EndSession) => sessions::rate_or_end_session(request, &env, true).await,
        Ok(Route::RateSession) => sessions::rate_or_end_session(request, &env, false).await,
        Ok(Route::PostMessage) => messages::post_message(request, &env, &ctx).await,
        Ok(Route::ListMessages) => messages::list_messages(request, &env).await,
        Ok(Route::Handoff) => messages::request_handoff(request, &env).await,
        Ok(Route::CreateLink) => links::create(request, &env).await,
        Ok(Route::ListLinks) => links::list(request, &env).await,
        Ok(Route::UpdateLink { id }) => links::update(request, &env, &id).await,
        Ok(Route::DeleteLink { id }) => links::delete(request, &env, &id).await,
        Ok(Route::LinkAnalytics { id }) => links::analytics(request, &env, &id).await,
        Ok(Route::LinkSessions { id }) => link_sessions::sessions(request, &env, &id).await,
        Ok(Route::OpenLink { code }) => link_sessions::open(request, &env, &code).await,
        Ok(Route::LinkPage) => return link_page(request, &env).await,
        Ok(Route::Tools) => tools::tools(),
        Ok(Route::RunTool { name }) => tools::run_tool(request, &env, &name).await,
        Ok(Route::ConsoleConfig) => console::config(&env),
        Ok(Route::Preflight) => Response::empty().map(|r| r.with_status(204)).map_err(http::worker_error),
        Err(error) => Err(error),
    };
    let response = outcome.or_else(|error| error_response(&error))?;
    Ok(with_cors(response, origin.as_deref()))
}

/// The cron triggers (wrangler.toml). Every minute: the automatic answers still owed
/// (`answer_owed`), then a few of the agents' (`owed_agent_turns`, each answered with the
/// model as after a post). Every 15 minutes: ends expired links and idle sessions, releases
/// idle assignments, purges old messages. The same idempotent functions pg_cron runs where it
/// is available (the agents' answers excepted: they need the edge).
#[event(scheduled)]
async fn scheduled(event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    let cleanup = event.cron() != OWED_ANSWERS_CRON;
    let (job, function) = if cleanup { ("cleanup", "cleanup_expired") } else { ("owed answers", "answer_owed") };
    let service = match crate::supabase::Supabase::service(&env) {
        Ok(service) => service,
        Err(error) => return tracing::error!("{job} cannot run: {}", error.message),
    };
    match service.rpc(function, "{}".into()).await {
        Err(error) => tracing::error!("{job} failed: {}", error.message),
        Ok(summary) => match crate::cleanup::cleanup_failures(&summary).filter(|_| cleanup) {
            None => tracing::info!("{job}: {summary}"),
            Some(failures) => tracing::error!("{job}: steps failed: {failures}; {summary}"),
        },
    }
    if !cleanup {
        agents_owed(&service, &env).await;
    }
}

/// Answers up to [`AGENT_TURNS_PER_CRON`] of the agents' owed messages nobody is answering.
async fn agents_owed(service: &crate::supabase::Supabase, env: &Env) {
    let params = serde_json::json!({ "p_limit": AGENT_TURNS_PER_CRON }).to_string();
    let owed = match service.rpc("owed_agent_turns", params).await.and_then(|text| http::parse::<Vec<Uuid>>(&text)) {
        Ok(owed) => owed,
        Err(error) => return tracing::error!("agents' owed answers cannot be listed: {}", error.message),
    };
    for message_id in owed {
        if let Err(error) = crate::agent::answer(env, message_id).await {
            tracing::error!("the agent's answer to {message_id} failed: {}", error.message);
        }
    }
}

/// The schedule of `answer_owed` (the other of wrangler.toml's crons runs the cleanup).
const OWED_ANSWERS_CRON: &str = "* * * * *";

/// Every `/c/{code}` is the same page (`link.html`); it reads the code from its path and the
/// token from its fragment. Never cached, never leaking the URL to other sites.
async fn link_page(request: Request, env: &Env) -> worker::Result<Response> {
    let mut url = request.url()?;
    url.set_path("/link.html");
    let mut page = env.assets("ASSETS")?.fetch(url.to_string(), None).await?;
    let status = page.status_code();
    let html = page.text().await?;
    let headers = Headers::new();
    headers.set("Content-Type", "text/html; charset=utf-8")?;
    headers.set("Cache-Control", "no-store")?;
    headers.set("Referrer-Policy", "no-referrer")?;
    headers.set("X-Content-Type-Options", "nosniff")?;
    Ok(Response::ok(html)?.with_status(status).with_headers(headers))
}

fn error_response(error: &ApiError) -> worker::Result<Response> {
    let response = Response::from_json(error)?.with_status(error.status());
    if let Some(seconds) = error.retry_after {
        response.headers().set("Retry-After", &seconds.to_string())?;
    }
    Ok(response)
}

/// Any page may call the API: what it can do is decided by the site's allowed origins (checked
/// when a session starts) and the guest token bound to that origin.
fn with_cors(response: Response, origin: Option<&str>) -> Response {
    let headers = response.headers();
    let _ = headers.set("Access-Control-Allow-Origin", origin.unwrap_or("*"));
    let _ = headers.set("Vary", "Origin");
    let _ = headers.set("Access-Control-Allow-Methods", "GET, POST, PATCH, DELETE, OPTIONS");
    let _ = headers.set("Access-Control-Allow-Headers", "authorization, content-type");
    let _ = headers.set("Access-Control-Expose-Headers", "retry-after");
    let _ = headers.set("Access-Control-Max-Age", "600");
    response
}
