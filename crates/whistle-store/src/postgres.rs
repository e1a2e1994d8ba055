//! The PostgreSQL backend. A writer task group-commits waiting commands: it locks the orders a
//! batch touches (`FOR UPDATE`, in id order), decides them in memory with the shared planner,
//! and writes each table with one set-based statement (`UNNEST` arrays), so a batch of hundreds
//! of commands costs a handful of round trips and one WAL flush. Several servers may share one
//! database: row locks and version checks serialise commands on the same order.

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use std::str::FromStr;
use std::sync::{Arc, RwLock};
use tokio::sync::{mpsc, oneshot};
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, GenericClient, NoTls};
use whistle_core::ids::{OrderId, OrderNo};
use whistle_core::order::Order;
use whistle_core::reference::Reference;
use whistle_core::time::{from_millis, to_millis, Timestamp};

use crate::plan::{self, Item, Loaded, Plan, Row};
use crate::sql::{self, Param};
use crate::types::*;
use crate::{ReferenceStore, Store};

const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "init",
        include_str!("../migrations/postgres/0001_init.sql"),
    ),
    (
        2,
        "service",
        include_str!("../migrations/postgres/0002_service.sql"),
    ),
    (
        3,
        "whistles",
        include_str!("../migrations/postgres/0003_whistles.sql"),
    ),
    (
        4,
        "grid_cases",
        include_str!("../migrations/postgres/0004_grid_cases.sql"),
    ),
    (
        5,
        "evaluation",
        include_str!("../migrations/postgres/0005_evaluation.sql"),
    ),
    (
        6,
        "period_counters",
        include_str!("../migrations/postgres/0006_period_counters.sql"),
    ),
    (
        7,
        "period_export",
        include_str!("../migrations/postgres/0007_period_export.sql"),
    ),
];
const BATCH_MAX: usize = 2048;
use crate::db::postgres::REFERENCE_LOCK;

type Results = Vec<Result<Outcome, CommandError>>;
/// Column arrays for one `INSERT … UNNEST` of events.
type EventColumns<'a> = (
    Vec<uuid::Uuid>,
    Vec<i64>,
    Vec<i64>,
    Vec<&'a str>,
    Vec<&'a str>,
    Vec<&'a str>,
    Vec<String>,
);

pub struct PgStore {
    pool: Pool,
    writer: mpsc::Sender<(Vec<Item>, oneshot::Sender<Results>)>,
    reference: Arc<RwLock<Arc<Reference>>>,
    /// The writer task (readiness).
    writer_running: crate::Liveness,
}

fn pg(error: tokio_postgres::Error) -> StoreError {
    StoreError::Other(anyhow::Error::new(error))
}

fn is_unique_violation(error: &StoreError) -> bool {
    match error {
        StoreError::Other(error) => error
            .downcast_ref::<tokio_postgres::Error>()
            .and_then(|e| e.code())
            .is_some_and(|code| *code == tokio_postgres::error::SqlState::UNIQUE_VIOLATION),
        _ => false,
    }
}

impl PgStore {
    pub async fn open(url: &str, mode: Migrate) -> Result<PgStore, StoreError> {
        let config = tokio_postgres::Config::from_str(url).map_err(|e| {
            StoreError::Config(format!(
                "invalid PostgreSQL URL {}: {e}",
                crate::redact_url(url)
            ))
        })?;
        let manager = Manager::from_config(
            config.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(8)
            .build()
            .map_err(|e| StoreError::Config(format!("PostgreSQL pool: {e}")))?;
        let mut client = pool.get().await.map_err(|e| {
            StoreError::Config(format!(
                "cannot connect to PostgreSQL at {}: {e}",
                crate::redact_url(url)
            ))
        })?;
        migrate(&mut client, mode).await?;
        // Read under the reference lock, so the counting rules followed are the ones loaded.
        let raw = {
            let client = pool
                .get()
                .await
                .map_err(|e| StoreError::Other(anyhow::anyhow!("PostgreSQL pool: {e}")))?;
            let tx = crate::db::postgres::PgTx::begin(client, "BEGIN").await?;
            crate::reference::store::open(Box::new(tx)).await?
        };
        let autovacuum: String = client
            .query_one("SELECT current_setting('autovacuum')", &[])
            .await
            .map_err(pg)?
            .get(0);
        if let Some(warning) = autovacuum_warning(&autovacuum) {
            tracing::warn!("{warning}");
        }
        drop(client);
        let reference = Arc::new(RwLock::new(Arc::new(raw.build()?)));
        let writer_client = connect_writer(&config).await?;
        let (sender, receiver) = mpsc::channel(256);
        let writer_running = crate::Liveness::default();
        let running = writer_running.running();
        let writer = writer_loop(config, writer_client, receiver, reference.clone());
        tokio::spawn(async move {
            let _running = running;
            writer.await
        });
        Ok(PgStore {
            pool,
            writer: sender,
            reference,
            writer_running,
        })
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.pool
            .get()
            .await
            .map_err(|e| StoreError::Other(anyhow::anyhow!("PostgreSQL pool: {e}")))
    }
}

#[async_trait]
impl crate::db::Db for PgStore {
    async fn query(
        &self,
        sql: &str,
        params: Vec<crate::db::Param>,
    ) -> Result<Vec<crate::db::Row>, StoreError> {
        let client = self.client().await?;
        crate::db::postgres::query(&client, sql, &params).await
    }

