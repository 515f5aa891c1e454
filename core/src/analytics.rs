//! A site's analytics report: the rows of the `analytics_*(site, from, to)` functions, which
//! count the conversations started from `from` to `to` (days in the site's time zone, both
//! included) and, for the operators' table, the stats the triggers keep per UTC day.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The arguments every `analytics_*` function takes.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Range {
    /// The site.
    pub p_site_id: Uuid,
    /// The first day, `YYYY-MM-DD`.
    pub p_from: String,
    /// The last day, `YYYY-MM-DD`.
    pub p_to: String,
}

/// `analytics_conversations`: conversations started on a day through a channel.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct ChannelDay {
    /// The day, `YYYY-MM-DD`.
    pub day: String,
    /// `widget`, `link`, `sms`, `email` or `api`.
    pub channel: String,
    /// How many started.
    pub conversations: u64,
}

/// `analytics_response_times`: the first human reply of the conversations started on a day,
/// or in the whole range.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct ResponseDay {
    /// The day, `YYYY-MM-DD`; none for the whole range (the first row).
    pub day: Option<String>,
    /// Conversations a human answered.
    pub answered: u64,
    /// Median seconds from the start to the first human reply.
    pub p50_seconds: f64,
    /// 90th percentile of the same.
    pub p90_seconds: f64,
}

/// `analytics_satisfaction`: how many conversations got a rating.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct RatingCount {
    /// 1 to 5.
    pub rating: u8,
    /// How many conversations got it.
    pub conversations: u64,
}

/// `analytics_answers`: who answered in the conversations started on a day.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct AnswerDay {
    /// The day, `YYYY-MM-DD`.
    pub day: String,
    /// Knowledge answers and away messages.
    pub automatic: u64,
    /// Answers a language model wrote.
    pub ai: u64,
    /// Operators' replies.
    pub human: u64,
    /// Conversations a human took over after an automatic or AI answer.
    pub handoffs: u64,
}

/// `analytics_busiest_hours`: conversations started in one hour of the week.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct HourCount {
    /// 0 = Monday … 6 = Sunday.
    pub weekday: u8,
    /// 0 to 23, in the site's time zone.
    pub hour: u8,
    /// How many started.
    pub conversations: u64,
}

/// `analytics_operators`: one operator's row of the table.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct OperatorRow {
    /// The operator.
    pub user_id: Uuid,
    /// Their name on the site, if they have one.
    pub display_name: Option<String>,
    /// Messages they sent.
    pub messages_sent: u64,
    /// Conversations assigned to them.
    pub conversations_handled: u64,
    /// Their average response time, when they answered a waiting customer.
    pub avg_response_seconds: Option<u64>,
    /// Times a conversation was taken from them for idling.
    pub idle_incidents: u64,
    /// Their conversations that were rated.
    pub rated: u64,
    /// The average of those ratings.
    pub average_rating: Option<f64>,
}

/// Everything the analytics page shows for one range: `analytics_report(site, from, to)`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct Report {
    /// The time zone the days and hours are in (the site's).
    pub time_zone: String,
    /// Conversations per day and channel.
    pub conversations: Vec<ChannelDay>,
    /// First human response times per day.
    pub response_times: Vec<ResponseDay>,
    /// Ratings given.
    pub satisfaction: Vec<RatingCount>,
    /// Answers by kind per day.
    pub answers: Vec<AnswerDay>,
    /// Conversations per weekday and hour.
    pub busiest_hours: Vec<HourCount>,
    /// The operators' table.
    pub operators: Vec<OperatorRow>,
}
