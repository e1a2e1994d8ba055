//! The embedded SQLite backend as a whole: WAL, `synchronous=FULL`, the schema and its
//! migrations, one writer thread (the order pipeline's, [`crate::orders::sqlite`]) and a pool of
//! reader connections behind a semaphore, and the executor's transactions served on them.

use crate::db::sqlite::checkpoint::*;
use crate::orders::sqlite::cache::*;
use crate::orders::sqlite::pipeline::*;
use crate::types::*;
use crate::{ReferenceStore, Store};
use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use std::path::{Path, PathBuf};
use std::sync::mpsc::sync_channel;
use std::sync::{Arc, Mutex, RwLock};
use whistle_core::reference::Reference;
use whistle_core::time::to_millis;

pub(crate) const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "init",
        include_str!("../../../migrations/sqlite/0001_init.sql"),
    ),
    (
        2,
        "service",
        include_str!("../../../migrations/sqlite/0002_service.sql"),
    ),
    (
        3,
        "whistles",
        include_str!("../../../migrations/sqlite/0003_whistles.sql"),
    ),
    (
        4,
        "grid_cases",
        include_str!("../../../migrations/sqlite/0004_grid_cases.sql"),
    ),
    (
        5,
        "evaluation",
        include_str!("../../../migrations/sqlite/0005_evaluation.sql"),
    ),
    (
        6,
        "period_counters",
        include_str!("../../../migrations/sqlite/0006_period_counters.sql"),
    ),
    (
        7,
        "period_export",
        include_str!("../../../migrations/sqlite/0007_period_export.sql"),
    ),
    (
        8,
        "requester_phone",
        include_str!("../../../migrations/sqlite/0008_requester_phone.sql"),
    ),
    (
        9,
        "awaiting",
        include_str!("../../../migrations/sqlite/0009_awaiting.sql"),
    ),
    (
        10,
        "attachments",
        include_str!("../../../migrations/sqlite/0010_attachments.sql"),
    ),
    (
        11,
        "awaiting_column",
        include_str!("../../../migrations/sqlite/0011_awaiting_column.sql"),
    ),
    (
        12,
        "owed_column",
        include_str!("../../../migrations/sqlite/0012_owed_column.sql"),
    ),
    (
        13,
        "visits_by_agent",
        include_str!("../../../migrations/sqlite/0013_visits_by_agent.sql"),
    ),
    (
        14,
        "role_switch",
        include_str!("../../../migrations/sqlite/0014_role_switch.sql"),
    ),
    (
        15,
        "assignee",
        include_str!("../../../migrations/sqlite/0015_assignee.sql"),
    ),
    (
        16,
        "retention",
        include_str!("../../../migrations/sqlite/0016_retention.sql"),
    ),
    (
        17,
        "order_history",
        include_str!("../../../migrations/sqlite/0017_order_history.sql"),
    ),
    (
        18,
        "evaluation_editions",
        include_str!("../../../migrations/sqlite/0018_evaluation_editions.sql"),
    ),
];

/// The page cache of every connection but the writer's (readers, the planner, the checkpointer),
/// in KiB. Small on purpose: a connection that finds the file changed since its last read discards
/// its cache — under writes, at every read — but keeps the memory, so each connection's cache
/// grows to this size and stays there. At 64 MiB each, six connections scanning 1.3 million orders
/// (the `/metrics` stage counts) held 500 MB (BENCHMARKS, "Hardening").
pub(crate) const READER_CACHE_KIB: i64 = 8 * 1024;

pub struct SqliteStore {
    /// Held while the store lives; the checkpointer thread stops when it is gone.
    pub(crate) _alive: Arc<()>,
    pub(crate) path: PathBuf,
    /// The planner's queue: an async channel, so a full queue makes a caller wait without
    /// taking a thread (a stall of the writer once grew the blocking pool to hundreds).
    pub(crate) writer: tokio::sync::mpsc::Sender<Job>,
    pub(crate) readers: Arc<Mutex<Vec<Connection>>>,
    pub(crate) reference: Arc<RwLock<Arc<Reference>>>,
    /// The writer and planner threads (readiness).
    pub(crate) writer_running: crate::Liveness,
    pub(crate) planner_running: crate::Liveness,
    /// What the checkpointer last saw of the write-ahead log.
    pub(crate) wal: Arc<WalGauges>,
    /// One permit per reader connection (`Tuning::readers`).
    pub(crate) read_permits: Arc<tokio::sync::Semaphore>,
}

