//! An agent answers an owed visitor message with the language model: take the message
//! (`take_owed_answer`: answered in SQL when no model is needed, else leased to this edge),
//! stream the model's answer while broadcasting drafts of it on the conversation's private
//! topic (rows the widget merges, replaced by the stored answer),
//! then store it (`store_agent_answer`, which drops it if a human took over meanwhile) or hand
//! the conversation to a person (`fail_agent_turn`) on a provider error or timeout. Runs after
//! the visitor's post has been answered, and from the minute cron for what is still owed.

use crate::http::parse;
use crate::llm::{self, Completion, Decoder, ProviderError};
use crate::supabase::{Supabase, optional_var, var};
use crate::turn::{self, Drafts, Provider, Taken, Turn};
use chat_core::ApiError;
use chat_core::api::{DRAFT_EVENT, Message};
use chat_core::limits::AGENT_LEASE_SECONDS;
use futures_util::StreamExt;
use futures_util::future::{Either, select};
use serde_json::json;
use std::time::Duration;
use uuid::Uuid;
use worker::{AbortController, AbortSignal, Date, Delay, Env, Fetch, Headers, Method, Request, RequestInit};

/// Answers the owed message `message_id` if nobody else is: in SQL (knowledge answer, handoff,
/// refusal) or with the model.
pub async fn answer(env: &Env, message_id: Uuid) -> Result<(), ApiError> {
    let service = Supabase::service(env)?;
    let deployment = deployment_provider(env);
    let params = json!({
        "p_message_id": message_id,
        "p_model": deployment.is_some(),
        "p_lease_seconds": AGENT_LEASE_SECONDS,
    });
    let taken: Taken = parse(&service.rpc("take_owed_answer", params.to_string()).await?)?;
    let Some(turn) = taken.turn else { return Ok(()) };
    let outcome = match turn::provider(&turn, deployment) {
        Some(provider) => write(env, &turn, &provider).await,
        None => Err(Failure::Error("no language model is configured".into())),
    };
    let finished = match outcome {
        Ok(completion) => {
            let params = json!({
                "p_message_id": turn.message_id,
                "p_content": completion.answer.content,
                "p_model": completion.model,
                "p_prompt_tokens": completion.answer.prompt_tokens,
                "p_completion_tokens": completion.answer.completion_tokens,
                "p_sources": turn.sources(&completion.answer.content),
                "p_handoff": completion.answer.handoff,
            });
            service.rpc_idempotent("store_agent_answer", params.to_string()).await
        }
        Err(failure) => {
            let (reason, detail) = match &failure {
                Failure::Timeout(seconds) => ("timeout", format!("no complete answer within {seconds} s")),
                Failure::Error(detail) => ("error", detail.clone()),
            };
            tracing::warn!("agent answer to {} failed ({reason}): {detail}", turn.message_id);
            let params = json!({"p_message_id": turn.message_id, "p_reason": reason, "p_error": detail});
            service.rpc_idempotent("fail_agent_turn", params.to_string()).await
        }
    };
    // The last word on the draft: the stored answer itself (whatever order the broadcasts
    // arrive in, the widget ends with it), or its removal.
    let stored = finished.as_deref().ok().and_then(|text| parse::<Stored>(text).ok()).and_then(|s| s.message);
    let last = match stored {
        Some(message) => json!({"type": DRAFT_EVENT, "record": message}),
        None => turn::draft(&turn, "", &now(), true),
    };
    broadcast(env, &turn, last).await;
    finished.map(drop)
}

/// What `store_agent_answer` answers: the answer as the visitor sees it, when it was stored.
#[derive(serde::Deserialize)]
struct Stored {
    message: Option<Message>,
}

/// Now, as RFC 3339.
fn now() -> String {
    String::from(worker::js_sys::Date::new_0().to_iso_string())
}

/// The deployment's model (`AI_BASE_URL`, with `AI_API_KEY` and `AI_MODEL` when set).
fn deployment_provider(env: &Env) -> Option<Provider> {
    let base_url = optional_var(env, "AI_BASE_URL").filter(|url| !url.trim().is_empty())?;
    let model = optional_var(env, "AI_MODEL").filter(|m| !m.trim().is_empty());
    let key = optional_var(env, "AI_API_KEY").filter(|k| !k.trim().is_empty());
    Some(Provider { base_url, model, key })
}

/// How an answer did not come.
enum Failure {
    /// Not complete within the timeout (seconds).
    Timeout(i64),
    /// The provider failed or could not be reached.
    Error(String),
}

