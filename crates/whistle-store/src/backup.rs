//! A consistent copy of a live SQLite database (`whistle backup`), through SQLite's online
//! backup API: the pages are copied in one read transaction, a snapshot the writers go on past
//! (WAL mode: a reader blocks no writer). The copy is written beside the target under a
//! temporary name, checked, synced and only then renamed: a failed backup leaves no file that
//! looks like one. PostgreSQL has its own tools (`pg_dump`, `pg_basebackup`; OPERATIONS.md).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::types::StoreError;

/// What a backup copied.
#[derive(Clone, Debug)]
pub struct BackupReport {
    pub pages: u64,
    pub bytes: u64,
    pub took: Duration,
    /// The copy's schema version (the live database's at the snapshot).
    pub schema_version: i64,
}

fn failed(what: &str, error: impl std::fmt::Display) -> StoreError {
    StoreError::Other(anyhow::anyhow!("backup: {what}: {error}"))
}

/// Copies the SQLite database at `url` (`sqlite://PATH`) to `output`, which must not exist.
/// Blocking: call it from a blocking thread.
pub fn backup_sqlite(url: &str, output: &Path) -> Result<BackupReport, StoreError> {
    let Some(source) = url.strip_prefix("sqlite://") else {
        return Err(StoreError::Config(format!(
            "whistle backup copies a SQLite database; for {} use pg_dump or pg_basebackup (docs/OPERATIONS.md)",
            crate::redact_url(url)
        )));
    };
    let source = Path::new(source);
    if !source.exists() {
        return Err(StoreError::Config(format!(
            "no database at {}",
            source.display()
        )));
    }
    if output.exists() {
        return Err(StoreError::Config(format!(
            "{} exists already: name a new file (a backup never overwrites)",
            output.display()
        )));
    }
    let partial = PathBuf::from(format!("{}.partial", output.display()));
    let _ = std::fs::remove_file(&partial);
    let started = Instant::now();
    let result = copy(source, &partial);
    match result {
        Ok((pages, schema_version)) => {
            std::fs::rename(&partial, output).map_err(|e| failed("rename", e))?;
            let bytes = std::fs::metadata(output).map(|m| m.len()).unwrap_or(0);
            Ok(BackupReport {
                pages,
                bytes,
                took: started.elapsed(),
                schema_version,
            })
        }
        Err(error) => {
            let _ = std::fs::remove_file(&partial);
            Err(error)
        }
    }
}

fn copy(source: &Path, target: &Path) -> Result<(u64, i64), StoreError> {
    use rusqlite::{Connection, OpenFlags};
    let from = Connection::open_with_flags(
        source,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| failed("open the database", e))?;
    from.busy_timeout(Duration::from_secs(30))
        .map_err(|e| failed("busy timeout", e))?;
    let mut to = Connection::open(target).map_err(|e| failed("create the copy", e))?;
    let pages = {
        let backup =
            rusqlite::backup::Backup::new(&from, &mut to).map_err(|e| failed("start", e))?;
        // Every page in one step: one read transaction, one snapshot. Stepping in pieces would
        // start again at each commit of the live writer and, under load, never finish.
        loop {
            match backup.step(-1).map_err(|e| failed("copy", e))? {
                rusqlite::backup::StepResult::Done => break,
                rusqlite::backup::StepResult::More => continue,
                // Busy or locked (the enum is open): wait and step again.
                _ => std::thread::sleep(Duration::from_millis(20)),
            }
        }
        backup.progress().pagecount as u64
    };
    // The copy is a database of its own: one file, checked before it is handed over.
    let check: String = to
        .query_row("PRAGMA quick_check", [], |r| r.get(0))
        .map_err(|e| failed("check the copy", e))?;
    if check != "ok" {
        return Err(failed("the copy failed its check", check));
    }
    let version: i64 = to
        .query_row(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            [],
            |r| r.get(0),
        )
        .map_err(|e| failed("read the copy's schema version", e))?;
    to.execute_batch("PRAGMA journal_mode = DELETE")
        .map_err(|e| failed("journal mode", e))?;
    drop(to);
    std::fs::File::open(target)
        .and_then(|f| f.sync_all())
        .map_err(|e| failed("sync", e))?;
    Ok((pages, version))
}
