//! The PostgreSQL backend as a whole: the schema and its migrations (under the advisory lock),
//! a pool of connections for reads and the executor's transactions, and the order writer's own
//! connection ([`crate::orders::postgres`]).

use crate::db::postgres::REFERENCE_LOCK;
use crate::orders::postgres::writer::*;
use crate::plan::Item;
use crate::types::*;
use crate::{ReferenceStore, Store};
use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use std::str::FromStr;
use std::sync::{Arc, RwLock};
use tokio::sync::{mpsc, oneshot};
use tokio_postgres::{Client, NoTls};
use whistle_core::reference::Reference;
use whistle_core::time::to_millis;

pub(crate) const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "init",
        include_str!("../../../migrations/postgres/0001_init.sql"),
    ),
    (
        2,
        "service",
        include_str!("../../../migrations/postgres/0002_service.sql"),
    ),
    (
        3,
        "whistles",
        include_str!("../../../migrations/postgres/0003_whistles.sql"),
    ),
    (
        4,
        "grid_cases",
        include_str!("../../../migrations/postgres/0004_grid_cases.sql"),
    ),
    (
        5,
        "evaluation",
        include_str!("../../../migrations/postgres/0005_evaluation.sql"),
    ),
    (
        6,
        "period_counters",
        include_str!("../../../migrations/postgres/0006_period_counters.sql"),
    ),
    (
        7,
        "period_export",
        include_str!("../../../migrations/postgres/0007_period_export.sql"),
    ),
    (
        8,
        "requester_phone",
        include_str!("../../../migrations/postgres/0008_requester_phone.sql"),
    ),
    (
        9,
        "awaiting",
        include_str!("../../../migrations/postgres/0009_awaiting.sql"),
    ),
    (
        10,
        "attachments",
        include_str!("../../../migrations/postgres/0010_attachments.sql"),
    ),
    (
        11,
        "awaiting_column",
        include_str!("../../../migrations/postgres/0011_awaiting_column.sql"),
    ),
    (
        12,
        "owed_column",
        include_str!("../../../migrations/postgres/0012_owed_column.sql"),
    ),
    (
        13,
        "visits_by_agent",
        include_str!("../../../migrations/postgres/0013_visits_by_agent.sql"),
    ),
    (
        14,
        "role_switch",
        include_str!("../../../migrations/postgres/0014_role_switch.sql"),
    ),
    (
        15,
        "assignee",
        include_str!("../../../migrations/postgres/0015_assignee.sql"),
    ),
    (
        16,
        "retention",
        include_str!("../../../migrations/postgres/0016_retention.sql"),
    ),
    (
        17,
        "order_history",
        include_str!("../../../migrations/postgres/0017_order_history.sql"),
    ),
    (
        18,
        "evaluation_editions",
        include_str!("../../../migrations/postgres/0018_evaluation_editions.sql"),
    ),
];

pub struct PgStore {
    pub(crate) pool: Pool,
    pub(crate) writer: mpsc::Sender<(Vec<Item>, oneshot::Sender<Results>)>,
    pub(crate) reference: Arc<RwLock<Arc<Reference>>>,
    /// The writer task (readiness).
    pub(crate) writer_running: crate::Liveness,
}

pub(crate) fn pg(error: tokio_postgres::Error) -> StoreError {
    StoreError::Other(anyhow::Error::new(error))
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
        // The most recently used connection first: one caller at a time keeps reusing one warm
        // server process instead of cycling through every idle one (measured on the due query).
        let pool = Pool::builder(manager)
            .max_size(8)
            .queue_mode(deadpool_postgres::QueueMode::Lifo)
            .build()
            .map_err(|e| StoreError::Config(format!("PostgreSQL pool: {e}")))?;
        let mut client = pool.get().await.map_err(|e| {
            StoreError::Config(format!(
                "cannot connect to PostgreSQL at {}: {e}",
                crate::redact_url(url)
            ))
        })?;
        migrate(&mut client, mode).await?;
        let autovacuum: String = client
            .query_one("SELECT current_setting('autovacuum')", &[])
            .await
            .map_err(pg)?
            .get(0);
        if let Some(warning) = autovacuum_warning(&autovacuum) {
            tracing::warn!("{warning}");
        }
        // Read under the reference lock, so the counting rules followed are the ones loaded; on
        // the same connection, so the pool starts with one.
        let tx = crate::db::postgres::PgTx::begin(client, "BEGIN").await?;
        let raw = crate::reference::store::open(Box::new(tx)).await?;
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

    pub(crate) async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
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
pub(crate) fn autovacuum_warning(setting: &str) -> Option<&'static str> {
    (setting != "on").then_some(
        "PostgreSQL autovacuum is off: the orders table will grow without bound; turn it on (see docs/OPERATIONS.md)",
    )
}

pub(crate) async fn migrate(client: &mut Client, mode: Migrate) -> Result<(), StoreError> {
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

impl crate::db::Database for PgStore {
    fn shared_reference(&self) -> &RwLock<Arc<Reference>> {
        &self.reference
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
