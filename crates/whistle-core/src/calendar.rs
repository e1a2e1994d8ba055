//! The working-day calendar (工作日) and deadline arithmetic.
//!
//! A date is a working day when it is a make-up working day (调休上班), or a Monday–Friday that is
//! not an official holiday. Years with loaded State Council data use it; any other year falls back
//! to the plain weekday rule and the result says so, so the caller can show a visible warning.

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use crate::error::DomainError;
use crate::time::{beijing_local, from_beijing, Timestamp};

/// How a date is marked in the loaded data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DayMark {
    /// 法定节假日: an official day off (weekends inside the block included).
    Holiday,
    /// 调休上班: a weekend day that is an official working day.
    MakeupWorkday,
}

/// One loaded year: its marked days and where the data came from.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CalendarYear {
    pub year: i32,
    pub source: String,
    /// Marked dates with the holiday's name (元旦, 春节, 国庆节 …).
    pub days: BTreeMap<NaiveDate, (DayMark, String)>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WorkCalendar {
    years: BTreeMap<i32, CalendarYear>,
}

/// A time limit (时限): clock hours or working days.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum TimeLimit {
    Minutes(u32),
    Hours(u32),
    WorkingDays(u32),
}

impl schemars::JsonSchema for TimeLimit {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "TimeLimit".into()
    }

    /// Exactly what [`TimeLimit::parse`] accepts.
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^(([0-9]|[1-9][0-9]|1[0-9][0-9]|2[0-4][0-9]|250)wd|([0-9]|[1-9][0-9]|[1-6][0-9][0-9]|7[01][0-9]|720)h|([0-9]|[1-9][0-9]|[1-9][0-9][0-9]|1[0-3][0-9][0-9]|14[0-3][0-9]|1440)m)$",
            "description": "A time limit: minutes (`30m`, at most 1440m), clock hours (`24h`, at most 720h) or working days (`7wd`, at most 250wd)",
        })
    }
}

impl TimeLimit {
    /// Parses `30m`, `2h`, `24h`, `7wd` (working days). At most 1440 minutes, 720 hours or 250
    /// working days.
    pub fn parse(text: &str) -> Result<TimeLimit, DomainError> {
        let bad = || DomainError::InvalidTimeLimit(text.chars().take(20).collect());
        let text = text.trim();
        if let Some(days) = text.strip_suffix("wd") {
            let days: u32 = days.parse().map_err(|_| bad())?;
            return if days <= 250 {
                Ok(TimeLimit::WorkingDays(days))
            } else {
                Err(bad())
            };
        }
        if let Some(minutes) = text.strip_suffix('m') {
            let minutes: u32 = minutes.parse().map_err(|_| bad())?;
            return if minutes <= 1440 {
                Ok(TimeLimit::Minutes(minutes))
            } else {
                Err(bad())
            };
        }
        if let Some(hours) = text.strip_suffix('h') {
            let hours: u32 = hours.parse().map_err(|_| bad())?;
            return if hours <= 720 {
                Ok(TimeLimit::Hours(hours))
            } else {
                Err(bad())
            };
        }
        Err(bad())
    }
}

impl FromStr for TimeLimit {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TimeLimit::parse(s)
    }
}

impl TryFrom<String> for TimeLimit {
    type Error = DomainError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        TimeLimit::parse(&value)
    }
}

impl From<TimeLimit> for String {
    fn from(value: TimeLimit) -> String {
        value.to_string()
    }
}

impl fmt::Display for TimeLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimeLimit::Minutes(minutes) => write!(f, "{minutes}m"),
            TimeLimit::Hours(hours) => write!(f, "{hours}h"),
            TimeLimit::WorkingDays(days) => write!(f, "{days}wd"),
        }
    }
}

/// A computed deadline and the years for which the weekday fallback had to be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deadline {
    pub at: Timestamp,
    pub fallback_years: BTreeSet<i32>,
}

impl WorkCalendar {
    pub fn insert_year(&mut self, year: CalendarYear) {
        self.years.insert(year.year, year);
    }

    pub fn years(&self) -> impl Iterator<Item = &CalendarYear> {
        self.years.values()
    }

    pub fn has_year(&self, year: i32) -> bool {
        self.years.contains_key(&year)
    }

    /// Whether `date` is a working day, and whether that answer came from the weekday fallback.
    pub fn is_working_day(&self, date: NaiveDate) -> (bool, bool) {
        let weekday_rule = !matches!(date.weekday(), Weekday::Sat | Weekday::Sun);
        match self.years.get(&date.year()) {
            None => (weekday_rule, true),
            Some(year) => match year.days.get(&date) {
                Some((DayMark::Holiday, _)) => (false, false),
                Some((DayMark::MakeupWorkday, _)) => (true, false),
                None => (weekday_rule, false),
            },
        }
    }

    /// The holiday or make-up name of a date, if marked.
    pub fn mark(&self, date: NaiveDate) -> Option<&(DayMark, String)> {
        self.years.get(&date.year())?.days.get(&date)
    }

