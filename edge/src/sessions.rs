//! Chat sessions: start or resume (`POST /v1/sessions`), a fresh guest token
//! (`POST /v1/sessions/refresh`), the end with an optional rating (`POST /v1/sessions/end`), a
//! rating without the end (`POST /v1/sessions/rating`).

use crate::http::{client_ip, guest, header, header_cut, json_body, json_response, now_seconds, parse, worker_error};
use crate::sites;
use crate::supabase::{Supabase, internal, var};
use crate::tokens::{self, SessionIds};
use chat_core::api::{EndSession, RealtimeAccess, RefreshSession, Session, SessionOutcome, StartSession};
use chat_core::{ApiError, limits};
use serde_json::json;
use worker::{Env, Request, Response};

/// `POST /v1/sessions`: resume the session of `resume_token` if it may still be used, else
/// validate the pre-chat form against the site's settings and start a new one.
pub async fn start_session(mut request: Request, env: &Env) -> Result<Response, ApiError> {
    let origin = header(&request, "Origin");
    let body: StartSession = json_body(&mut request).await?;
    if let Some(token) = body.resume_token.as_deref() {
        match resume(env, token, origin.as_deref(), Some(&body.site_key)).await {
            Ok(ids) => return session_response(env, ids, token.to_string(), origin, 200),
            Err(e) if e.code.ends_session() => {}
            Err(e) => return Err(e),
        }
    }
    let config = sites::enabled_widget(env, &body.site_key).await?;
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

/// As the guest: `POST /v1/sessions/end` when `end` (`end_session`, the body may be empty), else
/// `POST /v1/sessions/rating` (`rate_session`, a rating is required).
pub async fn rate_or_end_session(mut request: Request, env: &Env, end: bool) -> Result<Response, ApiError> {
    let (jwt, _) = guest(&request, env)?;
    let bytes = request.bytes().await.map_err(worker_error)?;
    let function = if end { "end_session" } else { "rate_session" };
    let body: EndSession = crate::body::parse(&bytes, end.then(EndSession::default))?;
    body.validate()?;
    let params = json!({ "p_rating": body.rating, "p_feedback": body.feedback });
    let text = Supabase::user(env, &jwt)?.rpc(function, params.to_string()).await?;
    json_response(&parse::<SessionOutcome>(&text)?, 200)
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
