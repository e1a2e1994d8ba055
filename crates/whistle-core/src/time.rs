//! Time in Beijing. Instants are `DateTime<Utc>`; dates and wall-clock times are Beijing's.
//!
//! Asia/Shanghai has been UTC+08:00 without daylight saving since 1991, so for every date this
//! system handles the zone is exactly the fixed offset +08:00; using it avoids shipping a tz
//! database while giving the same answers.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, Utc};

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
    at.with_timezone(&beijing()).date_naive()
}

/// The Beijing wall-clock time of an instant.
pub fn beijing_local(at: Timestamp) -> NaiveDateTime {
    at.with_timezone(&beijing()).naive_local()
}

/// The instant of a Beijing wall-clock time (always unambiguous: no DST).
pub fn from_beijing(local: NaiveDateTime) -> Timestamp {
    (local - chrono::Duration::hours(8)).and_utc()
}

/// Parses `YYYY-MM-DD HH:MM[:SS]`, `YYYY-MM-DDTHH:MM[:SS]` (Beijing time) or RFC 3339 with an offset.
pub fn parse_beijing(text: &str) -> Result<Timestamp, DomainError> {
    let text = text.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc));
    }
    for format in [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(local) = NaiveDateTime::parse_from_str(text, format) {
            return Ok(from_beijing(local));
        }
    }
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(from_beijing(date.and_time(chrono::NaiveTime::MIN)));
    }
    Err(DomainError::InvalidTime(text.chars().take(40).collect()))
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
    }
}
