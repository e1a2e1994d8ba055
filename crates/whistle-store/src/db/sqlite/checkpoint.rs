//! The SQLite checkpointer: keeps the write-ahead log short without stalling commits, and
//! reports what it saw for `/metrics`.

use crate::db::sqlite::store::*;
use crate::types::*;
use std::path::PathBuf;
use std::sync::Arc;

/// The write-ahead log as the checkpointer last saw it, for `/metrics`.
#[derive(Default)]
pub(crate) struct WalGauges {
    /// Frames in the log.
    pub(crate) frames: std::sync::atomic::AtomicI64,
    /// Frames not yet copied into the database file (the checkpointer's lag).
    pub(crate) behind: std::sync::atomic::AtomicI64,
    /// Times the log was restarted after catching up.
    pub(crate) resets: std::sync::atomic::AtomicU64,
    /// Times the log reached its limit and was restarted with writers held.
    pub(crate) forced: std::sync::atomic::AtomicU64,
}

/// Keeps the WAL short without stalling commits: PASSIVE checkpoints (which never block the
/// writer or readers) copy frames continuously; once they have nearly caught up and the log has
/// grown past 64 MB, a RESTART checkpoint — with little left to copy, so it holds the writer only
/// briefly — resets it. Under writes faster than a passive checkpoint copies, it would never
/// catch up: when the log reaches `limit_mib`, a RESTART runs with whatever is left, holding new
/// commits until it has copied it (a latency spike instead of an unbounded log). Stops when the
/// store is dropped.
pub(crate) fn spawn_checkpointer(
    path: PathBuf,
    alive: std::sync::Weak<()>,
    gauges: Arc<WalGauges>,
    limit_mib: u32,
) -> Result<(), StoreError> {
    use std::sync::atomic::Ordering;
    // RESTART rather than TRUNCATE: the file keeps its size and commits overwrite it in place,
    // so their fsyncs need not also record a growing file.
    const RESET_FRAMES: i64 = 16_384;
    const RESET_WHEN_BEHIND: i64 = 256;
    let connection = connect(&path)?;
    let page_size: i64 = connection.query_row("PRAGMA page_size", [], |r| r.get(0))?;
    let limit_frames = (i64::from(limit_mib.max(1)) * 1024 * 1024 / page_size.max(512)).max(256);
    std::thread::Builder::new()
        .name("whistle-sqlite-checkpoint".into())
        .spawn(move || {
            // (busy, frames in the log, frames copied): busy when a RESTART could not wait
            // out the readers and the log was not restarted.
            let checkpoint = |mode: &str| -> rusqlite::Result<(bool, i64, i64)> {
                connection.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |r| {
                    Ok((r.get::<_, i64>(0)? != 0, r.get(1)?, r.get(2)?))
                })
            };
            while alive.upgrade().is_some() {
                let pause = match checkpoint("PASSIVE") {
                    Ok((_, log, done)) => {
                        gauges.frames.store(log, Ordering::Relaxed);
                        gauges.behind.store(log - done, Ordering::Relaxed);
                        let forced = log >= limit_frames;
                        if forced || (log >= RESET_FRAMES && log - done < RESET_WHEN_BEHIND) {
                            match checkpoint("RESTART") {
                                Ok((busy, log, done)) => {
                                    gauges.frames.store(log, Ordering::Relaxed);
                                    gauges.behind.store(log - done, Ordering::Relaxed);
                                    let counter = if forced {
                                        &gauges.forced
                                    } else {
                                        &gauges.resets
                                    };
                                    if !busy {
                                        counter.fetch_add(1, Ordering::Relaxed);
                                    }
                                }
                                Err(error) => tracing::warn!(%error, "SQLite checkpoint failed"),
                            }
                            // Forced means writes outpace the copying: look again soon, or a
                            // tenth of a second of sustained writes (~10 MB) passes unchecked.
                            if forced {
                                10
                            } else {
                                100
                            }
                        } else if log - done > 1_000 {
                            10
                        } else {
                            100
                        }
                    }
                    Err(error) => {
                        tracing::warn!(%error, "SQLite checkpoint failed");
                        1_000
                    }
                };
                std::thread::sleep(std::time::Duration::from_millis(pause));
            }
        })
        .map_err(|e| StoreError::Other(e.into()))?;
    Ok(())
}
