//! The embedded SQLite backend: WAL, `synchronous=FULL`, one writer thread that group-commits
//! whatever commands are waiting (one fsync per batch), and a pool of reader connections.

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex, RwLock};
use tokio::sync::mpsc::error::TryRecvError;
use tokio::sync::oneshot;
use whistle_core::ids::{OrderId, OrderNo};
use whistle_core::order::Order;
use whistle_core::reference::Reference;
use whistle_core::time::{from_millis, to_millis, Timestamp};

use crate::plan::{self, Item, Loaded, Plan, Row};
use crate::sql;
use crate::types::*;
use crate::{ReferenceStore, Store};

const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "init",
        include_str!("../migrations/sqlite/0001_init.sql"),
    ),
    (
        2,
        "service",
        include_str!("../migrations/sqlite/0002_service.sql"),
    ),
    (
        3,
        "whistles",
        include_str!("../migrations/sqlite/0003_whistles.sql"),
    ),
    (
        4,
        "grid_cases",
        include_str!("../migrations/sqlite/0004_grid_cases.sql"),
    ),
    (
        5,
        "evaluation",
        include_str!("../migrations/sqlite/0005_evaluation.sql"),
    ),
    (
        6,
        "period_counters",
        include_str!("../migrations/sqlite/0006_period_counters.sql"),
    ),
    (
        7,
        "period_export",
        include_str!("../migrations/sqlite/0007_period_export.sql"),
    ),
];

/// The most commands one transaction takes; more wait for the next. Large: each commit is an
/// fsync (`synchronous=FULL`), and with 2,048 the simulated year spent a noticeable share of the
/// writer's time in them (BENCHMARKS, "The year again"). A batch only grows this large when that
/// many commands are already waiting.
const BATCH_MAX: usize = 8192;
/// Commands queued for the writer at most; senders wait beyond that (backpressure).
const QUEUE_MAX: usize = 256;

/// The page cache of every connection but the writer's (readers, the planner, the checkpointer),
/// in KiB. Small on purpose: a connection that finds the file changed since its last read discards
/// its cache — under writes, at every read — but keeps the memory, so each connection's cache
/// grows to this size and stays there. At 64 MiB each, six connections scanning 1.3 million orders
/// (the `/metrics` stage counts) held 500 MB (BENCHMARKS, "Hardening").
const READER_CACHE_KIB: i64 = 8 * 1024;

type Results = Vec<Result<Outcome, CommandError>>;
type Task = Box<dyn FnOnce(&mut Connection, &mut WriterState) + Send>;
type Replies = Vec<(usize, oneshot::Sender<Results>)>;

enum Job {
    Execute(Vec<Item>, oneshot::Sender<Results>),
    Run(Task),
}

/// What the planner hands the writer.
enum Stage {
    /// A planned batch: its number, the commands (to decide again if a check fails), the plan
    /// with its encoded rows, and where each job's results go.
    Write {
        seq: u64,
        items: Vec<Item>,
        planned: Box<(Plan, Encoded)>,
        replies: Replies,
    },
    /// Anything else that writes, run alone; the planner waits for `done`.
    Run(Task, SyncSender<()>),
}

/// What the writer tells the planner.
#[derive(Default)]
struct Progress {
    /// The last batch number the writer has finished (committed, or decided again).
    done: std::sync::atomic::AtomicU64,
    /// How many times the writer has had to decide a batch again: the planner's cache may hold
    /// states that were never committed, so it drops it.
    replans: std::sync::atomic::AtomicU64,
}

struct WriterState {
    shared: Arc<RwLock<Arc<Reference>>>,
}

pub struct SqliteStore {
    /// Held while the store lives; the checkpointer thread stops when it is gone.
    _alive: Arc<()>,
    path: PathBuf,
    /// The planner's queue: an async channel, so a full queue makes a caller wait without
    /// taking a thread (a stall of the writer once grew the blocking pool to hundreds).
    writer: tokio::sync::mpsc::Sender<Job>,
    readers: Arc<Mutex<Vec<Connection>>>,
    reference: Arc<RwLock<Arc<Reference>>>,
    /// The writer and planner threads (readiness).
    writer_running: crate::Liveness,
    planner_running: crate::Liveness,
    /// What the checkpointer last saw of the write-ahead log.
    wal: Arc<WalGauges>,
    /// One permit per reader connection (`Tuning::readers`).
    read_permits: Arc<tokio::sync::Semaphore>,
}

