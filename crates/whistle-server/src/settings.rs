//! The server's settings, a section of `whistle.toml` (`[server]`, `[server.worker]`).

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSettings {
    /// Address to listen on, e.g. `127.0.0.1:8080` (`:0` picks a free port).
    pub listen: String,
    /// The largest request body accepted.
    pub body_limit_bytes: usize,
    /// The largest page a list returns.
    pub page_limit_max: u32,
    /// How long a login session lasts.
    pub session_hours: i64,
    /// The address people use, e.g. `https://12345.example.gov.cn` (behind a proxy): pages and
    /// cookie-authenticated writes must come from it (the `Origin` check), and an `https` URL
    /// makes the session cookie `Secure`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
    /// Mark the session cookie `Secure`; unset: when `public_url` is https.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secure_cookies: Option<bool>,
    /// Proxies (addresses or networks) whose `X-Forwarded-For` names the client for rate limits.
    pub trusted_proxies: Vec<String>,
    /// Failed logins per client address in 15 minutes (whatever the account; successful logins
    /// are never limited, so a shift behind one office address logs in freely).
    pub login_failures_per_ip: u32,
    /// Failed logins per account in 15 minutes, from anywhere, before the account is held.
    pub login_failures_per_account: u32,
    /// Failed logins per account in 15 minutes from one address.
    pub login_failures_per_ip_account: u32,
    /// Citizen tracking requests per minute per client address.
    pub track_per_ip_per_minute: u32,
    /// Wrong phone suffixes per order per hour before tracking that order is held.
    pub track_failures_per_order_per_hour: u32,
    /// Requests the citizen's page accepts from one address per hour.
    pub citizen_submits_per_ip_per_hour: u32,
    /// The largest attachment accepted (a photo, a document), in bytes.
    pub attachment_max_bytes: usize,
    /// Attachments an order may hold.
    pub attachments_per_order: u32,
    /// Open311 requests per minute per client address.
    pub public_per_ip_per_minute: u32,
    /// Open311 requests per minute per API key.
    pub public_per_token_per_minute: u32,
    /// How often the whistle live feed looks for events written by other servers (events of
    /// this server wake it at once).
    pub feed_poll_ms: u64,
    /// The access log's level: `info` (default), `debug` (shown only with `RUST_LOG=debug`), or
    /// `off`.
    pub access_log: String,
    /// The share of successful requests faster than a second that the access log records
    /// (1.0: all; 0.01: one in a hundred). Refusals, errors and slow requests are always logged.
    pub access_log_sample: f64,
    // A table: after the plain values in TOML.
    pub worker: WorkerSettings,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorkerSettings {
    pub enabled: bool,
    /// Seconds between ticks.
    pub tick_seconds: u64,
    /// A deadline this close is "due soon".
    pub due_soon_minutes: i64,
    /// Orders (or whistles) read per batch; a tick runs at most 20 batches of each.
    pub batch: u32,
    /// Idempotency records (a retried request answered with its first result) are kept this
    /// many days, then purged by the worker; expired login sessions are purged at once. 0:
    /// keep the records for ever.
    pub idempotency_days: u32,
}

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            listen: "127.0.0.1:8080".into(),
            body_limit_bytes: 64 * 1024,
            page_limit_max: 200,
            session_hours: 12,
            public_url: None,
            secure_cookies: None,
            trusted_proxies: Vec::new(),
            login_failures_per_ip: 100,
            login_failures_per_account: 50,
            login_failures_per_ip_account: 5,
            track_per_ip_per_minute: 60,
            track_failures_per_order_per_hour: 5,
            citizen_submits_per_ip_per_hour: 20,
            attachment_max_bytes: 5 * 1024 * 1024,
            attachments_per_order: 10,
            public_per_ip_per_minute: 600,
            public_per_token_per_minute: 6000,
            feed_poll_ms: 1000,
            access_log: "info".into(),
            access_log_sample: 1.0,
            worker: WorkerSettings::default(),
        }
    }
}

impl ServerSettings {
    /// Checks what cannot be checked by types: the public URL and the trusted proxies.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(url) = &self.public_url {
            if self.allowed_origin().is_none()
                || !(url.starts_with("http://") || url.starts_with("https://"))
            {
                return Err(format!(
                    "server.public_url must be an http(s) URL such as https://12345.example.gov.cn, not {url}"
                ));
            }
        }
        crate::limits::TrustedProxies::parse(&self.trusted_proxies)?;
        if !matches!(self.access_log.as_str(), "info" | "debug" | "off") {
            return Err("server.access_log must be info, debug or off".into());
        }
        if !(0.0..=1.0).contains(&self.access_log_sample) {
            return Err("server.access_log_sample must be between 0 and 1".into());
        }
        Ok(())
    }

    /// Whether the session cookie carries `Secure`.
    pub fn cookie_secure(&self) -> bool {
        self.secure_cookies.unwrap_or_else(|| {
            self.public_url
                .as_deref()
                .is_some_and(|url| url.starts_with("https://"))
        })
    }

    /// The origin (`scheme://host[:port]`) of `public_url`, if set.
    pub fn allowed_origin(&self) -> Option<String> {
        let url = self.public_url.as_deref()?;
        let (scheme, rest) = url.split_once("://")?;
        let host = rest.split('/').next().filter(|h| !h.is_empty())?;
        Some(format!("{scheme}://{host}"))
    }
}

impl Default for WorkerSettings {
    fn default() -> Self {
        WorkerSettings {
            enabled: true,
            tick_seconds: 30,
            due_soon_minutes: 120,
            batch: 500,
            idempotency_days: 30,
        }
    }
}
