//! Rate limits: fixed windows per (class, key) — failed logins per client address, per account
//! and per address-and-account, tracking guesses per order, Open311 per address and
//! per token — each class with its own budget and window, so a burst against one (a password
//! guesser behind an office's address) spends nothing of another (that office's tracking, or the
//! right password typed from another address).
//!
//! Bounded: entries of past windows are dropped once the table holds more than `PRUNE_AT` keys.
//! The client address is the connection's, or — when the connection comes from a configured
//! trusted proxy — the last address in `X-Forwarded-For` that is not itself a trusted proxy.

use axum::http::HeaderMap;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;

const PRUNE_AT: usize = 100_000;

/// A class of limited requests: its name (part of every key) and its window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Class {
    pub name: &'static str,
    pub window_seconds: i64,
}

/// Failed logins from one address, whatever the account.
pub const LOGIN_FAILURES_PER_IP: Class = Class {
    name: "login-ip",
    window_seconds: 15 * 60,
};
/// Failed logins per account, from anywhere.
pub const LOGIN_FAILURES_PER_ACCOUNT: Class = Class {
    name: "login-account",
    window_seconds: 15 * 60,
};
/// Failed logins per account from one address.
pub const LOGIN_FAILURES_PER_IP_ACCOUNT: Class = Class {
    name: "login-ip-account",
    window_seconds: 15 * 60,
};
pub const TRACK_PER_IP: Class = Class {
    name: "track-ip",
    window_seconds: 60,
};
/// Wrong phone suffixes per order.
pub const TRACK_FAILURES_PER_ORDER: Class = Class {
    name: "track-order",
    window_seconds: 3600,
};
/// Requests submitted on the citizen's page per address.
pub const CITIZEN_SUBMITS_PER_IP: Class = Class {
    name: "citizen-ip",
    window_seconds: 3600,
};
pub const OPEN311_PER_IP: Class = Class {
    name: "open311-ip",
    window_seconds: 60,
};
pub const OPEN311_PER_TOKEN: Class = Class {
    name: "open311-token",
    window_seconds: 60,
};

/// (class name, key) → (window index, requests counted in it).
type Windows = HashMap<(&'static str, String), (i64, u32)>;

#[derive(Default)]
pub struct RateLimiter {
    windows: Mutex<Windows>,
}

impl RateLimiter {
    /// Counts a request for `key` in `class`; `Err(seconds)` to wait when over `limit`.
    pub fn check(&self, class: Class, key: &str, limit: u32, now_seconds: i64) -> Result<(), u64> {
        self.count(class, key, limit, now_seconds, 1)
    }

    /// Whether `key` is still under `limit` in `class`, without counting (for budgets that only
    /// failures spend: check first, `check` on a failure).
    pub fn allows(&self, class: Class, key: &str, limit: u32, now_seconds: i64) -> Result<(), u64> {
        self.count(class, key, limit, now_seconds, 0)
    }

    fn count(
        &self,
        class: Class,
        key: &str,
        limit: u32,
        now_seconds: i64,
        add: u32,
    ) -> Result<(), u64> {
        let window = now_seconds.div_euclid(class.window_seconds);
        let mut guard = match self.windows.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        if guard.len() > PRUNE_AT {
            guard.retain(|(name, _), (start, _)| {
                let window_seconds = if *name == class.name {
                    class.window_seconds
                } else {
                    3600
                };
                *start >= now_seconds.div_euclid(window_seconds) - 1
            });
        }
        let entry = guard
            .entry((class.name, key.to_string()))
            .or_insert((window, 0));
        if entry.0 != window {
            *entry = (window, 0);
        }
        let over = if add == 0 {
            entry.1 >= limit
        } else {
            entry.1 = entry.1.saturating_add(add);
            entry.1 > limit
        };
        if over {
            Err((class.window_seconds - now_seconds.rem_euclid(class.window_seconds)).max(1) as u64)
        } else {
            Ok(())
        }
    }
}

/// Proxies whose `X-Forwarded-For` is believed: addresses (`10.0.0.5`) or networks
/// (`10.0.0.0/8`, `fd00::/8`).
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies(Vec<(IpAddr, u8)>);

impl TrustedProxies {
    pub fn parse(entries: &[String]) -> Result<TrustedProxies, String> {
        let mut parsed = Vec::new();
        for entry in entries {
            let (address, bits) = match entry.split_once('/') {
                Some((address, bits)) => (address, Some(bits)),
                None => (entry.as_str(), None),
            };
            let address: IpAddr = address
                .trim()
                .parse()
                .map_err(|_| format!("trusted_proxies: {entry} is not an address or network"))?;
            let max = if address.is_ipv4() { 32 } else { 128 };
            let bits = match bits {
                Some(bits) => bits
                    .trim()
                    .parse::<u8>()
                    .ok()
                    .filter(|b| *b <= max)
                    .ok_or_else(|| format!("trusted_proxies: {entry} has a bad prefix length"))?,
                None => max,
            };
            parsed.push((address, bits));
        }
        Ok(TrustedProxies(parsed))
    }

    fn contains(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|(network, bits)| match (network, ip) {
            (IpAddr::V4(network), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(*bits)).unwrap_or(0);
                u32::from(*network) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(network), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(*bits)).unwrap_or(0);
                u128::from(*network) & mask == u128::from(ip) & mask
            }
            _ => false,
        })
    }

    /// The client's address: the peer's, unless the peer is a trusted proxy.
    pub fn client(&self, peer: &SocketAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = peer.ip();
        if !self.contains(client) {
            return client;
        }
        let forwarded: Vec<IpAddr> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|a| a.trim().parse().ok())
            .collect();
        for address in forwarded.into_iter().rev() {
            client = address;
            if !self.contains(address) {
                break;
            }
        }
        client
    }
}