pub(crate) fn connect(path: &Path) -> Result<Connection, StoreError> {
    let connection = Connection::open(path).map_err(|e| {
        StoreError::Config(format!(
            "cannot open SQLite database {}: {e}",
            path.display()
        ))
    })?;
    connection.busy_timeout(std::time::Duration::from_secs(10))?;
    connection.pragma_update(None, "journal_mode", "WAL")?;
    // FULL: a commit is on disk before the command is acknowledged.
    connection.pragma_update(None, "synchronous", "FULL")?;
    connection.pragma_update(None, "foreign_keys", "OFF")?;
    connection.pragma_update(None, "cache_size", -READER_CACHE_KIB)?;
    // When the log restarts, a file grown past 64 MB by a burst is trimmed back to 64 MB.
    connection.pragma_update(None, "journal_size_limit", 64 * 1024 * 1024)?;
    Ok(connection)
}

pub(crate) fn schema_version(connection: &Connection) -> Result<Option<i64>, StoreError> {
    let exists: Option<String> = connection
        .query_row(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    if exists.is_none() {
        return Ok(None);
    }
    Ok(
        connection.query_row("SELECT MAX(version) FROM schema_migrations", [], |r| {
            r.get(0)
        })?,
    )
}

pub(crate) fn migrate(connection: &mut Connection, mode: Migrate) -> Result<(), StoreError> {
    let current = schema_version(connection)?;
    crate::check_schema(current, mode)?;
    let current = current.unwrap_or(0);
    for (version, name, text) in MIGRATIONS {
        if *version <= current {
            continue;
        }
        let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
        )?;
        tx.execute_batch(text)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
            params![version, name, to_millis(chrono::Utc::now())],
        )?;
        tx.commit()?;
        tracing::info!(version, name, "applied SQLite migration");
    }
    Ok(())
}

