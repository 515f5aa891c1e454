//! Shared model of the chat platform.
//!
//! Everything that crosses a boundary (database row ↔ edge ↔ widget ↔ dev stack) is
//! defined here once: API bodies, error codes and JWT claims. The crate compiles for
//! `wasm32-unknown-unknown` and natively.

#[cfg(feature = "console")]
pub mod ai;
#[cfg(feature = "console")]
pub mod analytics;
pub mod api;
pub mod claims;
pub mod error;
pub mod inbox;
#[cfg(feature = "jwt")]
pub mod keys;
#[cfg(feature = "console")]
pub mod knowledge;
pub mod limits;
pub mod links;
#[cfg(feature = "console")]
pub mod settings;
#[cfg(feature = "console")]
pub mod team;
pub mod text;
pub mod tools;
pub mod widget;

pub use claims::{Claims, GuestScope, Role};
pub use error::{ApiError, ErrorCode};
pub use widget::{ColorScheme, Position, Theme, WidgetConfig, WidgetState};