/// The write-ahead log as the checkpointer last saw it, for `/metrics`.
#[derive(Default)]
struct WalGauges {
    /// Frames in the log.
    frames: std::sync::atomic::AtomicI64,
    /// Frames not yet copied into the database file (the checkpointer's lag).
    behind: std::sync::atomic::AtomicI64,
    /// Times the log was restarted after catching up.
    resets: std::sync::atomic::AtomicU64,
    /// Times the log reached its limit and was restarted with writers held.
    forced: std::sync::atomic::AtomicU64,
}

fn connect(path: &Path) -> Result<Connection, StoreError> {
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

fn schema_version(connection: &Connection) -> Result<Option<i64>, StoreError> {
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

fn migrate(connection: &mut Connection, mode: Migrate) -> Result<(), StoreError> {
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
    async fn read<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.reader(work)
            .await?
            .await
            .map_err(|e| StoreError::Other(e.into()))?
    }

    /// Waits for a reader permit, then runs `work` on a pooled connection on a blocking thread
    /// (dropping the handle leaves it running: a read transaction is served that way).
    async fn reader<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
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
            let connection = match pooled {
                Some(connection) => connection,
                None => {
                    let connection = connect(&path)?;
                    connection.pragma_update(None, "query_only", true)?;
                    connection
                }
            };
            let result = work(&connection);
            if let Ok(mut pool) = readers.lock() {
                pool.push(connection);
            }
            result
        }))
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
}

impl SqliteStore {
    /// Queues a job for the planner, in the order jobs were submitted (the channel serves
    /// waiting senders first come, first served); a full queue makes the caller wait, holding no
    /// thread. False if the writer has stopped.
    async fn enqueue(&self, job: Job) -> bool {
        self.writer.send(job).await.is_ok()
    }
}

