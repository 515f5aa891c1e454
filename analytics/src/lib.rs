//! The owners' analytics report drawn: charts as SVG text (rendered with plotters), its totals
//! and its CSV files, all from the rows of the `analytics_*` functions
//! ([`chat_core::analytics`]). Nothing here does I/O; the console fetches and shows.

pub mod charts;
pub mod days;
pub mod export;
pub mod totals;

pub use days::Days;
pub use totals::Totals;

/// The channels a conversation starts through, in the order charts stack them, with names
/// for people.
pub const CHANNELS: [(&str, &str); 5] =
    [("widget", "Widget"), ("link", "Temporary links"), ("sms", "SMS"), ("email", "Email"), ("api", "API")];

/// A number of seconds as people read a wait: `45s`, `3m 20s`, `2h 5m`.
pub fn duration(seconds: f64) -> String {
    let seconds = seconds.max(0.0).round() as u64;
    match seconds {
        0..60 => format!("{seconds}s"),
        60..3600 if seconds.is_multiple_of(60) => format!("{}m", seconds / 60),
        60..3600 => format!("{}m {}s", seconds / 60, seconds % 60),
        _ if seconds % 3600 < 60 => format!("{}h", seconds / 3600),
        _ => format!("{}h {}m", seconds / 3600, seconds % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::duration;

    #[test]
    fn durations_read_as_waits() {
        assert_eq!(duration(0.0), "0s");
        assert_eq!(duration(44.6), "45s");
        assert_eq!(duration(60.0), "1m");
        assert_eq!(duration(200.0), "3m 20s");
        assert_eq!(duration(7200.0), "2h");
        assert_eq!(duration(7500.0), "2h 5m");
        assert_eq!(duration(-3.0), "0s");
    }
}
