//! The figures above the charts: each chart's rows summed over the range.

use chat_core::analytics::Report;

/// A report's totals.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Totals {
    /// Conversations started.
    pub conversations: u64,
    /// Conversations a human answered.
    pub answered: u64,
    /// Median seconds to the first human reply, over the range.
    pub p50_seconds: Option<f64>,
    /// 90th percentile of the same.
    pub p90_seconds: Option<f64>,
    /// Conversations rated.
    pub rated: u64,
    /// Their average rating.
    pub average_rating: Option<f64>,
    /// Knowledge answers and away messages.
    pub automatic: u64,
    /// Answers a language model wrote.
    pub ai: u64,
    /// Operators' replies.
    pub human: u64,
    /// Conversations handed to a human after an automatic or AI answer.
    pub handoffs: u64,
}

impl Totals {
    /// The totals of `report`.
    pub fn of(report: &Report) -> Totals {
        let overall = report.response_times.iter().find(|row| row.day.is_none());
        let rated = report.satisfaction.iter().map(|row| row.conversations).sum::<u64>();
        let points = report.satisfaction.iter().map(|row| u64::from(row.rating) * row.conversations).sum::<u64>();
        Totals {
            conversations: report.conversations.iter().map(|row| row.conversations).sum(),
            answered: overall.map_or(0, |row| row.answered),
            p50_seconds: overall.map(|row| row.p50_seconds),
            p90_seconds: overall.map(|row| row.p90_seconds),
            rated,
            average_rating: (rated > 0).then(|| points as f64 / rated as f64),
            automatic: report.answers.iter().map(|row| row.automatic).sum(),
            ai: report.answers.iter().map(|row| row.ai).sum(),
            human: report.answers.iter().map(|row| row.human).sum(),
            handoffs: report.answers.iter().map(|row| row.handoffs).sum(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chat_core::analytics::{AnswerDay, ChannelDay, RatingCount, ResponseDay};

    #[test]
    fn totals_sum_the_rows_and_take_the_range_row_of_response_times() {
        let report = Report {
            conversations: vec![
                ChannelDay { day: "2026-12-01".into(), channel: "widget".into(), conversations: 3 },
                ChannelDay { day: "2026-12-02".into(), channel: "link".into(), conversations: 2 },
            ],
            response_times: vec![
                ResponseDay { day: None, answered: 4, p50_seconds: 90.0, p90_seconds: 300.0 },
                ResponseDay { day: Some("2026-12-01".into()), answered: 4, p50_seconds: 1.0, p90_seconds: 2.0 },
            ],
            satisfaction: vec![
                RatingCount { rating: 5, conversations: 2 },
                RatingCount { rating: 2, conversations: 1 },
            ],
            answers: vec![
                AnswerDay { day: "2026-12-01".into(), automatic: 2, ai: 1, human: 5, handoffs: 1 },
                AnswerDay { day: "2026-12-02".into(), automatic: 1, ai: 0, human: 0, handoffs: 0 },
            ],
            ..Report::default()
        };
        let totals = Totals::of(&report);
        assert_eq!(totals.conversations, 5);
        assert_eq!((totals.answered, totals.p50_seconds, totals.p90_seconds), (4, Some(90.0), Some(300.0)));
        assert_eq!((totals.rated, totals.average_rating), (3, Some(4.0)));
        assert_eq!((totals.automatic, totals.ai, totals.human, totals.handoffs), (3, 1, 5, 1));
        assert_eq!(Totals::of(&Report::default()).average_rating, None);
    }
}
