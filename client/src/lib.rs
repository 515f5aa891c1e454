//! The chat client's logic as plain data and functions, without I/O: what the widget (and the
//! operator console) keep while chatting, and the decisions they take, tested natively. The
//! caller owns the clock, the randomness and the network, and passes in what they gave.
//!
//! - [`auth`]: Supabase Auth's grants, the signed-in session and its refusals (the console).
//! - [`call`]: how a call to the edge can fail.
//! - [`refusal`]: PostgREST's answers as API errors (the edge and the console).
//! - [`outbox`]: messages written but not confirmed, their delivery states and the retry policy.
//! - [`history`]: the confirmed messages merged from pages, answers and live rows, the cursor.
//! - [`realtime`]: the Supabase Realtime protocol (its wire format, shared with the devstack's
//!   server), a transport-free client and presence.
//! - [`timing`]: typing news sent and shown, and when a guest token is refreshed.
//! - [`storage`]: what a chat keeps across reloads.
//! - [`json`]: the size-lean JSON reader of the browser bundle.

pub mod auth;
pub mod call;
pub mod history;
pub mod json;
pub mod outbox;
pub mod realtime;
pub mod refusal;
pub mod storage;
pub mod timing;
