//! Temporary links: the owner's API and the tool catalog for AI agents acting for an owner
//! (every call runs as the owner, their Supabase Auth JWT forwarded to PostgREST, so RLS decides
//! what they may see and change), and the guest's way in (`POST /v1/links/{code}/sessions`).

use crate::handlers::{client_ip, header, header_cut, json_body, json_response, new_session, parse, worker_error};
use crate::supabase::Supabase;
use crate::{tokens, widget_config};
use chat_core::links::{CreateLink, CreatedLink, Link, LinkPage, OpenLink, OpenedLink, UpdateLink};
use chat_core::tools::{LinkAnalyticsQuery, ListLinks, ToolCall, catalog, parse_call};
use chat_core::{ApiError, ErrorCode, WidgetState, limits};
use serde_json::{Value, json};
use worker::{Env, Request, Response};

const LINK_COLUMNS: &str = "id,site_id,agent_id,short_code,title,description,welcome_message,expires_at,max_sessions,\
max_messages_per_session,session_timeout_minutes,rate_limit_per_minute,allowed_domains,allowed_ips,session_count,\
message_count,is_active,ui_customization,created_at";

/// The owner's JWT, verified: a signed-in user, not a guest.
async fn owner(request: &Request, env: &Env) -> Result<String, ApiError> {
    let authorization = header(request, "Authorization");
    let token = tokens::bearer(authorization.as_deref()).unwrap_or_default();
    let keys = crate::jwks::user_keys(env, token).await?;
    tokens::verify_owner(authorization.as_deref(), &keys).map(str::to_owned)
}

/// `POST /v1/links`.
pub async fn create(mut request: Request, env: &Env) -> Result<Response, ApiError> {
    let jwt = owner(&request, env).await?;
    let body: CreateLink = json_body(&mut request).await?;
    body.validate()?;
    let base = public_base(&request)?;
    json_response(&create_link(env, &jwt, &body, &base).await?, 201)
}

async fn create_link(env: &Env, jwt: &str, body: &CreateLink, base: &str) -> Result<CreatedLink, ApiError> {
    let token = tokens::new_session_token();
    let params = json!({
        "p_agent_id": body.agent_id,
        "p_title": body.title,
        "p_token_hash": tokens::sha256_hex(&token),
        "p_expires_in_hours": body.expires_in_hours,
        "p_description": body.description,
        "p_welcome_message": body.welcome_message,
        "p_max_sessions": body.max_sessions,
        "p_max_messages_per_session": body.max_messages_per_session,
        "p_session_timeout_minutes": body.session_timeout_minutes,
        "p_rate_limit_per_minute": body.rate_limit_per_minute,
        "p_allowed_domains": body.allowed_domains,
        "p_allowed_ips": body.allowed_ips,
        "p_ui_customization": body.ui_customization.clone().unwrap_or_else(|| json!({})),
    });
    let link: Link = parse(&Supabase::user(env, jwt)?.rpc("create_chat_link", params.to_string()).await?)?;
    let url = format!("{base}/c/{}#{token}", link.short_code);
    Ok(CreatedLink { link, url, token })
}

/// `GET /v1/links?agent_id=&include_inactive=&limit=&cursor=`.
pub async fn list(request: Request, env: &Env) -> Result<Response, ApiError> {
    let jwt = owner(&request, env).await?;
    let url = request.url().map_err(worker_error)?;
    let query = |name: &str| url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned());
    let bad = |what: &str| ApiError::new(ErrorCode::BadRequest, format!("{what} is not valid"));
    let filter = ListLinks {
        agent_id: query("agent_id").map(|v| v.parse().map_err(|_| bad("agent_id"))).transpose()?,
        include_inactive: query("include_inactive").is_some_and(|v| v == "true"),
        limit: query("limit").map(|v| v.parse().map_err(|_| bad("limit"))).transpose()?,
        cursor: query("cursor"),
    };
    json_response(&list_links(env, &jwt, &filter).await?, 200)
}