/// Keeps the WAL short without stalling commits: PASSIVE checkpoints (which never block the
/// writer or readers) copy frames continuously; once they have nearly caught up and the log has
/// grown past 64 MB, a RESTART checkpoint — with little left to copy, so it holds the writer only
/// briefly — resets it. Under writes faster than a passive checkpoint copies, it would never
/// catch up: when the log reaches `limit_mib`, a RESTART runs with whatever is left, holding new
/// commits until it has copied it (a latency spike instead of an unbounded log). Stops when the
/// store is dropped.
fn spawn_checkpointer(
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
            let checkpoint = |mode: &str| -> rusqlite::Result<(i64, i64)> {
                connection.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |r| {
                    Ok((r.get(1)?, r.get(2)?))
                })
            };
            while alive.upgrade().is_some() {
                let pause = match checkpoint("PASSIVE") {
                    Ok((log, done)) => {
                        gauges.frames.store(log, Ordering::Relaxed);
                        gauges.behind.store(log - done, Ordering::Relaxed);
                        let forced = log >= limit_frames;
                        if forced || (log >= RESET_FRAMES && log - done < RESET_WHEN_BEHIND) {
                            match checkpoint("RESTART") {
                                Ok((log, done)) => {
                                    gauges.frames.store(log, Ordering::Relaxed);
                                    gauges.behind.store(log - done, Ordering::Relaxed);
                                    let counter = if forced {
                                        &gauges.forced
                                    } else {
                                        &gauges.resets
                                    };
                                    counter.fetch_add(1, Ordering::Relaxed);
                                }
                                Err(error) => tracing::warn!(%error, "SQLite checkpoint failed"),
                            }
                            100
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

/// The planner's decoded orders: every order of a batch still in flight (tagged with the number
/// of the last batch that changed it), and up to [`crate::Tuning::decoded_orders`] others, dropped oldest-written
/// first once the writer has finished the batch that wrote them.
#[derive(Default)]
struct Cache {
    orders: HashMap<OrderId, (u64, Order)>,
    by_no: HashMap<OrderNo, OrderId>,
    /// The last order number issued per day, as planned.
    counters: HashMap<chrono::NaiveDate, u64>,
    /// Idempotency keys recorded by batches in flight.
    keys: HashMap<(String, String), (u64, plan::IdempotencyRecord)>,
    /// Orders in the order they were last written (stale entries are skipped).
    written: VecDeque<(OrderId, u64)>,
    /// The writer's replan count when the cache was last known good.
    replans: u64,
    /// How many decoded orders it keeps beyond those in flight.
    capacity: usize,
}

impl Cache {
    fn clear(&mut self, replans: u64) {
        *self = Cache {
            replans,
            capacity: self.capacity,
            ..Cache::default()
        };
    }

    fn put(&mut self, order: Order, tag: u64) {
        self.by_no.insert(order.no.clone(), order.id);
        self.written.push_back((order.id, tag));
        self.orders.insert(order.id, (tag, order));
    }

    /// Drops the oldest-written orders beyond the limit, never one still in flight.
    fn trim(&mut self, done: u64) {
        self.keys.retain(|_, (tag, _)| *tag > done);
        while self.orders.len() > self.capacity {
            let Some((id, tag)) = self.written.pop_front() else {
                break;
            };
            match self.orders.get(&id) {
                Some((current, _)) if *current != tag => continue,
                Some(_) if tag > done => {
                    self.written.push_front((id, tag));
                    break;
                }
                Some((_, order)) => {
                    self.by_no.remove(&order.no);
                    self.orders.remove(&id);
                }
                None => continue,
            }
        }
        if self.written.len() > 4 * self.capacity.max(1) {
            let orders = &self.orders;
            self.written
                .retain(|(id, tag)| orders.get(id).is_some_and(|(t, _)| t == tag));
        }
    }
}

/// The first stage of the write pipeline (see the module documentation).
struct Planner {
    /// A read-only connection: it sees what the writer has committed.
    connection: Connection,
    shared: Arc<RwLock<Arc<Reference>>>,
    progress: Arc<Progress>,
    cache: Cache,
    seq: u64,
}

impl Planner {
    fn run(mut self, mut receiver: tokio::sync::mpsc::Receiver<Job>, writer: SyncSender<Stage>) {
        use std::sync::atomic::Ordering;
        let mut pending: Option<Job> = None;
        loop {
            let job = match pending.take() {
                Some(job) => job,
                None => match receiver.blocking_recv() {
                    Some(job) => job,
                    None => return,
                },
            };
            match job {
                Job::Run(task) => {
                    let (done, finished) = sync_channel(1);
                    if writer.send(Stage::Run(task, done)).is_err() {
                        return;
                    }
                    let _ = finished.recv();
                    // It may have changed any order (a rebuild, a change of units).
                    self.cache
                        .clear(self.progress.replans.load(Ordering::SeqCst));
                }
                Job::Execute(batch, reply) => {
                    let mut jobs = vec![(batch, reply)];
                    let mut count = jobs[0].0.len();
                    while count < BATCH_MAX {
                        match receiver.try_recv() {
                            Ok(Job::Execute(batch, reply)) => {
                                count += batch.len();
                                jobs.push((batch, reply));
                            }
                            Ok(run) => {
                                pending = Some(run);
                                break;
                            }
                            Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
                        }
                    }
                    let mut replies = Vec::with_capacity(jobs.len());
                    let mut items = Vec::with_capacity(count);
                    for (batch, reply) in jobs {
                        replies.push((batch.len(), reply));
                        items.extend(batch);
                    }
                    self.seq += 1;
                    let seq = self.seq;
                    let planned = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        crate::faults::panic_if_batch_marked("plan", &items);
                        self.plan(seq, &items)
                    }))
                    .unwrap_or_else(|panic| {
                        // The cache may be half-updated: drop it; later batches read the file
                        // and the writer's checks catch anything still in flight.
                        self.cache
                            .clear(self.progress.replans.load(Ordering::SeqCst));
                        Err(StoreError::Other(anyhow::anyhow!(
                            "planning the batch panicked: {}",
                            crate::faults::panic_text(&panic)
                        )))
                    });
                    let stage = match planned {
                        Ok(planned) => Stage::Write {
                            seq,
                            items,
                            planned: Box::new(planned),
                            replies,
                        },
                        Err(error) => {
                            tracing::error!(%error, "SQLite batch could not be planned; nothing of it was committed");
                            let mut results = std::iter::repeat_with(|| {
                                Err(CommandError::Store(error.to_string()))
                            });
                            for (size, reply) in replies {
                                let _ = reply.send(results.by_ref().take(size).collect());
                            }
                            continue;
                        }
                    };
                    if writer.send(stage).is_err() {
                        return;
                    }
                }
            }
        }
    }

    /// Loads what a batch needs (the cache first), decides it, and encodes the rows.
    fn plan(&mut self, seq: u64, items: &[Item]) -> Result<(Plan, Encoded), StoreError> {
        use std::sync::atomic::Ordering;
        let replans = self.progress.replans.load(Ordering::SeqCst);
        if replans != self.cache.replans {
            self.cache.clear(replans);
        }
        let done = self.progress.done.load(Ordering::SeqCst);
        let reference = self
            .shared
            .read()
            .map(|r| r.clone())
            .map_err(|_| anyhow::anyhow!("reference lock poisoned"))?;
        // What is read from the file comes from one snapshot, taken after `done` was read: it
        // holds every batch the cache has dropped.
        let tx = self.connection.unchecked_transaction()?;
        let mut loaded = load(&tx, plan::wanted(items), &self.cache)?;
        tx.commit()?;
        let plan = plan::plan_in(&reference, items.to_vec(), &mut loaded, || {
            OrderId(uuid::Uuid::now_v7())
        });
        let encoded = Encoded::new(&plan)?;
        // The cache now holds the batch's outcome: later batches are planned on it.
        let written: std::collections::HashSet<OrderId> =
            plan.orders.iter().map(|(order, _)| order.id).collect();
        for (id, order) in loaded.orders {
            let tag = if written.contains(&id) {
                seq
            } else {
                match self.cache.orders.get(&id) {
                    Some((tag, _)) => *tag,
                    None => 0,
                }
            };
            if tag == seq || !self.cache.orders.contains_key(&id) {
                self.cache.put(order, tag);
            }
        }
        for (day, last) in &plan.counters {
            self.cache.counters.insert(*day, *last);
        }
        for (slot, record) in &plan.idempotency {
            self.cache.keys.insert(slot.clone(), (seq, record.clone()));
        }
        self.cache.trim(done);
        Ok((plan, encoded))
    }
}

/// Loads what a batch needs: from `cache` where it holds it, else from the file.
fn load(c: &Connection, wanted: plan::Wanted, cache: &Cache) -> Result<Loaded, StoreError> {
    let plan::Wanted {
        ids,
        nos,
        days,
        keys,
    } = wanted;
    let mut loaded = Loaded::default();
    let mut by_id = c.prepare_cached("SELECT state FROM orders WHERE id = ?1")?;
    for id in ids {
        if let Some((_, order)) = cache.orders.get(&id) {
            loaded.insert(order.clone());
        } else if let Some(state) = by_id
            .query_row([id.0.as_bytes()], |r| r.get::<_, String>(0))
            .optional()?
        {
            loaded.insert(crate::parse_state(&state)?);
        }
    }
    let mut by_no = c.prepare_cached("SELECT state FROM orders WHERE no = ?1")?;
    for no in nos {
        let cached = cache.by_no.get(&no).and_then(|id| cache.orders.get(id));
        if let Some((_, order)) = cached {
            loaded.insert(order.clone());
        } else if let Some(state) = by_no
            .query_row([no.as_str()], |r| r.get::<_, String>(0))
            .optional()?
        {
            loaded.insert(crate::parse_state(&state)?);
        }
    }
    let mut counter = c.prepare_cached("SELECT last FROM order_counters WHERE day = ?1")?;
    for day in days {
        let last = match cache.counters.get(&day) {
            Some(last) => *last,
            None => counter
                .query_row([day.to_string()], |r| r.get::<_, i64>(0))
                .optional()?
                .unwrap_or(0) as u64,
        };
        loaded.counters.insert(day, last);
    }
    let mut key_lookup = c.prepare_cached(
        "SELECT request_hash, order_id, order_no, version FROM idempotency WHERE principal = ?1 AND key = ?2",
    )?;
    for slot in keys {
        if let Some((_, record)) = cache.keys.get(&slot) {
            loaded.idempotency.insert(slot, record.clone());
        } else if let Some(record) = read_key(&mut key_lookup, &slot)? {
            loaded.idempotency.insert(slot, record);
        }
    }
    Ok(loaded)
}

/// An idempotency record by (principal, key).
fn read_key(
    lookup: &mut rusqlite::CachedStatement<'_>,
    (principal, key): &(String, String),
) -> Result<Option<plan::IdempotencyRecord>, StoreError> {
    let found = lookup
        .query_row(params![principal, key], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Vec<u8>>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
            ))
        })
        .optional()?;
    match found {
        Some((hash, id, no, version)) => {
            let id = OrderId(uuid::Uuid::from_slice(&id).map_err(|e| anyhow::anyhow!(e))?);
            Ok(Some((hash, id, OrderNo::parse(&no)?, version as u64)))
        }
        None => Ok(None),
    }
}

