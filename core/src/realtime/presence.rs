//! Presence state merged from `presence_state` and `presence_diff`, as phoenix.js does it.
//!
//! Payloads are decoded into typed keys and metas straight from their JSON text; a meta keeps
//! the JSON its tracker sent, for whoever wants more than its `phx_ref`.

use super::client::Payload;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

/// One tracked presence: its `phx_ref` and the JSON it was tracked with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Meta {
    phx_ref: Option<String>,
    json: String,
}

impl Meta {
    /// The server's reference of this presence.
    pub fn phx_ref(&self) -> Option<&str> {
        self.phx_ref.as_deref()
    }

    /// The whole meta (the tracked payload plus the server's refs) as `T`.
    pub fn decode<T: de::DeserializeOwned>(&self) -> Option<T> {
        serde_json::from_str(&self.json).ok()
    }
}

impl<'de> Deserialize<'de> for Meta {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Ref {
            phx_ref: Option<String>,
        }
        let raw = <&RawValue>::deserialize(deserializer)?;
        let Ref { phx_ref } = serde_json::from_str(raw.get()).map_err(|_| de::Error::custom("a meta is an object"))?;
        Ok(Self { phx_ref, json: raw.get().to_owned() })
    }
}

/// `{"metas": [...]}` under a presence key.
#[derive(Deserialize)]
struct Entry {
    #[serde(default)]
    metas: Vec<Meta>,
}

/// A JSON object read into its entries, in the order sent.
struct Entries<V>(Vec<(String, V)>);

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Entries<V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Entries<V>(std::marker::PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for Entries<V> {
            type Value = Vec<(String, V)>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(entries)
            }
        }
        deserializer.deserialize_map(Entries(std::marker::PhantomData)).map(Self)
    }
}

impl<V> Default for Entries<V> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

/// A `presence_diff` payload.
#[derive(Default, Deserialize)]
struct Diff {
    #[serde(default)]
    joins: Entries<Entry>,
    #[serde(default)]
    leaves: Entries<Entry>,
}

/// Who is present on a channel: presence key → metas, keys sorted.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Presence {
    state: Vec<(String, Vec<Meta>)>,
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
        self.state.clear();
        for (key, entry) in payload.decode::<Entries<Entry>>().unwrap_or_default().0 {
            self.set(key, entry.metas);
        }
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
        let diff = payload.decode::<Diff>().unwrap_or_default();
        for (key, entry) in diff.joins.0 {
            let refs: Vec<&str> = entry.metas.iter().filter_map(Meta::phx_ref).collect();
            let kept = self.metas(&key).iter().filter(|m| !m.phx_ref().is_some_and(|r| refs.contains(&r))).cloned();
            let metas = entry.metas.iter().cloned().chain(kept).collect();
            self.set(key, metas);
        }
        for (key, entry) in diff.leaves.0 {
            let gone: Vec<&str> = entry.metas.iter().filter_map(Meta::phx_ref).collect();
            let kept = self.metas(&key).iter().filter(|m| !m.phx_ref().is_some_and(|r| gone.contains(&r))).cloned();
            let metas = kept.collect();
            self.set(key, metas);
        }
    }

    /// The present keys, sorted.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.state.iter().map(|(key, _)| key.as_str())
    }

    /// The metas under one key.
    pub fn metas(&self, key: &str) -> &[Meta] {
        self.find(key).map_or(&[], |i| &self.state[i].1)
    }

    /// True when nobody is present.
    pub fn is_empty(&self) -> bool {
        self.state.is_empty()
    }

    fn find(&self, key: &str) -> Result<usize, usize> {
        self.state.binary_search_by(|(k, _)| k.as_str().cmp(key))
    }

    /// Sets the metas of `key`; a key without metas is gone.
    fn set(&mut self, key: String, metas: Vec<Meta>) {
        match (self.find(&key), metas.is_empty()) {
            (Ok(i), true) => {
                self.state.remove(i);
            }
            (Ok(i), false) => self.state[i].1 = metas,
            (Err(_), true) => {}
            (Err(i), false) => self.state.insert(i, (key, metas)),
        }
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
        assert_eq!(presence.keys().collect::<Vec<_>>(), ["a", "b"]);

        presence.apply_diff(&payload(json!({
            "joins": {"a": {"metas": [{"phx_ref": "3", "phx_ref_prev": "1", "name": "Maya (away)"}]}},
            "leaves": {"a": {"metas": [{"phx_ref": "1"}]}}
        })));
        let metas = presence.metas("a");
        assert_eq!(metas.len(), 1);
        assert_eq!(metas[0].phx_ref(), Some("3"));
        assert_eq!(
            metas[0].decode::<Value>(),
            Some(json!({"phx_ref": "3", "phx_ref_prev": "1", "name": "Maya (away)"}))
        );
        presence.apply_diff(&payload(json!({"joins": {}, "leaves": {"b": {"metas": [{"phx_ref": "2"}]}}})));
        assert_eq!(presence.keys().collect::<Vec<_>>(), ["a"]);
        presence.apply_diff(&payload(json!({"leaves": {"a": {"metas": [{"phx_ref": "3"}]}}})));
        assert!(presence.is_empty(), "a key whose last meta left is gone");
        presence.apply_state(&payload(json!({"z": {"metas": [{"phx_ref": "9"}]}, "c": {"metas": []}})));
        assert_eq!(presence.keys().collect::<Vec<_>>(), ["z"], "the state replaces everything; empty keys are absent");
        presence.reset();
        assert!(presence.is_empty());
    }
}