impl SqliteStore {
    pub async fn open(
        path: &Path,
        mode: Migrate,
        tuning: crate::Tuning,
    ) -> Result<SqliteStore, StoreError> {
        let path = path.to_path_buf();
        if mode == Migrate::Refuse && !path.exists() {
            return Err(StoreError::Schema(format!(
                "no database at {}: run `whistle init` (or `whistle migrate`) first",
                path.display()
            )));
        }
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| {
                StoreError::Config(format!("cannot create directory {}: {e}", parent.display()))
            })?;
        }
        let connection = {
            let path = path.clone();
            tokio::task::spawn_blocking(move || -> Result<Connection, StoreError> {
                let mut connection = connect(&path)?;
                migrate(&mut connection, mode)?;
                Ok(connection)
            })
            .await
            .map_err(|e| StoreError::Other(e.into()))??
        };
        // The stored reference, with the counters following its counting rules, in one write
        // transaction served on the connection before it becomes the writer's.
        let (tx, ops) = crate::db::sqlite::SqliteTx::new();
        let serving = tokio::task::spawn_blocking(move || {
            crate::db::sqlite::serve(&connection, "BEGIN IMMEDIATE", ops);
            connection
        });
        let raw = crate::reference::store::open(Box::new(tx)).await;
        let connection = serving.await.map_err(|e| StoreError::Other(e.into()))?;
        let raw = raw?;
        let reference = Arc::new(RwLock::new(Arc::new(raw.build()?)));
        // Checkpoints copy the WAL into the database file. Done inside a commit (SQLite's default)
        // they stall the writer for the duration, which on a large file shows in tail latency;
        // so the writer never checkpoints and a separate thread does, without blocking anyone.
        connection.pragma_update(None, "wal_autocheckpoint", 0)?;
        // The writer's page cache keeps its pages between transactions (it made every change
        // since), which saves re-reading the index pages a day's commands touch; but SQLite walks
        // it at the end of every write transaction, so a service committing small batches keeps
        // it small and bulk loading large (`Tuning`).
        connection.pragma_update(
            None,
            "cache_size",
            -(i64::from(tuning.writer_cache_mib) * 1024),
        )?;
        let alive = Arc::new(());
        let wal = Arc::new(WalGauges::default());
        spawn_checkpointer(
            path.clone(),
            Arc::downgrade(&alive),
            wal.clone(),
            tuning.wal_limit_mib,
        )?;
        let (sender, receiver) = tokio::sync::mpsc::channel(QUEUE_MAX);
        let (to_writer, stages) = sync_channel(2);
        let progress = Arc::new(Progress::default());
        let planner = Planner {
            connection: {
                let reads = connect(&path)?;
                reads.pragma_update(None, "query_only", true)?;
                reads
            },
            shared: reference.clone(),
            progress: progress.clone(),
            cache: Cache {
                capacity: tuning.decoded_orders,
                ..Cache::default()
            },
            seq: 0,
        };
        let state = WriterState {
            shared: reference.clone(),
        };
        let writer_running = crate::Liveness::default();
        let planner_running = crate::Liveness::default();
        let writing = writer_running.running();
        let planning = planner_running.running();
        std::thread::Builder::new()
            .name("whistle-sqlite-writer".into())
            .spawn(move || {
                let _running = writing;
                writer_loop(connection, stages, state, progress)
            })
            .map_err(|e| StoreError::Other(e.into()))?;
        std::thread::Builder::new()
            .name("whistle-sqlite-planner".into())
            .spawn(move || {
                let _running = planning;
                planner.run(receiver, to_writer)
            })
            .map_err(|e| StoreError::Other(e.into()))?;
        Ok(SqliteStore {
            _alive: alive,
            path,
            writer: sender,
            readers: Arc::new(Mutex::new(Vec::new())),
            reference,
            writer_running,
            planner_running,
            wal,
            read_permits: Arc::new(tokio::sync::Semaphore::new(tuning.readers.max(1))),
        })
    }

    /// Runs a read on one of at most `Tuning::readers` pooled connections: a read waits for a
    /// free one rather than taking another blocking thread and opening another connection (under
    /// load, dozens of threads handing reads off and opening connections cost more than the
    /// reads).
    pub(crate) async fn read<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.reader(work)
            .await?
            .await
            .map_err(|e| StoreError::Other(e.into()))?
    }

    /// Waits for a reader permit, then runs `work` on a pooled connection on a blocking thread
    /// (dropping the handle leaves it running: a read transaction is served that way).
    pub(crate) async fn reader<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<tokio::task::JoinHandle<Result<T, StoreError>>, StoreError> {
        let permit = self
            .read_permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| StoreError::Other(e.into()))?;
        let readers = self.readers.clone();
        let path = self.path.clone();
        Ok(tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let pooled = readers
                .lock()
                .map_err(|_| anyhow::anyhow!("reader pool poisoned"))?
                .pop();
            let mut connection = match pooled {
                Some(connection) => connection,
                None => {
                    let connection = connect(&path)?;
                    connection.pragma_update(None, "query_only", true)?;
                    connection
                }
            };
            let result = work(&mut connection);
            if let Ok(mut pool) = readers.lock() {
                pool.push(connection);
            }
            result
        }))
    }
}

impl SqliteStore {
    /// Queues a job for the planner, in the order jobs were submitted (the channel serves
    /// waiting senders first come, first served); a full queue makes the caller wait, holding no
    /// thread. False if the writer has stopped.
    pub(crate) async fn enqueue(&self, job: Job) -> bool {
        self.writer.send(job).await.is_ok()
    }
}

