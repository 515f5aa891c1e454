//! The report's charts, drawn by plotters into SVG text (the console puts it in the page).
//! Each chart is 720 × 260 user units and scales with its box. Only the numbers of the rows
//! and this module's own labels reach the SVG, never text a person typed.

use crate::{CHANNELS, Days};
use chat_core::analytics::{AnswerDay, ChannelDay, HourCount, RatingCount, ResponseDay};
use plotters::coord::Shift;
use plotters::coord::ranged1d::SegmentedCoord;
use plotters::coord::types::{RangedCoordf64, RangedCoordu32};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// The size every chart is drawn at.
pub const SIZE: (u32, u32) = (720, 260);
const INK: RGBColor = RGBColor(0x33, 0x41, 0x55);
const GRID: RGBColor = RGBColor(0xe2, 0xe8, 0xf0);
const SERIES: [RGBColor; 5] = [
    RGBColor(0x4f, 0x46, 0xe5),
    RGBColor(0x0d, 0x94, 0x88),
    RGBColor(0xd9, 0x77, 0x06),
    RGBColor(0xe1, 0x1d, 0x48),
    RGBColor(0x64, 0x74, 0x8b),
];
/// Monday first, as `analytics_busiest_hours` numbers them.
const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
type Failure = Box<dyn std::error::Error>;
type Slots = SegmentedCoord<RangedCoordu32>;
type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<Slots, RangedCoordf64>>;

/// Conversations started per day, stacked by channel.
pub fn conversations(days: &Days, rows: &[ChannelDay]) -> Result<String, String> {
    let mut stacks = vec![[0u64; CHANNELS.len()]; days.len()];
    for row in rows {
        let channel = CHANNELS.iter().position(|(key, _)| *key == row.channel);
        if let (Some(day), Some(channel)) = (days.index(&row.day), channel) {
            stacks[day][channel] += row.conversations;
        }
    }
    let top = stacks.iter().map(|stack| stack.iter().sum::<u64>()).max().unwrap_or(0);
    let gap = bar_gap(days.len());
    render(|root| {
        let mut chart = slots_chart(root, days.len(), headroom(top))?;
        day_mesh(&mut chart, days, "Conversations", &whole)?;
        for (channel, (_, name)) in CHANNELS.iter().enumerate() {
            if stacks.iter().all(|stack| stack[channel] == 0) {
                continue;
            }
            let color = SERIES[channel];
            let bars = stacks.iter().enumerate().filter(|(_, stack)| stack[channel] > 0).map(|(day, stack)| {
                let below = stack[..channel].iter().sum::<u64>();
                let mut bar = Rectangle::new(
                    [(slot(day), below as f64), (slot(day + 1), (below + stack[channel]) as f64)],
                    color.filled(),
                );
                bar.set_margin(0, 0, gap, gap);
                bar
            });
            chart
                .draw_series(bars)?
                .label(*name)
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], color.filled()));
        }
        legend(&mut chart)
    })
}

/// The median and 90th percentile of the first human response, per day.
pub fn response_times(days: &Days, rows: &[ResponseDay]) -> Result<String, String> {
    let points: Vec<(usize, f64, f64)> = rows
        .iter()
        .filter_map(|row| Some((days.index(row.day.as_deref()?)?, row.p50_seconds, row.p90_seconds)))
        .collect();
    let top = points.iter().map(|(_, _, p90)| *p90).fold(0.0, f64::max);
    // In the unit that keeps the axis' numbers small and round.
    let (unit, what) = match top {
        7200.0.. => (3600.0, "First response (hours)"),
        120.0.. => (60.0, "First response (minutes)"),
        _ => (1.0, "First response (seconds)"),
    };
    render(|root| {
        let mut chart = slots_chart(root, days.len(), (top / unit * 1.15).max(5.0))?;
        day_mesh(&mut chart, days, what, &|v| if v.fract() == 0.0 { format!("{v:.0}") } else { format!("{v:.1}") })?;
        let series = [("Median (p50)", SERIES[0], 0), ("90th percentile (p90)", SERIES[2], 1)];
        for (name, color, which) in series {
            let line = points.iter().map(|&(day, p50, p90)| (center(day), if which == 0 { p50 } else { p90 } / unit));
            chart
                .draw_series(LineSeries::new(line.clone(), color.stroke_width(2)).point_size(3))?
                .label(name)
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 12, y)], color.stroke_width(2)));
        }
        legend(&mut chart)
    })
}

