//! The writer never stops: extreme times are refused by the core before any arithmetic can
//! overflow, and a panic anywhere in deciding or writing fails only what it touched, on both
//! backends. Panics are injected through the store's failpoints (see `src/faults.rs`), each
//! test with its own marker so tests running beside it are unaffected.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::*;
use whistle_core::calendar::TimeLimit;
use whistle_core::order::Command;
use whistle_store::{CommandError, Envelope, Idempotency, OrderRef, Outcome};

conformance!(
    extreme_deadlines_are_refused_and_writes_go_on,
    a_panicking_command_fails_alone,
    a_panicking_batch_fails_and_the_writer_goes_on,
    one_idempotency_key_through_two_processes_gives_one_order,
);

fn running(db: &TestDb) {
    let components = db.store.components();
    assert!(!components.is_empty());
    for (name, running) in components {
        assert!(running, "{name} is not running");
    }
}

async fn one(db: &TestDb, envelope: Envelope) -> Result<Outcome, CommandError> {
    db.store.execute_one(envelope).await
}

/// The reproduction of the defect: a dispatch with a deadline in the year 262142 was accepted,
/// and an extension on it then overflowed the calendar and stopped the writer for everyone.
async fn extreme_deadlines_are_refused_and_writes_go_on(db: TestDb) {
    let order = one(
        &db,
        intake(
            "2026-11-02 09:00",
            complaint("110105010", "11.04.01", "占道经营"),
        ),
    )
    .await
    .unwrap();
    let far = "+262142-12-31T00:00:00Z".parse().unwrap();
    let refused = one(
        &db,
        command(
            center(),
            "2026-11-02 09:05",
            &order,
            Command::Dispatch {
                unit: None,
                co_handlers: Vec::new(),
                handle_by: Some(far),
            },
        ),
    )
    .await;
    match refused {
        Err(CommandError::Domain(error)) => assert_eq!(error.key(), "time_out_of_range"),
        other => panic!("expected a refusal naming handle_by, got {other:?}"),
    }
    // The nearest legal deadline a year out, then the longest extension: decided, not a panic.
    let dispatched = one(
        &db,
        command(
            center(),
            "2026-11-02 09:06",
            &order,
            Command::Dispatch {
                unit: None,
                co_handlers: Vec::new(),
                handle_by: Some(at("2027-11-01 09:00")),
            },
        ),
    )
    .await
    .unwrap();
    let lead = dispatched
        .order
        .as_ref()
        .unwrap()
        .lead()
        .unwrap()
        .to_string();
    one(
        &db,
        command(as_unit(&lead), "2026-11-02 09:10", &order, Command::Accept),
    )
    .await
    .unwrap();
    let extension = one(
        &db,
        command(
            as_unit(&lead),
            "2026-11-02 09:11",
            &order,
            Command::RequestExtension {
                extra: TimeLimit::Hours(720),
                reason: "需协调多部门".into(),
            },
        ),
    )
    .await;
    match extension {
        Err(CommandError::Domain(error)) => assert_eq!(error.key(), "span_too_long"),
        other => panic!("expected span_too_long, got {other:?}"),
    }
    // An intake far in the past or future is refused with the field named.
    let mut old = complaint("110105010", "11.04.01", "占道经营");
    old.received_at = Some(at("1980-01-01 00:00"));
    match one(&db, intake("2026-11-02 09:12", old)).await {
        Err(CommandError::Domain(error)) => {
            assert_eq!(error.key(), "time_out_of_range");
            assert!(error
                .message(whistle_core::error::Lang::Zh)
                .contains("received_at"));
        }
        other => panic!("expected time_out_of_range, got {other:?}"),
    }
    // And the writer goes on.
    one(
        &db,
        intake(
            "2026-11-02 09:13",
            complaint("110105010", "11.04.01", "又一件"),
        ),
    )
    .await
    .unwrap();
    running(&db);
}

/// A panic inside one command's decision refuses that command alone; the rest of its batch
/// commits, and later batches are written as usual.
async fn a_panicking_command_fails_alone(db: TestDb) {
    let marker = format!("PANIC-DECIDE-{:?}", db.store.backend());
    fail::cfg("decide", &format!("return({marker})")).unwrap();
    let batch = vec![
        intake(
            "2026-11-02 09:00",
            complaint("110105010", "11.04.01", "第一件"),
        ),
        intake(
            "2026-11-02 09:00",
            complaint("110105010", "11.04.01", &format!("坏的 {marker}")),
        ),
        intake(
            "2026-11-02 09:00",
            complaint("110105010", "11.04.01", "第三件"),
        ),
    ];
    let results = db.store.execute(batch).await;
    assert!(results[0].is_ok(), "{:?}", results[0]);
    assert!(
        matches!(results[1], Err(CommandError::Store(_))),
        "{:?}",
        results[1]
    );
    assert!(results[2].is_ok(), "{:?}", results[2]);
    // Numbers stay gap-free: the refused intake took none.
    let first = results[0].as_ref().unwrap().order_no.to_string();
    let third = results[2].as_ref().unwrap().order_no.to_string();
    assert_eq!(&first[..9], &third[..9]);
    let sequence = |no: &str| no[9..].parse::<u64>().unwrap();
    assert_eq!(sequence(&third), sequence(&first) + 1);
    one(
        &db,
        intake(
            "2026-11-02 09:01",
            complaint("110105010", "11.04.01", "之后"),
        ),
    )
    .await
    .unwrap();
    running(&db);
}

