//! Settings: defaults in code → optional `whistle.toml` → `WHISTLE_…` environment variables (`__`
//! nests: `WHISTLE_DATABASE__URL`, `WHISTLE_SERVER__WORKER__TICK_SECONDS`) → command-line flags.
//! Passed explicitly; no global.

use anyhow::Context;
use serde::Deserialize;
use std::path::Path;

#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub database: DatabaseSettings,
    pub server: whistle_server::ServerSettings,
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSettings {
    /// `sqlite://PATH` (the embedded default) or `postgres://…`.
    pub url: String,
    /// `[database.sqlite]`: the SQLite writer's sizes for serving (the simulator and the engine
    /// benchmarks use their own bulk sizes).
    pub sqlite: whistle_store::Tuning,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        DatabaseSettings {
            url: "sqlite://whistle.db".into(),
            sqlite: whistle_store::Tuning::SERVICE,
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
            .field("database.sqlite", &self.database.sqlite)
            .field("server", &self.server)
            .finish()
    }
}

/// Sets `path` (lower-cased `__` segments) in a TOML table, parsing the value as TOML when it
/// is a number or boolean and keeping it a string otherwise.
fn overlay(table: &mut toml::Table, path: &[String], raw: &str) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut current = table;
    for segment in parents {
        let entry = current
            .entry(segment.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if !entry.is_table() {
            *entry = toml::Value::Table(toml::Table::new());
        }
        let Some(next) = entry.as_table_mut() else {
            return;
        };
        current = next;
    }
    let value = match raw.parse::<i64>() {
        Ok(n) => toml::Value::Integer(n),
        Err(_) => match raw {
            "true" => toml::Value::Boolean(true),
            "false" => toml::Value::Boolean(false),
            _ => toml::Value::String(raw.to_string()),
        },
    };
    current.insert(last.clone(), value);
}

impl Settings {
    /// Loads the layers; `file` is `--config`, else `./whistle.toml` if present.
    pub fn load(file: Option<&Path>, url_flag: Option<&str>) -> anyhow::Result<Settings> {
        let default_file = Path::new("whistle.toml");
        let file = file.or_else(|| default_file.exists().then_some(default_file));
        let mut table = match file {
            Some(file) => {
                let text = std::fs::read_to_string(file)
                    .with_context(|| format!("failed to read {}", file.display()))?;
                toml::from_str::<toml::Table>(&text)
                    .with_context(|| format!("invalid configuration in {}", file.display()))?
            }
            None => toml::Table::new(),
        };
        let mut variables: Vec<(String, String)> = std::env::vars()
            .filter(|(k, _)| k.starts_with("WHISTLE_"))
            .collect();
        variables.sort();
        for (name, value) in variables {
            let rest = &name["WHISTLE_".len()..];
            // Only nested names are settings (WHISTLE_LOG, WHISTLE_TEST_PG_URL … are not).
            if !rest.contains("__") || value.is_empty() {
                continue;
            }
            let path: Vec<String> = rest.split("__").map(|s| s.to_ascii_lowercase()).collect();
            overlay(&mut table, &path, &value);
        }
        let mut settings: Settings = toml::Value::Table(table)
            .try_into()
            .context("invalid settings (check whistle.toml and WHISTLE_… variables)")?;
        if let Some(url) = url_flag {
            settings.database.url = url.to_string();
        }
        settings
            .server
            .validate()
            .map_err(|e| anyhow::anyhow!("invalid settings: {e}"))?;
        Ok(settings)
    }
}