/// Automatic, AI and human answers per day, and the conversations handed to a human.
pub fn answers(days: &Days, rows: &[AnswerDay]) -> Result<String, String> {
    let mut daily = vec![[0u64; 4]; days.len()];
    for row in rows {
        if let Some(day) = days.index(&row.day) {
            daily[day] = [row.automatic, row.ai, row.human, row.handoffs];
        }
    }
    let top = daily.iter().flatten().copied().max().unwrap_or(0);
    let marks = if days.len() <= 31 { 3 } else { 0 };
    render(|root| {
        let mut chart = slots_chart(root, days.len(), headroom(top))?;
        day_mesh(&mut chart, days, "Answers", &whole)?;
        let series = [("Automatic", SERIES[1]), ("AI", SERIES[0]), ("Human", SERIES[2]), ("Handoffs", SERIES[3])];
        for (which, (name, color)) in series.into_iter().enumerate() {
            let line = daily.iter().enumerate().map(|(day, counts)| (center(day), counts[which] as f64));
            chart
                .draw_series(LineSeries::new(line, color.stroke_width(2)).point_size(marks))?
                .label(name)
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 12, y)], color.stroke_width(2)));
        }
        legend(&mut chart)
    })
}

/// How many conversations got each rating, 1 to 5.
pub fn satisfaction(rows: &[RatingCount]) -> Result<String, String> {
    let mut counts = [0u64; 5];
    for row in rows.iter().filter(|row| (1..=5).contains(&row.rating)) {
        counts[usize::from(row.rating) - 1] += row.conversations;
    }
    let top = counts.iter().copied().max().unwrap_or(0);
    let colors = [SERIES[3], SERIES[2], SERIES[4], SERIES[1], SERIES[0]];
    render(|root| {
        let mut chart = slots_chart(root, 5, headroom(top))?;
        let label = |v: &SegmentValue<u32>| match v {
            SegmentValue::CenterOf(i) => format!("{} ★", i + 1),
            _ => String::new(),
        };
        mesh(&mut chart, "Conversations", &label, &whole, 5)?;
        chart.draw_series(counts.iter().enumerate().map(|(i, &count)| {
            let mut bar = Rectangle::new([(slot(i), 0.0), (slot(i + 1), count as f64)], colors[i].filled());
            bar.set_margin(0, 0, 24, 24);
            bar
        }))?;
        Ok(())
    })
}

/// Conversations started per weekday and hour, darker for more, with the counts written in.
pub fn busiest_hours(rows: &[HourCount]) -> Result<String, String> {
    let mut cells = [[0u64; 24]; 7];
    for row in rows.iter().filter(|row| row.weekday < 7 && row.hour < 24) {
        cells[usize::from(row.weekday)][usize::from(row.hour)] += row.conversations;
    }
    let top = cells.iter().flatten().copied().max().unwrap_or(0).max(1);
    render(|root| {
        let mut chart = ChartBuilder::on(root)
            .margin(12)
            .x_label_area_size(28)
            .y_label_area_size(44)
            .build_cartesian_2d((0u32..23).into_segmented(), (0u32..6).into_segmented())?;
        let hour = |v: &SegmentValue<u32>| match v {
            SegmentValue::CenterOf(h) if h % 3 == 0 => format!("{h:02}h"),
            _ => String::new(),
        };
        // Monday at the top: row 6 of the chart is weekday 0.
        let weekday = |v: &SegmentValue<u32>| match v {
            SegmentValue::CenterOf(y) if *y < 7 => WEEKDAYS[6 - *y as usize].to_owned(),
            _ => String::new(),
        };
        chart
            .configure_mesh()
            .disable_mesh()
            .x_labels(24)
            .y_labels(7)
            .x_label_formatter(&hour)
            .y_label_formatter(&weekday)
            .axis_style(GRID)
            .label_style(("sans-serif", 14).into_font().color(&INK))
            .draw()?;
        let font = ("sans-serif", 13).into_font();
        for (day, hours) in cells.iter().enumerate() {
            let y = 6 - day;
            chart.draw_series(hours.iter().enumerate().map(|(h, &count)| {
                let mut cell =
                    Rectangle::new([(slot(h), slot(y)), (slot(h + 1), slot(y + 1))], heat(count, top).filled());
                cell.set_margin(1, 1, 1, 1);
                cell
            }))?;
            let ink = |count: u64| if count * 2 > top { WHITE } else { INK };
            chart.draw_series(hours.iter().enumerate().filter(|(_, count)| **count > 0).map(|(h, &count)| {
                let style = font.clone().color(&ink(count)).pos(Pos::new(HPos::Center, VPos::Center));
                Text::new(count.to_string(), (center(h), center(y)), style)
            }))?;
        }
        Ok(())
    })
}

