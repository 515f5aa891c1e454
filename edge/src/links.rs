//! Temporary links, the owner's API: create, list, change, delete, and a link's numbers. Every
//! call runs as the owner (their Supabase Auth JWT forwarded to PostgREST, so RLS decides what
//! they may see and change).

use crate::http::{json_body, json_response, owner, parse, worker_error};
use crate::supabase::Supabase;
use crate::tokens;
use chat_core::links::{CreateLink, CreatedLink, LINK_COLUMNS, Link, LinkPage, LinkStats, UpdateLink};
use chat_core::tools::{LinkAnalyticsQuery, ListLinks};
use chat_core::{ApiError, ErrorCode};
use serde_json::{Value, json};
use worker::{Env, Request, Response};

/// `POST /v1/links`.
pub async fn create(mut request: Request, env: &Env) -> Result<Response, ApiError> {
    let jwt = owner(&request, env).await?;
    let body: CreateLink = json_body(&mut request).await?;
    body.validate()?;
    let base = public_base(&request)?;
    json_response(&create_link(env, &jwt, &body, &base).await?, 201)
}

pub(crate) async fn create_link(env: &Env, jwt: &str, body: &CreateLink, base: &str) -> Result<CreatedLink, ApiError> {
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

pub(crate) async fn list_links(env: &Env, jwt: &str, filter: &ListLinks) -> Result<LinkPage, ApiError> {
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
    let stats: LinkStats = parse(&supabase.rpc("link_stats", params.to_string()).await?)?;
    json_response(&stats, 200)
}

pub(crate) async fn require_link(supabase: &Supabase, id: uuid::Uuid) -> Result<(), ApiError> {
    let found: Vec<Value> =
        parse(&supabase.send(supabase.from("chat_links").select("id").eq("id", id.to_string())).await?)?;
    if found.is_empty() { Err(not_found()) } else { Ok(()) }
}

pub(crate) fn link_id(id: &str) -> Result<uuid::Uuid, ApiError> {
    id.parse().map_err(|_| not_found())
}

fn not_found() -> ApiError {
    ApiError::new(ErrorCode::LinkNotFound, "There is no link with this id among yours.")
}

/// Where guests open links: this Worker's own origin.
pub(crate) fn public_base(request: &Request) -> Result<String, ApiError> {
    let url = request.url().map_err(worker_error)?;
    Ok(url.origin().ascii_serialization())
}
