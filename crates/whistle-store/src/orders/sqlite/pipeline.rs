//! The SQLite order pipeline: a planner thread that batches waiting commands, loads what they
//! need (its cache first) and decides them, and the writer thread that checks and commits each
//! batch (one fsync) or decides it again when a check fails. Anything else that writes runs on
//! the writer thread between batches ([`Job::Run`]).
//!
//! Invariant: the writer thread is the only connection that writes the database.
//! Invariant: a batch is committed only if every row it was planned on is unchanged
//! ([`super::write::write`] with `checked`); otherwise it is decided again on the writer.

use crate::orders::sqlite::cache::*;
use crate::orders::sqlite::write::*;
use crate::plan::{self, Item, Loaded, Plan};
use crate::types::*;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, RwLock};
use tokio::sync::mpsc::error::TryRecvError;
use tokio::sync::oneshot;
use whistle_core::ids::{OrderId, OrderNo};
use whistle_core::reference::Reference;

/// The most commands one transaction takes; more wait for the next. Large: each commit is an
/// fsync (`synchronous=FULL`), and with 2,048 the simulated year spent a noticeable share of the
/// writer's time in them (BENCHMARKS, "The year again"). A batch only grows this large when that
/// many commands are already waiting.
pub(crate) const BATCH_MAX: usize = 8192;

/// Commands queued for the writer at most; senders wait beyond that (backpressure).
pub(crate) const QUEUE_MAX: usize = 256;

pub(crate) type Results = Vec<Result<Outcome, CommandError>>;

pub(crate) type Task = Box<dyn FnOnce(&mut Connection, &mut WriterState) + Send>;

pub(crate) type Replies = Vec<(usize, oneshot::Sender<Results>)>;

pub(crate) enum Job {
    Execute(Vec<Item>, oneshot::Sender<Results>),
    Run(Task),
}

/// What the planner hands the writer.
pub(crate) enum Stage {
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
pub(crate) struct Progress {
    /// The last batch number the writer has finished (committed, or decided again).
    pub(crate) done: std::sync::atomic::AtomicU64,
    /// How many times the writer has had to decide a batch again: the planner's cache may hold
    /// states that were never committed, so it drops it.
    pub(crate) replans: std::sync::atomic::AtomicU64,
}

pub(crate) struct WriterState {
    pub(crate) shared: Arc<RwLock<Arc<Reference>>>,
}

/// The first stage of the write pipeline (see the module documentation).
pub(crate) struct Planner {
    /// A read-only connection: it sees what the writer has committed.
    pub(crate) connection: Connection,
    pub(crate) shared: Arc<RwLock<Arc<Reference>>>,
    pub(crate) progress: Arc<Progress>,
    pub(crate) cache: Cache,
    pub(crate) seq: u64,
}

impl Planner {
    pub(crate) fn run(
        mut self,
        mut receiver: tokio::sync::mpsc::Receiver<Job>,
        writer: SyncSender<Stage>,
    ) {
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
                            let failure = StoreFailure::caused("failed to plan the batch", error);
                            let mut results = std::iter::repeat_with(|| {
                                Err(CommandError::Store(failure.clone()))
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
    pub(crate) fn plan(&mut self, seq: u64, items: &[Item]) -> Result<(Plan, Encoded), StoreError> {
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
pub(crate) fn load(
    c: &Connection,
    wanted: plan::Wanted,
    cache: &Cache,
) -> Result<Loaded, StoreError> {
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
pub(crate) fn read_key(
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
pub(crate) fn writer_loop(
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
                            Err(CommandError::Store(StoreFailure::msg(
                                "internal error: the batch could not be written"
                            )));
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
                                    Err(CommandError::Store(StoreFailure::msg(
                                        "reference lock poisoned"
                                    )));
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

pub(crate) fn execute_batch(
    connection: &mut Connection,
    reference: &Reference,
    batch: Vec<Item>,
) -> Results {
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
            vec![
                Err(CommandError::Store(StoreFailure::caused(
                    "failed to write the batch",
                    error
                )));
                count
            ]
        }
    }
}