/// The second stage: writes planned batches, each in one transaction, in order.
fn writer_loop(
    mut connection: Connection,
    receiver: Receiver<Stage>,
    mut state: WriterState,
    progress: Arc<Progress>,
) {
    use std::sync::atomic::Ordering;
    while let Ok(stage) = receiver.recv() {
        match stage {
            Stage::Run(task, done) => {
                // A panicking task drops its reply (its caller gets a storage error) and rolls
                // its transaction back as it unwinds; the writer goes on.
                if let Err(panic) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    task(&mut connection, &mut state)
                })) {
                    tracing::error!(
                        panic = crate::faults::panic_text(&panic),
                        "a SQLite write task panicked; nothing of it was committed"
                    );
                    progress.replans.fetch_add(1, Ordering::SeqCst);
                }
                let _ = done.send(());
            }
            Stage::Write {
                seq,
                items,
                planned,
                replies,
            } => {
                let count = items.len();
                let (plan, encoded) = *planned;
                let written = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    let tx =
                        connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
                    write(&tx, &plan, encoded, true)?;
                    crate::faults::panic_if_batch_marked("write", &items);
                    tx.commit()?;
                    Ok::<_, StoreError>(plan.results)
                }));
                let results = match written {
                    Ok(Ok(results)) => results,
                    Err(panic) => {
                        // Rolled back as it unwound. Deciding it again would panic again: the
                        // batch fails, the planner drops its cache, the writer goes on.
                        tracing::error!(
                            panic = crate::faults::panic_text(&panic),
                            "writing a SQLite batch panicked; nothing of it was committed"
                        );
                        progress.replans.fetch_add(1, Ordering::SeqCst);
                        vec![
                            Err(CommandError::Store(
                                "internal error: the batch could not be written".into()
                            ));
                            count
                        ]
                    }
                    Ok(Err(error)) => {
                        // Something the plan was decided on changed (or the write failed):
                        // decide the batch again inside the transaction.
                        tracing::debug!(%error, "planned batch not written as planned; deciding it again");
                        progress.replans.fetch_add(1, Ordering::SeqCst);
                        match state.shared.read().map(|r| r.clone()) {
                            Ok(reference) => execute_batch(&mut connection, &reference, items),
                            Err(_) => {
                                vec![
                                    Err(CommandError::Store("reference lock poisoned".into()));
                                    count
                                ]
                            }
                        }
                    }
                };
                progress.done.store(seq, Ordering::SeqCst);
                let mut results = results.into_iter();
                for (size, reply) in replies {
                    let _ = reply.send(results.by_ref().take(size).collect());
                }
            }
        }
    }
}