#[async_trait]
impl crate::db::Db for SqliteStore {
    async fn query(
        &self,
        sql: &str,
        params: Vec<crate::db::Param>,
    ) -> Result<Vec<crate::db::Row>, StoreError> {
        let sql = sql.to_string();
        self.read(move |c| crate::db::sqlite::query(c, &sql, &params))
            .await
    }

    async fn read(&self) -> Result<Box<dyn crate::db::Tx>, StoreError> {
        let (tx, ops) = crate::db::sqlite::SqliteTx::new();
        // Served on a pooled reader until the caller commits or drops it; if no connection can
        // be had, its statements fail with "the connection has stopped".
        let _serving = self
            .reader(move |connection| {
                crate::db::sqlite::serve(connection, "BEGIN", ops);
                Ok(())
            })
            .await?;
        Ok(Box::new(tx))
    }

    async fn write(&self) -> Result<Box<dyn crate::db::Tx>, StoreError> {
        let (tx, ops) = crate::db::sqlite::SqliteTx::new();
        let task: Task = Box::new(move |connection, _| {
            crate::db::sqlite::serve(connection, "BEGIN IMMEDIATE", ops)
        });
        if !self.enqueue(Job::Run(task)).await {
            return Err(StoreError::Other(anyhow::anyhow!(
                "the SQLite writer has stopped"
            )));
        }
        Ok(Box::new(tx))
    }

    async fn snapshot_work(
        &self,
        work: crate::db::Work,
    ) -> Result<Box<dyn std::any::Any + Send>, StoreError> {
        self.read(move |connection| crate::db::sqlite::run_direct(connection, "BEGIN", work))
            .await
    }

    async fn transact_work(
        &self,
        work: crate::db::Work,
    ) -> Result<Box<dyn std::any::Any + Send>, StoreError> {
        let stopped = || StoreError::Other(anyhow::anyhow!("the SQLite writer has stopped"));
        let (reply, answer) = tokio::sync::oneshot::channel();
        let task: Task = Box::new(move |connection, _| {
            let _ = reply.send(crate::db::sqlite::run_direct(
                connection,
                "BEGIN IMMEDIATE",
                work,
            ));
        });
        if !self.enqueue(Job::Run(task)).await {
            return Err(stopped());
        }
        answer.await.map_err(|_| stopped())?
    }
}

impl crate::db::Database for SqliteStore {
    fn shared_reference(&self) -> &RwLock<Arc<Reference>> {
        &self.reference
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    fn components(&self) -> Vec<(&'static str, bool)> {
        vec![
            ("writer", self.writer_running.is_running()),
            ("planner", self.planner_running.is_running()),
        ]
    }

    fn gauges(&self) -> Vec<crate::Gauge> {
        use std::sync::atomic::Ordering;
        let wal = &self.wal;
        vec![
            crate::Gauge {
                name: "whistle_sqlite_wal_frames",
                help: "Frames in the SQLite write-ahead log, as the checkpointer last saw it.",
                kind: "gauge",
                value: wal.frames.load(Ordering::Relaxed) as f64,
            },
            crate::Gauge {
                name: "whistle_sqlite_checkpoint_lag_frames",
                help: "Frames of the write-ahead log not yet copied into the database file.",
                kind: "gauge",
                value: wal.behind.load(Ordering::Relaxed) as f64,
            },
            crate::Gauge {
                name: "whistle_sqlite_wal_resets_total",
                help: "Times the write-ahead log was restarted after the checkpointer caught up.",
                kind: "counter",
                value: wal.resets.load(Ordering::Relaxed) as f64,
            },
            crate::Gauge {
                name: "whistle_sqlite_wal_forced_resets_total",
                help:
                    "Times the write-ahead log reached its limit and was restarted holding commits.",
                kind: "counter",
                value: wal.forced.load(Ordering::Relaxed) as f64,
            },
        ]
    }

    async fn rebuild_projections(&self) -> Result<RebuildReport, StoreError> {
        crate::rebuild::rebuild(self, self.reference().policy.due_soon_minutes).await
    }
}
