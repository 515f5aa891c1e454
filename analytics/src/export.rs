//! The report as CSV files (RFC 4180), one row per day and one per operator.

use crate::{CHANNELS, Days};
use chat_core::analytics::{OperatorRow, Report};

/// One row per day of `days`: conversations per channel, first human response (median and
/// 90th percentile, seconds), automatic, AI and human answers, handoffs. Days without
/// conversations are rows of zeros; a percentile without answered conversations is empty.
pub fn daily_csv(days: &Days, report: &Report) -> String {
    let mut out = String::from("day");
    for (channel, _) in CHANNELS {
        out.push_str(&format!(",{channel}_conversations"));
    }
    out.push_str(",first_response_p50_seconds,first_response_p90_seconds,automatic_answers,ai_answers,human_answers,handoffs\r\n");
    for index in 0..days.len() {
        let day = days.day(index);
        out.push_str(&day);
        for (channel, _) in CHANNELS {
            let count = report
                .conversations
                .iter()
                .filter(|row| row.day == day && row.channel == channel)
                .map(|row| row.conversations)
                .sum::<u64>();
            out.push_str(&format!(",{count}"));
        }
        let times = report.response_times.iter().find(|row| row.day.as_deref() == Some(day.as_str()));
        let seconds = |value: Option<f64>| value.map(|s| format!("{}", s.round())).unwrap_or_default();
        let answers = report.answers.iter().find(|row| row.day == day);
        out.push_str(&format!(
            ",{},{},{},{},{},{}\r\n",
            seconds(times.map(|t| t.p50_seconds)),
            seconds(times.map(|t| t.p90_seconds)),
            answers.map_or(0, |a| a.automatic),
            answers.map_or(0, |a| a.ai),
            answers.map_or(0, |a| a.human),
            answers.map_or(0, |a| a.handoffs),
        ));
    }
    out
}

/// One row per operator, as the table shows them.
pub fn operators_csv(rows: &[OperatorRow]) -> String {
    let mut out = String::from(
        "operator,user_id,messages_sent,conversations_handled,avg_response_seconds,idle_incidents,rated_conversations,average_rating\r\n",
    );
    for row in rows {
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{}\r\n",
            field(row.display_name.as_deref().unwrap_or("")),
            row.user_id,
            row.messages_sent,
            row.conversations_handled,
            row.avg_response_seconds.map(|s| s.to_string()).unwrap_or_default(),
            row.idle_incidents,
            row.rated,
            row.average_rating.map(|r| format!("{r:.2}")).unwrap_or_default(),
        ));
    }
    out
}

/// A text field: quoted when it holds a separator, a quote or a line break, and kept from
/// being read as a formula by spreadsheets (a leading `=`, `+`, `-`, `@`, tab or carriage
/// return gets a `'` before it, as OWASP advises against CSV injection).
fn field(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{text}") } else { text.to_owned() };
    if text.contains([',', '"', '\n', '\r']) { format!("\"{}\"", text.replace('"', "\"\"")) } else { text }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chat_core::analytics::{AnswerDay, ChannelDay, ResponseDay};

    #[test]
    fn every_day_has_a_row_and_missing_days_are_zeros() {
        let days = Days::parse("2026-12-01", "2026-12-03").unwrap();
        let report = Report {
            conversations: vec![
                ChannelDay { day: "2026-12-01".into(), channel: "widget".into(), conversations: 3 },
                ChannelDay { day: "2026-12-01".into(), channel: "sms".into(), conversations: 1 },
                ChannelDay { day: "2026-12-03".into(), channel: "link".into(), conversations: 2 },
            ],
            response_times: vec![
                ResponseDay { day: None, answered: 3, p50_seconds: 61.0, p90_seconds: 100.0 },
                ResponseDay { day: Some("2026-12-01".into()), answered: 3, p50_seconds: 60.4, p90_seconds: 99.6 },
            ],
            answers: vec![AnswerDay { day: "2026-12-03".into(), automatic: 1, ai: 2, human: 3, handoffs: 1 }],
            ..Report::default()
        };
        assert_eq!(
            daily_csv(&days, &report),
            "day,widget_conversations,link_conversations,sms_conversations,email_conversations,api_conversations,\
             first_response_p50_seconds,first_response_p90_seconds,automatic_answers,ai_answers,human_answers,handoffs\r\n\
             2026-12-01,3,0,1,0,0,60,100,0,0,0,0\r\n\
             2026-12-02,0,0,0,0,0,,,0,0,0,0\r\n\
             2026-12-03,0,2,0,0,0,,,1,2,3,1\r\n"
        );
    }

    #[test]
    fn operator_names_are_quoted_and_never_formulas() {
        let row = |name: &str| OperatorRow {
            user_id: Default::default(),
            display_name: Some(name.into()),
            messages_sent: 4,
            conversations_handled: 2,
            avg_response_seconds: Some(30),
            idle_incidents: 0,
            rated: 1,
            average_rating: Some(4.5),
        };
        let csv = operators_csv(&[row("Olivia"), row("Doe, \"Jo\""), row("=HYPERLINK(\"x\")")]);
        let lines: Vec<&str> = csv.split("\r\n").collect();
        assert_eq!(lines[1], "Olivia,00000000-0000-0000-0000-000000000000,4,2,30,0,1,4.50");
        assert!(lines[2].starts_with("\"Doe, \"\"Jo\"\"\","), "{}", lines[2]);
        assert!(lines[3].starts_with("\"'=HYPERLINK(\"\"x\"\")\","), "{}", lines[3]);
        assert_eq!(lines.len(), 5, "three rows, a header and the final line break");
    }
}
