//! Concurrency: versions, idempotency keys, and two processes on one database.

use crate::support::*;
use whistle_core::order::{Command, EventPayload, Order, Supervision};
use whistle_store::{CommandError, Envelope, Idempotency, OrderRef, Request};

conformance!(
    stale_versions_conflict_and_concurrent_commands_serialise,
    idempotency_keys_return_the_first_result,
    two_processes_on_one_database_serialise,
    retention_purges_old_keys_and_expired_sessions,
);

/// Retention: idempotency records made before a time and sessions expired by a time are
/// deleted, a batch at a time; a purged key is forgotten (the same request runs again).
async fn retention_purges_old_keys_and_expired_sessions(db: TestDb) {
    let store = db.store.clone();
    let make = || {
        intake(
            "2025-10-09 09:00",
            complaint("110105010", "11.04.01", "占道"),
        )
    };
    for key in ["r1", "r2", "r3"] {
        store
            .execute_items(vec![keyed(make(), key, "h")])
            .await
            .pop()
            .unwrap()
            .unwrap();
    }
    for (id, expires) in [("s1", "2025-10-09 10:00"), ("s2", "2025-10-09 12:00")] {
        store
            .put_session(id, "someone", at(expires), at("2025-10-09 09:00"))
            .await
            .unwrap();
    }
    let now = chrono::Utc::now();
    // Records are stamped when written: none is older than an hour ago.
    let past = Some(now - chrono::Duration::hours(1));
    assert_eq!(
        store
            .purge(past, at("2025-10-09 09:59"), 100)
            .await
            .unwrap(),
        (0, 0)
    );
    assert_eq!(
        store
            .purge(None, at("2025-10-09 10:00"), 100)
            .await
            .unwrap(),
        (0, 1),
        "the session expired at 10:00"
    );
    assert!(store.session("s1").await.unwrap().is_none());
    assert!(store.session("s2").await.unwrap().is_some());
    let future = Some(now + chrono::Duration::hours(1));
    assert_eq!(
        store
            .purge(future, at("2025-10-09 11:00"), 2)
            .await
            .unwrap(),
        (2, 0),
        "a batch at a time"
    );
    assert_eq!(
        store
            .purge(future, at("2025-10-09 12:00"), 2)
            .await
            .unwrap(),
        (1, 1)
    );
    // Every key is forgotten: the same request with r1 makes a new order.
    let again = store
        .execute_items(vec![keyed(make(), "r1", "h")])
        .await
        .pop()
        .unwrap()
        .unwrap();
    assert!(!again.replayed);
    assert_eq!(store.totals().await.unwrap().0, 4);
}

