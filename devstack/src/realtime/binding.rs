//! postgres_changes subscriptions as a channel's join asks for them: the event, schema, table
//! and filter of each binding, parsed and matched as Supabase Realtime does. The hub keeps them
//! per member; the change delivery reads them.

use serde_json::Value;

/// Most values an `in` filter may list.
pub const MAX_IN_VALUES: usize = 100;

/// A comparison of a postgres_changes filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `=`
    Eq,
    /// `<>`
    Neq,
    /// `<`
    Lt,
    /// `<=`
    Lte,
    /// `>`
    Gt,
    /// `>=`
    Gte,
    /// `= any(...)`
    In,
}

impl Op {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "eq" => Self::Eq,
            "neq" => Self::Neq,
            "lt" => Self::Lt,
            "lte" => Self::Lte,
            "gt" => Self::Gt,
            "gte" => Self::Gte,
            "in" => Self::In,
            _ => return None,
        })
    }

    /// The SQL operator.
    pub fn sql(self) -> &'static str {
        match self {
            Self::Eq | Self::In => "=",
            Self::Neq => "<>",
            Self::Lt => "<",
            Self::Lte => "<=",
            Self::Gt => ">",
            Self::Gte => ">=",
        }
    }
}

/// `column=op.value`; for `in`, the value is a Postgres array literal `{a,b}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Filter {
    /// The column compared.
    pub column: String,
    /// The comparison.
    pub op: Op,
    /// The value, cast to the column's type in SQL.
    pub value: String,
}

/// Reads a filter; the error is the `system` message Realtime sends.
pub fn parse_filter(filter: &str) -> Result<Option<Filter>, String> {
    let filter = filter.trim();
    if filter.is_empty() {
        return Ok(None);
    }
    let refuse = |parts: &[&str]| format!("Error parsing `filter` params: {parts:?}");
    let Some((column, rest)) = filter.split_once('=') else {
        return Err(refuse(&[filter]));
    };
    let Some((op_name, value)) = rest.split_once('.') else {
        return Err(refuse(&[column, rest]));
    };
    let op = Op::parse(op_name).ok_or_else(|| refuse(&[column, op_name, value]))?;
    let value = if op == Op::In {
        let list = value
            .strip_prefix('(')
            .and_then(|v| v.strip_suffix(')'))
            .ok_or_else(|| refuse(&[column, op_name, value]))?;
        let values: Vec<&str> = list.split(',').map(str::trim).collect();
        if values.len() > MAX_IN_VALUES {
            return Err(format!("Error parsing `filter` params: an `in` filter takes at most {MAX_IN_VALUES} values"));
        }
        let quoted: Vec<String> =
            values.iter().map(|v| format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))).collect();
        format!("{{{}}}", quoted.join(","))
    } else {
        value.to_owned()
    };
    Ok(Some(Filter { column: column.trim().to_owned(), op, value }))
}

/// One postgres_changes subscription of a channel.
#[derive(Clone, Debug)]
pub struct Binding {
    /// The id sent in the join reply and in every matching change's `ids`.
    pub id: u32,
    /// `INSERT`, `UPDATE`, `DELETE` or `*`.
    pub event: String,
    /// Schema name or `*`.
    pub schema: String,
    /// Table name; `None` for every table of the schema.
    pub table: Option<String>,
    /// The parsed filter.
    pub filter: Option<Filter>,
}

impl Binding {
    /// Reads one `postgres_changes` entry of a join; the error is a `system` message.
    pub fn parse(entry: &Value) -> Result<Self, String> {
        let field = |name: &str| entry.get(name).and_then(Value::as_str).map(str::to_owned);
        let event = field("event").map(|e| e.to_uppercase()).unwrap_or_else(|| "*".into());
        let event = if ["INSERT", "UPDATE", "DELETE"].contains(&event.as_str()) { event } else { "*".into() };
        let schema = field("schema").unwrap_or_else(|| "public".into());
        let table = field("table").filter(|t| t != "*");
        let filter = parse_filter(&field("filter").unwrap_or_default())?;
        Ok(Self { id: binding_id(entry), event, schema, table, filter })
    }

    /// Whether a change of `schema.table` by `operation` is one this binding asks for.
    pub fn matches(&self, schema: &str, table: &str, operation: &str) -> bool {
        (self.event == "*" || self.event == operation)
            && (self.schema == "*" || self.schema == schema)
            && self.table.as_deref().is_none_or(|t| t == table)
    }
}

/// A stable integer id for an entry (Realtime uses a hash of the entry, below 2^27).
fn binding_id(entry: &Value) -> u32 {
    let text = entry.to_string();
    let hash = text.bytes().fold(0x811c_9dc5u32, |hash, byte| (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193));
    hash & 0x07ff_ffff
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn filters_parse_like_realtime() {
        let filter = parse_filter("room_id=eq.42").unwrap().unwrap();
        assert_eq!((filter.column.as_str(), filter.op, filter.value.as_str()), ("room_id", Op::Eq, "42"));
        let within = parse_filter("status=in.(open, \"a\\\"b\")").unwrap().unwrap();
        assert_eq!((within.op, within.value.as_str()), (Op::In, r#"{"open","\"a\\\"b\""}"#));
        assert_eq!(parse_filter("  ").unwrap(), None);
        assert_eq!(
            parse_filter("room_id=foo.hey").unwrap_err(),
            r#"Error parsing `filter` params: ["room_id", "foo", "hey"]"#
        );
        assert!(parse_filter("status=in.open").is_err());
        assert!(parse_filter("nothing").is_err());
        let many = format!("id=in.({})", vec!["1"; 101].join(","));
        assert!(parse_filter(&many).is_err());
    }

    #[test]
    fn bindings_match_events_and_tables() {
        let entry = json!({"event": "insert", "schema": "public", "table": "messages", "filter": "seq=gt.5"});
        let binding = Binding::parse(&entry).unwrap();
        assert_eq!(binding.id, Binding::parse(&entry).unwrap().id);
        assert!(binding.id < 1 << 27);
        assert!(binding.matches("public", "messages", "INSERT"));
        assert!(!binding.matches("public", "messages", "UPDATE"));
        assert!(!binding.matches("public", "conversations", "INSERT"));
        let all = Binding::parse(&json!({"event": "*", "schema": "public"})).unwrap();
        assert!(all.matches("public", "anything", "DELETE"));
        let unknown_event = Binding::parse(&json!({"event": "TRUNCATE", "schema": "public"})).unwrap();
        assert_eq!(unknown_event.event, "*");
    }
}