fn execute_batch(connection: &mut Connection, reference: &Reference, batch: Vec<Item>) -> Results {
    let count = batch.len();
    let attempt = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
        // Decided inside the write transaction: everything is read from the file.
        let loaded = load(&tx, plan::wanted(&batch), &Cache::default())?;
        crate::faults::panic_if_batch_marked("write", &batch);
        let plan = plan::plan(reference, batch, loaded, || OrderId(uuid::Uuid::now_v7()));
        persist(&tx, &plan)?;
        tx.commit()?;
        Ok(plan.results)
    }))
    .unwrap_or_else(|panic| {
        Err(StoreError::Other(anyhow::anyhow!(
            "the batch panicked: {}",
            crate::faults::panic_text(&panic)
        )))
    });
    match attempt {
        Ok(results) => results,
        Err(error) => {
            tracing::error!(%error, "SQLite batch failed; nothing of it was committed");
            vec![Err(CommandError::Store(error.to_string())); count]
        }
    }
}

/// A plan's rows in their stored form: each event's payload, each order's state and notice time.
struct Encoded {
    payloads: Vec<String>,
    states: Vec<(String, Option<i64>)>,
}

impl Encoded {
    fn new(plan: &Plan) -> Result<Encoded, StoreError> {
        let payloads = plan
            .events
            .iter()
            .map(|event| serde_json::to_string(&event.payload))
            .collect::<Result<_, _>>()
            .map_err(|e| anyhow::anyhow!(e))?;
        let states = plan
            .orders
            .iter()
            .map(|(order, _)| {
                Row::new(order, plan.due_soon_minutes).map(|row| (row.state, row.notice_at))
            })
            .collect::<Result<_, _>>()
            .map_err(|e| anyhow::anyhow!(e))?;
        Ok(Encoded { payloads, states })
    }
}

