//! Edge functions: the JSON API (`/v1/...`) the widget talks to, run by Cloudflare Workers.
//!
//! Modules without Worker types ([`body`], [`keys`], [`llm`], [`prompt`], [`routes`],
//! [`cleanup`], [`tokens`], [`turn`], [`widget_config`]) are plain Rust, tested natively. The rest runs in the Worker: one module
//! per resource (`sites`, `sessions`, `messages`, `links`, `link_sessions`, `tools`, `console`), what their
//! handlers share (`http`), the database API (`supabase`), the owners' keys (`jwks`), and
//! `worker_entry`, which wires them to the runtime.

pub mod body;
pub mod cleanup;
pub mod keys;
pub mod llm;
pub mod prompt;
pub mod routes;
pub mod tokens;
pub mod turn;
pub mod widget_config;

#[cfg(target_arch = "wasm32")]
mod agent;
#[cfg(target_arch = "wasm32")]
mod console;
#[cfg(target_arch = "wasm32")]
mod http;
#[cfg(target_arch = "wasm32")]
mod jwks;
#[cfg(target_arch = "wasm32")]
mod link_sessions;
#[cfg(target_arch = "wasm32")]
mod links;
#[cfg(target_arch = "wasm32")]
mod messages;
#[cfg(target_arch = "wasm32")]
mod sessions;
#[cfg(target_arch = "wasm32")]
mod sites;
#[cfg(target_arch = "wasm32")]
mod supabase;
#[cfg(target_arch = "wasm32")]
mod tools;
#[cfg(target_arch = "wasm32")]
mod worker_entry;
