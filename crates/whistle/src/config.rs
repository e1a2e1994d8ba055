//! Settings: defaults in code → optional `whistle.toml` → `WHISTLE_…` environment variables (`__`
//! nests: `WHISTLE_DATABASE__URL`) → command-line flags. Passed explicitly; no global.

use anyhow::Context;
use serde::Deserialize;
use std::path::Path;

#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub database: DatabaseSettings,
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSettings {
    /// `sqlite://PATH` (the embedded default) or `postgres://…`.
    pub url: String,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        DatabaseSettings {
            url: "sqlite://whistle.db".into(),
        }
    }
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field(
                "database.url",
                &whistle_store::redact_url(&self.database.url),
            )
            .finish()
    }
}

impl Settings {
    /// Loads the layers; `file` is `--config`, else `./whistle.toml` if present.
    pub fn load(file: Option<&Path>, url_flag: Option<&str>) -> anyhow::Result<Settings> {
        let mut settings = Settings::default();
        let default_file = Path::new("whistle.toml");
        let file = file.or_else(|| default_file.exists().then_some(default_file));
        if let Some(file) = file {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("failed to read {}", file.display()))?;
            settings = toml::from_str(&text)
                .with_context(|| format!("invalid configuration in {}", file.display()))?;
        }
        if let Ok(url) = std::env::var("WHISTLE_DATABASE__URL") {
            if !url.is_empty() {
                settings.database.url = url;
            }
        }
        if let Some(url) = url_flag {
            settings.database.url = url.to_string();
        }
        Ok(settings)
    }
}
