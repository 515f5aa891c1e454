//! The sessions of temporary links: a guest opens a link (`POST /v1/links/{code}/sessions`), and
//! the owner lists a link's sessions (`GET /v1/links/{id}/sessions`).

use crate::http::{client_ip, header, header_cut, json_body, json_response, owner, parse};
use crate::links::{link_id, require_link};
use crate::sessions::new_session;
use crate::sites;
use crate::supabase::Supabase;
use crate::tokens::{self, SessionIds};
use chat_core::links::{LINK_SESSION_COLUMNS, LinkSession, OpenLink, OpenedLink};
use chat_core::widget::AgentPersona;
use chat_core::{ApiError, ErrorCode, limits};
use serde::Deserialize;
use serde_json::{Value, json};
use worker::{Env, Request, Response};

/// `POST /v1/links/{short_code}/sessions`: a guest opens a link. The SQL function checks the
/// token, the active flag, expiry, the allowlists and `max_sessions` in one transaction.
pub async fn open(mut request: Request, env: &Env, code: &str) -> Result<Response, ApiError> {
    let origin = header(&request, "Origin");
    let body: OpenLink = json_body(&mut request).await?;
    body.validate()?;
    let service = Supabase::service(env)?;
    // The token must belong to the link the URL names (a token pasted under another code is
    // refused before it can take a session); the same read brings what the page shows.
    let select = "chat_links(short_code,description,ui_customization,sites(site_key),agents(name,avatar_url))";
    let link_hash = tokens::sha256_hex(&body.token);
    let found: Vec<TokenRow> =
        parse(&service.send(service.from("chat_link_tokens").select(select).eq("token_hash", &link_hash)).await?)?;
    let Some(page) = found.into_iter().next().map(|row| row.chat_links).filter(|page| page.short_code == code) else {
        return Err(ApiError::new(ErrorCode::LinkNotFound, "This chat link does not exist."));
    };
    let origin_host = body.referrer.as_deref().or(origin.as_deref()).and_then(host_of);
    let session_token = tokens::new_session_token();
    let country = request.cf().and_then(|cf| cf.country());
    let params = json!({
        "p_link_token_hash": link_hash,
        "p_token_hash": tokens::sha256_hex(&session_token),
        "p_ip": client_ip(&request),
        "p_origin_host": origin_host,
        "p_user_agent": header_cut(&request, "User-Agent", limits::USER_AGENT_CHARS),
        "p_referrer": body.referrer,
        "p_country": country.filter(|c| c.len() == 2 && c.chars().all(|ch| ch.is_ascii_uppercase())),
    });
    let opened: OpenedRow = parse(&service.rpc("open_link_session", params.to_string()).await?)?;
    let mut widget = sites::enabled_widget(env, &page.sites.site_key).await?;
    let title = opened.title.unwrap_or_default();
    widget.title = title.clone();
    // The link's own greeting, whether or not someone is online (its agent answers anyway).
    if let Some(welcome) = opened.welcome_message {
        widget.offline_message = welcome.clone();
        widget.welcome_message = welcome;
    }
    if page.agents.is_some() {
        widget.agent = page.agents;
    }
    // Guests of a link are anonymous: no pre-chat form.
    widget.require_name = false;
    widget.require_email = false;
    widget.require_phone = false;
    widget.custom_fields.clear();
    let session = new_session(env, opened.ids, session_token, origin)?;
    let opened = OpenedLink {
        session,
        widget: *widget,
        title,
        description: page.description.unwrap_or_default(),
        ui_customization: page.ui_customization,
    };
    json_response(&opened, 201)
}

/// A link token's row with what the link's page shows (the `select` of [`open`]).
#[derive(Deserialize)]
struct TokenRow {
    chat_links: LinkRow,
}

/// The link, its site and its agent.
#[derive(Deserialize)]
struct LinkRow {
    short_code: String,
    description: Option<String>,
    #[serde(default)]
    ui_customization: Value,
    sites: SiteRow,
    agents: Option<AgentPersona>,
}

/// The site a link belongs to.
#[derive(Deserialize)]
struct SiteRow {
    site_key: String,
}

/// What `open_link_session` answers: the new session and the link's own texts.
#[derive(Deserialize)]
struct OpenedRow {
    #[serde(flatten)]
    ids: SessionIds,
    title: Option<String>,
    welcome_message: Option<String>,
}

/// The host of a URL or origin (`https://shop.example.com/x` → `shop.example.com`).
fn host_of(url: &str) -> Option<String> {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let host = rest.split(['/', '?', '#']).next()?.rsplit('@').next()?;
    let host = host.split(':').next()?;
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// `GET /v1/links/{id}/sessions`: the link's sessions, newest first.
pub async fn sessions(request: Request, env: &Env, id: &str) -> Result<Response, ApiError> {
    let jwt = owner(&request, env).await?;
    let id = link_id(id)?;
    let supabase = Supabase::user(env, &jwt)?;
    require_link(&supabase, id).await?;
    let select = supabase
        .from("chat_sessions")
        .select(LINK_SESSION_COLUMNS)
        .eq("link_id", id.to_string())
        .order("started_at.desc")
        .limit(100);
    let rows: Vec<LinkSession> = parse(&supabase.send(select).await?)?;
    json_response(&json!({ "sessions": rows }), 200)
}