/// A panic while a batch is written (and, on SQLite, while it is planned) fails that batch,
/// commits nothing of it, and the writer goes on with the next.
async fn a_panicking_batch_fails_and_the_writer_goes_on(db: TestDb) {
    for point in ["write", "plan"] {
        let marker = format!("PANIC-{point}-{:?}", db.store.backend());
        fail::cfg(point, &format!("return({marker})")).unwrap();
        let (orders_before, events_before) = db.store.totals().await.unwrap();
        let result = one(
            &db,
            intake(
                "2026-11-02 09:00",
                complaint("110105010", "11.04.01", &format!("坏的 {marker}")),
            ),
        )
        .await;
        if point == "plan" && db.store.backend() != whistle_store::Backend::Sqlite {
            // Only the SQLite pipeline has a separate planning stage.
            assert!(result.is_ok());
            continue;
        }
        assert!(
            matches!(result, Err(CommandError::Store(_))),
            "{point}: {result:?}"
        );
        assert_eq!(
            db.store.totals().await.unwrap(),
            (orders_before, events_before),
            "{point}: nothing of the batch may be written"
        );
        for _ in 0..3 {
            one(
                &db,
                intake(
                    "2026-11-02 09:01",
                    complaint("110105010", "11.04.01", "之后"),
                ),
            )
            .await
            .unwrap();
        }
        running(&db);
    }
}

/// Two processes on one database (two `whistle serve` on one SQLite file, or two servers on one
/// PostgreSQL) take concurrent retries of one request with one idempotency key: exactly one
/// order is stored, and every answer is that order — never one that a process planned and then
/// lost to the other.
async fn one_idempotency_key_through_two_processes_gives_one_order(db: TestDb) {
    let a = db.store.clone();
    let b = whistle_store::open(&db.url, whistle_store::Migrate::Refuse)
        .await
        .unwrap();
    for round in 0..4 {
        let key = format!("retry-{round}");
        let keyed = |store: std::sync::Arc<dyn whistle_store::Store>| {
            let key = key.clone();
            async move {
                let envelope = intake(
                    "2026-11-02 09:00",
                    complaint("110105010", "11.04.01", "重复提交的诉求"),
                );
                store
                    .execute_items(vec![(
                        envelope,
                        Some(Idempotency {
                            principal: "client".into(),
                            key,
                            request_hash: "same".into(),
                        }),
                    )])
                    .await
                    .pop()
                    .unwrap()
            }
        };
        let mut tasks = Vec::new();
        for i in 0..64 {
            let store = if i % 2 == 0 { a.clone() } else { b.clone() };
            tasks.push(tokio::spawn(keyed(store)));
        }
        let mut ids = std::collections::BTreeSet::new();
        for task in tasks {
            let outcome = task.await.unwrap().unwrap();
            ids.insert(outcome.order_id);
        }
        assert_eq!(
            ids.len(),
            1,
            "round {round}: {} different orders answered",
            ids.len()
        );
        let id = *ids.iter().next().unwrap();
        for store in [&a, &b] {
            assert!(
                store.order(&OrderRef::Id(id)).await.unwrap().is_some(),
                "round {round}: the answered order is not stored"
            );
        }
    }
    let (orders, _) = a.totals().await.unwrap();
    assert_eq!(orders, 4);
}

/// The write-ahead log stays bounded: with a 1 MiB limit, sustained writes make the checkpointer
/// restart the log (holding commits briefly) instead of letting it grow, and the lag is exposed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sqlite_log_stays_under_its_limit() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("wal.db").display());
    let tuning = whistle_store::Tuning {
        wal_limit_mib: 1,
        ..whistle_store::Tuning::SERVICE
    };
    let store = whistle_store::open_tuned(&url, whistle_store::Migrate::Apply, tuning)
        .await
        .unwrap();
    whistle_store::seed::install_defaults(&*store, &center(), at("2025-01-01 00:00"))
        .await
        .unwrap();
    let gauge = |name: &str| {
        store
            .gauges()
            .into_iter()
            .find(|g| g.name == name)
            .map(|g| g.value)
            .unwrap()
    };
    let mut peak: f64 = 0.0;
    for round in 0..40 {
        let batch = (0..100)
            .map(|i| {
                intake(
                    "2026-11-02 09:00",
                    complaint("110105010", "11.04.01", &format!("第{round}批第{i}件")),
                )
            })
            .collect();
        for result in store.execute(batch).await {
            result.unwrap();
        }
        peak = peak.max(gauge("whistle_sqlite_wal_frames"));
    }
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let page_size = 4096.0;
    assert!(
        gauge("whistle_sqlite_wal_resets_total") + gauge("whistle_sqlite_wal_forced_resets_total")
            > 0.0,
        "the log was never restarted"
    );
    // The limit plus what arrives between two looks of the checkpointer (it looks every 10 ms
    // while behind); unbounded, 4,000 intakes leave tens of megabytes of log.
    assert!(
        peak * page_size <= 8.0 * 1024.0 * 1024.0,
        "the log reached {peak} frames"
    );
    assert!(gauge("whistle_sqlite_wal_forced_resets_total") > 0.0);
    assert!(gauge("whistle_sqlite_checkpoint_lag_frames") >= 0.0);
}
