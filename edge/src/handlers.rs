//! The chat API's handlers: parse, validate, call Supabase as the narrowest role that can do
//! the job, answer JSON. Logic that needs no Worker types lives in the pure modules.

use crate::supabase::{Supabase, internal, var};
use crate::tokens::{self, SessionIds};
use crate::widget_config;
use chat_core::api::{
    EndSession, MAX_PAGE, Message, MessagePage, PostMessage, RealtimeAccess, RefreshSession, Session, StartSession,
};
use chat_core::{ApiError, ErrorCode, WidgetState, limits};
use serde::de::DeserializeOwned;
use serde_json::json;
use std::ops::RangeInclusive;
use worker::{Context, Env, Request, Response};

/// `GET /v1/sites/{site_key}/widget`.
pub async fn widget(env: &Env, site_key: &str) -> Result<Response, ApiError> {
    let text = Supabase::anon(env)?.rpc(widget_config::RPC, widget_config::rpc_body(site_key)?).await?;
    let state = widget_config::from_response(200, &text)?;
    let response = Response::from_json(&state).map_err(worker_error)?;
    response.headers().set("Cache-Control", widget_config::CACHE_CONTROL).map_err(worker_error)?;
    Ok(response)
}

/// `POST /v1/sessions`: resume the session of `resume_token` if it may still be used, else
/// validate the pre-chat form against the site's settings and start a new one.
pub async fn start_session(mut request: Request, env: &Env) -> Result<Response, ApiError> {
    let origin = header(&request, "Origin");
    let body: StartSession = json_body(&mut request).await?;
    if let Some(token) = body.resume_token.as_deref() {
        match resume(env, token, origin.as_deref(), Some(&body.site_key)).await {
            Ok(ids) => return session_response(env, ids, token.to_string(), origin, 200),
            Err(e)
                if matches!(
                    e.code,
                    ErrorCode::SessionNotFound | ErrorCode::SessionEnded | ErrorCode::SessionExpired
                ) => {}
            Err(e) => return Err(e),
        }
    }
    let text = Supabase::anon(env)?.rpc(widget_config::RPC, widget_config::rpc_body(&body.site_key)?).await?;
    let config = match widget_config::from_response(200, &text)? {
        WidgetState::Enabled(config) => config,
        WidgetState::Disabled { .. } => {
            return Err(ApiError::new(ErrorCode::WidgetDisabled, "this site's chat is switched off"));
        }
    };
    body.validate(&config)?;
    let token = tokens::new_session_token();
    let trimmed = |v: &Option<String>| v.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_string);
    let params = json!({
        "p_site_key": body.site_key,
        "p_token_hash": tokens::sha256_hex(&token),
        "p_name": trimmed(&body.name),
        "p_email": trimmed(&body.email),
        "p_phone": trimmed(&body.phone),
        "p_custom_fields": body.custom_fields,
        "p_ip": client_ip(&request),
        "p_user_agent": header_cut(&request, "User-Agent", limits::USER_AGENT_CHARS),
        "p_referrer": header_cut(&request, "Referer", limits::REFERRER_CHARS),
        "p_country": header(&request, "CF-IPCountry").filter(|c| c.len() == 2 && c.chars().all(|c| c.is_ascii_uppercase())),
        "p_origin": origin,
    });
    let text = Supabase::service(env)?.rpc("start_widget_session", params.to_string()).await?;
    let ids: SessionIds = parse(&text)?;
    session_response(env, ids, token, origin, 201)
}

/// `POST /v1/sessions/refresh`.
pub async fn refresh_session(mut request: Request, env: &Env) -> Result<Response, ApiError> {
    let origin = header(&request, "Origin");
    let body: RefreshSession = json_body(&mut request).await?;
    let ids = resume(env, &body.token, origin.as_deref(), None).await?;
    session_response(env, ids, body.token, origin, 200)
}

/// `POST /v1/sessions/end` (`function` `end_session`, the body may be empty) and
/// `POST /v1/sessions/rating` (`rate_session`, a rating is required): as the guest.
pub async fn rate_or_end_session(mut request: Request, env: &Env, function: &str) -> Result<Response, ApiError> {
    let (jwt, _) = guest(&request, env)?;
    let bytes = request.bytes().await.map_err(worker_error)?;
    let empty = (function == "end_session").then(EndSession::default);
    let body: EndSession = crate::body::parse(&bytes, empty)?;
    body.validate()?;
    let params = json!({ "p_rating": body.rating, "p_feedback": body.feedback });
    let text = Supabase::user(env, &jwt)?.rpc(function, params.to_string()).await?;
    json_response(&parse::<serde_json::Value>(&text)?, 200)
}

/// `POST /v1/messages`: as the guest (RLS and the SQL limits apply); 201 when created, 200 with
/// the stored row on a retry. A new message may get one automatic answer, after the response.
pub async fn post_message(mut request: Request, env: &Env, ctx: &Context) -> Result<Response, ApiError> {
    let (jwt, _) = guest(&request, env)?;
    let body: PostMessage = json_body(&mut request).await?;
    body.validate()?;
    let params = json!({ "p_client_msg_id": body.client_msg_id, "p_content": body.content });
    let text = Supabase::user(env, &jwt)?.rpc_idempotent("post_message", params.to_string()).await?;
    let message: Message = parse(&text)?;
    let created = parse::<Created>(&text)?.created;
    if created {
        let service = Supabase::service(env)?;
        let message_id = message.id;
        ctx.wait_until(async move {
            let params = json!({ "p_message_id": message_id }).to_string();
            if let Err(error) = service.rpc("answer_automatically", params).await {
                worker::console_error!("automatic answer failed: {error}");
            }
        });
    }
    json_response(&message, if created { 201 } else { 200 })
}

