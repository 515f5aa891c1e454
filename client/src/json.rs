//! JSON decoding for the browser bundle and the Realtime client: [`from_str`] reads JSON text
//! into any `Deserialize` type, like `serde_json::from_str`, with three differences.
//!
//! - Errors say only that the text is not JSON of the expected shape ([`Error`]). serde_json
//!   builds a message for every error, and with it float parsing and float formatting (for
//!   "invalid type: floating point `1.5`"), in every type it reads; the widget never shows a
//!   decoding error to anyone, and this reader made it 13 KB (brotli) smaller than serde_json's.
//! - A struct is read only from a JSON object (serde's derive also accepts an array, and a
//!   second reader per struct comes with it; nothing we talk to writes structs as arrays).
//! - [`Raw`] borrows a value's JSON text as it is (serde_json's `RawValue` needs its reader).
//!
//! Floats are parsed only where a float is asked for (`f64` fields, `serde_json::Value`).
//! Encoding stays with `serde_json::to_string`, which formats no floats for our types.

use serde::de::{self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor};
use std::fmt;

/// Decodes `text` (one JSON value, with whitespace around it) as `T`.
pub fn from_str<'a, T: de::Deserialize<'a>>(text: &'a str) -> Result<T, Error> {
    let mut reader = Reader { text, at: 0, depth: 0 };
    let value = T::deserialize(&mut reader)?;
    if reader.peek().is_some() {
        return Err(Error);
    }
    Ok(value)
}

/// The text is not JSON, or not JSON of the shape asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Error;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("not JSON of the expected shape")
    }
}

impl std::error::Error for Error {}

/// Every helper serde calls for a specific mismatch ends here, without building a message.
impl de::Error for Error {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Error
    }

    fn invalid_type(_: de::Unexpected, _: &dyn de::Expected) -> Self {
        Error
    }

    fn invalid_value(_: de::Unexpected, _: &dyn de::Expected) -> Self {
        Error
    }

    fn invalid_length(_: usize, _: &dyn de::Expected) -> Self {
        Error
    }

    fn unknown_variant(_: &str, _: &'static [&'static str]) -> Self {
        Error
    }

    fn unknown_field(_: &str, _: &'static [&'static str]) -> Self {
        Error
    }

    fn missing_field(_: &'static str) -> Self {
        Error
    }

    fn duplicate_field(_: &'static str) -> Self {
        Error
    }
}

/// A JSON value's text, borrowed as it is in the input (read through [`from_str`] only).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Raw<'a>(&'a str);

impl<'a> Raw<'a> {
    /// The value's JSON text.
    pub fn get(self) -> &'a str {
        self.0
    }
}

/// The newtype name [`Reader`] answers with the raw text instead of a value.
const RAW: &str = "$chat_client::json::Raw";

impl<'de: 'a, 'a> de::Deserialize<'de> for Raw<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RawVisitor;
        impl<'de> Visitor<'de> for RawVisitor {
            type Value = Raw<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("raw JSON")
            }
            fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<Raw<'de>, E> {
                Ok(Raw(text))
            }
        }
        deserializer.deserialize_newtype_struct(RAW, RawVisitor)
    }
}

/// Arrays and objects nest at most this deep (deeper input would exhaust the stack).
const MAX_DEPTH: u16 = 128;

/// The reader: the text and how far it has been read.
struct Reader<'de> {
    text: &'de str,
    at: usize,
    depth: u16,
}

/// A number as written: an integer that fits 64 bits, or anything else (fraction, exponent,
/// too large), kept as text until a float is asked for.
enum Number<'de> {
    Unsigned(u64),
    Negative(i64),
    Other(&'de str),
}

type Result<T, E = Error> = std::result::Result<T, E>;