pub(crate) fn persist(tx: &Connection, plan: &Plan) -> Result<(), StoreError> {
    write(tx, plan, Encoded::new(plan)?, false)
}

/// Writes a plan. `checked`: the plan was decided outside this transaction, so every row it was
/// decided on is checked to be unchanged (any difference is an error, and the caller decides
/// the batch again).
fn write(tx: &Connection, plan: &Plan, encoded: Encoded, checked: bool) -> Result<(), StoreError> {
    let diverged =
        |what: String| StoreError::Other(anyhow::anyhow!("changed since planned: {what}"));
    persist_intake(tx, plan)?;
    let mut insert_event = tx.prepare_cached(&sql::INSERT_EVENT.replace('$', "?"))?;
    for (event, payload) in plan.events.iter().zip(encoded.payloads) {
        insert_event.execute(params![
            event.order_id.0.as_bytes(),
            event.seq as i64,
            to_millis(event.at),
            event.actor.user,
            event.actor.unit.as_str(),
            event.payload.name(),
            payload
        ])?;
    }
    let mut insert = tx.prepare_cached(&sql::INSERT_ORDER.replace('$', "?"))?;
    // With an expected version (a checked write), the row must still be at it.
    let mut update = tx.prepare_cached(&format!(
        "{} AND (?12 IS NULL OR version = ?12)",
        sql::UPDATE_ORDER.replace('$', "?")
    ))?;
    for ((order, new), (state, notice_at)) in plan.orders.iter().zip(encoded.states) {
        let row = Row {
            order,
            state,
            notice_at,
        };
        let expected = plan.expected.versions.get(&order.id);
        if *new {
            insert.execute(params![
                order.id.0.as_bytes(),
                order.no.as_str(),
                order.version as i64,
                row.stage(),
                order.request_type.as_str(),
                order.channel.as_str(),
                order.category.as_str(),
                order.urgency.as_str(),
                row.territory(0),
                row.territory(1),
                row.territory(2),
                row.lead(),
                to_millis(order.received_at),
                row.respond_by(),
                row.handle_by(),
                row.next_due_at(),
                row.closed_at(),
                row.excluded(),
                row.state,
                row.notice_at,
                order.location.address.as_deref()
            ])?;
        } else {
            let expected = expected.filter(|_| checked);
            let changed = update.execute(params![
                order.id.0.as_bytes(),
                order.version as i64,
                row.stage(),
                row.lead(),
                row.respond_by(),
                row.handle_by(),
                row.next_due_at(),
                row.closed_at(),
                row.excluded(),
                row.state,
                row.notice_at,
                expected.map(|v| *v as i64)
            ])?;
            if let (Some(expected), true) = (expected, changed != 1) {
                return Err(diverged(format!("order {} version {expected}", order.no)));
            }
        }
    }
    if checked {
        // Orders the plan read but did not change (a refused command, a referenced order).
        let written: std::collections::HashSet<OrderId> =
            plan.orders.iter().map(|(order, _)| order.id).collect();
        let mut version = tx.prepare_cached("SELECT version FROM orders WHERE id = ?1")?;
        for (id, expected) in &plan.expected.versions {
            if written.contains(id) {
                continue;
            }
            let stored: Option<i64> = version
                .query_row([id.0.as_bytes()], |r| r.get(0))
                .optional()?;
            if stored != Some(*expected as i64) {
                return Err(diverged(format!("order {id:?} version {expected}")));
            }
        }
        let mut key = tx.prepare_cached(
            "SELECT request_hash, order_id, order_no, version FROM idempotency WHERE principal = ?1 AND key = ?2",
        )?;
        for (slot, record) in &plan.expected.keys {
            if read_key(&mut key, slot)?.as_ref() != Some(record) {
                return Err(diverged(format!("idempotency key of {}", slot.0)));
            }
        }
    }
    let mut link = tx.prepare_cached(
        "INSERT INTO order_units (unit, received_at, order_id, role) VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
    )?;
    for l in &plan.unit_links {
        link.execute(params![
            l.unit.as_str(),
            l.received_at,
            l.order_id.0.as_bytes(),
            l.role
        ])?;
    }
    let mut requester = tx.prepare_cached(
        "INSERT INTO requesters (order_id, name, phone, address_detail) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for (id, r) in &plan.requesters {
        requester.execute(params![id.0.as_bytes(), r.name, r.phone, r.address_detail])?;
    }
    let mut counter = tx.prepare_cached(
        "INSERT INTO order_counters (day, last) VALUES (?1, ?2) ON CONFLICT (day) DO UPDATE SET last = excluded.last",
    )?;
    let mut counter_checked = tx.prepare_cached(
        "INSERT INTO order_counters (day, last) VALUES (?1, ?2) ON CONFLICT (day) DO UPDATE SET last = excluded.last \
         WHERE order_counters.last = ?3",
    )?;
    for (day, last) in &plan.counters {
        match (checked, plan.expected.counters.get(day)) {
            (true, Some(before)) => {
                let changed = counter_checked.execute(params![
                    day.to_string(),
                    *last as i64,
                    *before as i64
                ])?;
                if changed != 1 {
                    return Err(diverged(format!("order numbers of {day}")));
                }
            }
            _ => {
                counter.execute(params![day.to_string(), *last as i64])?;
            }
        }
    }
    let mut key = tx.prepare_cached(
        "INSERT INTO idempotency (principal, key, request_hash, order_id, order_no, version, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    let now = to_millis(chrono::Utc::now());
    for ((principal, k), (hash, id, no, version)) in &plan.idempotency {
        key.execute(params![
            principal,
            k,
            hash,
            id.0.as_bytes(),
            no.as_str(),
            *version as i64,
            now
        ])?;
    }
    let mut text = tx.prepare_cached("INSERT INTO order_texts (order_id, text) VALUES (?1, ?2)")?;
    let mut index = tx.prepare_cached(
        "INSERT INTO order_texts_fts (rowid, text) VALUES (last_insert_rowid(), ?1)",
    )?;
    for (id, body) in &plan.texts {
        text.execute(params![id.0.as_bytes(), body])?;
        index.execute(params![body])?;
    }
    if plan.counter_deltas.iter().any(|d| !d.is_empty()) {
        let (start_day, basis) = counting(tx)?;
        let deltas = &plan.counter_deltas[basis.index()];
        let mut counter =
            tx.prepare_cached(&sql::CounterTable::Period.upsert(false).replace('$', "?"))?;
        for cell in sql::period_deltas(deltas, start_day) {
            insert_cell(&mut counter, cell)?;
        }
        let mut counter =
            tx.prepare_cached(&sql::CounterTable::Day.upsert(false).replace('$', "?"))?;
        for (key, counts) in deltas {
            insert_cell(&mut counter, sql::day_cell(key, counts))?;
        }
    }
    Ok(())
}

/// Executes a counter upsert for one cell.
/// Adds counter cells with the writer's upsert (the executor's [`crate::db::Tx::write_cells`]).
pub(crate) fn write_cells(
    tx: &Connection,
    table: sql::CounterTable,
    cells: &[sql::PeriodCell],
) -> Result<(), StoreError> {
    let mut insert = tx.prepare_cached(&table.upsert(false).replace('$', "?"))?;
    for cell in cells {
        insert_cell(&mut insert, cell.clone())?;
    }
    Ok(())
}

fn insert_cell(
    statement: &mut rusqlite::Statement<'_>,
    (key, unit, category, v): sql::PeriodCell,
) -> rusqlite::Result<usize> {
    statement.execute(params![
        key, unit, category, v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8]
    ])
}