/// Whether `post_message` stored a new row (true) or found the retried one (false).
#[derive(serde::Deserialize)]
struct Created {
    created: bool,
}

/// `GET /v1/messages?after=<seq>&limit=<n>`: the guest's conversation after a cursor.
pub async fn list_messages(request: Request, env: &Env) -> Result<Response, ApiError> {
    let (jwt, claims) = guest(&request, env)?;
    let url = request.url().map_err(worker_error)?;
    let query = |name: &str| url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned());
    let bad = |what: &str| ApiError::new(ErrorCode::BadRequest, format!("{what} must be a non-negative integer"));
    let after: i64 = query("after").map(|v| v.parse().map_err(|_| bad("after"))).transpose()?.unwrap_or(0).max(0);
    let limit: i64 =
        query("limit").map(|v| v.parse().map_err(|_| bad("limit"))).transpose()?.unwrap_or(50).clamp(1, MAX_PAGE);
    let conversation = claims.guest.map(|g| g.conversation_id).unwrap_or_default();
    let supabase = Supabase::user(env, &jwt)?;
    let select = supabase
        .from("guest_messages")
        .select("id,seq,conversation_id,sender_type,message_type,content,metadata,client_msg_id,created_at,edited_at,read_at")
        .eq("conversation_id", conversation)
        .gt("seq", after.to_string())
        .order("seq.asc")
        .limit(limit as usize);
    let messages: Vec<Message> = parse(&supabase.send(select).await?)?;
    let next_cursor = messages.last().map(|m| m.seq).unwrap_or(after);
    json_response(&MessagePage { messages, next_cursor }, 200)
}

/// The session of a resume token, if it may continue from `origin` (and belongs to the site
/// of `site_key`, when given).
async fn resume(env: &Env, token: &str, origin: Option<&str>, site_key: Option<&str>) -> Result<SessionIds, ApiError> {
    let params = json!({ "p_token_hash": tokens::sha256_hex(token), "p_origin": origin, "p_site_key": site_key });
    parse(&Supabase::service(env)?.rpc("resume_session", params.to_string()).await?)
}

fn session_response(
    env: &Env,
    ids: SessionIds,
    token: String,
    origin: Option<String>,
    status: u16,
) -> Result<Response, ApiError> {
    json_response(&new_session(env, ids, token, origin)?, status)
}

/// The session the widget keeps: its resume token, a guest JWT bound to `origin`, and where
/// live updates come from.
pub(crate) fn new_session(
    env: &Env,
    ids: SessionIds,
    token: String,
    origin: Option<String>,
) -> Result<Session, ApiError> {
    let claims = tokens::guest_claims(&ids, now_seconds(), origin);
    let guest_jwt = crate::jwks::edge_keys(env)?
        .signing
        .sign(&claims)
        .map_err(|e| internal(format!("cannot sign guest token: {e}")))?;
    let session = Session {
        session_id: ids.session_id,
        conversation_id: ids.conversation_id,
        token,
        guest_jwt,
        expires_at: claims.exp,
        resumed: ids.resumed,
        realtime: Some(RealtimeAccess {
            url: format!("{}/realtime/v1", var(env, "SUPABASE_URL")?.trim_end_matches('/')),
            api_key: var(env, "SUPABASE_PUBLISHABLE_KEY")?,
            site_id: ids.site_id,
        }),
    };
    Ok(session)
}

/// The request's guest JWT and its verified claims.
fn guest(request: &Request, env: &Env) -> Result<(String, chat_core::Claims), ApiError> {
    let authorization = header(request, "Authorization");
    let keys = crate::jwks::edge_keys(env)?.guest_verifier();
    let (jwt, claims) = tokens::verify_guest(authorization.as_deref(), header(request, "Origin").as_deref(), &keys)?;
    Ok((jwt.to_string(), claims))
}

/// The visitor's IP address as Cloudflare reports it; a value that is not one address (only a
/// client talking to the Worker directly could send one) counts as none.
pub(crate) fn client_ip(request: &Request) -> Option<String> {
    header(request, "CF-Connecting-IP").filter(|ip| ip.parse::<std::net::IpAddr>().is_ok())
}

pub(crate) fn header(request: &Request, name: &str) -> Option<String> {
    request.headers().get(name).ok().flatten().filter(|v| !v.is_empty())
}

/// The header `name`, cut to the characters a session records of it.
pub(crate) fn header_cut(request: &Request, name: &str, chars: RangeInclusive<i64>) -> Option<String> {
    header(request, name).map(|value| value.chars().take(*chars.end() as usize).collect())
}

/// The request's body as a JSON object of type `T` (see [`crate::body`]).
pub(crate) async fn json_body<T: DeserializeOwned>(request: &mut Request) -> Result<T, ApiError> {
    let bytes = request.bytes().await.map_err(worker_error)?;
    crate::body::parse(&bytes, None)
}

/// Parse what the database API answered.
pub(crate) fn parse<T: DeserializeOwned>(text: &str) -> Result<T, ApiError> {
    serde_json::from_str(text).map_err(|e| internal(format!("unexpected answer from the database API: {e}: {text}")))
}

pub(crate) fn json_response<T: serde::Serialize>(value: &T, status: u16) -> Result<Response, ApiError> {
    Ok(Response::from_json(value).map_err(worker_error)?.with_status(status))
}

fn now_seconds() -> i64 {
    (worker::Date::now().as_millis() / 1000) as i64
}

/// A Worker runtime failure: logged, answered as internal.
pub fn worker_error(error: worker::Error) -> ApiError {
    internal(error.to_string())
}
