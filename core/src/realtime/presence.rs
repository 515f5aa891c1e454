//! Presence state merged from `presence_state` and `presence_diff`, as phoenix.js does it.

use serde_json::Value;
use std::collections::BTreeMap;

/// Who is present on a channel: presence key → metas (each with its `phx_ref`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Presence {
    state: BTreeMap<String, Vec<Value>>,
    /// Diffs that arrived before the first `presence_state` of this join.
    pending: Vec<Value>,
    synced: bool,
}

impl Presence {
    /// Forgets everything (a new join is on its way).
    pub fn reset(&mut self) {
        *self = Self::default();
    }

    /// A `presence_state` payload: replaces the state, then applies the diffs held back.
    pub fn apply_state(&mut self, payload: &Value) {
        self.state.clear();
        if let Some(keys) = payload.as_object() {
            for (key, entry) in keys {
                let metas = metas(entry);
                if !metas.is_empty() {
                    self.state.insert(key.clone(), metas);
                }
            }
        }
        self.synced = true;
        for diff in std::mem::take(&mut self.pending) {
            self.apply_diff(&diff);
        }
    }

    /// A `presence_diff` payload; held back until the state has arrived.
    pub fn apply_diff(&mut self, payload: &Value) {
        if !self.synced {
            self.pending.push(payload.clone());
            return;
        }
        if let Some(joins) = payload.get("joins").and_then(Value::as_object) {
            for (key, entry) in joins {
                let joined = metas(entry);
                let refs: Vec<&Value> = joined.iter().filter_map(|m| m.get("phx_ref")).collect();
                let kept: Vec<Value> = self
                    .state
                    .get(key)
                    .map(|old| {
                        old.iter().filter(|m| !m.get("phx_ref").is_some_and(|r| refs.contains(&r))).cloned().collect()
                    })
                    .unwrap_or_default();
                self.state.insert(key.clone(), joined.into_iter().chain(kept).collect());
            }
        }
        if let Some(leaves) = payload.get("leaves").and_then(Value::as_object) {
            for (key, entry) in leaves {
                let gone: Vec<Value> = metas(entry).iter().filter_map(|m| m.get("phx_ref").cloned()).collect();
                if let Some(current) = self.state.get_mut(key) {
                    current.retain(|m| !m.get("phx_ref").is_some_and(|r| gone.contains(r)));
                    if current.is_empty() {
                        self.state.remove(key);
                    }
                }
            }
        }
    }

    /// The present keys, sorted.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.state.keys().map(String::as_str)
    }

    /// The metas under one key.
    pub fn metas(&self, key: &str) -> &[Value] {
        self.state.get(key).map(Vec::as_slice).unwrap_or_default()
    }

    /// True when nobody is present.
    pub fn is_empty(&self) -> bool {
        self.state.is_empty()
    }
}

fn metas(entry: &Value) -> Vec<Value> {
    entry.get("metas").and_then(Value::as_array).cloned().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merges_state_and_diffs_like_phoenix() {
        let mut presence = Presence::default();
        presence.apply_diff(&json!({"joins": {"b": {"metas": [{"phx_ref": "2"}]}}, "leaves": {}}));
        assert!(presence.is_empty(), "diffs wait for the state");
        presence.apply_state(&json!({"a": {"metas": [{"phx_ref": "1", "name": "Maya"}]}}));
        assert_eq!(presence.keys().collect::<Vec<_>>(), ["a", "b"]);

        presence.apply_diff(&json!({
            "joins": {"a": {"metas": [{"phx_ref": "3", "phx_ref_prev": "1", "name": "Maya (away)"}]}},
            "leaves": {"a": {"metas": [{"phx_ref": "1"}]}}
        }));
        assert_eq!(presence.metas("a"), [json!({"phx_ref": "3", "phx_ref_prev": "1", "name": "Maya (away)"})]);
        presence.apply_diff(&json!({"joins": {}, "leaves": {"b": {"metas": [{"phx_ref": "2"}]}}}));
        assert_eq!(presence.keys().collect::<Vec<_>>(), ["a"]);
        presence.reset();
        assert!(presence.is_empty());
    }
}
