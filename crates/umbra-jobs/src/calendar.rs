//! systemd calendar expressions (`OnCalendar=`), parsed and evaluated.
//!
//! A job's `schedule` is written in systemd's syntax so that `umbra schedule install` can
//! hand it to a timer unchanged. `umbra daemon` (for systems without systemd) and
//! `umbra jobs` need the next due time themselves, hence this evaluator. It covers the
//! syntax people write: the shorthands (`hourly`, `daily`, `weekly`, ...), weekday lists
//! and ranges (`Mon..Fri`), `YYYY-MM-DD` / `MM-DD` dates and `HH:MM[:SS]` times whose
//! components may be `*`, lists (`1,15`), ranges (`8..18`) and repetitions (`*/15`,
//! `0/2`). What it does not cover (the last-day `~`, fractional seconds, a time zone
//! suffix) is rejected with a clear message rather than guessed at. A test compares it
//! with `systemd-analyze calendar` where that exists.

use std::fmt;

use jiff::civil::{Date, DateTime, Time};
use jiff::tz::TimeZone;
use jiff::Timestamp;

/// A parsed calendar expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Calendar {
    text: String,
    /// Bit n set: weekday n (Monday = 0) matches.
    weekdays: u8,
    year: Field,
    month: Field,
    day: Field,
    hour: Field,
    minute: Field,
    second: Field,
}

/// One component: `None` is `*`; otherwise any of the ranges (start, end, step) matches.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Field(Option<Vec<(u32, u32, u32)>>);

impl Field {
    fn any() -> Self {
        Self(None)
    }

    fn matches(&self, v: u32) -> bool {
        match &self.0 {
            None => true,
            Some(ranges) => ranges
                .iter()
                .any(|&(s, e, step)| v >= s && v <= e && (v - s).is_multiple_of(step)),
        }
    }

    /// Parses `*`, `5`, `1,15`, `8..18`, `*/15`, `0/2`, `1..9/2` for values in min..=max.
    fn parse(text: &str, min: u32, max: u32, what: &str) -> Result<Self, String> {
        if text == "*" {
            return Ok(Self::any());
        }
        let mut ranges = Vec::new();
        for part in text.split(',') {
            let (range, step) = match part.split_once('/') {
                Some((r, s)) => (r, number(s, what)?),
                None => (part, 1),
            };
            if step == 0 {
                return Err(format!("a repetition of 0 in the {what}"));
            }
            let (start, end) = if range == "*" {
                (min, max)
            } else if let Some((a, b)) = range.split_once("..") {
                (number(a, what)?, number(b, what)?)
            } else {
                let a = number(range, what)?;
                (a, if part.contains('/') { max } else { a })
            };
            if start < min || end > max || start > end {
                return Err(format!("`{part}` is outside {min}..{max} for the {what}"));
            }
            ranges.push((start, end, step));
        }
        Ok(Self(Some(ranges)))
    }
}

fn number(text: &str, what: &str) -> Result<u32, String> {
    text.parse()
        .map_err(|_| format!("`{text}` is not a number in the {what}"))
}

const WEEKDAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

fn weekday(text: &str) -> Result<u32, String> {
    let lower = text.to_ascii_lowercase();
    WEEKDAYS
        .iter()
        .position(|d| lower.len() >= 3 && d.starts_with(&lower))
        .map(|i| i as u32)
        .ok_or_else(|| format!("`{text}` is not a weekday (Mon, Tue, ... or Monday, ...)"))
}

fn parse_weekdays(text: &str) -> Result<u8, String> {
    let mut bits = 0u8;
    for part in text.split(',') {
        let (a, b) = match part.split_once("..") {
            Some((a, b)) => (weekday(a)?, weekday(b)?),
            None => {
                let d = weekday(part)?;
                (d, d)
            }
        };
        if a > b {
            return Err(format!("the weekday range `{part}` runs backwards"));
        }
        for d in a..=b {
            bits |= 1 << d;
        }
    }
    Ok(bits)
}

const SHORTHANDS: [(&str, &str); 9] = [
    ("minutely", "*-*-* *:*:00"),
    ("hourly", "*-*-* *:00:00"),
    ("daily", "*-*-* 00:00:00"),
    ("weekly", "Mon *-*-* 00:00:00"),
    ("monthly", "*-*-01 00:00:00"),
    ("yearly", "*-01-01 00:00:00"),
    ("annually", "*-01-01 00:00:00"),
    ("quarterly", "*-01,04,07,10-01 00:00:00"),
    ("semiannually", "*-01,07-01 00:00:00"),
];

/// Why an expression is not accepted, in words for the config error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarError(pub String);

impl fmt::Display for CalendarError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Calendar {
    /// Parses a systemd calendar expression.
    pub fn parse(text: &str) -> Result<Self, CalendarError> {
        Self::parse_inner(text.trim()).map_err(CalendarError)
    }

