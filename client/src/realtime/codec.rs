//! The Realtime wire format (Phoenix Channels over WebSocket), shared by the local
//! Realtime server and the widget's client.
//!
//! Two serializers exist. vsn 1.0.0: every frame is a JSON object
//! `{topic, event, payload, ref, join_ref}` and the server never writes `join_ref`. vsn 2.0.0:
//! text frames are JSON arrays `[join_ref, ref, topic, event, payload]`, and broadcasts travel
//! as binary frames: kind 3 from the client (`push`), kind 4 from the server.

use serde_json::Value;

/// The serializer a socket negotiated with the `vsn` query parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Vsn {
    /// JSON objects; the default when `vsn` is absent.
    V1,
    /// JSON arrays plus binary broadcasts (what realtime-js ≥ 2.91 speaks).
    V2,
}

impl Vsn {
    /// Reads the `vsn` query parameter; `None` for an unsupported version.
    pub fn parse(value: Option<&str>) -> Option<Self> {
        match value {
            None | Some("1.0.0") => Some(Self::V1),
            Some("2.0.0") => Some(Self::V2),
            Some(_) => None,
        }
    }
}

/// One text frame: a channel event with its JSON payload.
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    /// The `ref` of the join that created the channel instance.
    pub join_ref: Option<String>,
    /// Unique per push; a reply echoes it.
    pub reference: Option<String>,
    /// `phoenix` or `realtime:<sub-topic>`.
    pub topic: String,
    /// `phx_join`, `broadcast`, `presence_diff`...
    pub event: String,
    /// The event's payload.
    pub payload: Value,
}

impl Message {
    /// A message without refs (fan-out: broadcasts, presence diffs, row changes).
    pub fn new(topic: impl Into<String>, event: impl Into<String>, payload: Value) -> Self {
        Self { join_ref: None, reference: None, topic: topic.into(), event: event.into(), payload }
    }

    /// A message with both refs set.
    pub fn with_refs(mut self, join_ref: Option<String>, reference: Option<String>) -> Self {
        self.join_ref = join_ref;
        self.reference = reference;
        self
    }
}

/// The user payload of a binary broadcast.
#[derive(Clone, Debug, PartialEq)]
pub enum Body {
    /// JSON text (encoding byte 1), kept as text so relaying does not re-serialize it.
    Json(String),
    /// Raw bytes (encoding byte 0); never delivered to vsn 1.0.0 sockets.
    Binary(Vec<u8>),
}

impl Body {
    /// The body as a JSON value, or `None` when it is raw bytes.
    pub fn to_json(&self) -> Option<Value> {
        match self {
            Self::Json(text) => serde_json::from_str(text).ok(),
            Self::Binary(_) => None,
        }
    }

    /// Size in bytes, for payload limits.
    pub fn len(&self) -> usize {
        match self {
            Self::Json(text) => text.len(),
            Self::Binary(bytes) => bytes.len(),
        }
    }

    /// True when the body holds no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A broadcast in binary form: kind 3 (client push, with refs) or kind 4 (server fan-out).
#[derive(Clone, Debug, PartialEq)]
pub struct BinaryBroadcast {
    /// Present on kind 3 only.
    pub join_ref: Option<String>,
    /// Present on kind 3 only.
    pub reference: Option<String>,
    /// `realtime:<sub-topic>`.
    pub topic: String,
    /// The user event name (`typing`, `INSERT`...).
    pub event: String,
    /// Metadata as JSON text (`{"id": ...}` for database broadcasts), or none.
    pub meta: Option<String>,
    /// The user payload.
    pub body: Body,
}

impl BinaryBroadcast {
    /// The same broadcast as the JSON payload of a text `broadcast` frame.
    pub fn to_text_payload(&self) -> Option<Value> {
        let mut payload = serde_json::json!({
            "type": "broadcast",
            "event": self.event,
            "payload": self.body.to_json()?,
        });
        if let Some(meta) = &self.meta {
            payload["meta"] = serde_json::from_str(meta).ok()?;
        }
        Some(payload)
    }
}

/// Why a frame could not be read or written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CodecError {
    /// Not valid JSON, or not the shape the serializer expects.
    Malformed(&'static str),
    /// A binary kind this side does not accept.
    UnknownKind(u8),
    /// A string over 255 bytes cannot be written in a binary header.
    FieldTooLong,
}

impl std::fmt::Display for CodecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Malformed(what) => write!(f, "malformed frame: {what}"),
            Self::UnknownKind(kind) => write!(f, "unknown binary frame kind {kind}"),
            Self::FieldTooLong => f.write_str("a binary frame field is longer than 255 bytes"),
        }
    }
}

impl std::error::Error for CodecError {}

/// Client-to-server broadcast push.
pub const KIND_PUSH: u8 = 3;
/// Server-to-client broadcast.
pub const KIND_BROADCAST: u8 = 4;

