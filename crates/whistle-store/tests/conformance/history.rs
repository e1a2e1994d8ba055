//! The exam paper follows each order's history, built through the store with back-dated times
//! and read from the period counters on both backends: a reopening keeps the first visit in its
//! month, a redispatched unit is judged by its own contact, the misdispatch is the dispatcher's,
//! a co-handler answers for its part; and a database whose projections predate the history
//! record is replayed when migrated.

use crate::support::{self, *};
use whistle_core::evaluation::{evaluate, Counts, EvaluationPolicy, UnitEvaluation};
use whistle_core::order::{Command, ReplyOutcome, Satisfaction, VisitResult};

conformance!(
    the_evaluation_follows_each_orders_history,
    projections_without_the_record_are_replayed_on_migrate,
);

async fn lines(store: &dyn whistle_store::Store, period: &str) -> Vec<UnitEvaluation> {
    let reference = store.reference();
    let policy = EvaluationPolicy {
        min_valid_visits: 1,
        ..reference.policy.evaluation.clone()
    };
    let (from, before) = policy.period(period).unwrap();
    let cells = store
        .period_cells(period, policy.period_start_day, from, before)
        .await
        .unwrap();
    evaluate(
        &cells,
        &Default::default(),
        &reference.directory,
        &reference.city,
        &policy,
    )
}

fn unit<'a>(lines: &'a [UnitEvaluation], code: &str) -> Option<&'a UnitEvaluation> {
    lines.iter().find(|l| l.unit.as_str() == code)
}

fn visit(resolved: bool, satisfaction: Satisfaction) -> Command {
    Command::ReturnVisit {
        result: VisitResult::Valid {
            contacted: true,
            resolved,
            satisfaction,
        },
    }
}

fn contact() -> Command {
    Command::Contact {
        note: "已联系".into(),
    }
}

fn reply() -> Command {
    Command::Reply {
        outcome: ReplyOutcome::Resolved,
        actions: "已处理".into(),
    }
}

async fn the_evaluation_follows_each_orders_history(db: TestDb) {
    let store = &*db.store;
    let street = "110105010";
    // 1. Dispatched and visited in October (dissatisfied), reopened on 3 November, visited
    //    again in November (satisfied).
    let order = take(
        store,
        "2025-10-20 09:00",
        complaint(street, "11.04.01", "路灯不亮"),
    )
    .await;
    act(store, center(), "2025-10-20 09:10", &order, dispatch()).await;
    let lead = store
        .order(&whistle_store::OrderRef::Id(order.order_id))
        .await
        .unwrap()
        .unwrap()
        .lead()
        .unwrap()
        .to_string();
    assert_eq!(lead, street);
    let s = as_unit(street);
    act(
        store,
        s.clone(),
        "2025-10-20 09:20",
        &order,
        Command::Accept,
    )
    .await;
    act(store, s.clone(), "2025-10-20 09:25", &order, contact()).await;
    act(store, s.clone(), "2025-10-21 10:00", &order, reply()).await;
    act(
        store,
        center(),
        "2025-10-22 10:00",
        &order,
        visit(false, Satisfaction::Dissatisfied),
    )
    .await;
    let october = unit(&lines(store, "2025-10").await, street)
        .unwrap()
        .clone();
    assert_eq!(
        (october.counts.dispatched, october.counts.visits),
        (1, 1),
        "{october:?}"
    );
    act(
        store,
        center(),
        "2025-11-03 09:00",
        &order,
        Command::Reopen {
            reason: "诉求人不满意".into(),
        },
    )
    .await;
    act(
        store,
        s.clone(),
        "2025-11-03 09:30",
        &order,
        Command::Accept,
    )
    .await;
    act(store, s.clone(), "2025-11-03 09:40", &order, contact()).await;
    act(store, s.clone(), "2025-11-04 09:00", &order, reply()).await;
    act(
        store,
        center(),
        "2025-11-05 09:00",
        &order,
        visit(true, Satisfaction::Satisfied),
    )
    .await;
    let after = lines(store, "2025-10").await;
    assert_eq!(
        unit(&after, street).map(|l| l.counts),
        Some(october.counts),
        "October stays as it was"
    );
    let november = lines(store, "2025-11").await;
    let line = unit(&november, street).unwrap();
    assert_eq!(
        line.counts,
        Counts {
            visits: 1,
            responded: 1,
            resolved: 1,
            satisfied: 1,
            ..Counts::default()
        }
    );
    assert_eq!(line.rates.unwrap().composite, 1.0);

    // 2 and 3. An upheld objection: the new unit never contacts; it is not "responded", the
    //    first unit has no dispatch, the centre has a misdispatch.
    let other = "110105011";
    let order = take(
        store,
        "2025-10-10 09:00",
        complaint(street, "11.04.01", "井盖缺失"),
    )
    .await;
    act(store, center(), "2025-10-10 09:05", &order, dispatch()).await;
    act(
        store,
        s.clone(),
        "2025-10-10 09:10",
        &order,
        Command::Accept,
    )
    .await;
    act(store, s.clone(), "2025-10-10 09:15", &order, contact()).await;
    act(
        store,
        s.clone(),
        "2025-10-10 09:20",
        &order,
        Command::Dispute {
            reason: "不属本街道".into(),
        },
    )
    .await;
    act(
        store,
        center(),
        "2025-10-10 10:00",
        &order,
        Command::ReviewDispute {
            upheld: true,
            redispatch_to: Some(code(other)),
            note: "改派".into(),
        },
    )
    .await;
    let o = as_unit(other);
    act(
        store,
        o.clone(),
        "2025-10-10 11:00",
        &order,
        Command::Accept,
    )
    .await;
    act(store, o.clone(), "2025-10-11 11:00", &order, reply()).await;
    act(
        store,
        center(),
        "2025-10-12 11:00",
        &order,
        visit(true, Satisfaction::Satisfied),
    )
    .await;
    let october = lines(store, "2025-10").await;
    let new = unit(&october, other).unwrap();
    assert_eq!(
        (
            new.counts.dispatched,
            new.counts.visits,
            new.counts.responded
        ),
        (1, 1, 0)
    );
    assert_eq!(
        unit(&october, street).unwrap().counts.dispatched,
        1,
        "only the first order's dispatch: the overturned one is not the street's"
    );
    let reference = store.reference();
    let (from, before) = reference.policy.evaluation.period("2025-10").unwrap();
    let cells = store
        .period_cells("2025-10", 1, from, before)
        .await
        .unwrap();
    let quality = whistle_core::evaluation::dispatch_quality(&cells, &reference.directory);
    let centre = quality
        .iter()
        .find(|q| q.unit.as_str() == "11.center")
        .unwrap();
    assert_eq!((centre.dispatches, centre.misdispatches), (3, 1));
    // The counters equal the replay of every order.
    let report = store.rebuild_projections().await.unwrap();
    assert_eq!(report.counter_cells_differing, 0, "{report:?}");
    assert!(report.differing.is_empty(), "{report:?}");
}