async fn stale_versions_conflict_and_concurrent_commands_serialise(db: TestDb) {
    let store = db.store.clone();
    let order = take(
        &*store,
        "2025-10-09 09:00",
        complaint("110105010", "11.04.01", "占道"),
    )
    .await;
    act(&*store, center(), "2025-10-09 10:00", &order, dispatch()).await;
    let urge = |version: Option<u64>| Envelope {
        actor: center(),
        at: at("2025-10-09 11:00"),
        request: Request::Command {
            order: OrderRef::Id(order.order_id),
            expected_version: version,
            command: Command::Supervise {
                action: Supervision::Urge,
                note: "催办".into(),
            },
        },
    };
    // Twenty clients saw version 2 and act at once: one wins, the others are told of the conflict.
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            tokio::spawn({
                let store = store.clone();
                let envelope = urge(Some(2));
                async move { store.execute_one(envelope).await }
            })
        })
        .collect();
    let mut won = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(outcome) => {
                won += 1;
                assert_eq!(outcome.version, 3);
            }
            Err(CommandError::Conflict {
                expected: 2,
                actual,
            }) => assert!(actual >= 3),
            Err(other) => panic!("unexpected {other}"),
        }
    }
    assert_eq!(won, 1);
    // Without a version every command applies, one after another: no lost update.
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            tokio::spawn({
                let store = store.clone();
                let envelope = urge(None);
                async move { store.execute_one(envelope).await }
            })
        })
        .collect();
    let mut versions: Vec<u64> = Vec::new();
    for task in tasks {
        versions.push(task.await.unwrap().unwrap().version);
    }
    versions.sort_unstable();
    assert_eq!(versions, (4..=23).collect::<Vec<_>>());
    let stored = store
        .order(&OrderRef::Id(order.order_id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((stored.version, stored.urge_count), (23, 21));
}

async fn idempotency_keys_return_the_first_result(db: TestDb) {
    let store = &db.store;
    let make = || {
        intake(
            "2025-10-09 09:00",
            complaint("110105010", "11.04.01", "占道"),
        )
    };
    let first = store
        .execute_items(vec![keyed(make(), "k1", "h1")])
        .await
        .pop()
        .unwrap()
        .unwrap();
    assert!(!first.replayed);
    // A retry, alone or twice in one batch, returns the first order; nothing new is created.
    let again = store
        .execute_items(vec![keyed(make(), "k1", "h1")])
        .await
        .pop()
        .unwrap()
        .unwrap();
    assert!(again.replayed && again.order_id == first.order_id && again.order_no == first.order_no);
    let results = store
        .execute_items(vec![keyed(make(), "k2", "h2"), keyed(make(), "k2", "h2")])
        .await;
    let (a, b) = (results[0].as_ref().unwrap(), results[1].as_ref().unwrap());
    assert!(!a.replayed && b.replayed && a.order_id == b.order_id);
    // The same key with another request is refused.
    let error = store
        .execute_items(vec![keyed(make(), "k1", "other")])
        .await
        .pop()
        .unwrap()
        .unwrap_err();
    assert_eq!(error.key(), "idempotency_mismatch");
    // Another client's identical key is its own.
    let other = store
        .execute_items(vec![(
            make(),
            Some(Idempotency {
                principal: "client-b".into(),
                key: "k1".into(),
                request_hash: "h1".into(),
            }),
        )])
        .await
        .pop()
        .unwrap()
        .unwrap();
    assert!(!other.replayed);
    assert_eq!(store.totals().await.unwrap().0, 3);
    // A refused command stores no key: the corrected retry runs.
    let bad = intake("2025-10-09 09:00", complaint("110105010", "11.04.01", ""));
    assert!(store
        .execute_items(vec![keyed(bad, "k3", "h3")])
        .await
        .pop()
        .unwrap()
        .is_err());
    let good = store
        .execute_items(vec![keyed(make(), "k3", "h3")])
        .await
        .pop()
        .unwrap()
        .unwrap();
    assert!(!good.replayed);
}

/// Two stores on one database (the server and a command-line tool, say): each one's commands see
/// everything the other committed. On SQLite this exercises the write pipeline's checks — the
/// second store has planned on orders and order numbers it cached, which the first has since
/// changed, so its writer must decide those batches again.
async fn two_processes_on_one_database_serialise(db: TestDb) {
    let a = db.store.clone();
    let b = whistle_store::open(&db.url, whistle_store::Migrate::Refuse)
        .await
        .unwrap();
    let urge = || Command::Supervise {
        action: Supervision::Urge,
        note: "催办".into(),
    };
    let x = take(
        &*a,
        "2025-10-09 09:00",
        complaint("110105010", "11.04.01", "占道"),
    )
    .await;
    act(&*a, center(), "2025-10-09 09:10", &x, dispatch()).await;
    // B caches X at version 3; A moves it on to 5; B's next urge must land at 6.
    let seen = act(&*b, center(), "2025-10-09 09:20", &x, urge()).await;
    assert_eq!(seen.version, 3);
    for minute in ["09:30", "09:40"] {
        act(&*a, center(), &format!("2025-10-09 {minute}"), &x, urge()).await;
    }
    let after = act(&*b, center(), "2025-10-09 09:50", &x, urge()).await;
    assert_eq!(after.version, 6);
    let stale = Envelope {
        actor: center(),
        at: at("2025-10-09 09:55"),
        request: Request::Command {
            order: OrderRef::Id(x.order_id),
            expected_version: Some(5),
            command: urge(),
        },
    };
    assert!(matches!(
        b.execute_one(stale).await,
        Err(CommandError::Conflict {
            expected: 5,
            actual: 6
        })
    ));
    // Order numbers: B numbers one, A another, B a third — no number twice.
    let mut numbers = Vec::new();
    for (store, minute) in [(&b, "10:00"), (&a, "10:01"), (&b, "10:02"), (&a, "10:03")] {
        let outcome = take(
            &**store,
            &format!("2025-10-09 {minute}"),
            complaint("110105010", "11.04.01", "噪声"),
        )
        .await;
        numbers.push(outcome.order_no.to_string());
    }
    let mut distinct = numbers.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 4, "{numbers:?}");
    assert_eq!(numbers, distinct, "numbers follow the order of intake");
    // Refusals are decided on the current state too: B holds Y as pending dispatch; A dispatches
    // it; the lead unit's acceptance through B is valid, not refused on B's stale view.
    let y = take(
        &*b,
        "2025-10-09 11:00",
        complaint("110105010", "11.04.01", "停车"),
    )
    .await;
    let dispatched = act(&*a, center(), "2025-10-09 11:05", &y, dispatch()).await;
    let lead = dispatched
        .events
        .iter()
        .find_map(|e| match &e.payload {
            EventPayload::Dispatched(d) => Some(d.lead.clone()),
            _ => None,
        })
        .unwrap();
    let accepted = act(
        &*b,
        as_unit(lead.as_str()),
        "2025-10-09 11:06",
        &y,
        Command::Accept,
    )
    .await;
    assert_eq!(accepted.version, dispatched.version + 1);
    for (id, version) in [(x.order_id, 6), (y.order_id, accepted.version)] {
        let history = a.history(id).await.unwrap();
        assert_eq!(history.len() as u64, version);
        let stored = b.order(&OrderRef::Id(id)).await.unwrap().unwrap();
        assert_eq!(stored.version, version);
        assert_eq!(stored, Order::from_events(&history).unwrap());
    }
}

fn keyed(envelope: Envelope, key: &str, hash: &str) -> (Envelope, Option<Idempotency>) {
    (
        envelope,
        Some(Idempotency {
            principal: "client-a".into(),
            key: key.into(),
            request_hash: hash.into(),
        }),
    )
}