impl<'de> Reader<'de> {
    fn bytes(&self) -> &'de [u8] {
        self.text.as_bytes()
    }

    /// The next byte after whitespace, not consumed.
    fn peek(&mut self) -> Option<u8> {
        while let Some(&byte) = self.bytes().get(self.at) {
            if !matches!(byte, b' ' | b'\t' | b'\n' | b'\r') {
                return Some(byte);
            }
            self.at += 1;
        }
        None
    }

    /// Consumes `byte` (after whitespace) or fails.
    fn expect(&mut self, byte: u8) -> Result<()> {
        if self.peek() != Some(byte) {
            return Err(Error);
        }
        self.at += 1;
        Ok(())
    }

    /// Consumes `word` (`null`, `true`, `false`) at the current position or fails.
    fn keyword(&mut self, word: &str) -> Result<()> {
        if !self.bytes()[self.at..].starts_with(word.as_bytes()) {
            return Err(Error);
        }
        self.at += word.len();
        Ok(())
    }

    fn null(&mut self) -> Result<()> {
        self.keyword("null")
    }

    fn boolean(&mut self) -> Result<bool> {
        match self.peek() {
            Some(b't') => self.keyword("true").map(|()| true),
            Some(b'f') => self.keyword("false").map(|()| false),
            _ => Err(Error),
        }
    }

    /// A string: borrowed from the input when it has no escapes, else unescaped into a copy.
    fn string(&mut self) -> Result<Text<'de>> {
        self.expect(b'"')?;
        let start = self.at;
        let mut owned: Option<String> = None;
        let mut run = start;
        loop {
            let byte = *self.bytes().get(self.at).ok_or(Error)?;
            match byte {
                b'"' => {
                    let tail = &self.text[run..self.at];
                    self.at += 1;
                    return Ok(match owned {
                        None => Text::Borrowed(tail),
                        Some(mut text) => {
                            text.push_str(tail);
                            Text::Owned(text)
                        }
                    });
                }
                b'\\' => {
                    let text = owned.get_or_insert_with(String::new);
                    text.push_str(&self.text[run..self.at]);
                    self.at += 1;
                    let escaped = self.escape()?;
                    text.push(escaped);
                    run = self.at;
                }
                0..0x20 => return Err(Error),
                _ => self.at += 1,
            }
        }
    }

    /// The character of an escape (after its backslash).
    fn escape(&mut self) -> Result<char> {
        let byte = *self.bytes().get(self.at).ok_or(Error)?;
        self.at += 1;
        Ok(match byte {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let first = self.hex4()?;
                let code = match first {
                    0xD800..0xDC00 => {
                        self.keyword("\\u")?;
                        let second = self.hex4()?;
                        if !(0xDC00..0xE000).contains(&second) {
                            return Err(Error);
                        }
                        0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
                    }
                    _ => first,
                };
                char::from_u32(code).ok_or(Error)?
            }
            _ => return Err(Error),
        })
    }

    fn hex4(&mut self) -> Result<u32> {
        let digits = self.text.get(self.at..self.at + 4).ok_or(Error)?;
        if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error);
        }
        self.at += 4;
        u32::from_str_radix(digits, 16).map_err(|_| Error)
    }

    /// A number, checked against JSON's grammar.
    fn number(&mut self) -> Result<Number<'de>> {
        self.peek();
        let start = self.at;
        let negative = self.bytes().get(self.at) == Some(&b'-');
        if negative {
            self.at += 1;
        }
        let digits = self.digits();
        let integer = &self.text[self.at - digits..self.at];
        if digits == 0 || (digits > 1 && integer.starts_with('0')) {
            return Err(Error);
        }
        let mut plain = true;
        if self.bytes().get(self.at) == Some(&b'.') {
            self.at += 1;
            plain = false;
            if self.digits() == 0 {
                return Err(Error);
            }
        }
        if matches!(self.bytes().get(self.at), Some(b'e' | b'E')) {
            self.at += 1;
            plain = false;
            if matches!(self.bytes().get(self.at), Some(b'+' | b'-')) {
                self.at += 1;
            }
            if self.digits() == 0 {
                return Err(Error);
            }
        }
        let text = &self.text[start..self.at];
        let magnitude = integer.parse::<u64>().ok().filter(|_| plain);
        Ok(match magnitude {
            Some(magnitude) if !negative => Number::Unsigned(magnitude),
            Some(magnitude) if magnitude != 0 && magnitude <= 1 << 63 => {
                Number::Negative((magnitude as i64).wrapping_neg())
            }
            _ => Number::Other(text),
        })
    }

    /// Consumes ASCII digits; returns how many.
    fn digits(&mut self) -> usize {
        let start = self.at;
        while self.bytes().get(self.at).is_some_and(u8::is_ascii_digit) {
            self.at += 1;
        }
        self.at - start
    }

    /// Consumes one value of any kind.
    fn skip(&mut self) -> Result<()> {
        match self.peek().ok_or(Error)? {
            b'"' => self.string().map(drop),
            b'[' => self.nested(b'[', b']', |reader| reader.skip()),
            b'{' => self.nested(b'{', b'}', |reader| {
                reader.string()?;
                reader.expect(b':')?;
                reader.skip()
            }),
            b't' | b'f' => self.boolean().map(drop),
            b'n' => self.null(),
            _ => self.number().map(drop),
        }
    }

    /// Consumes `open`, items separated by commas (each read by `item`), then `close`.
    fn nested(&mut self, open: u8, close: u8, mut item: impl FnMut(&mut Self) -> Result<()>) -> Result<()> {
        self.enter(open)?;
        let mut first = true;
        while self.more(close, &mut first)? {
            item(self)?;
        }
        self.leave(close)
    }

    fn enter(&mut self, open: u8) -> Result<()> {
        self.expect(open)?;
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Error);
        }
        Ok(())
    }

    fn leave(&mut self, close: u8) -> Result<()> {
        self.depth -= 1;
        self.expect(close)
    }

    /// Before an item of an array or object: false at its end (`close`, not consumed), else
    /// consumes the comma that must come between items.
    fn more(&mut self, close: u8, first: &mut bool) -> Result<bool> {
        if self.peek() == Some(close) {
            return Ok(false);
        }
        if !std::mem::take(first) {
            self.expect(b',')?;
        }
        Ok(true)
    }

    /// The raw text of the next value.
    fn raw(&mut self) -> Result<&'de str> {
        self.peek();
        let start = self.at;
        self.skip()?;
        Ok(&self.text[start..self.at])
    }

    fn integer<V: Visitor<'de>>(&mut self, visitor: V) -> Result<V::Value> {
        match self.number()? {
            Number::Unsigned(value) => visitor.visit_u64(value),
            Number::Negative(value) => visitor.visit_i64(value),
            Number::Other(_) => Err(Error),
        }
    }

    fn float<V: Visitor<'de>>(&mut self, visitor: V) -> Result<V::Value> {
        let value = match self.number()? {
            Number::Unsigned(value) => value as f64,
            Number::Negative(value) => value as f64,
            Number::Other(text) => float(text)?,
        };
        visitor.visit_f64(value)
    }

    fn text<V: Visitor<'de>>(&mut self, visitor: V) -> Result<V::Value> {
        self.string()?.visit(visitor)
    }

    fn seq<V: Visitor<'de>>(&mut self, visitor: V) -> Result<V::Value> {
        self.enter(b'[')?;
        let value = visitor.visit_seq(Items { reader: self, first: true })?;
        self.leave(b']').map(|()| value)
    }

    fn map<V: Visitor<'de>>(&mut self, visitor: V) -> Result<V::Value> {
        self.enter(b'{')?;
        let value = visitor.visit_map(Items { reader: self, first: true })?;
        self.leave(b'}').map(|()| value)
    }
}

