//! The deadline worker: at its own pace (a tick), takes the orders whose next notice is due from
//! the `notice_at` index and records "due soon" and "overdue" supervision events.
//!
//! Exactly once per deadline, also with several servers on one database: a notice is an engine
//! command, decided under the store's lock on the order; the core refuses a notice already
//! recorded for that deadline value, so a second worker racing for the same order gets
//! `already_notified` and writes nothing.

use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;
use whistle_core::ids::{Actor, UnitCode};
use whistle_core::order::Command;
use whistle_store::{CommandError, Envelope, OrderRef, Request, StoreError};

use crate::AppState;

#[derive(Debug, Default, PartialEq, Eq, Serialize)]
pub struct TickReport {
    pub recorded: usize,
    /// Summoned units marked absent on whistles (报到超时).
    pub absences: usize,
    /// Another worker had recorded it first.
    pub already_recorded: usize,
    pub failed: usize,
    /// Idempotency records past the retention, and expired login sessions, deleted.
    pub purged_keys: u64,
    pub purged_sessions: u64,
    /// The evaluation period closed (its edition 1 published) on its policy day.
    pub closed_period: Option<String>,
}

/// Closes the last ended evaluation period on the policy's day (`close_days_after`), once: with
/// several workers on one database, the second finds it closed (the edition number is taken
/// once).
async fn close_period(
    state: &AppState,
    now: whistle_core::time::Timestamp,
    actor: &Actor,
    report: &mut TickReport,
) -> Result<(), StoreError> {
    let policy = state.store.reference().policy.evaluation.clone();
    let Some(period) = policy.due_to_close(whistle_core::time::beijing_date(now)) else {
        return Ok(());
    };
    let seen = |p: &str| {
        state
            .closed_period
            .lock()
            .map(|c| c.as_deref() == Some(p))
            .unwrap_or(false)
    };
    if seen(&period) {
        return Ok(());
    }
    if state.store.editions(&period).await?.is_empty() {
        match whistle_reports::editions::close(
            &*state.store,
            &period,
            now,
            actor,
            "按考核政策自动结账发布",
        )
        .await
        {
            Ok(_) => report.closed_period = Some(period.clone()),
            Err(StoreError::Domain(whistle_core::error::DomainError::EditionRefused {
                ..
            })) => {}
            Err(error) => return Err(error),
        }
    }
    if let Ok(mut closed) = state.closed_period.lock() {
        *closed = Some(period);
    }
    Ok(())
}

/// Runs the worker until the task is aborted (if enabled in the settings).
pub fn spawn(state: Arc<AppState>) -> tokio::task::JoinHandle<()> {
    let running = state
        .settings
        .worker
        .enabled
        .then(|| state.worker_running.running());
    tokio::spawn(async move {
        let Some(_running) = running else {
            return;
        };
        let mut interval = tokio::time::interval(Duration::from_secs(
            state.settings.worker.tick_seconds.max(1),
        ));
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            // A panic in one tick (a defect) is logged and the next tick goes on.
            let ticked =
                futures_util::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(tick(&state)))
                    .await
                    .unwrap_or_else(|_| {
                        Err(StoreError::Other(anyhow::anyhow!(
                            "the deadline worker's tick panicked"
                        )))
                    });
            match ticked {
                Ok(report)
                    if report.recorded + report.absences + report.failed > 0
                        || report.purged_keys + report.purged_sessions > 0 =>
                {
                    tracing::info!(?report, "deadline worker tick")
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "deadline worker tick failed"),
            }
        }
    })
}