    async fn read(&self) -> Result<Box<dyn crate::db::Tx>, StoreError> {
        let client = self.client().await?;
        Ok(Box::new(
            crate::db::postgres::PgTx::begin(
                client,
                "START TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY",
            )
            .await?,
        ))
    }

    async fn write(&self) -> Result<Box<dyn crate::db::Tx>, StoreError> {
        let client = self.client().await?;
        Ok(Box::new(
            crate::db::postgres::PgTx::begin(client, "BEGIN").await?,
        ))
    }
}

/// The warning for a server whose autovacuum is off. Every order row is rewritten four or five
/// times in its life (dispatch, handling, answer, return visit), so without vacuuming the orders
/// table and its indexes grow by several kilobytes per order instead of reusing the space
/// (measured on the simulated year: docs/BENCHMARKS.md).
fn autovacuum_warning(setting: &str) -> Option<&'static str> {
    (setting != "on").then_some(
        "PostgreSQL autovacuum is off: the orders table will grow without bound; turn it on (see docs/OPERATIONS.md)",
    )
}

async fn migrate(client: &mut Client, mode: Migrate) -> Result<(), StoreError> {
    let tx = client.transaction().await.map_err(pg)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&REFERENCE_LOCK])
        .await
        .map_err(pg)?;
    let exists: bool = tx
        .query_one("SELECT to_regclass('schema_migrations') IS NOT NULL", &[])
        .await
        .map_err(pg)?
        .get(0);
    let current: Option<i64> = if exists {
        tx.query_one("SELECT MAX(version) FROM schema_migrations", &[])
            .await
            .map_err(pg)?
            .get(0)
    } else {
        None
    };
    crate::check_schema(current, mode)?;
    let current = current.unwrap_or(0);
    for (version, name, text) in MIGRATIONS {
        if *version <= current {
            continue;
        }
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
        )
        .await
        .map_err(pg)?;
        tx.batch_execute(text).await.map_err(pg)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
            &[version, name, &to_millis(chrono::Utc::now())],
        )
        .await
        .map_err(pg)?;
        tracing::info!(version, name, "applied PostgreSQL migration");
    }
    tx.commit().await.map_err(pg)?;
    Ok(())
}

async fn connect_writer(config: &tokio_postgres::Config) -> Result<Client, StoreError> {
    let (client, connection) = config.connect(NoTls).await.map_err(pg)?;
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::error!(%error, "PostgreSQL writer connection closed");
        }
    });
    Ok(client)
}

async fn writer_loop(
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
                    Err(CommandError::Store(
                        "internal error: the batch could not be written".into()
                    ));
                    count
                ]
            }
            Ok(Err(error)) => {
                tracing::error!(%error, "PostgreSQL batch failed; nothing of it was committed");
                vec![Err(CommandError::Store(error.to_string())); count]
            }
        };
        let mut results = results.into_iter();
        for (size, reply) in sizes.into_iter().zip(replies) {
            let _ = reply.send(results.by_ref().take(size).collect());
        }
    }
}