    /// The deadline `limit` after `from`.
    ///
    /// Clock hours run through nights, weekends and holidays (emergencies and 水电气热 are 24/7).
    /// Working days keep the time of day: `from` plus N working days is the same wall-clock time
    /// on the Nth working day after `from`'s date. An order received on a non-working day starts
    /// its clock at 00:00 of the next working day, so it still gets N whole working days.
    ///
    /// Checked: a deadline past chrono's range is refused, never an overflow (callers bound their
    /// inputs by the policy's [`crate::time::TimeBounds`] first, so this is the last line).
    pub fn deadline(&self, from: Timestamp, limit: TimeLimit) -> Result<Deadline, DomainError> {
        let mut fallback_years = BTreeSet::new();
        let at = match limit {
            TimeLimit::Minutes(minutes) => {
                crate::time::checked_add(from, Duration::minutes(i64::from(minutes)))?
            }
            TimeLimit::Hours(hours) => {
                crate::time::checked_add(from, Duration::hours(i64::from(hours)))?
            }
            TimeLimit::WorkingDays(days) => {
                let local = beijing_local(from);
                let mut date = local.date();
                let mut time = local.time();
                let mut check = |date: NaiveDate| {
                    let (working, fallback) = self.is_working_day(date);
                    if fallback {
                        fallback_years.insert(date.year());
                    }
                    working
                };
                if !check(date) {
                    time = chrono::NaiveTime::MIN;
                    date = next_working_day(date, &mut check)?;
                }
                for _ in 0..days {
                    date = next_working_day(date, &mut check)?;
                }
                from_beijing(date.and_time(time))
            }
        };
        Ok(Deadline { at, fallback_years })
    }

    /// Working days strictly after `from`'s date up to and including `to`'s date (0 when `to` is
    /// not later). Used by reports and the simulator to express lateness in working days.
    pub fn working_days_between(&self, from: Timestamp, to: Timestamp) -> u32 {
        let mut date = beijing_local(from).date();
        let end = beijing_local(to).date();
        let mut count: u32 = 0;
        while date < end {
            date = date.succ_opt().unwrap_or(date);
            if self.is_working_day(date).0 {
                count = count.saturating_add(1);
            }
        }
        count
    }
}

fn next_working_day(
    mut date: NaiveDate,
    check: &mut impl FnMut(NaiveDate) -> bool,
) -> Result<NaiveDate, DomainError> {
    // A year has at most ~12 consecutive days off; 60 bounds the loop against corrupt data.
    for _ in 0..60 {
        date = date
            .succ_opt()
            .ok_or_else(|| crate::time::TimeBounds::default().out_of_range("time"))?;
        if check(date) {
            return Ok(date);
        }
    }
    Ok(date)
}

/// The JSON shape of `cn_workdays.json`: `{years: {"2025": {holidays: {date: name}, makeup_workdays: {date: name}}}}`.
#[derive(Deserialize, schemars::JsonSchema)]
struct WorkdaysFile {
    #[serde(default)]
    source: String,
    years: BTreeMap<String, WorkdaysYear>,
}

#[derive(Deserialize, schemars::JsonSchema)]
struct WorkdaysYear {
    #[serde(default)]
    holidays: BTreeMap<String, String>,
    #[serde(default)]
    makeup_workdays: BTreeMap<String, String>,
}