/// Reads a text frame.
pub fn decode_text(vsn: Vsn, text: &str) -> Result<Message, CodecError> {
    let value: Value = serde_json::from_str(text).map_err(|_| CodecError::Malformed("not JSON"))?;
    match vsn {
        Vsn::V2 => {
            let Value::Array(mut parts) = value else {
                return Err(CodecError::Malformed("expected [join_ref, ref, topic, event, payload]"));
            };
            if parts.len() != 5 {
                return Err(CodecError::Malformed("expected five elements"));
            }
            let payload = parts.pop().unwrap_or(Value::Null);
            let event = string(parts.pop()).ok_or(CodecError::Malformed("event must be a string"))?;
            let topic = string(parts.pop()).ok_or(CodecError::Malformed("topic must be a string"))?;
            let reference = string(parts.pop());
            let join_ref = string(parts.pop());
            Ok(Message { join_ref, reference, topic, event, payload })
        }
        Vsn::V1 => {
            let Value::Object(mut fields) = value else {
                return Err(CodecError::Malformed("expected a JSON object"));
            };
            let topic = string(fields.remove("topic")).ok_or(CodecError::Malformed("topic must be a string"))?;
            let event = string(fields.remove("event")).ok_or(CodecError::Malformed("event must be a string"))?;
            Ok(Message {
                join_ref: string(fields.remove("join_ref")),
                reference: string(fields.remove("ref")),
                topic,
                event,
                payload: fields.remove("payload").unwrap_or(Value::Null),
            })
        }
    }
}

/// Writes a text frame. A vsn 1.0.0 frame carries no `join_ref`, as the Phoenix server writes it
/// (a client may send one: pass `with_join_ref`).
pub fn encode_text(vsn: Vsn, message: &Message, with_join_ref: bool) -> String {
    let value = match vsn {
        Vsn::V2 => {
            serde_json::json!([message.join_ref, message.reference, message.topic, message.event, message.payload])
        }
        Vsn::V1 => {
            let mut object = serde_json::json!({
                "topic": message.topic,
                "event": message.event,
                "payload": message.payload,
                "ref": message.reference,
            });
            if with_join_ref {
                object["join_ref"] = serde_json::json!(message.join_ref);
            }
            object
        }
    };
    value.to_string()
}

/// Reads a binary frame of kind 3 or 4.
pub fn decode_binary(bytes: &[u8]) -> Result<BinaryBroadcast, CodecError> {
    let mut reader = Reader { bytes, at: 0 };
    let kind = reader.byte()?;
    let (join_ref, reference) = match kind {
        KIND_PUSH => {
            let lengths = [reader.byte()?, reader.byte()?];
            (Some(lengths[0]), Some(lengths[1]))
        }
        KIND_BROADCAST => (None, None),
        other => return Err(CodecError::UnknownKind(other)),
    };
    let (topic_len, event_len, meta_len, encoding) = (reader.byte()?, reader.byte()?, reader.byte()?, reader.byte()?);
    let join_ref = join_ref.map(|len| reader.text(len)).transpose()?;
    let reference = reference.map(|len| reader.text(len)).transpose()?;
    let topic = reader.text(topic_len)?;
    let event = reader.text(event_len)?;
    let meta = reader.text(meta_len)?;
    let meta = if meta.is_empty() {
        None
    } else {
        check_json(&meta).map_err(|_| CodecError::Malformed("meta is not JSON"))?;
        Some(meta)
    };
    let rest = &bytes[reader.at..];
    let body = match encoding {
        0 => Body::Binary(rest.to_vec()),
        1 => {
            let text = std::str::from_utf8(rest).map_err(|_| CodecError::Malformed("payload is not UTF-8"))?;
            check_json(text).map_err(|_| CodecError::Malformed("payload is not JSON"))?;
            Body::Json(text.to_owned())
        }
        _ => return Err(CodecError::Malformed("unknown payload encoding")),
    };
    let non_empty = |value: String| Some(value).filter(|value| !value.is_empty());
    Ok(BinaryBroadcast {
        join_ref: join_ref.and_then(non_empty),
        reference: reference.and_then(non_empty),
        topic,
        event,
        meta,
        body,
    })
}

/// Writes a binary broadcast: kind 3 when `push` (client side), else kind 4.
pub fn encode_binary(broadcast: &BinaryBroadcast, push: bool) -> Result<Vec<u8>, CodecError> {
    let meta = broadcast.meta.as_deref().unwrap_or_default();
    let join_ref = broadcast.join_ref.as_deref().unwrap_or_default();
    let reference = broadcast.reference.as_deref().unwrap_or_default();
    let mut fields: Vec<&[u8]> = Vec::with_capacity(5);
    if push {
        fields.extend([join_ref.as_bytes(), reference.as_bytes()]);
    }
    fields.extend([broadcast.topic.as_bytes(), broadcast.event.as_bytes(), meta.as_bytes()]);
    let (encoding, payload) = match &broadcast.body {
        Body::Json(text) => (1, text.as_bytes()),
        Body::Binary(bytes) => (0, bytes.as_slice()),
    };
    let mut out = Vec::with_capacity(8 + fields.iter().map(|f| f.len()).sum::<usize>() + payload.len());
    out.push(if push { KIND_PUSH } else { KIND_BROADCAST });
    for field in &fields {
        out.push(u8::try_from(field.len()).map_err(|_| CodecError::FieldTooLong)?);
    }
    out.push(encoding);
    for field in fields {
        out.extend_from_slice(field);
    }
    out.extend_from_slice(payload);
    Ok(out)
}