/// The client's address, for rate limits (see [`TrustedProxies::client`]).
pub struct ClientIp(pub IpAddr);

impl axum::extract::FromRequestParts<std::sync::Arc<crate::AppState>> for ClientIp {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &std::sync::Arc<crate::AppState>,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<SocketAddr>>()
            .map(|info| info.0)
            .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)));
        Ok(ClientIp(state.proxies.client(&peer, &parts.headers)))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn limits_per_class_key_and_window() {
        let limiter = RateLimiter::default();
        assert!(limiter.check(TRACK_PER_IP, "a", 2, 60).is_ok());
        assert!(limiter.check(TRACK_PER_IP, "a", 2, 61).is_ok());
        assert_eq!(limiter.check(TRACK_PER_IP, "a", 2, 90), Err(30));
        assert!(limiter.check(TRACK_PER_IP, "b", 2, 90).is_ok());
        assert!(
            limiter.check(OPEN311_PER_IP, "a", 2, 90).is_ok(),
            "another class"
        );
        assert!(
            limiter.check(TRACK_PER_IP, "a", 2, 120).is_ok(),
            "a new minute"
        );
        // Failures only: `allows` does not count.
        for _ in 0..5 {
            assert!(limiter
                .allows(TRACK_FAILURES_PER_ORDER, "o", 3, 100)
                .is_ok());
        }
        for _ in 0..3 {
            let _ = limiter.check(TRACK_FAILURES_PER_ORDER, "o", 3, 100);
        }
        assert!(limiter
            .allows(TRACK_FAILURES_PER_ORDER, "o", 3, 3599)
            .is_err());
        assert!(limiter
            .allows(TRACK_FAILURES_PER_ORDER, "o", 3, 3600)
            .is_ok());
    }

    #[test]
    fn forwarded_addresses_only_from_trusted_proxies() {
        let proxies = TrustedProxies::parse(&["10.0.0.0/8".into(), "::1".into()]).unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", "203.0.113.9, 10.0.0.7".parse().unwrap());
        let from_proxy: SocketAddr = "10.1.2.3:5000".parse().unwrap();
        let direct: SocketAddr = "198.51.100.1:5000".parse().unwrap();
        assert_eq!(
            proxies.client(&from_proxy, &headers),
            "203.0.113.9".parse::<IpAddr>().unwrap()
        );
        assert_eq!(proxies.client(&direct, &headers), direct.ip());
        assert!(TrustedProxies::parse(&["10.0.0.0/40".into()]).is_err());
        assert!(TrustedProxies::parse(&["proxy".into()]).is_err());
    }
}
