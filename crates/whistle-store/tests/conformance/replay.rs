//! Random lives: the projections and the counters always equal the replay of the events.

use crate::support::{self, *};
use whistle_core::order::{Command, Order, ReplyOutcome, Satisfaction, VisitResult};
use whistle_store::{CommandError, OrderRef, ReferenceImport};

conformance!(random_commands_keep_projections_equal_to_replay,);

/// A seeded random walk through the store: batches of random valid and invalid commands; after
/// each, every touched order's projection equals the replay of its events.
async fn random_commands_keep_projections_equal_to_replay(db: TestDb) {
    let seed: u64 = std::env::var("WHISTLE_SIM_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(42);
    let mut state = seed;
    let mut rng = move |n: usize| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 33) as usize) % n
    };
    let store = &db.store;
    let mut orders = Vec::new();
    let mut minute = 0i64;
    let time = |minute: i64| {
        whistle_core::time::format_minutes(
            at("2025-10-09 08:00") + chrono::Duration::minutes(minute),
        )
    };
    let streets = ["110105010", "110105011", "110105001"];
    let categories = ["11.04.01", "04.01", "03.03", "06.02", "12.01.02"];
    for round in 0..60 {
        if round == 30 {
            // Half way, the counting basis changes to "by receipt": the import recounts the
            // counters from every order, and the rest of the walk keeps them under the new basis.
            set_count_basis(store, whistle_core::evaluation::CountBasis::Received).await;
        }
        minute += 30 + rng(600) as i64;
        let mut batch = Vec::new();
        for _ in 0..3 {
            batch.push(intake(
                &time(minute),
                complaint(streets[rng(3)], categories[rng(5)], "随机诉求"),
            ));
        }
        for _ in 0..(orders.len().min(25)) {
            let order: &whistle_store::Outcome = &orders[rng(orders.len())];
            let current = store
                .order(&OrderRef::Id(order.order_id))
                .await
                .unwrap()
                .unwrap();
            let lead = current
                .lead()
                .map(|l| l.to_string())
                .unwrap_or_else(|| "11.center".into());
            let (unit, command) = match rng(10) {
                0 => ("11.center".to_string(), dispatch()),
                1 => (lead, Command::Accept),
                2 => (
                    lead,
                    Command::Contact {
                        note: String::new(),
                    },
                ),
                3 => (
                    lead,
                    Command::Reply {
                        outcome: ReplyOutcome::PartlyResolved,
                        actions: "部分解决".into(),
                    },
                ),
                4 => (
                    "11.center".to_string(),
                    Command::ReturnVisit {
                        result: VisitResult::Valid {
                            contacted: true,
                            resolved: false,
                            satisfaction: Satisfaction::Dissatisfied,
                        },
                    },
                ),
                5 => (
                    "11.center".to_string(),
                    Command::Close {
                        note: String::new(),
                    },
                ),
                6 => (
                    "11.center".to_string(),
                    Command::Reopen {
                        reason: "不满意".into(),
                    },
                ),
                7 => (
                    lead,
                    Command::Dispute {
                        reason: "非本单位职责".into(),
                    },
                ),
                8 => (
                    "11.center".to_string(),
                    Command::ReviewDispute {
                        upheld: rng(2) == 0,
                        redispatch_to: Some(code(streets[rng(3)])),
                        note: String::new(),
                    },
                ),
                _ => (streets[rng(3)].to_string(), Command::Accept),
            };
            batch.push(support::command(
                as_unit(&unit),
                &time(minute + 1),
                order,
                command,
            ));
        }
        let results = store.execute(batch).await;
        for result in results {
            match result {
                Ok(outcome) if outcome.version == 1 => orders.push(outcome),
                Ok(_) | Err(CommandError::Domain(_)) => {}
                Err(other) => panic!("seed {seed} round {round}: {other}"),
            }
        }
        for order in &orders {
            let stored = store
                .order(&OrderRef::Id(order.order_id))
                .await
                .unwrap()
                .unwrap();
            let replayed =
                Order::from_events(&store.history(order.order_id).await.unwrap()).unwrap();
            assert_eq!(
                stored, replayed,
                "seed {seed} round {round}: projection differs from replay"
            );
            stored
                .check_invariants()
                .unwrap_or_else(|e| panic!("seed {seed} round {round}: {e}"));
        }
    }
    // The evaluation counters kept with the events equal the sum of every order's contribution.
    let expected = counters_equal_contributions(store, &orders, seed).await;
    assert!(
        expected
            .values()
            .any(|c| c.visits > 0 || c.invalid_visits > 0),
        "seed {seed}: the walk visited nothing"
    );
    let report = store.rebuild_projections().await.unwrap();
    assert!(report.differing.is_empty());
    assert_eq!(
        report.counter_cells_differing, 0,
        "seed {seed}: the recount differs"
    );
    assert!(
        report.events > report.orders * 2,
        "seed {seed}: the walk made too little progress"
    );
    // The period counters equal the day counters summed over each period — for calendar months
    // and, after a policy import that moves the start day to the 19th, for 19th-to-18th periods
    // (the import recounts them: the rebuild, which recounts from the orders, finds no difference).
    let days: std::collections::BTreeSet<chrono::NaiveDate> = {
        let mut days = std::collections::BTreeSet::new();
        for order in &orders {
            let stored = store
                .order(&OrderRef::Id(order.order_id))
                .await
                .unwrap()
                .unwrap();
            for basis in whistle_core::evaluation::CountBasis::ALL {
                days.extend(
                    whistle_core::evaluation::contributions(&stored, basis)
                        .into_iter()
                        .map(|(k, _)| k.day),
                );
            }
        }
        days
    };
    for start_day in [1, 19] {
        let mut policy = store.reference().policy.clone();
        policy.evaluation.period_start_day = start_day;
        store
            .import(
                ReferenceImport::Policy(Box::new(policy.clone())),
                &center(),
                at("2025-10-09 09:00"),
            )
            .await
            .unwrap();
        let periods: std::collections::BTreeSet<String> = days
            .iter()
            .map(|d| policy.evaluation.period_of(*d))
            .collect();
        assert!(!periods.is_empty());
        for period in periods {
            let (from, before) = policy.evaluation.period(&period).unwrap();
            let mut kept = store
                .period_cells(&period, start_day, from, before)
                .await
                .unwrap();
            let mut summed = store.evaluation_cells(from, before).await.unwrap();
            kept.retain(|(_, _, c)| !c.is_zero());
            summed.retain(|(_, _, c)| !c.is_zero());
            assert_eq!(
                kept, summed,
                "seed {seed}: period {period} from day {start_day}"
            );
        }
        let report = store.rebuild_projections().await.unwrap();
        assert_eq!(
            report.counter_cells_differing, 0,
            "seed {seed}: period counters after moving the start day to {start_day}"
        );
    }
    // Back to "by return visit": recounted from the orders again, and equal to a rebuild's.
    set_count_basis(store, whistle_core::evaluation::CountBasis::ReturnVisit).await;
    counters_equal_contributions(store, &orders, seed).await;
    let report = store.rebuild_projections().await.unwrap();
    assert_eq!(
        report.counter_cells_differing, 0,
        "seed {seed}: back by return visit"
    );
}