    fn parse_inner(text: &str) -> Result<Self, String> {
        let words: Vec<&str> = text.split_whitespace().collect();
        if words.is_empty() {
            return Err("the schedule is empty".into());
        }
        let lower = text.to_ascii_lowercase();
        if let Some((_, expanded)) = SHORTHANDS.iter().find(|(s, _)| *s == lower) {
            let mut c = Self::parse_inner(expanded)?;
            c.text = text.to_string();
            return Ok(c);
        }
        if let Some((s, _)) = SHORTHANDS
            .iter()
            .find(|(s, _)| words.iter().any(|w| w.eq_ignore_ascii_case(s)))
        {
            return Err(format!(
                "`{s}` stands alone in systemd's syntax and cannot be combined with a time; \
                 for a time of day write for example `*-*-* 02:30:00` (or just `02:30`)"
            ));
        }
        let mut rest = words.as_slice();
        let mut weekdays = 0x7f;
        if let Some(first) = rest.first() {
            if first
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic())
            {
                weekdays = parse_weekdays(first)?;
                rest = &rest[1..];
            }
        }
        let (mut date, mut time) = (None, None);
        for w in rest {
            if w.contains(':') && time.is_none() {
                time = Some(*w);
            } else if w.contains('-') && date.is_none() && time.is_none() {
                date = Some(*w);
            } else {
                return Err(format!(
                    "cannot read `{w}`: expected [WEEKDAYS] [YYYY-MM-DD] [HH:MM[:SS]]"
                ));
            }
        }
        if text.contains('~') {
            return Err("the last-day-of-month form `~` is not supported".into());
        }
        let (year, month, day) = match date {
            None => (Field::any(), Field::any(), Field::any()),
            Some(d) => {
                let parts: Vec<&str> = d.split('-').collect();
                let (y, m, dd) = match parts.as_slice() {
                    [y, m, dd] => (*y, *m, *dd),
                    [m, dd] => ("*", *m, *dd),
                    _ => return Err(format!("`{d}` is not a date like 2026-01-31 or *-*-01")),
                };
                (
                    Field::parse(y, 1970, 2199, "year")?,
                    Field::parse(m, 1, 12, "month")?,
                    Field::parse(dd, 1, 31, "day")?,
                )
            }
        };
        let (hour, minute, second) = match time {
            None => (
                Field::parse("0", 0, 23, "hour")?,
                Field::parse("0", 0, 59, "minute")?,
                Field::parse("0", 0, 59, "second")?,
            ),
            Some(t) => {
                if t.contains('.') {
                    return Err("fractional seconds are not supported".into());
                }
                let parts: Vec<&str> = t.split(':').collect();
                let (h, m, s) = match parts.as_slice() {
                    [h, m] => (*h, *m, "0"),
                    [h, m, s] => (*h, *m, *s),
                    _ => return Err(format!("`{t}` is not a time like 02:30 or *:0/15")),
                };
                (
                    Field::parse(h, 0, 23, "hour")?,
                    Field::parse(m, 0, 59, "minute")?,
                    Field::parse(s, 0, 59, "second")?,
                )
            }
        };
        Ok(Self {
            text: text.to_string(),
            weekdays,
            year,
            month,
            day,
            hour,
            minute,
            second,
        })
    }

    /// The expression as the user wrote it (valid for systemd's `OnCalendar=`).
    #[must_use]
    pub fn text(&self) -> &str {
        &self.text
    }

    fn date_matches(&self, d: Date) -> bool {
        let wd = d.weekday().to_monday_zero_offset() as u32;
        self.weekdays & (1 << wd) != 0
            && self.year.matches(d.year() as u32)
            && self.month.matches(d.month() as u32)
            && self.day.matches(d.day() as u32)
    }

    /// The first time strictly after `after` that the expression matches, in the local
    /// time zone; `None` if there is none within the next eight years.
    #[must_use]
    pub fn next_after(&self, after: Timestamp) -> Option<Timestamp> {
        self.next_after_in(after, &TimeZone::system())
    }

    /// Like [`Calendar::next_after`], in the time zone `tz`.
    #[must_use]
    pub fn next_after_in(&self, after: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        let start = after.to_zoned(tz.clone()).date();
        let mut day = start;
        for _ in 0..(366 * 8) {
            if self.date_matches(day) {
                for h in (0..24).filter(|h| self.hour.matches(*h)) {
                    for m in (0..60).filter(|m| self.minute.matches(*m)) {
                        for s in (0..60).filter(|s| self.second.matches(*s)) {
                            let t = Time::new(h as i8, m as i8, s as i8, 0).ok()?;
                            let ts = DateTime::from_parts(day, t)
                                .to_zoned(tz.clone())
                                .ok()?
                                .timestamp();
                            if ts > after {
                                return Some(ts);
                            }
                        }
                    }
                }
            }
            day = day.tomorrow().ok()?;
        }
        None
    }

    /// The last time at or before `now` that the expression matched, looking back at most
    /// `horizon_days` days: what a `Persistent=true` timer would catch up on.
    #[must_use]
    pub fn previous_at_or_before(&self, now: Timestamp, horizon_days: i64) -> Option<Timestamp> {
        self.previous_at_or_before_in(now, horizon_days, &TimeZone::system())
    }

    /// Like [`Calendar::previous_at_or_before`], in the time zone `tz`. Walks back day by
    /// day and, within a matching day, from the latest time down, so a schedule of every
    /// second costs no more than a daily one.
    #[must_use]
    pub fn previous_at_or_before_in(
        &self,
        now: Timestamp,
        horizon_days: i64,
        tz: &TimeZone,
    ) -> Option<Timestamp> {
        let mut day = now.to_zoned(tz.clone()).date();
        for _ in 0..=horizon_days {
            if self.date_matches(day) {
                for h in (0..24).rev().filter(|h| self.hour.matches(*h)) {
                    for m in (0..60).rev().filter(|m| self.minute.matches(*m)) {
                        for s in (0..60).rev().filter(|s| self.second.matches(*s)) {
                            let t = Time::new(h as i8, m as i8, s as i8, 0).ok()?;
                            let ts = DateTime::from_parts(day, t)
                                .to_zoned(tz.clone())
                                .ok()?
                                .timestamp();
                            if ts <= now {
                                return Some(ts);
                            }
                        }
                    }
                }
            }
            day = day.yesterday().ok()?;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().expect("timestamp")
    }

    fn next(expr: &str, from: &str) -> String {
        let c = Calendar::parse(expr).expect("valid");
        c.next_after_in(at(from), &TimeZone::UTC)
            .map(|t| t.to_string())
            .unwrap_or_default()
    }

    #[test]
    fn shorthands_and_times() {
        assert_eq!(
            next("daily", "2026-11-22T06:00:00Z"),
            "2026-11-23T00:00:00Z"
        );
        assert_eq!(
            next("02:30", "2026-11-22T06:00:00Z"),
            "2026-11-23T02:30:00Z"
        );
        assert_eq!(
            next("*-*-* 02:30:00", "2026-11-22T01:00:00Z"),
            "2026-11-22T02:30:00Z"
        );
        assert_eq!(
            next("hourly", "2026-11-22T06:00:00Z"),
            "2026-11-22T07:00:00Z"
        );
        assert_eq!(
            next("weekly", "2026-11-22T06:00:00Z"),
            "2026-11-23T00:00:00Z"
        );
        assert_eq!(
            next("monthly", "2026-11-22T06:00:00Z"),
            "2026-12-01T00:00:00Z"
        );
        assert_eq!(
            next("*:0/15", "2026-11-22T06:16:00Z"),
            "2026-11-22T06:30:00Z"
        );
        assert_eq!(
            next("*:*:0/2", "2026-11-22T06:16:01Z"),
            "2026-11-22T06:16:02Z"
        );
        assert_eq!(
            next("Mon..Fri 08:00", "2026-11-21T09:00:00Z"),
            "2026-11-23T08:00:00Z"
        );
        assert_eq!(
            next("Sat,Sun 08:00", "2026-11-23T09:00:00Z"),
            "2026-11-28T08:00:00Z"
        );
        assert_eq!(
            next("*-02-29 00:00", "2026-11-22T09:00:00Z"),
            "2028-02-29T00:00:00Z"
        );
        assert_eq!(
            next("2026-12-24 18:00", "2026-11-22T09:00:00Z"),
            "2026-12-24T18:00:00Z"
        );
    }

    #[test]
    fn mistakes_are_explained() {
        let e = Calendar::parse("daily 02:30").expect_err("invalid");
        assert!(e.0.contains("stands alone"), "{e}");
        assert!(Calendar::parse("25:00").is_err());
        assert!(Calendar::parse("Funday").is_err());
        assert!(Calendar::parse("*-*~01").is_err());
        assert!(Calendar::parse("").is_err());
    }

    fn prev(expr: &str, now: &str) -> String {
        let c = Calendar::parse(expr).expect("valid");
        c.previous_at_or_before_in(at(now), 400, &TimeZone::UTC)
            .map(|t| t.to_string())
            .unwrap_or_default()
    }

    #[test]
    fn previous_run_for_catching_up() {
        assert_eq!(
            prev("02:30", "2026-11-22T06:00:00Z"),
            "2026-11-22T02:30:00Z"
        );
        assert_eq!(
            prev("02:30", "2026-11-22T02:30:00Z"),
            "2026-11-22T02:30:00Z"
        );
        assert_eq!(
            prev("02:30", "2026-11-22T02:29:59Z"),
            "2026-11-21T02:30:00Z"
        );
        assert_eq!(
            prev("*:*:0/2", "2026-11-22T06:00:03Z"),
            "2026-11-22T06:00:02Z"
        );
        assert_eq!(
            prev("monthly", "2026-11-22T06:00:00Z"),
            "2026-11-01T00:00:00Z"
        );
        assert_eq!(
            prev("Mon 08:00", "2026-11-22T06:00:00Z"),
            "2026-11-16T08:00:00Z"
        );
        assert_eq!(prev("2020-01-01", "2026-11-22T06:00:00Z"), "");
    }
}