/// A database written before the history record: the projections lack it (as v16 stored
/// them) and the migration marked the database. Opened without migrating, it is refused with
/// the way out; migrated, every order is replayed and the figures are back.
async fn projections_without_the_record_are_replayed_on_migrate(db: TestDb) {
    let store = db.store.clone();
    let order = take(
        &*store,
        "2025-10-20 09:00",
        complaint("110105010", "11.04.01", "路灯不亮"),
    )
    .await;
    act(&*store, center(), "2025-10-20 09:10", &order, dispatch()).await;
    let s = as_unit("110105010");
    act(
        &*store,
        s.clone(),
        "2025-10-20 09:20",
        &order,
        Command::Accept,
    )
    .await;
    act(&*store, s.clone(), "2025-10-20 09:25", &order, contact()).await;
    let expected = lines(&*store, "2025-10").await;
    let projection = store
        .order(&whistle_store::OrderRef::Id(order.order_id))
        .await
        .unwrap()
        .unwrap();
    let mut old = serde_json::to_value(&projection).unwrap();
    old.as_object_mut().unwrap().remove("record");
    support::raw_sql(
        &db,
        &[
            &format!(
                "UPDATE orders SET state = '{}'",
                old.to_string().replace('\'', "''")
            ),
            "DELETE FROM eval_counters",
            "DELETE FROM eval_period_counters",
            "INSERT INTO settings (key, value) VALUES ('replay_orders', 'order history record')",
        ],
    )
    .await;
    drop(store);
    let refused = whistle_store::open(&db.url, whistle_store::Migrate::Refuse).await;
    let message = refused.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(message.contains("whistle migrate"), "{message}");
    let store = whistle_store::open(&db.url, whistle_store::Migrate::Apply)
        .await
        .unwrap();
    assert_eq!(lines(&*store, "2025-10").await, expected);
    let replayed = store
        .order(&whistle_store::OrderRef::Id(order.order_id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(replayed, projection);
    // Replayed once: it opens without migrating now.
    drop(store);
    whistle_store::open(&db.url, whistle_store::Migrate::Refuse)
        .await
        .unwrap();
}
