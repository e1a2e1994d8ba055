//! A fixed-window rate limiter for public endpoints: per client IP and per token, per minute.
//! Bounded: the table is cleared when the window turns, so it never outgrows one minute's keys.

use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Default)]
pub struct RateLimiter {
    windows: Mutex<(i64, HashMap<String, u32>)>,
}

impl RateLimiter {
    /// Counts a request for `key` at `minute`; `Err(seconds)` to wait when over `limit`.
    pub fn check(&self, key: &str, limit: u32, now_seconds: i64) -> Result<(), u64> {
        let minute = now_seconds.div_euclid(60);
        let mut guard = match self.windows.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        if guard.0 != minute {
            *guard = (minute, HashMap::new());
        }
        let count = guard.1.entry(key.to_string()).or_insert(0);
        *count += 1;
        if *count > limit {
            Err((60 - now_seconds.rem_euclid(60)).max(1) as u64)
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_key_and_window() {
        let limiter = RateLimiter::default();
        assert!(limiter.check("a", 2, 60).is_ok());
        assert!(limiter.check("a", 2, 61).is_ok());
        assert_eq!(limiter.check("a", 2, 90), Err(30));
        assert!(limiter.check("b", 2, 90).is_ok());
        assert!(limiter.check("a", 2, 120).is_ok(), "a new minute");
    }
}
