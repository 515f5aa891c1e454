//! The days a report covers: the range picked, its day axis, and the ranges offered.

use chat_core::limits::ANALYTICS_RANGE_DAYS;
use chrono::{Datelike, Days as Step, NaiveDate};

/// From `from` to `to`, both included, within [`ANALYTICS_RANGE_DAYS`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Days {
    from: NaiveDate,
    to: NaiveDate,
}

/// The quick ranges the page offers: (label, days ending today).
pub const PRESETS: [(&str, u64); 4] =
    [("Last 7 days", 7), ("Last 30 days", 30), ("Last 90 days", 90), ("Last 12 months", 365)];

impl Days {
    /// The range, or why it is not one a report can cover.
    pub fn new(from: NaiveDate, to: NaiveDate) -> Result<Days, String> {
        let count = (to - from).num_days() + 1;
        if count < *ANALYTICS_RANGE_DAYS.start() {
            return Err("The last day must be on or after the first day.".into());
        }
        if count > *ANALYTICS_RANGE_DAYS.end() {
            return Err(format!(
                "A report covers at most {} days: choose a shorter range.",
                ANALYTICS_RANGE_DAYS.end()
            ));
        }
        Ok(Days { from, to })
    }

    /// [`Days::new`] of two `YYYY-MM-DD` dates (as a date input gives them).
    pub fn parse(from: &str, to: &str) -> Result<Days, String> {
        let date = |text: &str| {
            NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| format!("{text:?} is not a date (YYYY-MM-DD)."))
        };
        Days::new(date(from)?, date(to)?)
    }

    /// The `count` days that end with `today`.
    pub fn ending(today: NaiveDate, count: u64) -> Days {
        let count = count.clamp(1, *ANALYTICS_RANGE_DAYS.end() as u64);
        Days { from: today - Step::new(count - 1), to: today }
    }

    /// The first day, `YYYY-MM-DD`.
    pub fn from(&self) -> String {
        self.from.format("%Y-%m-%d").to_string()
    }

    /// The last day, `YYYY-MM-DD`.
    pub fn to(&self) -> String {
        self.to.format("%Y-%m-%d").to_string()
    }

    /// How many days.
    pub fn len(&self) -> usize {
        (self.to - self.from).num_days() as usize + 1
    }

    /// Never: a range has at least one day.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Where a `YYYY-MM-DD` day falls on the axis, if inside the range.
    pub fn index(&self, day: &str) -> Option<usize> {
        let day = NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()?;
        (self.from <= day && day <= self.to).then(|| (day - self.from).num_days() as usize)
    }

    /// The day at `index`, `YYYY-MM-DD`.
    pub fn day(&self, index: usize) -> String {
        (self.from + Step::new(index as u64)).format("%Y-%m-%d").to_string()
    }

    /// A short label for the day at `index`: `Nov 3`, or `Jan 1 2027` when the year changes.
    pub fn label(&self, index: usize) -> String {
        let day = self.from + Step::new(index as u64);
        if day.year() != self.to.year() || (day.month() == 1 && day.day() == 1 && index > 0) {
            day.format("%b %-d %Y").to_string()
        } else {
            day.format("%b %-d").to_string()
        }
    }

    /// `from` … `to` as a sentence.
    pub fn describe(&self) -> String {
        if self.from == self.to {
            self.from.format("%B %-d, %Y").to_string()
        } else {
            format!("{} to {}", self.from.format("%B %-d, %Y"), self.to.format("%B %-d, %Y"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn a_range_has_one_to_366_days() {
        assert!(Days::parse("2026-12-02", "2026-12-02").is_ok());
        assert_eq!(
            Days::parse("2026-12-02", "2026-12-01").unwrap_err(),
            "The last day must be on or after the first day."
        );
        assert!(Days::parse("2026-01-01", "2027-01-01").is_ok(), "366 days");
        assert!(Days::parse("2026-01-01", "2027-01-02").unwrap_err().contains("at most 366 days"));
        assert!(Days::parse("2026-02-30", "2026-03-01").unwrap_err().contains("not a date"));
    }

    #[test]
    fn days_are_placed_on_the_axis() {
        let days = Days::ending(date("2026-03-01"), 3);
        assert_eq!((days.from(), days.to(), days.len()), ("2026-02-27".into(), "2026-03-01".into(), 3));
        assert_eq!(days.index("2026-02-27"), Some(0));
        assert_eq!(days.index("2026-03-01"), Some(2));
        assert_eq!(days.index("2026-03-02"), None);
        assert_eq!(days.day(1), "2026-02-28");
        assert_eq!(days.label(1), "Feb 28");
        assert_eq!(days.describe(), "February 27, 2026 to March 1, 2026");
        let turn = Days::parse("2026-12-31", "2027-01-01").unwrap();
        assert_eq!((turn.label(0), turn.label(1)), ("Dec 31 2026".into(), "Jan 1 2027".into()));
        assert_eq!(Days::ending(date("2026-03-01"), 1000).len(), 366);
    }
}
