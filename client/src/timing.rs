//! When the client speaks and when it forgets: the "typing" broadcasts it sends (at most one
//! per interval while someone types, one "stopped" after), how long another's "typing" stays
//! shown without news, and when a guest token is refreshed. Times are milliseconds since the
//! epoch, given by the caller.

/// At most one "typing" broadcast per this many milliseconds while someone types.
pub const TYPING_EVERY_MS: f64 = 2_000.0;
/// Another's "typing" disappears after this long without news.
pub const TYPING_SHOWN_MS: f64 = 6_000.0;
/// A guest token is refreshed this long before it expires.
pub const REFRESH_BEFORE_MS: f64 = 120_000.0;

/// The "typing" news this side sends.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct TypingSender {
    /// When "typing" was last sent; 0 when "stopped" was (or nothing yet).
    sent_at: f64,
}

impl TypingSender {
    /// The user typed (`active`) or sent / left the field at `now`: the news to broadcast, if
    /// any (`Some(true)` typing, `Some(false)` stopped).
    pub fn input(&mut self, active: bool, now: f64) -> Option<bool> {
        if active && self.sent_at > 0.0 && now - self.sent_at < TYPING_EVERY_MS {
            return None;
        }
        if !active && self.sent_at == 0.0 {
            return None;
        }
        self.sent_at = if active { now } else { 0.0 };
        Some(active)
    }
}

/// Another's "typing", shown until news stops coming.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct TypingShown {
    until: f64,
}

impl TypingShown {
    /// News at `now`: typing (shown from now on for a while) or stopped.
    pub fn news(&mut self, active: bool, now: f64) {
        self.until = if active { now + TYPING_SHOWN_MS } else { 0.0 };
    }

    /// Whether it is shown at `now`.
    pub fn shown(&self, now: f64) -> bool {
        now < self.until
    }
}

/// Whether a token (a guest's, or the console's Auth session) expiring at `expires_at` (seconds
/// since the epoch) is refreshed at `now`.
pub fn refresh_due(expires_at: i64, now: f64) -> bool {
    (expires_at as f64) * 1000.0 - now < REFRESH_BEFORE_MS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typing_is_sent_at_most_every_two_seconds_and_stopped_once() {
        let mut sender = TypingSender::default();
        assert_eq!(sender.input(true, 1_000.0), Some(true));
        assert_eq!(sender.input(true, 2_500.0), None, "throttled");
        assert_eq!(sender.input(true, 3_000.0), Some(true));
        assert_eq!(sender.input(false, 3_100.0), Some(false));
        assert_eq!(sender.input(false, 3_200.0), None, "stopped once");
        assert_eq!(sender.input(true, 3_300.0), Some(true), "typing again is news at once");
    }

    #[test]
    fn anothers_typing_fades_without_news() {
        let mut shown = TypingShown::default();
        assert!(!shown.shown(0.0));
        shown.news(true, 10_000.0);
        assert!(shown.shown(15_999.0));
        assert!(!shown.shown(16_000.0));
        shown.news(true, 12_000.0);
        shown.news(false, 12_500.0);
        assert!(!shown.shown(12_600.0), "stopped hides it at once");
    }

    #[test]
    fn tokens_are_refreshed_two_minutes_before_they_expire() {
        let expires_at = 1_000_000;
        assert!(!refresh_due(expires_at, 1_000_000_000.0 - 120_001.0));
        assert!(refresh_due(expires_at, 1_000_000_000.0 - 119_999.0));
        assert!(refresh_due(0, 5.0), "an expired token");
    }
}