impl From<ProviderError> for Failure {
    fn from(error: ProviderError) -> Self {
        Failure::Error(error.to_string())
    }
}

/// A finished answer and the model that wrote it.
struct Written {
    answer: Completion,
    model: String,
}

/// Streams the model's answer within the deployment's timeout, broadcasting drafts.
async fn write(env: &Env, turn: &Turn, provider: &Provider) -> Result<Written, Failure> {
    let seconds = turn::timeout_seconds(optional_var(env, "AI_TIMEOUT_SECONDS").as_deref());
    let model = turn.model(provider);
    broadcast(env, turn, turn::draft(turn, "", &now(), false)).await;
    let controller = AbortController::default();
    let streaming = Box::pin(stream(env, turn, provider, &model, controller.signal()));
    let deadline = Box::pin(Delay::from(Duration::from_secs(seconds.unsigned_abs())));
    let answer = match select(streaming, deadline).await {
        Either::Left((answer, _)) => answer,
        Either::Right(_) => Err(Failure::Timeout(seconds)),
    };
    if answer.is_err() {
        controller.abort();
    }
    Ok(Written { answer: answer?, model })
}

async fn stream(
    env: &Env,
    turn: &Turn,
    provider: &Provider,
    model: &str,
    signal: AbortSignal,
) -> Result<Completion, Failure> {
    let headers = Headers::new();
    let header = |name: &str, value: &str| headers.set(name, value).map_err(|e| Failure::Error(e.to_string()));
    header("Content-Type", "application/json")?;
    header("Accept", "text/event-stream")?;
    if let Some(key) = &provider.key {
        header("Authorization", &format!("Bearer {key}"))?;
    }
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_headers(headers).with_body(Some(turn.request(model).to_string().into()));
    let request = Request::new_with_init(&turn::endpoint(&provider.base_url), &init)
        .map_err(|e| Failure::Error(format!("the provider's address is not usable: {e}")))?;
    let mut response = Fetch::Request(request)
        .send_with_signal(&signal)
        .await
        .map_err(|e| Failure::Error(format!("the provider cannot be reached: {e}")))?;
    let status = response.status_code();
    if !(200..300).contains(&status) {
        let body = response.text().await.unwrap_or_default();
        return Err(ProviderError::Refused(status, llm::error_message(&body)).into());
    }
    let mut bytes = response.stream().map_err(|e| Failure::Error(e.to_string()))?;
    let mut decoder = Decoder::default();
    let mut drafts = Drafts::default();
    while let Some(chunk) = bytes.next().await {
        let chunk = chunk.map_err(|e| Failure::Error(format!("the provider's stream broke off: {e}")))?;
        if !decoder.feed(&chunk)?.is_empty() && drafts.due(Date::now().as_millis() as f64) {
            broadcast(env, turn, turn::draft(turn, decoder.text(), &now(), false)).await;
        }
    }
    Ok(decoder.finish()?)
}

/// Broadcasts a draft of the answer (a row change, [`DRAFT_EVENT`]) on the conversation's
/// private topic: Realtime's REST broadcast, as the service role. A lost draft costs nothing:
/// the stored answer follows.
async fn broadcast(env: &Env, turn: &Turn, payload: serde_json::Value) {
    if let Err(error) = send(env, turn, payload).await {
        tracing::warn!("a draft of the answer to {} was not broadcast: {}", turn.message_id, error.message);
    }
}

async fn send(env: &Env, turn: &Turn, payload: serde_json::Value) -> Result<(), ApiError> {
    let key = var(env, "SUPABASE_SECRET_KEY")?;
    let url = format!("{}/realtime/v1/api/broadcast", var(env, "SUPABASE_URL")?.trim_end_matches('/'));
    let body = json!({"messages": [{
        "topic": format!("conversation:{}", turn.conversation_id),
        "event": DRAFT_EVENT,
        "payload": payload,
        "private": true,
    }]});
    let failed = |e: worker::Error| crate::supabase::internal(format!("broadcast: {e}"));
    let headers = Headers::new();
    headers.set("Content-Type", "application/json").map_err(failed)?;
    headers.set("apikey", &key).map_err(failed)?;
    headers.set("Authorization", &format!("Bearer {key}")).map_err(failed)?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_headers(headers).with_body(Some(body.to_string().into()));
    let response = Fetch::Request(Request::new_with_init(&url, &init).map_err(failed)?).send().await.map_err(failed)?;
    if !(200..300).contains(&response.status_code()) {
        return Err(crate::supabase::internal(format!("broadcast answered {}", response.status_code())));
    }
    Ok(())
}