/// A number's text (JSON's grammar already checked) as a finite float.
fn float(text: &str) -> Result<f64> {
    text.parse::<f64>().ok().filter(|f| f.is_finite()).ok_or(Error)
}

/// A string as read: borrowed from the input, or unescaped.
enum Text<'de> {
    Borrowed(&'de str),
    Owned(String),
}

impl<'de> Text<'de> {
    fn visit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self {
            Self::Borrowed(text) => visitor.visit_borrowed_str(text),
            Self::Owned(text) => visitor.visit_string(text),
        }
    }
}

/// Deserializer methods that read alike: each group calls one method of [`Reader`].
macro_rules! read_with {
    ($($read:ident: $($method:ident)*;)*) => {$($(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
            self.$read(visitor)
        }
    )*)*};
}

impl<'de> Deserializer<'de> for &mut Reader<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.peek().ok_or(Error)? {
            b'n' => {
                self.null()?;
                visitor.visit_unit()
            }
            b't' | b'f' => visitor.visit_bool(self.boolean()?),
            b'"' => self.text(visitor),
            b'[' => self.seq(visitor),
            b'{' => self.map(visitor),
            _ => match self.number()? {
                Number::Unsigned(value) => visitor.visit_u64(value),
                Number::Negative(value) => visitor.visit_i64(value),
                Number::Other(text) => visitor.visit_f64(float(text)?),
            },
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_bool(self.boolean()?)
    }

    read_with! {
        integer: deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64
            deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64;
        float: deserialize_f32 deserialize_f64;
        text: deserialize_char deserialize_str deserialize_string deserialize_bytes deserialize_byte_buf
            deserialize_identifier;
        seq: deserialize_seq;
        map: deserialize_map;
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        if self.peek() == Some(b'n') {
            self.null()?;
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.peek();
        self.null()?;
        visitor.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(self, _name: &'static str, visitor: V) -> Result<V::Value> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, name: &'static str, visitor: V) -> Result<V::Value> {
        if name == RAW { visitor.visit_borrowed_str(self.raw()?) } else { visitor.visit_newtype_struct(self) }
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value> {
        self.seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value> {
        self.seq(visitor)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        self.map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        if self.peek() == Some(b'"') {
            return visitor.visit_enum(UnitVariant(self));
        }
        self.enter(b'{')?;
        let value = visitor.visit_enum(&mut *self)?;
        self.leave(b'}').map(|()| value)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.skip()?;
        visitor.visit_unit()
    }
}

/// The items of an array, or the entries of an object.
struct Items<'r, 'de> {
    reader: &'r mut Reader<'de>,
    first: bool,
}

impl<'de> SeqAccess<'de> for Items<'_, 'de> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>> {
        if !self.reader.more(b']', &mut self.first)? {
            return Ok(None);
        }
        seed.deserialize(&mut *self.reader).map(Some)
    }
}

impl<'de> MapAccess<'de> for Items<'_, 'de> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>> {
        if !self.reader.more(b'}', &mut self.first)? {
            return Ok(None);
        }
        if self.reader.peek() != Some(b'"') {
            return Err(Error);
        }
        seed.deserialize(&mut *self.reader).map(Some)
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value> {
        self.reader.expect(b':')?;
        seed.deserialize(&mut *self.reader)
    }
}

/// An enum written as `{"Variant": content}`.
impl<'de> EnumAccess<'de> for &mut Reader<'de> {
    type Error = Error;
    type Variant = Self;

    fn variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<(T::Value, Self)> {
        let variant = seed.deserialize(&mut *self)?;
        self.expect(b':')?;
        Ok((variant, self))
    }
}

impl<'de> VariantAccess<'de> for &mut Reader<'de> {
    type Error = Error;

    fn unit_variant(self) -> Result<()> {
        de::Deserialize::deserialize(self)
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value> {
        seed.deserialize(self)
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value> {
        self.seq(visitor)
    }

    fn struct_variant<V: Visitor<'de>>(self, _fields: &'static [&'static str], visitor: V) -> Result<V::Value> {
        self.map(visitor)
    }
}

/// An enum written as its variant's name: a unit variant.
struct UnitVariant<'r, 'de>(&'r mut Reader<'de>);

impl<'de> EnumAccess<'de> for UnitVariant<'_, 'de> {
    type Error = Error;
    type Variant = Self;

    fn variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<(T::Value, Self)> {
        let variant = seed.deserialize(&mut *self.0)?;
        Ok((variant, self))
    }
}

impl<'de> VariantAccess<'de> for UnitVariant<'_, 'de> {
    type Error = Error;

    fn unit_variant(self) -> Result<()> {
        Ok(())
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, _seed: T) -> Result<T::Value> {
        Err(Error)
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, _visitor: V) -> Result<V::Value> {
        Err(Error)
    }

    fn struct_variant<V: Visitor<'de>>(self, _fields: &'static [&'static str], _visitor: V) -> Result<V::Value> {
        Err(Error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::realtime::RowChange;
    use chat_core::ApiError;
    use chat_core::api::{Message, MessagePage, Session};
    use serde::de::IgnoredAny;
    use serde_json::{Value, json};
    use std::collections::BTreeMap;

    /// Whether serde_json and this reader take `text` as one JSON value. (Values are compared
    /// through typed fields, not `Value`: the workspace turns on serde_json's
    /// `arbitrary_precision`, which changes how `Value` holds numbers.)
    fn valid(text: &str) -> (bool, bool) {
        (serde_json::from_str::<IgnoredAny>(text).is_ok(), from_str::<IgnoredAny>(text).is_ok())
    }

    /// What serde_json and this reader make of `text` as a `T`.
    fn typed<T: de::DeserializeOwned>(text: &str) -> (Option<T>, Option<T>) {
        (serde_json::from_str(text).ok(), from_str(text).ok())
    }

    #[test]
    fn reads_every_kind_of_value() {
        let cases = [
            ("null", json!(null)),
            (" true ", json!(true)),
            ("false", json!(false)),
            ("0", json!(0)),
            ("-1", json!(-1)),
            ("18446744073709551615", json!(u64::MAX)),
            ("18446744073709551616", json!(18_446_744_073_709_551_616.0)),
            ("-9223372036854775808", json!(i64::MIN)),
            ("-9223372036854775809", json!(-9_223_372_036_854_775_809.0)),
            ("-0", json!(-0.0)),
            ("1.5", json!(1.5)),
            ("-2.25e3", json!(-2250.0)),
            ("1E2", json!(100.0)),
            ("1e-2", json!(0.01)),
            (r#""a\"b""#, json!("a\"b")),
            ("[]", json!([])),
            (" \t\r\n[ 1 , [2, [3]], {} ]\n", json!([1, [2, [3]], {}])),
            (r#"{"a": {"b": [true, null]}, "c": "d"}"#, json!({"a": {"b": [true, null]}, "c": "d"})),
            (r#"{"dup": 1, "dup": 2}"#, json!({"dup": 2})),
        ];
        for (text, expected) in cases {
            assert_eq!(valid(text), (true, true), "{text}");
            assert_eq!(from_str::<Value>(text).ok(), Some(expected), "{text}");
        }
        let strings = [
            r#""""#,
            r#""plain""#,
            r#""a\"b\\c\/d\be\ff\ng\rh\ti""#,
            r#""\u00e9\u4E2D""#,
            r#""\ud83d\ude00""#,
            "\"caf\u{e9} \u{1f600}\"",
        ];
        for text in strings {
            let (theirs, ours) = typed::<String>(text);
            assert!(theirs.is_some(), "serde_json reads {text}");
            assert_eq!(ours, theirs, "{text}");
        }
    }

    #[test]
    fn refuses_what_serde_json_refuses() {
        let cases = [
            "",
            " ",
            "nul",
            "nulll",
            "True",
            "01",
            "-",
            "1.",
            ".5",
            "1e",
            "1e+",
            "+1",
            "0x10",
            "1 2",
            "[1,]",
            "[,1]",
            "[1 2]",
            "{\"a\" 1}",
            "{\"a\":1,}",
            "{a:1}",
            "{1:2}",
            "[",
            "{",
            "\"open",
            "\"bad \\x\"",
            "\"\\u12\"",
            "\"\\ud83d\"",
            "\"\\ud83d\\u0041\"",
            "\"\\ude00\"",
            "\"tab\there\"",
            "\"nl\nhere\"",
            "[1]]",
            "{}x",
            "[\"a\" \"b\"]",
        ];
        for text in cases {
            assert!(serde_json::from_str::<Value>(text).is_err(), "serde_json refuses {text:?}");
            assert!(from_str::<Value>(text).is_err(), "{text:?}");
            assert!(from_str::<IgnoredAny>(text).is_err(), "{text:?}");
        }
        assert!(from_str::<f64>("1e400").is_err(), "a float out of range");
        assert!(from_str::<Value>("-1e400").is_err(), "a float out of range");
    }

    #[test]
    fn agrees_with_serde_json_on_generated_text() {
        // Random strings over JSON's alphabet: both readers accept the same ones, and read the
        // same values from them.
        let alphabet: Vec<char> = r#"{}[],:"\ u0123456789-+.eEtrufalsn"#.chars().collect();
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut accepted = 0;
        for _ in 0..20_000 {
            let len = 1 + next() % 12;
            let text: String = (0..len).map(|_| alphabet[(next() % alphabet.len() as u64) as usize]).collect();
            let (theirs, ours) = valid(&text);
            assert_eq!(ours, theirs, "{text:?}");
            accepted += usize::from(ours);
            let (theirs, ours) = typed::<(String, i64)>(&text);
            assert_eq!(ours, theirs, "{text:?}");
            let (theirs, ours) = typed::<Vec<Option<u64>>>(&text);
            assert_eq!(ours, theirs, "{text:?}");
            let (theirs, ours) = typed::<BTreeMap<String, Vec<bool>>>(&text);
            assert_eq!(ours, theirs, "{text:?}");
            let (theirs, ours) = typed::<String>(&text);
            assert_eq!(ours, theirs, "{text:?}");
        }
        assert!(accepted > 500, "the generator produced enough valid JSON ({accepted})");
    }

    #[test]
    fn reads_the_api_types_as_serde_json_does() {
        let message = r#"{"id":"6f1c2a8e-0000-4000-8000-000000000001","seq":7,
            "conversation_id":"6f1c2a8e-0000-4000-8000-000000000002","sender_type":"ai","message_type":"text",
            "content":"Hi \u00e9 <b>","metadata":{"n":1.5,"tags":["a"]},"created_at":"2026-11-22T10:00:00Z",
            "client_msg_id":null,"unknown":{"deep":[1,{"x":[]}]}}"#;
        let change = format!(r#"{{"record":{message},"old_record":null,"extra":[1,2.5,{{"x":true}}]}}"#);
        let ours: RowChange<Message> = from_str(&change).expect("an object");
        assert_eq!(ours, serde_json::from_str::<RowChange<Message>>(&change).unwrap());
        assert_eq!(ours.record.content, "Hi é <b>");
        let page = format!(r#"{{"messages":[{message},{message}],"next_cursor":7}}"#);
        assert_eq!(from_str::<MessagePage>(&page).unwrap(), serde_json::from_str::<MessagePage>(&page).unwrap());
        let error =
            r#"{"code":"validation_failed","message":"Check the form.","fields":{"email":"Bad."},"retry_after":3}"#;
        assert_eq!(from_str::<ApiError>(error).unwrap(), serde_json::from_str::<ApiError>(error).unwrap());

        assert!(serde_json::from_str::<RowChange<i64>>("[5]").is_ok(), "serde_json reads a struct from an array");
        assert!(from_str::<RowChange<i64>>("[5]").is_err(), "this reader does not");
        assert!(from_str::<RowChange<i64>>(r#"{"record":5} x"#).is_err(), "trailing characters are refused");
        assert!(from_str::<RowChange<i64>>(r#"{"record":5.0}"#).is_err(), "an integer is not a float");
        assert!(from_str::<RowChange<u8>>(r#"{"record":256}"#).is_err(), "out of range");
        assert!(from_str::<Session>(r#"{"token":"t"}"#).is_err(), "missing fields are refused");
    }

    #[test]
    fn reads_options_enums_maps_and_tuples() {
        let options: Vec<Option<u32>> = from_str("[1, null, 3]").unwrap();
        assert_eq!(options, [Some(1), None, Some(3)]);
        let map: BTreeMap<String, (i32, bool)> = from_str(r#"{"a":[-1,true],"b":[2,false]}"#).unwrap();
        assert_eq!(map["a"], (-1, true));
        assert!(from_str::<(i32, i32)>("[1,2,3]").is_err(), "a tuple has its length");

        #[derive(Debug, PartialEq, serde::Deserialize)]
        enum Shape {
            Dot,
            Circle(u32),
            Line(i32, i32),
            Box { w: u32 },
        }
        let shapes: Vec<Shape> =
            from_str(r#"["Dot",{"Circle":3},{"Line":[1,-2]},{"Box":{"w":4}},{"Dot":null}]"#).unwrap();
        assert_eq!(shapes, [Shape::Dot, Shape::Circle(3), Shape::Line(1, -2), Shape::Box { w: 4 }, Shape::Dot]);
        for bad in [r#""Circle""#, r#"{"Circle":3,"Dot":null}"#, r#""Square""#, "3"] {
            assert!(from_str::<Shape>(bad).is_err(), "{bad}");
        }
        assert_eq!(from_str::<f64>("2.5").unwrap(), 2.5);
        assert_eq!(from_str::<f64>("7").unwrap(), 7.0);
        assert_eq!(from_str::<char>(r#""\u00e9""#).unwrap(), 'é');
        from_str::<IgnoredAny>(r#"{"a":[1,{"b":"\u00e9"}]}"#).unwrap();
        assert!(from_str::<IgnoredAny>(r#"{"a":[1,]}"#).is_err());
    }

    #[test]
    fn borrows_plain_strings_and_raw_values() {
        #[derive(serde::Deserialize)]
        struct Frame<'a>(#[serde(borrow)] &'a str, #[serde(borrow)] Raw<'a>, #[serde(borrow)] Option<Raw<'a>>);
        let Frame(name, raw, none) = from_str(r#"["a", {"b": [1, "]"]} , null]"#).unwrap();
        assert_eq!((name, raw.get(), none), ("a", r#"{"b": [1, "]"]}"#, None));
        assert!(from_str::<Frame>(r#"["a\n", 1, null]"#).is_err(), "an escaped string cannot be borrowed");
        assert!(from_str::<Frame>(r#"["a", {"b": }, null]"#).is_err(), "raw text is checked");
    }

    #[test]
    fn limits_nesting() {
        let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert!(from_str::<Value>(&deep(128)).is_ok());
        assert!(from_str::<Value>(&deep(129)).is_err());
        assert!(from_str::<IgnoredAny>(&deep(100_000)).is_err(), "no stack overflow");
    }
}