/// Adds a plan's intake deltas to the day and month volumes.
fn persist_intake(tx: &Connection, plan: &Plan) -> Result<(), StoreError> {
    if plan.intake_deltas.is_empty() {
        return Ok(());
    }
    let [days, months] = sql::intake_deltas(&plan.intake_deltas);
    for (table, (keys, counts)) in [
        (sql::CounterTable::IntakeDay, days),
        (sql::CounterTable::IntakeMonth, months),
    ] {
        let mut upsert = tx.prepare_cached(&table.intake_upsert(false).replace('$', "?"))?;
        for ((key, territory, category), count) in keys.iter().zip(counts) {
            upsert.execute(params![key, territory, category, count])?;
        }
    }
    Ok(())
}

use crate::db::sqlite::bind;

fn summaries(
    connection: &Connection,
    query: sql::Query,
    limit: i64,
    due: bool,
) -> Result<Page<OrderSummary>, StoreError> {
    let mut statement = connection.prepare_cached(&query.for_sqlite())?;
    let bound = bind(&query.params);
    let refs: Vec<&dyn rusqlite::ToSql> = bound.iter().map(|b| b.as_ref()).collect();
    let rows = statement.query_map(refs.as_slice(), |r| {
        let invalid = |e: Box<dyn std::error::Error + Send + Sync>| {
            rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, e)
        };
        let id =
            uuid::Uuid::from_slice(&r.get::<_, Vec<u8>>(0)?).map_err(|e| invalid(Box::new(e)))?;
        let no = OrderNo::parse(&r.get::<_, String>(1)?).map_err(|e| invalid(Box::new(e)))?;
        let ms = |i: usize| -> rusqlite::Result<Option<Timestamp>> {
            Ok(r.get::<_, Option<i64>>(i)?.map(from_millis))
        };
        Ok(OrderSummary {
            id: OrderId(id),
            no,
            version: r.get::<_, i64>(2)? as u64,
            stage: r.get(3)?,
            request_type: r.get(4)?,
            category: r.get(5)?,
            urgency: r.get(6)?,
            district: r.get(7)?,
            street: r.get(8)?,
            lead_unit: r.get(9)?,
            received_at: from_millis(r.get(10)?),
            respond_by: ms(11)?,
            handle_by: ms(12)?,
            next_due_at: ms(13)?,
            closed_at: ms(14)?,
            excluded: r.get(15)?,
        })
    })?;
    let items = rows.collect::<Result<Vec<_>, _>>()?;
    Ok(crate::finish_page(items, limit, due))
}

