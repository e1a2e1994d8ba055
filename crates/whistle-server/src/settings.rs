//! The server's settings, a section of `whistle.toml` (`[server]`, `[server.worker]`).

use serde::Deserialize;

#[derive(Clone, Debug, Deserialize)]
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
    /// Mark the session cookie `Secure` (behind TLS).
    pub secure_cookies: bool,
    /// Requests per minute per client IP on public endpoints (Open311, tracking, login).
    pub public_per_ip_per_minute: u32,
    /// Requests per minute per token on public endpoints.
    pub public_per_token_per_minute: u32,
    /// How often the whistle live feed looks for events written by other servers (events of
    /// this server wake it at once).
    pub feed_poll_ms: u64,
    pub worker: WorkerSettings,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorkerSettings {
    pub enabled: bool,
    /// Seconds between ticks.
    pub tick_seconds: u64,
    /// A deadline this close is "due soon".
    pub due_soon_minutes: i64,
    /// Orders (or whistles) read per batch; a tick runs at most 20 batches of each.
    pub batch: u32,
}

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            listen: "127.0.0.1:8080".into(),
            body_limit_bytes: 64 * 1024,
            page_limit_max: 200,
            session_hours: 12,
            secure_cookies: false,
            public_per_ip_per_minute: 600,
            public_per_token_per_minute: 6000,
            feed_poll_ms: 1000,
            worker: WorkerSettings::default(),
        }
    }
}

impl Default for WorkerSettings {
    fn default() -> Self {
        WorkerSettings {
            enabled: true,
            tick_seconds: 30,
            due_soon_minutes: 120,
            batch: 500,
        }
    }
}
