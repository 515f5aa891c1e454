//! Message text for display: plain text, with web links made recognisable so the widget can
//! render them as anchors (and nothing else is ever interpreted).

/// A piece of a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Segment<'a> {
    /// Plain text, shown as is.
    Text(&'a str),
    /// An `http(s)://` link, shown as an anchor to itself.
    Link(&'a str),
}

/// Whether `c` is a control character the API refuses in text: all but tab and line breaks
/// (PostgreSQL cannot store NUL; the others have no place in a chat).
pub fn is_refused_control(c: char) -> bool {
    c.is_control() && !matches!(c, '\t' | '\n' | '\r')
}

/// `text` as a visitor may send it: without the control characters the API refuses (pasted
/// text can carry a vertical tab or a form feed; the widget drops them instead of failing).
pub fn without_controls(text: &str) -> std::borrow::Cow<'_, str> {
    without(text, is_refused_control)
}

/// `text` without the characters `drop` names, copied only when it holds one.
fn without(text: &str, drop: fn(char) -> bool) -> std::borrow::Cow<'_, str> {
    if text.contains(drop) { text.chars().filter(|&c| !drop(c)).collect::<String>().into() } else { text.into() }
}

/// Whether `c` is an explicit bidirectional formatting character: an embedding, override or
/// isolate (U+202A–U+202E, U+2066–U+2069). Stored as written, but never shown: one of them can
/// reverse the text that follows it (`…fdp.exe` shown as `…exe.pdf`).
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// `text` as it may be shown: without explicit bidirectional formatting characters (the marks
/// U+200E and U+200F stay: they reorder nothing).
pub fn displayable(text: &str) -> std::borrow::Cow<'_, str> {
    without(text, is_bidi_control)
}

/// Split `text` into plain text and `http://` / `https://` links. A link ends at whitespace;
/// trailing punctuation that usually closes a sentence is left out of it.
pub fn segments(text: &str) -> Vec<Segment<'_>> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = find_link(rest) {
        if start > 0 {
            out.push(Segment::Text(&rest[..start]));
        }
        let after = &rest[start..];
        let mut end = after.find(char::is_whitespace).unwrap_or(after.len());
        while end > 0
            && matches!(after.as_bytes()[end - 1], b'.' | b',' | b';' | b':' | b'!' | b'?' | b')' | b'\'' | b'"')
        {
            end -= 1;
        }
        let scheme_len = if after.starts_with("https://") { 8 } else { 7 };
        if end <= scheme_len {
            out.push(Segment::Text(&after[..scheme_len]));
            rest = &after[scheme_len..];
            continue;
        }
        out.push(Segment::Link(&after[..end]));
        rest = &after[end..];
    }
    if !rest.is_empty() {
        out.push(Segment::Text(rest));
    }
    out
}

/// Where the first `http://` or `https://` starts (a byte scan: no substring searcher needed).
fn find_link(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    (0..bytes.len()).find(|&i| {
        let rest = &bytes[i..];
        rest.starts_with(b"http://") || rest.starts_with(b"https://")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_controls_are_dropped_from_what_visitors_send() {
        assert_eq!(without_controls("line\u{b}one\u{c}\n\ttwo\r\u{0}\u{85}"), "lineone\n\ttwo\r");
        assert!(matches!(without_controls("plain\ntext"), std::borrow::Cow::Borrowed(_)));
    }

    #[test]
    fn direction_overrides_are_never_shown() {
        let spoof = "https://exa\u{202E}mple.com/\u{2067}fdp.exe\u{2069}";
        assert_eq!(displayable(spoof), "https://example.com/fdp.exe");
        assert_eq!(segments(&displayable(spoof)), [Segment::Link("https://example.com/fdp.exe")]);
        assert!(matches!(displayable("שלום \u{200F}world"), std::borrow::Cow::Borrowed(_)), "marks stay, no copy");
        assert!(('\u{202A}'..='\u{202E}').chain('\u{2066}'..='\u{2069}').all(is_bidi_control));
        assert!(!is_bidi_control('\u{200E}') && !is_bidi_control('a'));
    }

    #[test]
    fn links_are_found_and_punctuation_left_out() {
        assert_eq!(
            segments("See https://example.com/a?b=1. Or http://x.io!"),
            vec![
                Segment::Text("See "),
                Segment::Link("https://example.com/a?b=1"),
                Segment::Text(". Or "),
                Segment::Link("http://x.io"),
                Segment::Text("!"),
            ]
        );
    }

    #[test]
    fn markup_and_other_schemes_stay_text() {
        let hostile = "<img src=x onerror=alert(1)> javascript:alert(1) https://";
        assert_eq!(segments(hostile).iter().filter(|s| matches!(s, Segment::Link(_))).count(), 0);
        assert_eq!(
            segments(hostile)
                .iter()
                .map(|s| match s {
                    Segment::Text(t) | Segment::Link(t) => *t,
                })
                .collect::<String>(),
            hostile
        );
        assert_eq!(segments(""), vec![]);
    }
}
