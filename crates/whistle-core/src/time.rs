//! Time in Beijing. Instants are `DateTime<Utc>`; dates and wall-clock times are Beijing's.
//!
//! Asia/Shanghai has been UTC+08:00 without daylight saving since 1991, so for every date this
//! system handles the zone is exactly the fixed offset +08:00; using it avoids shipping a tz
//! database while giving the same answers.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::DomainError;

pub type Timestamp = DateTime<Utc>;

const BEIJING: FixedOffset = match FixedOffset::east_opt(8 * 3600) {
    Some(offset) => offset,
    None => panic!("UTC+8 is a valid offset"),
};

pub fn beijing() -> FixedOffset {
    BEIJING
}

/// The Beijing calendar date of an instant.
pub fn beijing_date(at: Timestamp) -> NaiveDate {
    beijing_local(at).date()
}

/// The Beijing wall-clock time of an instant (saturating at chrono's last instant, where the
/// offset would overflow).
pub fn beijing_local(at: Timestamp) -> NaiveDateTime {
    at.naive_utc()
        .checked_add_signed(chrono::Duration::hours(8))
        .unwrap_or(NaiveDateTime::MAX)
}

/// The instant of a Beijing wall-clock time (always unambiguous: no DST). Checked: at the very
/// edge of chrono's range (years near −262,000, which nothing accepted from outside reaches) it
/// saturates instead of overflowing.
/// The first instant of a Beijing day.
pub fn midnight(day: NaiveDate) -> Timestamp {
    from_beijing(day.and_time(chrono::NaiveTime::MIN))
}

pub fn from_beijing(local: NaiveDateTime) -> Timestamp {
    local
        .checked_sub_signed(chrono::Duration::hours(8))
        .unwrap_or(NaiveDateTime::MIN)
        .and_utc()
}

/// The years any time read from text may fall in, whatever the policy says: inside them every
/// deadline computation (at most a year of working days) stays far from chrono's limits.
pub const HARD_YEARS: std::ops::RangeInclusive<i32> = 1970..=2200;

/// The span of time the system accepts from outside (policy `[time]`): every instant a command,
/// a query or an import carries must fall on a Beijing date in `earliest..=latest`, and an
/// explicit deadline may lie at most `max_span_days` after the command's time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct TimeBounds {
    pub earliest: NaiveDate,
    pub latest: NaiveDate,
    pub max_span_days: u32,
}

impl Default for TimeBounds {
    fn default() -> TimeBounds {
        TimeBounds {
            earliest: NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or_default(),
            latest: NaiveDate::from_ymd_opt(2100, 12, 31).unwrap_or_default(),
            max_span_days: 366,
        }
    }
}

impl TimeBounds {
    pub fn validate(&self) -> Result<(), DomainError> {
        let inside = |date: NaiveDate| HARD_YEARS.contains(&date.year());
        if !inside(self.earliest) || !inside(self.latest) || self.earliest >= self.latest {
            return Err(DomainError::InvalidReference(format!(
                "policy time bounds must satisfy {} ≤ earliest < latest ≤ {}",
                HARD_YEARS.start(),
                HARD_YEARS.end()
            )));
        }
        if !(1..=3660).contains(&self.max_span_days) {
            return Err(DomainError::InvalidReference(
                "policy time.max_span_days must be 1–3660".into(),
            ));
        }
        Ok(())
    }

    /// Refuses an instant outside the bounds, naming the field (never the value).
    pub fn check(&self, field: &str, at: Timestamp) -> Result<Timestamp, DomainError> {
        let date = beijing_date(at);
        if date < self.earliest || date > self.latest {
            return Err(self.out_of_range(field));
        }
        Ok(at)
    }

    /// Refuses a deadline outside the bounds or more than `max_span_days` after `from`.
    pub fn check_span(
        &self,
        field: &str,
        from: Timestamp,
        until: Timestamp,
    ) -> Result<Timestamp, DomainError> {
        self.check(field, until)?;
        let longest = chrono::Duration::days(i64::from(self.max_span_days));
        match from.checked_add_signed(longest) {
            Some(limit) if until <= limit => Ok(until),
            _ => Err(DomainError::SpanTooLong {
                field: field.into(),
                days: self.max_span_days,
            }),
        }
    }

    pub fn out_of_range(&self, field: &str) -> DomainError {
        DomainError::TimeOutOfRange {
            field: field.into(),
            earliest: self.earliest.to_string(),
            latest: self.latest.to_string(),
        }
    }
}