async fn execute_batch(
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

pub(crate) async fn persist(tx: &impl GenericClient, plan: &Plan) -> Result<(), StoreError> {
    if !plan.intake_deltas.is_empty() {
        let [days, months] = sql::intake_deltas(&plan.intake_deltas);
        for (table, (keys, counts)) in [
            (sql::CounterTable::IntakeDay, days),
            (sql::CounterTable::IntakeMonth, months),
        ] {
            let key: Vec<&str> = keys.iter().map(|k| k.0.as_str()).collect();
            let territory: Vec<&str> = keys.iter().map(|k| k.1.as_str()).collect();
            let category: Vec<&str> = keys.iter().map(|k| k.2.as_str()).collect();
            tx.execute(
                &table.intake_upsert(true),
                &[&key, &territory, &category, &counts],
            )
            .await
            .map_err(pg)?;
        }
    }
    if !plan.events.is_empty() {
        let mut cols: EventColumns = Default::default();
        for e in &plan.events {
            cols.0.push(e.order_id.0);
            cols.1.push(e.seq as i64);
            cols.2.push(to_millis(e.at));
            cols.3.push(&e.actor.user);
            cols.4.push(e.actor.unit.as_str());
            cols.5.push(e.payload.name());
            cols.6
                .push(serde_json::to_string(&e.payload).map_err(|e| anyhow::anyhow!(e))?);
        }
        tx.execute(
            "INSERT INTO events (order_id, seq, at, actor_user, actor_unit, kind, payload) \
             SELECT * FROM UNNEST($1::uuid[], $2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[])",
            &[&cols.0, &cols.1, &cols.2, &cols.3, &cols.4, &cols.5, &cols.6],
        )
        .await
        .map_err(pg)?;
    }
    let rows: Vec<(Row, bool)> = plan
        .orders
        .iter()
        .map(|(order, new)| Ok((Row::new(order, plan.due_soon_minutes)?, *new)))
        .collect::<Result<_, serde_json::Error>>()
        .map_err(|e| anyhow::anyhow!(e))?;
    let new: Vec<&Row> = rows.iter().filter(|(_, n)| *n).map(|(r, _)| r).collect();
    if !new.is_empty() {
        let ids: Vec<uuid::Uuid> = new.iter().map(|r| r.order.id.0).collect();
        let nos: Vec<&str> = new.iter().map(|r| r.order.no.as_str()).collect();
        let versions: Vec<i64> = new.iter().map(|r| r.order.version as i64).collect();
        let stages: Vec<&str> = new.iter().map(|r| r.stage()).collect();
        let types: Vec<&str> = new.iter().map(|r| r.order.request_type.as_str()).collect();
        let channels: Vec<&str> = new.iter().map(|r| r.order.channel.as_str()).collect();
        let categories: Vec<&str> = new.iter().map(|r| r.order.category.as_str()).collect();
        let urgencies: Vec<&str> = new.iter().map(|r| r.order.urgency.as_str()).collect();
        let districts: Vec<Option<&str>> = new.iter().map(|r| r.territory(0)).collect();
        let streets: Vec<Option<&str>> = new.iter().map(|r| r.territory(1)).collect();
        let communities: Vec<Option<&str>> = new.iter().map(|r| r.territory(2)).collect();
        let leads: Vec<Option<&str>> = new.iter().map(|r| r.lead()).collect();
        let received: Vec<i64> = new.iter().map(|r| to_millis(r.order.received_at)).collect();
        let respond: Vec<Option<i64>> = new.iter().map(|r| r.respond_by()).collect();
        let handle: Vec<Option<i64>> = new.iter().map(|r| r.handle_by()).collect();
        let due: Vec<Option<i64>> = new.iter().map(|r| r.next_due_at()).collect();
        let closed: Vec<Option<i64>> = new.iter().map(|r| r.closed_at()).collect();
        let excluded: Vec<bool> = new.iter().map(|r| r.excluded()).collect();
        let states: Vec<&str> = new.iter().map(|r| r.state.as_str()).collect();
        let notices: Vec<Option<i64>> = new.iter().map(|r| r.notice_at).collect();
        let places: Vec<Option<&str>> = new
            .iter()
            .map(|r| r.order.location.address.as_deref())
            .collect();
        let params: [&(dyn ToSql + Sync); 21] = [
            &ids,
            &nos,
            &versions,
            &stages,
            &types,
            &channels,
            &categories,
            &urgencies,
            &districts,
            &streets,
            &communities,
            &leads,
            &received,
            &respond,
            &handle,
            &due,
            &closed,
            &excluded,
            &states,
            &notices,
            &places,
        ];
        tx.execute(
            "INSERT INTO orders (id, no, version, stage, request_type, channel, category, urgency, district, street, \
             community, lead_unit, received_at, respond_by, handle_by, next_due_at, closed_at, excluded, state, notice_at, place) \
             SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[], \
             $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::bigint[], $14::bigint[], $15::bigint[], \
             $16::bigint[], $17::bigint[], $18::boolean[], $19::text[], $20::bigint[], $21::text[])",
            &params,
        )
        .await
        .map_err(pg)?;
    }
    let old: Vec<&Row> = rows.iter().filter(|(_, n)| !*n).map(|(r, _)| r).collect();
    if !old.is_empty() {
        let ids: Vec<uuid::Uuid> = old.iter().map(|r| r.order.id.0).collect();
        let versions: Vec<i64> = old.iter().map(|r| r.order.version as i64).collect();
        let stages: Vec<&str> = old.iter().map(|r| r.stage()).collect();
        let leads: Vec<Option<&str>> = old.iter().map(|r| r.lead()).collect();
        let respond: Vec<Option<i64>> = old.iter().map(|r| r.respond_by()).collect();
        let handle: Vec<Option<i64>> = old.iter().map(|r| r.handle_by()).collect();
        let due: Vec<Option<i64>> = old.iter().map(|r| r.next_due_at()).collect();
        let closed: Vec<Option<i64>> = old.iter().map(|r| r.closed_at()).collect();
        let excluded: Vec<bool> = old.iter().map(|r| r.excluded()).collect();
        let states: Vec<&str> = old.iter().map(|r| r.state.as_str()).collect();
        let notices: Vec<Option<i64>> = old.iter().map(|r| r.notice_at).collect();
        tx.execute(
            "UPDATE orders AS o SET version = u.version, stage = u.stage, lead_unit = u.lead_unit, respond_by = u.respond_by, \
             handle_by = u.handle_by, next_due_at = u.next_due_at, closed_at = u.closed_at, excluded = u.excluded, state = u.state, notice_at = u.notice_at \
             FROM UNNEST($1::uuid[], $2::bigint[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::bigint[], \
             $8::bigint[], $9::boolean[], $10::text[], $11::bigint[]) \
             AS u(id, version, stage, lead_unit, respond_by, handle_by, next_due_at, closed_at, excluded, state, notice_at) WHERE o.id = u.id",
            &[&ids, &versions, &stages, &leads, &respond, &handle, &due, &closed, &excluded, &states, &notices],
        )
        .await
        .map_err(pg)?;
    }
    if !plan.unit_links.is_empty() {
        let units: Vec<&str> = plan.unit_links.iter().map(|l| l.unit.as_str()).collect();
        let received: Vec<i64> = plan.unit_links.iter().map(|l| l.received_at).collect();
        let ids: Vec<uuid::Uuid> = plan.unit_links.iter().map(|l| l.order_id.0).collect();
        let roles: Vec<&str> = plan.unit_links.iter().map(|l| l.role).collect();
        tx.execute(
            "INSERT INTO order_units (unit, received_at, order_id, role) \
             SELECT * FROM UNNEST($1::text[], $2::bigint[], $3::uuid[], $4::text[]) ON CONFLICT DO NOTHING",
            &[&units, &received, &ids, &roles],
        )
        .await
        .map_err(pg)?;
    }
    if !plan.requesters.is_empty() {
        let ids: Vec<uuid::Uuid> = plan.requesters.iter().map(|(id, _)| id.0).collect();
        let names: Vec<Option<&str>> = plan
            .requesters
            .iter()
            .map(|(_, r)| r.name.as_deref())
            .collect();
        let phones: Vec<Option<&str>> = plan
            .requesters
            .iter()
            .map(|(_, r)| r.phone.as_deref())
            .collect();
        let addresses: Vec<Option<&str>> = plan
            .requesters
            .iter()
            .map(|(_, r)| r.address_detail.as_deref())
            .collect();
        tx.execute(
            "INSERT INTO requesters (order_id, name, phone, address_detail) \
             SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[])",
            &[&ids, &names, &phones, &addresses],
        )
        .await
        .map_err(pg)?;
    }
    if !plan.idempotency.is_empty() {
        let principals: Vec<&str> = plan
            .idempotency
            .iter()
            .map(|((p, _), _)| p.as_str())
            .collect();
        let keys: Vec<&str> = plan
            .idempotency
            .iter()
            .map(|((_, k), _)| k.as_str())
            .collect();
        let hashes: Vec<&str> = plan
            .idempotency
            .iter()
            .map(|(_, (h, _, _, _))| h.as_str())
            .collect();
        let ids: Vec<uuid::Uuid> = plan
            .idempotency
            .iter()
            .map(|(_, (_, id, _, _))| id.0)
            .collect();
        let nos: Vec<&str> = plan
            .idempotency
            .iter()
            .map(|(_, (_, _, no, _))| no.as_str())
            .collect();
        let versions: Vec<i64> = plan
            .idempotency
            .iter()
            .map(|(_, (_, _, _, v))| *v as i64)
            .collect();
        let now = to_millis(chrono::Utc::now());
        tx.execute(
            "INSERT INTO idempotency (principal, key, request_hash, order_id, order_no, version, created_at) \
             SELECT p, k, h, i, n, v, $7 FROM UNNEST($1::text[], $2::text[], $3::text[], $4::uuid[], $5::text[], $6::bigint[]) AS u(p, k, h, i, n, v)",
            &[&principals, &keys, &hashes, &ids, &nos, &versions, &now],
        )
        .await
        .map_err(pg)?;
    }
    if !plan.texts.is_empty() {
        let ids: Vec<uuid::Uuid> = plan.texts.iter().map(|(id, _)| id.0).collect();
        let texts: Vec<&str> = plan.texts.iter().map(|(_, t)| t.as_str()).collect();
        tx.execute(
            "INSERT INTO order_texts (order_id, text) SELECT * FROM UNNEST($1::uuid[], $2::text[])",
            &[&ids, &texts],
        )
        .await
        .map_err(pg)?;
    }
    if !plan.counters.is_empty() {
        let days: Vec<String> = plan.counters.iter().map(|(d, _)| d.to_string()).collect();
        let lasts: Vec<i64> = plan.counters.iter().map(|(_, l)| *l as i64).collect();
        tx.execute(
            "UPDATE order_counters AS c SET last = u.last FROM UNNEST($1::text[], $2::bigint[]) AS u(day, last) WHERE c.day = u.day",
            &[&days, &lasts],
        )
        .await
        .map_err(pg)?;
    }
    if plan.counter_deltas.iter().any(|d| !d.is_empty()) {
        // FOR SHARE: a change of counting rules (which locks the row for update and recounts)
        // waits for this batch, and this batch for it, so no delta lands under the wrong rules.
        let start_day: Option<String> = tx
            .query_opt(&format!("{} FOR SHARE", sql::PERIOD_START_DAY), &[])
            .await
            .map_err(pg)?
            .map(|r| r.get(0));
        let start_day = start_day.and_then(|v| v.parse().ok()).unwrap_or(1);
        let basis: Option<String> = tx
            .query_opt(sql::COUNT_BY, &[])
            .await
            .map_err(pg)?
            .map(|r| r.get(0));
        let deltas = &plan.counter_deltas[sql::count_basis(basis)?.index()];
        let periods = sql::period_deltas(deltas, start_day);
        upsert_cells(tx, sql::CounterTable::Period, &periods).await?;
        let days: Vec<sql::PeriodCell> = deltas.iter().map(|(k, c)| sql::day_cell(k, c)).collect();
        upsert_cells(tx, sql::CounterTable::Day, &days).await?;
    }
    Ok(())
}

async fn summaries(
    client: &impl GenericClient,
    query: sql::Query,
    limit: i64,
    due: bool,
) -> Result<Page<OrderSummary>, StoreError> {
    let params: Vec<Box<dyn ToSql + Sync + Send>> = query
        .params
        .iter()
        .map(|p| -> Box<dyn ToSql + Sync + Send> {
            match p {
                Param::Null => Box::new(Option::<String>::None),
                Param::Text(t) => Box::new(t.clone()),
                Param::Int(i) => Box::new(*i),
                Param::Bool(b) => Box::new(*b),
                Param::Id(id) => Box::new(*id),
            }
        })
        .collect();
    let refs: Vec<&(dyn ToSql + Sync)> = params
        .iter()
        .map(|p| p.as_ref() as &(dyn ToSql + Sync))
        .collect();
    let rows = client.query(query.sql.as_str(), &refs).await.map_err(pg)?;
    let mut items = Vec::with_capacity(rows.len());
    for r in rows {
        let ms = |i: usize| r.get::<_, Option<i64>>(i).map(from_millis);
        items.push(OrderSummary {
            id: OrderId(r.get(0)),
            no: OrderNo::parse(r.get(1))?,
            version: r.get::<_, i64>(2) as u64,
            stage: r.get(3),
            request_type: r.get(4),
            category: r.get(5),
            urgency: r.get(6),
            district: r.get(7),
            street: r.get(8),
            lead_unit: r.get(9),
            received_at: from_millis(r.get(10)),
            respond_by: ms(11),
            handle_by: ms(12),
            next_due_at: ms(13),
            closed_at: ms(14),
            excluded: r.get(15),
        });
    }
    Ok(crate::finish_page(items, limit, due))
}

/// Adds counter-cell deltas (unique keys: day or period, unit, category) in one statement.
pub(crate) async fn upsert_cells(
    tx: &impl GenericClient,
    table: sql::CounterTable,
    cells: &[sql::PeriodCell],
) -> Result<(), StoreError> {
    if cells.is_empty() {
        return Ok(());
    }
    let periods: Vec<&str> = cells.iter().map(|c| c.0.as_str()).collect();
    let units: Vec<&str> = cells.iter().map(|c| c.1.as_str()).collect();
    let categories: Vec<&str> = cells.iter().map(|c| c.2.as_str()).collect();
    let columns: Vec<Vec<i64>> = (0..9)
        .map(|i| cells.iter().map(|c| c.3[i]).collect())
        .collect();
    tx.execute(
        &table.upsert(true),
        &[
            &periods,
            &units,
            &categories,
            &columns[0],
            &columns[1],
            &columns[2],
            &columns[3],
            &columns[4],
            &columns[5],
            &columns[6],
            &columns[7],
            &columns[8],
        ],
    )
    .await
    .map_err(pg)?;
    Ok(())
}

impl crate::db::Database for PgStore {
    fn shared_reference(&self) -> &RwLock<Arc<Reference>> {
        &self.reference
    }
}

#[async_trait]
impl crate::OrderStore for PgStore {
    async fn execute_items(&self, batch: Vec<Item>) -> Vec<Result<Outcome, CommandError>> {
        let count = batch.len();
        if count == 0 {
            return Vec::new();
        }
        let (sender, receiver) = oneshot::channel();
        if self.writer.send((batch, sender)).await.is_err() {
            return vec![
                Err(CommandError::Store(
                    "the PostgreSQL writer has stopped".into()
                ));
                count
            ];
        }
        receiver.await.unwrap_or_else(|_| {
            vec![
                Err(CommandError::Store(
                    "the PostgreSQL writer has stopped".into()
                ));
                count
            ]
        })
    }

    async fn orders_by_id(&self, ids: &[OrderId]) -> Result<Vec<Order>, StoreError> {
        let client = self.client().await?;
        let wanted: Vec<uuid::Uuid> = ids.iter().map(|id| id.0).collect();
        let rows = client
            .query(
                "SELECT id, state FROM orders WHERE id = ANY($1)",
                &[&wanted],
            )
            .await
            .map_err(pg)?;
        let mut found: std::collections::HashMap<uuid::Uuid, Order> =
            std::collections::HashMap::with_capacity(rows.len());
        for row in &rows {
            found.insert(row.get(0), crate::parse_state(row.get(1))?);
        }
        Ok(ids.iter().filter_map(|id| found.remove(&id.0)).collect())
    }

    async fn list_orders(
        &self,
        scope: &Scope,
        filter: &OrderFilter,
        page: &PageRequest,
    ) -> Result<Page<OrderSummary>, StoreError> {
        let query = sql::list_orders(scope, filter, page, false)?;
        summaries(&**self.client().await?, query, page.limit(), false).await
    }

    async fn due(
        &self,
        at: Timestamp,
        page: &PageRequest,
    ) -> Result<Page<OrderSummary>, StoreError> {
        let query = sql::due(to_millis(at), page)?;
        summaries(&**self.client().await?, query, page.limit(), true).await
    }
}

#[async_trait]
impl Store for PgStore {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    fn components(&self) -> Vec<(&'static str, bool)> {
        vec![("writer", self.writer_running.is_running())]
    }

    async fn rebuild_projections(&self) -> Result<RebuildReport, StoreError> {
        crate::rebuild::rebuild(self, self.reference().policy.due_soon_minutes).await
    }
}

#[cfg(test)]
mod tests {
    use super::autovacuum_warning;

    #[test]
    fn a_server_without_autovacuum_is_warned_about() {
        assert_eq!(autovacuum_warning("on"), None);
        let warning = autovacuum_warning("off").expect("a warning");
        assert!(warning.contains("autovacuum is off"), "{warning}");
    }
}
