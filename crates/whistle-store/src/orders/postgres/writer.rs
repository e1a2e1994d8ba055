//! The PostgreSQL order writer: one task on its own connection that takes whatever commands are
//! waiting, loads their orders `FOR UPDATE`, decides them and writes the batch in one
//! transaction with set-based statements; a batch that meets a unique violation (another server
//! took the idempotency key) is tried once more.
//!
//! Invariant: every order a batch decides on is locked (`FOR UPDATE`) before it is decided.

use crate::db::postgres::store::*;
use crate::orders::postgres::persist::*;
use crate::plan::{self, Item, Loaded};
use crate::types::*;
use std::sync::{Arc, RwLock};
use tokio::sync::{mpsc, oneshot};
use tokio_postgres::{Client, NoTls};
use whistle_core::ids::{OrderId, OrderNo};
use whistle_core::reference::Reference;

pub(crate) const BATCH_MAX: usize = 2048;

pub(crate) type Results = Vec<Result<Outcome, CommandError>>;

pub(crate) fn is_unique_violation(error: &StoreError) -> bool {
    match error {
        StoreError::Other(error) => error
            .downcast_ref::<tokio_postgres::Error>()
            .and_then(|e| e.code())
            .is_some_and(|code| *code == tokio_postgres::error::SqlState::UNIQUE_VIOLATION),
        _ => false,
    }
}

pub(crate) async fn connect_writer(config: &tokio_postgres::Config) -> Result<Client, StoreError> {
    let (client, connection) = config.connect(NoTls).await.map_err(pg)?;
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::error!(%error, "PostgreSQL writer connection closed");
        }
    });
    Ok(client)
}

pub(crate) async fn writer_loop(
    config: tokio_postgres::Config,
    mut client: Client,
    mut receiver: mpsc::Receiver<(Vec<Item>, oneshot::Sender<Results>)>,
    reference: Arc<RwLock<Arc<Reference>>>,
) {
    while let Some(first) = receiver.recv().await {
        // After a server restart or a network fault, the next batch reconnects; until then
        // commands fail with a storage error (nothing written) rather than hanging.
        if client.is_closed() {
            match connect_writer(&config).await {
                Ok(fresh) => client = fresh,
                Err(error) => tracing::error!(%error, "PostgreSQL writer cannot reconnect"),
            }
        }
        let mut count = first.0.len();
        let mut jobs = vec![first];
        while count < BATCH_MAX {
            match receiver.try_recv() {
                Ok(job) => {
                    count += job.0.len();
                    jobs.push(job);
                }
                Err(_) => break,
            }
        }
        let sizes: Vec<usize> = jobs.iter().map(|(batch, _)| batch.len()).collect();
        let (batches, replies): (Vec<_>, Vec<_>) = jobs.into_iter().unzip();
        let envelopes: Vec<Item> = batches.into_iter().flatten().collect();
        let snapshot = match reference.read() {
            Ok(r) => r.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        // A panic while deciding or writing fails this batch (its transaction is rolled back as it
        // is dropped, and the connection replaced) and the writer goes on with the next.
        let mut attempt = futures_util::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(
            execute_batch(&mut client, &snapshot, envelopes.clone()),
        ))
        .await;
        // Another server committed a key (or a number) this batch also claimed, after this batch
        // looked: decided again in a new transaction, the batch sees it (a retry replays).
        if matches!(&attempt, Ok(Err(error)) if is_unique_violation(error)) {
            attempt = futures_util::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(
                execute_batch(&mut client, &snapshot, envelopes),
            ))
            .await;
        }
        let results = match attempt {
            Ok(Ok(results)) => results,
            Err(panic) => {
                tracing::error!(
                    panic = crate::faults::panic_text(&panic),
                    "a PostgreSQL batch panicked; nothing of it was committed"
                );
                match connect_writer(&config).await {
                    Ok(fresh) => client = fresh,
                    Err(error) => tracing::error!(%error, "PostgreSQL writer cannot reconnect"),
                }
                vec![
                    Err(CommandError::Store(StoreFailure::msg(
                        "internal error: the batch could not be written"
                    )));
                    count
                ]
            }
            Ok(Err(error)) => {
                tracing::error!(%error, "PostgreSQL batch failed; nothing of it was committed");
                vec![
                    Err(CommandError::Store(StoreFailure::caused(
                        "failed to write the batch",
                        error
                    )));
                    count
                ]
            }
        };
        let mut results = results.into_iter();
        for (size, reply) in sizes.into_iter().zip(replies) {
            let _ = reply.send(results.by_ref().take(size).collect());
        }
    }
}

pub(crate) async fn execute_batch(
    client: &mut Client,
    reference: &Reference,
    batch: Vec<Item>,
) -> Result<Results, StoreError> {
    let tx = client.transaction().await.map_err(pg)?;
    let mut loaded = Loaded::default();
    let plan::Wanted {
        ids,
        nos,
        days,
        keys,
    } = plan::wanted(&batch);
    for (principal, key) in keys {
        let row = tx
            .query_opt(
                "SELECT request_hash, order_id, order_no, version FROM idempotency WHERE principal = $1 AND key = $2",
                &[&principal, &key],
            )
            .await
            .map_err(pg)?;
        if let Some(row) = row {
            let record = (
                row.get::<_, String>(0),
                OrderId(row.get(1)),
                OrderNo::parse(row.get(2))?,
                row.get::<_, i64>(3) as u64,
            );
            loaded.idempotency.insert((principal, key), record);
        }
    }
    if !ids.is_empty() || !nos.is_empty() {
        let ids: Vec<uuid::Uuid> = ids.iter().map(|id| id.0).collect();
        let nos: Vec<&str> = nos.iter().map(|no| no.as_str()).collect();
        let rows = tx
            .query("SELECT state FROM orders WHERE id = ANY($1) OR no = ANY($2) ORDER BY id FOR UPDATE", &[&ids, &nos])
            .await
            .map_err(pg)?;
        for row in rows {
            loaded.insert(crate::parse_state(row.get(0))?);
        }
    }
    if !days.is_empty() {
        let days: Vec<String> = days.iter().map(|d| d.to_string()).collect();
        tx.execute(
            "INSERT INTO order_counters (day, last) SELECT d, 0 FROM UNNEST($1::text[]) AS d ON CONFLICT DO NOTHING",
            &[&days],
        )
        .await
        .map_err(pg)?;
        let rows = tx
            .query(
                "SELECT day, last FROM order_counters WHERE day = ANY($1) ORDER BY day FOR UPDATE",
                &[&days],
            )
            .await
            .map_err(pg)?;
        for row in rows {
            let day: String = row.get(0);
            let last: i64 = row.get(1);
            let day = chrono::NaiveDate::parse_from_str(&day, "%Y-%m-%d")
                .map_err(|e| anyhow::anyhow!(e))?;
            loaded.counters.insert(day, last as u64);
        }
    }
    crate::faults::panic_if_batch_marked("write", &batch);
    let plan = plan::plan(reference, batch, loaded, || OrderId(uuid::Uuid::now_v7()));
    persist(&tx, &plan).await?;
    tx.commit().await.map_err(pg)?;
    Ok(plan.results)
}