/// Draws into an SVG document and returns its text.
fn render(draw: impl FnOnce(&Area) -> Result<(), Failure>) -> Result<String, String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE)
            .map_err(Failure::from)
            .and_then(|()| draw(&root))
            .map_err(|e| format!("The chart could not be drawn: {e}"))?;
        root.present().map_err(|e| format!("The chart could not be drawn: {e}"))?;
    }
    Ok(svg)
}

/// A chart with `slots` slots along x and values from 0 to `top` along y.
fn slots_chart<'a, 'b>(root: &'a Area<'b>, slots: usize, top: f64) -> Result<Chart<'a, 'b>, Failure> {
    // Two slots at least: plotters 0.3.7 maps every value of a one-value range to half the
    // width without its start, so one slot would be drawn zero wide (one_day_draws guards it).
    let last = (slots as u32).max(2) - 1;
    Ok(ChartBuilder::on(root)
        .margin(12)
        .x_label_area_size(32)
        .y_label_area_size(60)
        .build_cartesian_2d((0..last).into_segmented(), 0.0..top)?)
}

/// The axes of a day chart: a few day labels, y labels by `value`.
fn day_mesh(chart: &mut Chart<'_, '_>, days: &Days, what: &str, value: &dyn Fn(&f64) -> String) -> Result<(), Failure> {
    let label = |v: &SegmentValue<u32>| match v {
        SegmentValue::CenterOf(i) if (*i as usize) < days.len() => days.label(*i as usize),
        _ => String::new(),
    };
    mesh(chart, what, &label, value, days.len().min(8))
}

fn mesh(
    chart: &mut Chart<'_, '_>,
    what: &str,
    x: &dyn Fn(&SegmentValue<u32>) -> String,
    y: &dyn Fn(&f64) -> String,
    x_labels: usize,
) -> Result<(), Failure> {
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(x_labels)
        .y_labels(5)
        .x_label_formatter(x)
        .y_label_formatter(y)
        .y_desc(what)
        .light_line_style(TRANSPARENT)
        .bold_line_style(GRID)
        .axis_style(GRID)
        .label_style(("sans-serif", 14).into_font().color(&INK))
        .axis_desc_style(("sans-serif", 14).into_font().color(&INK))
        .draw()?;
    Ok(())
}

fn legend<'a, 'b: 'a>(chart: &mut Chart<'a, 'b>) -> Result<(), Failure> {
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(GRID)
        .label_font(("sans-serif", 14).into_font().color(&INK))
        .draw()?;
    Ok(())
}

/// The left edge of slot `i`.
fn slot(i: usize) -> SegmentValue<u32> {
    SegmentValue::Exact(i as u32)
}

/// The middle of slot `i`.
fn center(i: usize) -> SegmentValue<u32> {
    SegmentValue::CenterOf(i as u32)
}

/// The top of a count axis: room above the highest value, and at least a few steps.
fn headroom(top: u64) -> f64 {
    (top + top / 8 + 1).max(5) as f64
}

/// A count axis label: whole numbers only.
fn whole(value: &f64) -> String {
    if value.fract() == 0.0 { format!("{value:.0}") } else { String::new() }
}

/// Pixels between bars: none once they are too many to see gaps.
fn bar_gap(days: usize) -> u32 {
    match days {
        0..=31 => 3,
        32..=92 => 1,
        _ => 0,
    }
}

