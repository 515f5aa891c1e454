//! How a call to the edge can fail, as a client sees it.

use chat_core::ApiError;

/// A call to the edge that did not succeed.
#[derive(Clone, Debug, PartialEq)]
pub enum CallError {
    /// The edge's own error, or `upstream_unavailable` when it could not be reached.
    Api(ApiError),
    /// An answer this client cannot read: client and edge are out of step, a bug that no retry
    /// mends. The caller shows [`UNREADABLE`] and logs the answer once.
    Unreadable,
}

/// What the visitor is told of an answer the client cannot read.
pub const UNREADABLE: &str = "The chat received an answer it cannot read. Please reload the page.";

impl From<ApiError> for CallError {
    fn from(error: ApiError) -> Self {
        Self::Api(error)
    }
}