async fn list_links(env: &Env, jwt: &str, filter: &ListLinks) -> Result<LinkPage, ApiError> {
    let limit = filter.page_size()?;
    let supabase = Supabase::user(env, jwt)?;
    let mut select =
        supabase.from("chat_links").select(LINK_COLUMNS).order("created_at.desc,id.desc").limit(limit as usize + 1);
    if let Some(agent) = filter.agent_id {
        select = select.eq("agent_id", agent.to_string());
    }
    if !filter.include_inactive {
        select = select.eq("is_active", "true").gt("expires_at", "now()");
    }
    if let Some(cursor) = &filter.cursor {
        select = select.lt("created_at", cursor);
    }
    let mut links: Vec<Link> = parse(&supabase.send(select).await?)?;
    let more = links.len() as i64 > limit;
    links.truncate(limit as usize);
    let next_cursor = more.then(|| links.last().map(|l| l.created_at.clone())).flatten();
    Ok(LinkPage { links, next_cursor })
}

/// `PATCH /v1/links/{id}`.
pub async fn update(mut request: Request, env: &Env, id: &str) -> Result<Response, ApiError> {
    let jwt = owner(&request, env).await?;
    let id = link_id(id)?;
    let body: UpdateLink = json_body(&mut request).await?;
    body.validate()?;
    let params = json!({
        "p_link_id": id,
        "p_is_active": body.is_active,
        "p_extend_hours": body.extend_hours,
        "p_title": body.title,
        "p_max_sessions": body.max_sessions,
        "p_max_messages_per_session": body.max_messages_per_session,
        "p_session_timeout_minutes": body.session_timeout_minutes,
        "p_rate_limit_per_minute": body.rate_limit_per_minute,
    });
    let link: Link = parse(&Supabase::user(env, &jwt)?.rpc("update_chat_link", params.to_string()).await?)?;
    json_response(&link, 200)
}

/// `DELETE /v1/links/{id}`: 204, or 404 when no such link is the caller's to delete.
pub async fn delete(request: Request, env: &Env, id: &str) -> Result<Response, ApiError> {
    let jwt = owner(&request, env).await?;
    let id = link_id(id)?;
    let supabase = Supabase::user(env, &jwt)?;
    let deleted: Vec<Value> =
        parse(&supabase.send(supabase.from("chat_links").eq("id", id.to_string()).select("id").delete()).await?)?;
    if deleted.is_empty() {
        return Err(not_found());
    }
    Response::empty().map(|r| r.with_status(204)).map_err(worker_error)
}

/// `GET /v1/links/{id}/analytics?days_back=`.
pub async fn analytics(request: Request, env: &Env, id: &str) -> Result<Response, ApiError> {
    let jwt = owner(&request, env).await?;
    let id = link_id(id)?;
    let url = request.url().map_err(worker_error)?;
    let days = url
        .query_pairs()
        .find(|(k, _)| k == "days_back")
        .map(|(_, v)| v.parse().map_err(|_| ApiError::new(ErrorCode::BadRequest, "days_back must be a number")))
        .transpose()?;
    let days = LinkAnalyticsQuery { agent_id: None, days_back: days }.days()?;
    let supabase = Supabase::user(env, &jwt)?;
    require_link(&supabase, id).await?;
    let params = json!({"p_link_id": id, "p_days_back": days});
    let stats: Value = parse(&supabase.rpc("link_stats", params.to_string()).await?)?;
    json_response(&stats, 200)
}

/// `GET /v1/links/{id}/sessions`: the link's sessions, newest first.
pub async fn sessions(request: Request, env: &Env, id: &str) -> Result<Response, ApiError> {
    let jwt = owner(&request, env).await?;
    let id = link_id(id)?;
    let supabase = Supabase::user(env, &jwt)?;
    require_link(&supabase, id).await?;
    let select = supabase
        .from("chat_sessions")
        .select(
            "id,conversation_id,status,end_reason,started_at,last_activity_at,ended_at,message_count,country,rating",
        )
        .eq("link_id", id.to_string())
        .order("started_at.desc")
        .limit(100);
    let rows: Value = parse(&supabase.send(select).await?)?;
    json_response(&json!({ "sessions": rows }), 200)
}

/// `GET /v1/tools`: the catalog (no sign-in needed to read it).
pub fn tools() -> Result<Response, ApiError> {
    json_response(&json!({ "tools": catalog() }), 200)
}