/// One pass over the due notices (bounded: at most 20 batches).
pub async fn tick(state: &AppState) -> Result<TickReport, StoreError> {
    let now = state.clock.now();
    let due_soon = state.store.reference().policy.due_soon_minutes;
    let batch = state.settings.worker.batch.max(1);
    let actor = Actor {
        user: "deadline-worker".into(),
        unit: UnitCode::parse("11.center").map_err(StoreError::Domain)?,
    };
    let mut report = TickReport::default();
    absences(state, now, &actor, batch, &mut report).await?;
    for _ in 0..20 {
        let ids = state.store.notices_due(now, batch).await?;
        let mut envelopes = Vec::new();
        for id in &ids {
            let Some(order) = state.store.order(&OrderRef::Id(*id)).await? else {
                continue;
            };
            for action in order.notices_due(now, due_soon) {
                envelopes.push(Envelope {
                    actor: actor.clone(),
                    at: now,
                    request: Request::Command {
                        order: OrderRef::Id(*id),
                        expected_version: None,
                        command: Command::Supervise {
                            action,
                            note: "时限提醒".into(),
                        },
                    },
                });
            }
        }
        if envelopes.is_empty() {
            break;
        }
        for result in state.store.execute(envelopes).await {
            match result {
                Ok(_) => report.recorded += 1,
                Err(CommandError::Domain(whistle_core::error::DomainError::AlreadyNotified)) => {
                    report.already_recorded += 1
                }
                Err(error) => {
                    report.failed += 1;
                    tracing::warn!(%error, "deadline notice not recorded");
                }
            }
        }
        if ids.len() < batch as usize {
            break;
        }
    }
    purge(state, now, &mut report).await?;
    close_period(state, now, &actor, &mut report).await?;
    Ok(report)
}

/// Retention: idempotency records older than the policy's days and expired sessions, at most
/// 20 batches a tick (a backlog is worked off over the next ticks).
async fn purge(
    state: &AppState,
    now: whistle_core::time::Timestamp,
    report: &mut TickReport,
) -> Result<(), StoreError> {
    const LIMIT: u32 = 5_000;
    let days = state.settings.worker.idempotency_days;
    let keys_before = (days > 0).then(|| now - chrono::Duration::days(i64::from(days)));
    for _ in 0..20 {
        let (keys, sessions) = state.store.purge(keys_before, now, LIMIT).await?;
        report.purged_keys += keys;
        report.purged_sessions += sessions;
        if keys < u64::from(LIMIT) && sessions < u64::from(LIMIT) {
            break;
        }
    }
    Ok(())
}

/// Marks summoned units absent on whistles whose report-in deadline passed; the first absence
/// escalates the whistle to the district. The absences of a batch of due whistles are recorded
/// in one call (one transaction on SQLite, each absence in its own savepoint). A unit another
/// worker already marked is refused by the core (it is no longer due) and counted as already
/// recorded.
async fn absences(
    state: &AppState,
    now: whistle_core::time::Timestamp,
    actor: &Actor,
    batch: u32,
    report: &mut TickReport,
) -> Result<(), StoreError> {
    use whistle_store::whistles::{WhistleEnvelope, WhistleRequest};
    for _ in 0..20 {
        let due = state.store.absences_due(now, batch).await?;
        let mut envelopes = Vec::new();
        for no in &due {
            let Some(whistle) = state.store.whistle(no).await? else {
                continue;
            };
            for unit in whistle.absences_due(now) {
                envelopes.push(WhistleEnvelope {
                    actor: actor.clone(),
                    at: now,
                    request: WhistleRequest::Command {
                        whistle: no.clone(),
                        expected_version: None,
                        command: whistle_core::whistle::WhistleCommand::MarkAbsent { unit },
                    },
                });
            }
        }
        if envelopes.is_empty() {
            break;
        }
        let mut written = false;
        for result in state.store.execute_whistles(envelopes).await {
            match result {
                Ok(_) => {
                    report.absences += 1;
                    written = true;
                }
                Err(CommandError::Domain(whistle_core::error::DomainError::InvalidValue {
                    ..
                })) => report.already_recorded += 1,
                Err(error) => {
                    report.failed += 1;
                    tracing::warn!(%error, "absence not recorded");
                }
            }
        }
        if written {
            state.whistle_written.notify_waiters();
        }
        if due.len() < batch as usize {
            break;
        }
    }
    Ok(())
}