async fn set_count_basis(
    store: &std::sync::Arc<dyn whistle_store::Store>,
    basis: whistle_core::evaluation::CountBasis,
) {
    let mut policy = store.reference().policy.clone();
    policy.evaluation.count_by = basis;
    store
        .import(
            ReferenceImport::Policy(Box::new(policy)),
            &center(),
            at("2025-10-09 09:00"),
        )
        .await
        .unwrap();
}

/// Asserts the day counters equal every order's contributions under the policy's basis, day by
/// day and in total; returns the totals per (unit, category).
async fn counters_equal_contributions(
    store: &std::sync::Arc<dyn whistle_store::Store>,
    orders: &[whistle_store::Outcome],
    seed: u64,
) -> std::collections::BTreeMap<(String, String), whistle_core::evaluation::Counts> {
    type Cells = std::collections::BTreeMap<(String, String), whistle_core::evaluation::Counts>;
    let basis = store.reference().policy.evaluation.count_by;
    let mut by_day: std::collections::BTreeMap<chrono::NaiveDate, Cells> = Default::default();
    let mut total: Cells = Default::default();
    for order in orders {
        let stored = store
            .order(&OrderRef::Id(order.order_id))
            .await
            .unwrap()
            .unwrap();
        for (key, counts) in whistle_core::evaluation::contributions(&stored, basis) {
            let cell = (key.unit.to_string(), key.category.to_string());
            by_day
                .entry(key.day)
                .or_default()
                .entry(cell.clone())
                .or_default()
                .add(&counts);
            total.entry(cell).or_default().add(&counts);
        }
    }
    let read = |from: chrono::NaiveDate, before: chrono::NaiveDate| async move {
        store
            .evaluation_cells(from, before)
            .await
            .unwrap()
            .into_iter()
            .filter(|(_, _, c)| !c.is_zero())
            .map(|(u, c, counts)| ((u.to_string(), c.to_string()), counts))
            .collect::<Cells>()
    };
    for (day, mut expected) in by_day {
        expected.retain(|_, c| !c.is_zero());
        let next = day.succ_opt().unwrap();
        assert_eq!(
            read(day, next).await,
            expected,
            "seed {seed}: counters of {day} differ from the orders ({})",
            basis.name()
        );
    }
    total.retain(|_, c| !c.is_zero());
    let day = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    assert_eq!(
        read(day("2000-01-01"), day("2100-01-01")).await,
        total,
        "seed {seed}: counters differ from the orders ({})",
        basis.name()
    );
    total
}
