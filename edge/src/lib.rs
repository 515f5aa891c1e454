//! Edge functions: the JSON API (`/v1/...`) the widget talks to, run by Cloudflare Workers.
//!
//! Modules without Worker types ([`body`], [`keys`], [`routes`], [`refusal`], [`tokens`], [`widget_config`]) are plain
//! Rust, tested natively; [`worker_entry`] wires them to the runtime.

pub mod body;
pub mod keys;
pub mod refusal;
pub mod routes;
pub mod tokens;
pub mod widget_config;

#[cfg(target_arch = "wasm32")]
mod handlers;
#[cfg(target_arch = "wasm32")]
mod jwks;
#[cfg(target_arch = "wasm32")]
mod links;
#[cfg(target_arch = "wasm32")]
mod supabase;
#[cfg(target_arch = "wasm32")]
mod worker_entry;