/// Fails unless `text` is one JSON value.
fn check_json(text: &str) -> Result<(), crate::json::Error> {
    crate::json::from_str::<serde::de::IgnoredAny>(text).map(|_| ())
}

fn string(value: Option<Value>) -> Option<String> {
    match value {
        Some(Value::String(text)) => Some(text),
        _ => None,
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Result<u8, CodecError> {
        let byte = *self.bytes.get(self.at).ok_or(CodecError::Malformed("frame too short"))?;
        self.at += 1;
        Ok(byte)
    }

    fn text(&mut self, len: u8) -> Result<String, CodecError> {
        let end = self.at + usize::from(len);
        let slice = self.bytes.get(self.at..end).ok_or(CodecError::Malformed("frame too short"))?;
        self.at = end;
        String::from_utf8(slice.to_vec()).map_err(|_| CodecError::Malformed("header field is not UTF-8"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_the_kind_3_frame_realtime_js_sends() {
        let mut frame = vec![3, 1, 1, 14, 6, 0, 1];
        frame.extend_from_slice(b"12realtime:room1typing");
        frame.extend_from_slice(br#"{"user_id":"u1","typing":true}"#);
        let broadcast = decode_binary(&frame).unwrap();
        assert_eq!(broadcast.join_ref.as_deref(), Some("1"));
        assert_eq!(broadcast.reference.as_deref(), Some("2"));
        assert_eq!(broadcast.topic, "realtime:room1");
        assert_eq!(broadcast.event, "typing");
        assert_eq!(broadcast.meta, None);
        assert_eq!(broadcast.body.to_json(), Some(json!({"user_id": "u1", "typing": true})));
        assert_eq!(encode_binary(&broadcast, true).unwrap(), frame);
    }

    #[test]
    fn kind_4_round_trips_with_meta_and_raw_bytes() {
        let broadcast = BinaryBroadcast {
            join_ref: None,
            reference: None,
            topic: "realtime:conversation:1".into(),
            event: "INSERT".into(),
            meta: Some(r#"{"id":"9f1c"}"#.into()),
            body: Body::Binary(vec![0, 159, 255]),
        };
        let bytes = encode_binary(&broadcast, false).unwrap();
        assert_eq!(&bytes[..5], &[4, 23, 6, 13, 0]);
        assert_eq!(decode_binary(&bytes).unwrap(), broadcast);
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        assert_eq!(decode_binary(&[9, 0]), Err(CodecError::UnknownKind(9)));
        assert!(matches!(decode_binary(&[4, 5, 0, 0, 1, b'a']), Err(CodecError::Malformed(_))));
        assert!(matches!(decode_binary(b"\x04\x01\x01\x00\x01ab{"), Err(CodecError::Malformed(_))));
        let long = BinaryBroadcast {
            join_ref: None,
            reference: None,
            topic: "t".repeat(256),
            event: "e".into(),
            meta: None,
            body: Body::Json("{}".into()),
        };
        assert_eq!(encode_binary(&long, false), Err(CodecError::FieldTooLong));
    }

    #[test]
    fn text_frames_in_both_serializers() {
        let v2 = r#"["3","3","realtime:room:42","phx_join",{"config":{}}]"#;
        let message = decode_text(Vsn::V2, v2).unwrap();
        assert_eq!(message.join_ref.as_deref(), Some("3"));
        assert_eq!(message.event, "phx_join");
        assert_eq!(encode_text(Vsn::V2, &message, true), v2);

        let v1 = r#"{"topic":"phoenix","event":"heartbeat","payload":{},"ref":"7","join_ref":null}"#;
        let message = decode_text(Vsn::V1, v1).unwrap();
        assert_eq!((message.reference.as_deref(), message.join_ref.as_deref()), (Some("7"), None));
        let written: Value = serde_json::from_str(&encode_text(Vsn::V1, &message, false)).unwrap();
        assert_eq!(written, json!({"topic": "phoenix", "event": "heartbeat", "payload": {}, "ref": "7"}));

        assert!(decode_text(Vsn::V2, r#"{"topic":"x"}"#).is_err());
        assert!(decode_text(Vsn::V2, r#"[null,null,1,"e",{}]"#).is_err());
        assert!(decode_text(Vsn::V1, r#"["a"]"#).is_err());
    }

    #[test]
    fn binary_broadcast_as_text_payload() {
        let broadcast = BinaryBroadcast {
            join_ref: None,
            reference: None,
            topic: "realtime:a".into(),
            event: "typing".into(),
            meta: Some(r#"{"id":"x"}"#.into()),
            body: Body::Json(r#"{"on":true}"#.into()),
        };
        assert_eq!(
            broadcast.to_text_payload(),
            Some(json!({"type": "broadcast", "event": "typing", "payload": {"on": true}, "meta": {"id": "x"}}))
        );
        let raw = BinaryBroadcast { body: Body::Binary(vec![1]), ..broadcast };
        assert_eq!(raw.to_text_payload(), None);
    }
}