/// The heat map's colour for `count` of at most `top`: from a pale to a deep indigo.
fn heat(count: u64, top: u64) -> RGBColor {
    if count == 0 {
        return RGBColor(0xf8, 0xfa, 0xfc);
    }
    let (pale, deep) = ((0xe0, 0xe7, 0xff), (0x31, 0x2e, 0x81));
    let t = count as f64 / top as f64;
    let mix = |a: u8, b: u8| (f64::from(a) + (f64::from(b) - f64::from(a)) * t).round() as u8;
    RGBColor(mix(pale.0, deep.0), mix(pale.1, deep.1), mix(pale.2, deep.2))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(svg: &str, needle: &str) -> usize {
        svg.matches(needle).count()
    }

    /// Whether `svg` writes `label` (plotters puts a text element's content on a line of its own).
    fn writes(svg: &str, label: &str) -> bool {
        svg.contains(&format!(">\n{label}\n</text>"))
    }

    #[test]
    fn conversations_stack_one_bar_per_channel_and_day() {
        let days = Days::parse("2026-12-01", "2026-12-03").unwrap();
        let rows = [
            ChannelDay { day: "2026-12-01".into(), channel: "widget".into(), conversations: 3 },
            ChannelDay { day: "2026-12-01".into(), channel: "link".into(), conversations: 2 },
            ChannelDay { day: "2026-12-03".into(), channel: "widget".into(), conversations: 1 },
            ChannelDay { day: "2026-11-30".into(), channel: "widget".into(), conversations: 9 },
        ];
        let svg = conversations(&days, &rows).unwrap();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert_eq!(count(&svg, r##"fill="#4F46E5""##), 3, "two widget bars and the legend's swatch:\n{svg}");
        assert_eq!(count(&svg, r##"fill="#0D9488""##), 2, "one link bar and its swatch");
        for label in ["Widget", "Temporary links", "Dec 1", "Dec 3", "Conversations"] {
            assert!(writes(&svg, label), "{label} in\n{svg}");
        }
        assert!(!writes(&svg, "SMS"), "a channel without conversations has no legend entry");
    }

    #[test]
    fn one_day_draws() {
        let day = Days::parse("2026-12-02", "2026-12-02").unwrap();
        let rows = [ChannelDay { day: "2026-12-02".into(), channel: "widget".into(), conversations: 4 }];
        let svg = conversations(&day, &rows).unwrap();
        let bar = svg.lines().find(|line| line.contains(r##"fill="#4F46E5""##)).unwrap();
        let width: i32 = bar.split("width=\"").nth(1).and_then(|w| w.split('"').next()).unwrap().parse().unwrap();
        assert!(width > 100, "the day's bar is drawn: {bar}");
        assert!(writes(&svg, "Dec 2"));
    }

    #[test]
    fn empty_days_and_a_whole_year_draw() {
        let day = Days::parse("2026-12-02", "2026-12-02").unwrap();
        assert!(conversations(&day, &[]).is_ok());
        assert!(answers(&day, &[]).is_ok());
        assert!(response_times(&day, &[]).is_ok());
        let year = Days::parse("2026-01-01", "2027-01-01").unwrap();
        let rows: Vec<_> = (0..year.len())
            .map(|i| AnswerDay { day: year.day(i), automatic: i as u64, ai: 0, human: 1, handoffs: 0 })
            .collect();
        let svg = answers(&year, &rows).unwrap();
        assert!(writes(&svg, "Handoffs"));
    }

    #[test]
    fn response_times_are_drawn_in_a_round_unit() {
        let days = Days::parse("2026-12-01", "2026-12-02").unwrap();
        let rows = [
            ResponseDay { day: None, answered: 3, p50_seconds: 100.0, p90_seconds: 500.0 },
            ResponseDay { day: Some("2026-12-01".into()), answered: 3, p50_seconds: 100.0, p90_seconds: 600.0 },
        ];
        let svg = response_times(&days, &rows).unwrap();
        assert!(writes(&svg, "Median (p50)") && writes(&svg, "90th percentile (p90)"));
        assert!(writes(&svg, "First response (minutes)"), "{svg}");
        assert!(writes(&svg, "10"), "600 s is drawn as 10 minutes:\n{svg}");
        let quick = [ResponseDay { day: Some("2026-12-01".into()), answered: 1, p50_seconds: 20.0, p90_seconds: 40.0 }];
        assert!(writes(&response_times(&days, &quick).unwrap(), "First response (seconds)"));
    }

    #[test]
    fn ratings_get_a_bar_each() {
        let svg =
            satisfaction(&[RatingCount { rating: 5, conversations: 7 }, RatingCount { rating: 1, conversations: 2 }])
                .unwrap();
        for label in ["1 ★", "5 ★"] {
            assert!(writes(&svg, label), "{label} in\n{svg}");
        }
        assert_eq!(count(&svg, r##"fill="#E11D48""##), 1, "the one-star bar");
    }

    #[test]
    fn the_heat_map_writes_counts_where_conversations_started() {
        let rows = [
            HourCount { weekday: 0, hour: 9, conversations: 12 },
            HourCount { weekday: 6, hour: 23, conversations: 3 },
        ];
        let svg = busiest_hours(&rows).unwrap();
        assert!(writes(&svg, "12") && writes(&svg, "3"));
        for label in ["Mon", "Sun", "09h"] {
            assert!(writes(&svg, label), "{label} in\n{svg}");
        }
        assert_eq!(count(&svg, r##"fill="#312E81""##), 1, "the busiest hour is the darkest");
        assert_eq!(heat(0, 5), RGBColor(0xf8, 0xfa, 0xfc));
    }
}
