//! Settings: defaults in code → optional `whistle.toml` → `WHISTLE_…` environment variables (`__`
//! nests: `WHISTLE_DATABASE__URL`, `WHISTLE_SERVER__WORKER__TICK_SECONDS`) → command-line flags.
//! Passed explicitly; no global.

use anyhow::Context;
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub database: DatabaseSettings,
    pub server: whistle_server::ServerSettings,
}

#[derive(Clone, Deserialize, Serialize)]
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

impl Settings {
    /// The effective settings as `whistle.toml` would write them, the database password
    /// masked.
    pub fn to_toml(&self) -> String {
        let mut shown = self.clone();
        shown.database.url = whistle_store::redact_url(&shown.database.url);
        toml::to_string(&shown).unwrap_or_else(|e| format!("# cannot show the settings: {e}\n"))
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The sample file is the defaults, every setting in it (commented or set): a setting added
    /// in code and not documented there fails here.
    #[test]
    fn the_sample_configuration_is_the_defaults_and_names_every_setting() {
        let sample = include_str!("../../../whistle.example.toml");
        let parsed: Settings = toml::from_str(sample).expect("the sample parses");
        assert_eq!(parsed.to_toml(), Settings::default().to_toml());
        let mut all = Settings::default();
        all.server.public_url = Some("https://12345.example.gov.cn".into());
        all.server.secure_cookies = Some(true);
        let table: toml::Table = toml::from_str(&all.to_toml()).unwrap();
        fn keys(table: &toml::Table, prefix: &str, out: &mut Vec<(String, String)>) {
            for (key, value) in table {
                match value {
                    toml::Value::Table(inner) => keys(inner, &format!("{prefix}{key}."), out),
                    _ => out.push((prefix.trim_end_matches('.').to_string(), key.clone())),
                }
            }
        }
        let mut found = Vec::new();
        keys(&table, "", &mut found);
        let mut section = String::new();
        let mut documented = std::collections::BTreeSet::new();
        for line in sample.lines() {
            let line = line.trim_start_matches('#').trim();
            if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                section = name.to_string();
            } else if let Some((key, _)) = line.split_once(" = ") {
                documented.insert((section.clone(), key.trim().to_string()));
            }
        }
        for key in found {
            assert!(
                documented.contains(&key),
                "{key:?} is not in whistle.example.toml"
            );
        }
    }

    #[test]
    fn the_effective_settings_mask_the_password() {
        let mut settings = Settings::default();
        settings.database.url = "postgres://whistle:s3cret@db.internal/whistle".into();
        let shown = settings.to_toml();
        assert!(
            !shown.contains("s3cret") && shown.contains("whistle:***@db.internal"),
            "{shown}"
        );
    }
}