/// Adds a (possibly negative) duration, saturating at chrono's limits instead of panicking: for
/// the notice and due-index times derived from stored deadlines, which are bounded already.
pub fn saturating_add(at: Timestamp, by: chrono::Duration) -> Timestamp {
    at.checked_add_signed(by)
        .unwrap_or(if by < chrono::Duration::zero() {
            Timestamp::MIN_UTC
        } else {
            Timestamp::MAX_UTC
        })
}

/// Adds a duration, refusing an overflow instead of panicking.
pub fn checked_add(at: Timestamp, by: chrono::Duration) -> Result<Timestamp, DomainError> {
    at.checked_add_signed(by)
        .ok_or_else(|| TimeBounds::default().out_of_range("time"))
}

/// Parses `YYYY-MM-DD HH:MM[:SS]`, `YYYY-MM-DDTHH:MM[:SS]` (Beijing time) or RFC 3339 with an offset.
/// Years outside [`HARD_YEARS`] are refused, so nothing parsed here can overflow later
/// arithmetic; callers check the policy's narrower [`TimeBounds`] with the field's name.
pub fn parse_beijing(text: &str) -> Result<Timestamp, DomainError> {
    let parsed = parse_any(text.trim()).ok_or(DomainError::InvalidTime)?;
    if !HARD_YEARS.contains(&beijing_date(parsed).year()) {
        return Err(DomainError::InvalidTime);
    }
    Ok(parsed)
}

fn parse_any(text: &str) -> Option<Timestamp> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Some(at.with_timezone(&Utc));
    }
    for format in [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(local) = NaiveDateTime::parse_from_str(text, format) {
            return Some(from_beijing(local));
        }
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .map(|date| from_beijing(date.and_time(NaiveTime::MIN)))
}

/// Formats an instant as Beijing `YYYY-MM-DD HH:MM`.
pub fn format_minutes(at: Timestamp) -> String {
    beijing_local(at).format("%Y-%m-%d %H:%M").to_string()
}

/// Formats an instant as Beijing `YYYY-MM-DD HH:MM:SS`.
pub fn format_seconds(at: Timestamp) -> String {
    beijing_local(at).format("%Y-%m-%d %H:%M:%S").to_string()
}

/// Milliseconds since the Unix epoch, the storage representation.
pub fn to_millis(at: Timestamp) -> i64 {
    at.timestamp_millis()
}

pub fn from_millis(millis: i64) -> Timestamp {
    DateTime::from_timestamp_millis(millis).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beijing_round_trip() {
        let at = parse_beijing("2025-09-30 17:00").unwrap();
        assert_eq!(at.to_rfc3339(), "2025-09-30T09:00:00+00:00");
        assert_eq!(format_minutes(at), "2025-09-30 17:00");
        assert_eq!(
            beijing_date(parse_beijing("2025-09-30 23:59").unwrap()).to_string(),
            "2025-09-30"
        );
        assert_eq!(parse_beijing("2025-09-30T09:00:00Z").unwrap(), at);
        assert!(parse_beijing("yesterday").is_err());
        assert!(parse_beijing("2025-02-30 10:00").is_err());
        assert!(parse_beijing("+262142-12-31 23:00").is_err());
        assert!(parse_beijing("-262143-01-01").is_err());
        assert!(parse_beijing("+262142-12-31T00:00:00Z").is_err());
    }

    #[test]
    fn bounds_name_the_field() {
        let bounds = TimeBounds::default();
        bounds.validate().unwrap();
        let now = parse_beijing("2026-12-01 10:00").unwrap();
        assert!(bounds.check("received_at", now).is_ok());
        let far = parse_beijing("2150-01-01").unwrap();
        let refused = bounds.check("handle_by", far).unwrap_err();
        assert_eq!(refused.key(), "time_out_of_range");
        assert!(refused
            .message(crate::error::Lang::Zh)
            .contains("handle_by"));
        assert!(!refused.message(crate::error::Lang::Zh).contains("2150"));
        let in_two_years = parse_beijing("2028-12-01 10:00").unwrap();
        assert_eq!(
            bounds
                .check_span("handle_by", now, in_two_years)
                .unwrap_err()
                .key(),
            "span_too_long"
        );
        assert!(TimeBounds {
            latest: NaiveDate::from_ymd_opt(9999, 1, 1).unwrap(),
            ..bounds
        }
        .validate()
        .is_err());
    }
}
