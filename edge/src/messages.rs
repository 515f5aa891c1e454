//! A guest's messages: post one (`POST /v1/messages`, idempotent on `client_msg_id`) and read
//! the history (`GET /v1/messages?after=&limit=`).

use crate::http::{guest, json_body, json_response, parse, worker_error};
use crate::supabase::Supabase;
use chat_core::api::{MAX_PAGE, Message, MessagePage, PostMessage};
use chat_core::{ApiError, ErrorCode};
use serde_json::json;
use worker::{Context, Env, Request, Response};

/// `POST /v1/messages`: as the guest (RLS and the SQL limits apply); 201 when created, 200 with
/// the stored row on a retry. The message's answer, if it is still owed one, is given after
/// the response (an automatic answer, or the agent's from the language model): on a retry too,
/// in case the first try's answer failed (the minute cron answers what nobody did).
pub async fn post_message(mut request: Request, env: &Env, ctx: &Context) -> Result<Response, ApiError> {
    let (jwt, _) = guest(&request, env)?;
    let body: PostMessage = json_body(&mut request).await?;
    body.validate()?;
    let params = json!({ "p_client_msg_id": body.client_msg_id, "p_content": body.content });
    let text = Supabase::user(env, &jwt)?.rpc_idempotent("post_message", params.to_string()).await?;
    let message: Message = parse(&text)?;
    let created = parse::<Created>(&text)?.created;
    let env = env.clone();
    let message_id = message.id;
    ctx.wait_until(async move {
        if let Err(error) = crate::agent::answer(&env, message_id).await {
            tracing::warn!("the answer to {message_id} failed, left owed to the cron: {}", error.message);
        }
    });
    json_response(&message, if created { 201 } else { 200 })
}

/// `POST /v1/handoff`: the guest asks for a person; the agent stops answering and the
/// conversation joins the human queue (asking twice changes nothing).
pub async fn request_handoff(request: Request, env: &Env) -> Result<Response, ApiError> {
    let (jwt, _) = guest(&request, env)?;
    let text = Supabase::user(env, &jwt)?.rpc_idempotent("request_handoff", "{}".into()).await?;
    json_response(&parse::<serde_json::Value>(&text)?, 200)
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