impl crate::db::Database for SqliteStore {
    fn shared_reference(&self) -> &RwLock<Arc<Reference>> {
        &self.reference
    }
}

#[async_trait]
impl crate::OrderStore for SqliteStore {
    async fn execute_items(&self, batch: Vec<Item>) -> Vec<Result<Outcome, CommandError>> {
        let count = batch.len();
        if count == 0 {
            return Vec::new();
        }
        let (sender, receiver) = oneshot::channel();
        if !self.enqueue(Job::Execute(batch, sender)).await {
            return vec![Err(CommandError::Store("the SQLite writer has stopped".into())); count];
        }
        receiver.await.unwrap_or_else(|_| {
            vec![Err(CommandError::Store("the SQLite writer has stopped".into())); count]
        })
    }

    async fn orders_by_id(&self, ids: &[OrderId]) -> Result<Vec<Order>, StoreError> {
        let ids = ids.to_vec();
        self.read(move |c| {
            let mut statement = c.prepare_cached("SELECT state FROM orders WHERE id = ?1")?;
            let mut orders = Vec::with_capacity(ids.len());
            for id in ids {
                let state: Option<String> = statement
                    .query_row([id.0.as_bytes()], |r| r.get(0))
                    .optional()?;
                if let Some(state) = state {
                    orders.push(crate::parse_state(&state)?);
                }
            }
            Ok(orders)
        })
        .await
    }

    async fn list_orders(
        &self,
        scope: &Scope,
        filter: &OrderFilter,
        page: &PageRequest,
    ) -> Result<Page<OrderSummary>, StoreError> {
        let query = sql::list_orders(scope, filter, page, true)?;
        let limit = page.limit();
        self.read(move |c| summaries(c, query, limit, false)).await
    }

    async fn due(
        &self,
        at: Timestamp,
        page: &PageRequest,
    ) -> Result<Page<OrderSummary>, StoreError> {
        let query = sql::due(to_millis(at), page)?;
        let limit = page.limit();
        self.read(move |c| summaries(c, query, limit, true)).await
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

/// The start day the period counters are kept under.
fn period_start_day(c: &Connection) -> Result<u32, StoreError> {
    let value: Option<String> = c
        .query_row(sql::PERIOD_START_DAY, [], |r| r.get(0))
        .optional()?;
    Ok(value.and_then(|v| v.parse().ok()).unwrap_or(1))
}

/// The start day and basis the counters are kept under.
fn counting(c: &Connection) -> Result<(u32, whistle_core::evaluation::CountBasis), StoreError> {
    let basis: Option<String> = c.query_row(sql::COUNT_BY, [], |r| r.get(0)).optional()?;
    Ok((period_start_day(c)?, sql::count_basis(basis)?))
}
