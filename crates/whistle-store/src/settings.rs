//! Stored settings (JSON text by key: the chosen topics, the whistle list …), written once for
//! both backends over the executor.

use crate::db::{params, Db};
use crate::types::StoreError;

pub(crate) const PUT_SETTING: &str = "INSERT INTO settings (key, value) VALUES ($1, $2) \
    ON CONFLICT (key) DO UPDATE SET value = excluded.value";
pub(crate) const GET_SETTING: &str = "SELECT value FROM settings WHERE key = $1";

pub(crate) async fn setting(db: &dyn Db, key: &str) -> Result<Option<String>, StoreError> {
    db.query_opt(GET_SETTING, params![key])
        .await?
        .map(|row| row.text(0))
        .transpose()
}

/// Replaces a setting, in one transaction.
pub(crate) async fn put_setting(db: &dyn Db, key: &str, value: &str) -> Result<(), StoreError> {
    db.execute(PUT_SETTING, params![key, value])
        .await
        .map(|_| ())
}
