//! Work orders in the store: the group-commit pipelines stay per backend (`sqlite/`,
//! `postgres/`), with the pure planning step they share ([`crate::plan`]); the reads of the
//! order side that are not hot are written once here (`reads.rs`).

pub(crate) mod postgres;
pub(crate) mod reads;
pub(crate) mod sqlite;

use async_trait::async_trait;
use whistle_core::ids::OrderId;
use whistle_core::ids::UnitCode;
use whistle_core::order::{Event, Order};
use whistle_core::time::Timestamp;

use crate::types::*;

/// Work orders' commands and hot reads: each backend's own group-commit pipeline and list
/// queries (`orders/sqlite/`, `orders/postgres/`).
#[async_trait]
pub trait OrderStore: Send + Sync {
    /// Executes commands, group-committed: every command's events are durable when its result
    /// is returned, and a failing command writes nothing. Results are in input order. A command
    /// with an idempotency key that was seen before is not executed again: its first result is
    /// returned (`replayed`), or `idempotency_mismatch` if the request differs.
    async fn execute_items(
        &self,
        batch: Vec<(Envelope, Option<Idempotency>)>,
    ) -> Vec<Result<Outcome, CommandError>>;

    /// Executes commands without idempotency keys.
    async fn execute(&self, batch: Vec<Envelope>) -> Vec<Result<Outcome, CommandError>> {
        self.execute_items(batch.into_iter().map(|envelope| (envelope, None)).collect())
            .await
    }

    /// One command, executed with whatever else is in flight.
    async fn execute_one(&self, envelope: Envelope) -> Result<Outcome, CommandError> {
        self.execute(vec![envelope])
            .await
            .pop()
            .unwrap_or_else(|| Err(CommandError::Store(StoreFailure::msg("no result"))))
    }

    /// Orders by id, in the order asked; ids not stored are left out. One read for many.
    async fn orders_by_id(
        &self,
        ids: &[OrderId],
    ) -> Result<Vec<whistle_core::order::Order>, StoreError>;

    /// Orders within `scope` matching a filter, newest first, with keyset pagination.
    async fn list_orders(
        &self,
        scope: &Scope,
        filter: &OrderFilter,
        page: &PageRequest,
    ) -> Result<Page<OrderSummary>, StoreError>;

    /// Open orders whose earliest running deadline is at or before `at`, earliest first.
    async fn due(
        &self,
        at: Timestamp,
        page: &PageRequest,
    ) -> Result<Page<OrderSummary>, StoreError>;
}

/// The order side's other reads, written once for both backends ([`reads`]).
#[async_trait]
pub trait OrderReads: Send + Sync {
    /// An order's current projection.
    async fn order(
        &self,
        target: &OrderRef,
    ) -> Result<Option<whistle_core::order::Order>, StoreError>;

    /// The ids of the orders received in [from, before) or with a dispatch (派单) or a return
    /// visit (回访) recorded in it — every order a period's evaluation can count, whatever its
    /// counting basis — in id order. From the `orders_received` and `events_evaluated` indexes:
    /// the cost follows the period's orders, not the store's.
    async fn period_order_ids(
        &self,
        from: Timestamp,
        before: Timestamp,
    ) -> Result<Vec<OrderId>, StoreError>;

    /// An order's full history, oldest first.
    async fn history(&self, id: OrderId) -> Result<Vec<Event>, StoreError>;

    /// The requester's personal data. Callers must record the reveal (next issue: as an event).
    async fn requester(&self, id: OrderId) -> Result<Option<Requester>, StoreError>;

    /// A caller's orders received since `since`, newest first, at most `limit` (the intake's
    /// repeat-caller hint), by the phone as stored.
    async fn orders_of_phone(
        &self,
        phone: &str,
        since: Timestamp,
        limit: u32,
    ) -> Result<Vec<crate::types::OrderSummary>, StoreError>;

    /// The units linked to an order (lead, co-handlers, the district copied), ever.
    async fn order_units(
        &self,
        id: OrderId,
    ) -> Result<Vec<(whistle_core::ids::UnitCode, String)>, StoreError>;

    /// The return visits (回访) a user recorded since `since`, oldest first (the visit desk's
    /// shift counters, from the `events_visits_by` index).
    async fn visits_by(
        &self,
        user: &str,
        since: Timestamp,
    ) -> Result<Vec<whistle_core::order::VisitResult>, StoreError>;

    /// Whether an order lies within a scope: the same rule the list queries apply.
    async fn visible(
        &self,
        scope: &Scope,
        order: &whistle_core::order::Order,
    ) -> Result<bool, StoreError> {
        let territory = &order.location.territory;
        Ok(match scope {
            Scope::All => true,
            Scope::District(district) => territory.district.as_ref() == Some(district),
            Scope::Street(street) => territory.street.as_ref() == Some(street),
            Scope::Units(units) => self
                .order_units(order.id)
                .await?
                .iter()
                .any(|(unit, _)| units.contains(unit)),
        })
    }

    /// Orders that need a due-soon or overdue notice at `at`, the longest waiting first (the
    /// deadline worker's queue, from the `notice_at` index).
    async fn notices_due(&self, at: Timestamp, limit: u32) -> Result<Vec<OrderId>, StoreError>;

    /// How many open orders have a running deadline at or before `at` (from the due index).
    async fn count_due(&self, at: Timestamp) -> Result<i64, StoreError>;

    /// Counts of orders per stage.
    async fn stage_counts(&self) -> Result<Vec<(String, i64)>, StoreError>;

    /// Totals: orders and events stored.
    async fn totals(&self) -> Result<(i64, i64), StoreError>;
}

#[async_trait]
impl<T: crate::db::Db> OrderReads for T {
    async fn order(&self, target: &OrderRef) -> Result<Option<Order>, StoreError> {
        crate::orders::reads::order(self, target).await
    }

    async fn period_order_ids(
        &self,
        from: Timestamp,
        before: Timestamp,
    ) -> Result<Vec<OrderId>, StoreError> {
        crate::orders::reads::period_order_ids(self, from, before).await
    }

    async fn history(&self, id: OrderId) -> Result<Vec<Event>, StoreError> {
        crate::events::order_history(self, id).await
    }

    async fn requester(&self, id: OrderId) -> Result<Option<Requester>, StoreError> {
        crate::orders::reads::requester(self, id).await
    }

    async fn orders_of_phone(
        &self,
        phone: &str,
        since: Timestamp,
        limit: u32,
    ) -> Result<Vec<crate::types::OrderSummary>, StoreError> {
        crate::orders::reads::orders_of_phone(self, phone, since, limit).await
    }

    async fn visits_by(
        &self,
        user: &str,
        since: Timestamp,
    ) -> Result<Vec<whistle_core::order::VisitResult>, StoreError> {
        crate::orders::reads::visits_by(self, user, since).await
    }

    async fn order_units(&self, id: OrderId) -> Result<Vec<(UnitCode, String)>, StoreError> {
        crate::orders::reads::order_units(self, id).await
    }

    async fn notices_due(&self, at: Timestamp, limit: u32) -> Result<Vec<OrderId>, StoreError> {
        crate::orders::reads::notices_due(self, at, limit).await
    }

    async fn count_due(&self, at: Timestamp) -> Result<i64, StoreError> {
        crate::orders::reads::count_due(self, at).await
    }

    async fn stage_counts(&self) -> Result<Vec<(String, i64)>, StoreError> {
        crate::orders::reads::stage_counts(self).await
    }

    async fn totals(&self) -> Result<(i64, i64), StoreError> {
        crate::orders::reads::totals(self).await
    }
}