/// Parses a holiday file in the `cn_workdays.json` shape; one file may hold several years. Every
/// date must lie in its year, and no date may be both a holiday and a make-up day.
pub fn parse_workdays_json(text: &str) -> Result<Vec<CalendarYear>, DomainError> {
    let file: WorkdaysFile = serde_json::from_str(text)
        .map_err(|error| DomainError::InvalidCalendar(error.to_string()))?;
    let mut years = Vec::new();
    for (year_text, data) in file.years {
        let year: i32 = year_text
            .parse()
            .ok()
            .filter(|year| (1990..=2200).contains(year))
            .ok_or_else(|| DomainError::InvalidCalendar(format!("bad year {year_text:?}")))?;
        let mut days = BTreeMap::new();
        for (mark, entries) in [
            (DayMark::Holiday, data.holidays),
            (DayMark::MakeupWorkday, data.makeup_workdays),
        ] {
            for (date_text, name) in entries {
                let date = NaiveDate::parse_from_str(&date_text, "%Y-%m-%d")
                    .map_err(|_| DomainError::InvalidCalendar(format!("bad date {date_text:?}")))?;
                if date.year() != year {
                    return Err(DomainError::InvalidCalendar(format!(
                        "{date} is not in {year}"
                    )));
                }
                if days.insert(date, (mark, name)).is_some() {
                    return Err(DomainError::InvalidCalendar(format!(
                        "{date} is marked twice"
                    )));
                }
            }
        }
        years.push(CalendarYear {
            year,
            source: file.source.clone(),
            days,
        });
    }
    Ok(years)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::{format_minutes, parse_beijing};

    pub(crate) fn shipped() -> WorkCalendar {
        let text = include_str!("../../../data/calendar/cn_workdays.json");
        let mut calendar = WorkCalendar::default();
        for year in parse_workdays_json(text).unwrap() {
            calendar.insert_year(year);
        }
        calendar
    }

    fn check(from: &str, limit: &str, expect: &str) {
        let calendar = shipped();
        let deadline = calendar
            .deadline(
                parse_beijing(from).unwrap(),
                TimeLimit::parse(limit).unwrap(),
            )
            .unwrap();
        assert_eq!(format_minutes(deadline.at), expect, "{from} + {limit}");
        assert!(
            deadline.fallback_years.is_empty(),
            "{from} + {limit} used the fallback"
        );
    }

    #[test]
    fn deadlines_across_holidays() {
        // National Day 2025: Oct 1–8 off, make-up Saturday Oct 11 counts.
        check("2025-09-30 17:00", "7wd", "2025-10-16 17:00");
        // Make-up Sunday 2025-09-28 is a working day.
        check("2025-09-27 10:00", "1wd", "2025-09-29 00:00");
        check("2025-09-28 10:00", "1wd", "2025-09-29 10:00");
        // Spring Festival 2024: Feb 10–17 off, make-up Sun Feb 4 and Sat Feb 18.
        check("2024-02-08 09:30", "2wd", "2024-02-18 09:30");
        check("2024-02-09 09:30", "1wd", "2024-02-18 09:30");
        // Spring Festival 2026: Feb 15–23 off, make-up Sat Feb 14 and Sat Feb 28.
        check("2026-02-13 09:00", "1wd", "2026-02-14 09:00");
        check("2026-02-14 09:00", "1wd", "2026-02-24 09:00");
        check("2026-02-24 09:00", "15wd", "2026-03-16 09:00");
        // Year boundary: New Year 2025 (Jan 1 off), and 2024-12-31 a Tuesday.
        check("2024-12-31 16:00", "1wd", "2025-01-02 16:00");
        check("2024-12-30 16:00", "2wd", "2025-01-02 16:00");
        // New Year 2026: Jan 1–3 off, make-up Sunday Jan 4.
        check("2025-12-31 12:00", "1wd", "2026-01-04 12:00");
        // Clock hours run through holidays.
        check("2025-09-30 23:00", "2h", "2025-10-01 01:00");
        check("2025-09-30 17:00", "24h", "2025-10-01 17:00");
        // Zero working days on a working day is the instant itself.
        check("2025-10-09 08:00", "0wd", "2025-10-09 08:00");
    }

    #[test]
    fn unloaded_years_fall_back_to_weekdays_visibly() {
        let calendar = shipped();
        let deadline = calendar
            .deadline(
                parse_beijing("2027-01-29 10:00").unwrap(),
                TimeLimit::WorkingDays(1),
            )
            .unwrap();
        assert_eq!(format_minutes(deadline.at), "2027-02-01 10:00");
        assert_eq!(
            deadline.fallback_years.into_iter().collect::<Vec<_>>(),
            vec![2027]
        );
    }

    #[test]
    fn loading_a_new_year_takes_effect() {
        let mut calendar = shipped();
        let text = r#"{"source":"test","years":{"2027":{"holidays":{"2027-02-01":"测试"},"makeup_workdays":{}}}}"#;
        for year in parse_workdays_json(text).unwrap() {
            calendar.insert_year(year);
        }
        let deadline = calendar
            .deadline(
                parse_beijing("2027-01-29 10:00").unwrap(),
                TimeLimit::WorkingDays(1),
            )
            .unwrap();
        assert_eq!(format_minutes(deadline.at), "2027-02-02 10:00");
        assert!(deadline.fallback_years.is_empty());
    }

    #[test]
    fn bad_calendar_files_are_refused() {
        for bad in [
            "not json",
            r#"{"years":{"20x5":{}}}"#,
            r#"{"years":{"2027":{"holidays":{"2026-01-01":"x"}}}}"#,
            r#"{"years":{"2027":{"holidays":{"2027-01-01":"x"},"makeup_workdays":{"2027-01-01":"y"}}}}"#,
            r#"{"years":{"2027":{"holidays":{"2027-13-01":"x"}}}}"#,
        ] {
            assert!(parse_workdays_json(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn time_limits_parse() {
        assert_eq!(TimeLimit::parse("2h").unwrap(), TimeLimit::Hours(2));
        assert_eq!(
            TimeLimit::parse("15wd").unwrap(),
            TimeLimit::WorkingDays(15)
        );
        assert_eq!(TimeLimit::parse("30m").unwrap(), TimeLimit::Minutes(30));
        assert!(TimeLimit::parse("2000m").is_err());
        for bad in ["", "2", "2d", "-1h", "999wd", "h"] {
            assert!(TimeLimit::parse(bad).is_err(), "{bad}");
        }
    }
}
