//! Presence state merged from `presence_state` and `presence_diff`, as phoenix.js does it:
//! a presence key is present while at least one of its metas (each named by its `phx_ref`) is.
//! Payloads are decoded straight from their JSON text into (key, `phx_ref`) pairs.

use super::client::Payload;
use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};

/// (presence key, `phx_ref`) of every meta in a `{key: {"metas": [...]}}` object.
#[derive(Default)]
struct Refs(Vec<(String, String)>);

#[derive(Deserialize)]
struct Entry {
    #[serde(default)]
    metas: Vec<MetaRef>,
}

#[derive(Deserialize)]
struct MetaRef {
    phx_ref: String,
}

impl<'de> Deserialize<'de> for Refs {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RefsVisitor;
        impl<'de> Visitor<'de> for RefsVisitor {
            type Value = Refs;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("presence entries")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Refs, A::Error> {
                let mut refs = Vec::new();
                while let Some((key, entry)) = map.next_entry::<String, Entry>()? {
                    refs.extend(entry.metas.into_iter().map(|meta| (key.clone(), meta.phx_ref)));
                }
                Ok(Refs(refs))
            }
        }
        deserializer.deserialize_map(RefsVisitor)
    }
}

/// A `presence_diff` payload.
#[derive(Default, Deserialize)]
struct Diff {
    #[serde(default)]
    joins: Refs,
    #[serde(default)]
    leaves: Refs,
}

/// Who is present on a channel.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Presence {
    /// (presence key, `phx_ref`) of every meta present.
    metas: Vec<(String, String)>,
    /// Diffs that arrived before the first `presence_state` of this join.
    pending: Vec<Payload>,
    synced: bool,
}

impl Presence {
    /// Forgets everything (a new join is on its way).
    pub fn reset(&mut self) {
        *self = Self::default();
    }

    /// A `presence_state` payload: replaces the state, then applies the diffs held back.
    pub fn apply_state(&mut self, payload: &Payload) {
        self.metas = payload.decode::<Refs>().unwrap_or_default().0;
        self.synced = true;
        for diff in std::mem::take(&mut self.pending) {
            self.apply_diff(&diff);
        }
    }

    /// A `presence_diff` payload; held back until the state has arrived.
    pub fn apply_diff(&mut self, payload: &Payload) {
        if !self.synced {
            self.pending.push(payload.clone());
            return;
        }
        let Diff { joins, leaves } = payload.decode().unwrap_or_default();
        let listed = |refs: &Refs, meta: &(String, String)| refs.0.iter().any(|listed| listed.1 == meta.1);
        self.metas.retain(|meta| !listed(&joins, meta));
        self.metas.extend(joins.0);
        self.metas.retain(|meta| !listed(&leaves, meta));
    }

    /// The present keys, sorted, each once.
    pub fn keys(&self) -> Vec<&str> {
        let mut keys: Vec<&str> = self.metas.iter().map(|(key, _)| key.as_str()).collect();
        keys.sort_unstable();
        keys.dedup();
        keys
    }

    /// True when nobody is present.
    pub fn is_empty(&self) -> bool {
        self.metas.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn payload(value: Value) -> Payload {
        Payload::new(value.to_string())
    }

    #[test]
    fn merges_state_and_diffs_like_phoenix() {
        let mut presence = Presence::default();
        presence.apply_diff(&payload(json!({"joins": {"b": {"metas": [{"phx_ref": "2"}]}}, "leaves": {}})));
        assert!(presence.is_empty(), "diffs wait for the state");
        presence.apply_state(&payload(json!({"a": {"metas": [{"phx_ref": "1", "name": "Maya"}]}})));
        assert_eq!(presence.keys(), ["a", "b"]);

        presence.apply_diff(&payload(json!({
            "joins": {"a": {"metas": [{"phx_ref": "3", "phx_ref_prev": "1", "name": "Maya (away)"}]}},
            "leaves": {"a": {"metas": [{"phx_ref": "1"}]}}
        })));
        assert_eq!(presence.keys(), ["a", "b"]);
        presence.apply_diff(&payload(json!({"joins": {}, "leaves": {"b": {"metas": [{"phx_ref": "2"}]}}})));
        assert_eq!(presence.keys(), ["a"]);
        presence.apply_diff(&payload(json!({"leaves": {"a": {"metas": [{"phx_ref": "3"}]}}})));
        assert!(presence.is_empty(), "a key whose last meta left is gone");
        presence.apply_state(&payload(json!({"z": {"metas": [{"phx_ref": "9"}]}, "c": {"metas": []}})));
        assert_eq!(presence.keys(), ["z"], "the state replaces everything; keys without metas are absent");
        presence.apply_diff(&payload(json!({"joins": {"z": {"metas": [{"phx_ref": "10"}]}}})));
        presence.apply_diff(&payload(json!({"leaves": {"z": {"metas": [{"phx_ref": "9"}]}}})));
        assert_eq!(presence.keys(), ["z"], "present while one of its metas is");
        presence.reset();
        assert!(presence.is_empty());
    }
}