/// `POST /v1/tools/{name}`: the body is the arguments; runs with the caller's rights.
pub async fn run_tool(mut request: Request, env: &Env, name: &str) -> Result<Response, ApiError> {
    let jwt = owner(&request, env).await?;
    let arguments: Value = json_body(&mut request).await?;
    let result = match parse_call(name, arguments)? {
        ToolCall::Create(body) => {
            let base = public_base(&request)?;
            serde_json::to_value(create_link(env, &jwt, &body, &base).await?)
        }
        ToolCall::List(filter) => serde_json::to_value(list_links(env, &jwt, &filter).await?),
        ToolCall::Analytics(query) => {
            let params = json!({"p_agent_id": query.agent_id, "p_days_back": query.days()?});
            Ok(parse::<Value>(&Supabase::user(env, &jwt)?.rpc("link_stats", params.to_string()).await?)?)
        }
    }
    .map_err(|e| crate::supabase::internal(e.to_string()))?;
    json_response(&json!({ "tool": name, "result": result }), 200)
}

async fn require_link(supabase: &Supabase, id: uuid::Uuid) -> Result<(), ApiError> {
    let found: Vec<Value> =
        parse(&supabase.send(supabase.from("chat_links").select("id").eq("id", id.to_string())).await?)?;
    if found.is_empty() { Err(not_found()) } else { Ok(()) }
}

fn link_id(id: &str) -> Result<uuid::Uuid, ApiError> {
    id.parse().map_err(|_| not_found())
}

fn not_found() -> ApiError {
    ApiError::new(ErrorCode::LinkNotFound, "There is no link with this id among yours.")
}

/// Where guests open links: this Worker's own origin.
fn public_base(request: &Request) -> Result<String, ApiError> {
    let url = request.url().map_err(worker_error)?;
    Ok(url.origin().ascii_serialization())
}

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
    let found: Vec<Value> =
        parse(&service.send(service.from("chat_link_tokens").select(select).eq("token_hash", &link_hash)).await?)?;
    let page = found.into_iter().next().map(|row| row["chat_links"].clone()).unwrap_or(Value::Null);
    if page["short_code"].as_str() != Some(code) {
        return Err(ApiError::new(ErrorCode::LinkNotFound, "This chat link does not exist."));
    }
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
    let opened: Value = parse(&service.rpc("open_link_session", params.to_string()).await?)?;
    let ids: tokens::SessionIds =
        serde_json::from_value(opened.clone()).map_err(|e| crate::supabase::internal(e.to_string()))?;
    let text = |name: &str| opened.get(name).and_then(Value::as_str).map(str::to_owned);
    let site_key = page.pointer("/sites/site_key").and_then(Value::as_str).unwrap_or_default();
    let state_text = Supabase::anon(env)?.rpc(widget_config::RPC, widget_config::rpc_body(site_key)?).await?;
    let WidgetState::Enabled(mut widget) = widget_config::from_response(200, &state_text)? else {
        return Err(ApiError::new(ErrorCode::WidgetDisabled, "This site has switched its chat off."));
    };
    let title = text("title").unwrap_or_default();
    widget.title = title.clone();
    // The link's own greeting, whether or not someone is online (its agent answers anyway).
    if let Some(welcome) = text("welcome_message") {
        widget.offline_message = welcome.clone();
        widget.welcome_message = welcome;
    }
    if let Ok(agent) = serde_json::from_value(page["agents"].clone()) {
        widget.agent = Some(agent);
    }
    // Guests of a link are anonymous: no pre-chat form.
    widget.require_name = false;
    widget.require_email = false;
    widget.require_phone = false;
    widget.custom_fields.clear();
    let session = new_session(env, ids, session_token, origin)?;
    let opened = OpenedLink {
        session,
        widget: *widget,
        title,
        description: page["description"].as_str().unwrap_or_default().to_owned(),
        ui_customization: page["ui_customization"].clone(),
    };
    json_response(&opened, 201)
}

/// The host of a URL or origin (`https://shop.example.com/x` → `shop.example.com`).
fn host_of(url: &str) -> Option<String> {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let host = rest.split(['/', '?', '#']).next()?.rsplit('@').next()?;
    let host = host.split(':').next()?;
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}
