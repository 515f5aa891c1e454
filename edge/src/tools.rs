//! The tool catalog for AI agents acting for an owner (`GET /v1/tools`) and running a tool with
//! the owner's rights (`POST /v1/tools/{name}`).

use crate::http::{json_body, json_response, owner, parse};
use crate::links::{create_link, list_links, public_base};
use crate::supabase::Supabase;
use chat_core::ApiError;
use chat_core::links::LinkStats;
use chat_core::tools::{ToolCall, catalog, parse_call};
use serde_json::{Value, json};
use worker::{Env, Request, Response};

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
            let stats: LinkStats = parse(&Supabase::user(env, &jwt)?.rpc("link_stats", params.to_string()).await?)?;
            serde_json::to_value(stats)
        }
    }
    .map_err(|e| crate::supabase::internal(e.to_string()))?;
    json_response(&json!({ "tool": name, "result": result }), 200)
}
