//! Supabase Realtime: the wire format ([`codec`]), a transport-free client ([`client`]) that
//! the widget drives over a browser WebSocket, and presence merging ([`presence`]).

pub mod client;
pub mod codec;
pub mod presence;

pub use codec::{
    BinaryBroadcast, Body, CodecError, KIND_BROADCAST, KIND_PUSH, Message, Vsn, decode_binary, decode_text,
    encode_binary, encode_text,
};

/// The payload `realtime.broadcast_changes` sends for an INSERT or UPDATE: the row as it is now
/// (other fields, such as `old_record`, are not read).
#[derive(Clone, Debug, PartialEq, serde::Deserialize)]
pub struct RowChange<T> {
    /// The row after the change.
    pub record: T,
}
