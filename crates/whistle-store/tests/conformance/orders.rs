//! Orders: a life recorded and replayed, numbering, refusals, batches and personal data.

use crate::support::{self, *};
use whistle_core::order::{Command, Order, ReplyOutcome, Satisfaction, VisitResult};
use whistle_core::org::UnitChange;
use whistle_store::{Envelope, OrderFilter, OrderRef, PageRequest, Request, Scope};

conformance!(
    a_whole_life_is_recorded_and_replays,
    order_numbers_count_per_day,
    refusals_leave_the_store_unchanged,
    a_batch_commits_each_command_or_nothing_of_it,
    personal_data_stays_out_of_events,
);

async fn a_whole_life_is_recorded_and_replays(db: TestDb) {
    let store = &db.store;
    let order = take(
        &**store,
        "2025-09-30 16:00",
        complaint("110105010", "11.04.01", "小区门口占道经营"),
    )
    .await;
    assert_eq!(order.order_no.as_str(), "20250930-000001");
    let center = center();
    let street = as_unit("110105010");
    let steps: Vec<(whistle_core::ids::Actor, &str, Command)> = vec![
        (center.clone(), "2025-09-30 17:00", dispatch()),
        (street.clone(), "2025-09-30 17:30", Command::Accept),
        (
            street.clone(),
            "2025-10-02 10:00",
            Command::Contact {
                note: "电话联系".into(),
            },
        ),
        (
            street.clone(),
            "2025-10-09 10:00",
            Command::Reply {
                outcome: ReplyOutcome::Resolved,
                actions: "已清理".into(),
            },
        ),
        (
            center.clone(),
            "2025-10-10 10:00",
            Command::ReturnVisit {
                result: VisitResult::Valid {
                    contacted: true,
                    resolved: true,
                    satisfaction: Satisfaction::Satisfied,
                },
            },
        ),
        (
            center.clone(),
            "2025-10-10 11:00",
            Command::Close {
                note: String::new(),
            },
        ),
    ];
    for (actor, time, command) in steps {
        act(&**store, actor, time, &order, command).await;
    }
    let stored = store
        .order(&OrderRef::No(order.order_no.clone()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((stored.stage.name(), stored.version), ("closed", 7));
    assert_eq!(
        whistle_core::time::format_minutes(stored.handle_by.unwrap()),
        "2025-10-16 17:00"
    );
    assert_eq!(
        stored.contacted_in_time,
        Some(false),
        "contact after the 24 h response deadline"
    );
    let history = store.history(order.order_id).await.unwrap();
    let kinds: Vec<&str> = history.iter().map(|e| e.payload.name()).collect();
    assert_eq!(
        kinds,
        [
            "received",
            "dispatched",
            "accepted",
            "contacted",
            "replied",
            "visited",
            "closed"
        ]
    );
    assert_eq!(history[2].actor.unit.as_str(), "110105010");
    assert_eq!(history[1].actor.unit.as_str(), "11.center");
    assert_eq!(Order::from_events(&history).unwrap(), stored);
    let report = store.rebuild_projections().await.unwrap();
    assert!(report.differing.is_empty(), "{:?}", report.differing);
    assert_eq!((report.orders, report.events), (1, 7));
    // The lead, the co-handler and the district it was copied to all find it.
    for unit in ["110105010", "110105.dept.urban-management", "110105"] {
        let filter = OrderFilter {
            unit: Some(code(unit)),
            ..OrderFilter::default()
        };
        let page = store
            .list_orders(&Scope::All, &filter, &PageRequest::default())
            .await
            .unwrap();
        assert_eq!(page.items.len(), 1, "{unit}");
    }
}

async fn order_numbers_count_per_day(db: TestDb) {
    let mut numbers = Vec::new();
    for time in [
        "2025-10-09 08:00",
        "2025-10-09 23:59",
        "2025-10-10 00:00",
        "2025-10-09 12:00",
    ] {
        let outcome = take(&*db.store, time, complaint("110105010", "11.04.01", "占道")).await;
        numbers.push(outcome.order_no.to_string());
    }
    assert_eq!(
        numbers,
        [
            "20251009-000001",
            "20251009-000002",
            "20251010-000001",
            "20251009-000003"
        ]
    );
    // A refused intake does not use a number.
    let refused = db
        .store
        .execute_one(intake(
            "2025-10-09 13:00",
            complaint("110105010", "11.04.01", ""),
        ))
        .await;
    assert!(refused.is_err());
    let next = take(
        &*db.store,
        "2025-10-09 14:00",
        complaint("110105010", "11.04.01", "占道"),
    )
    .await;
    assert_eq!(next.order_no.as_str(), "20251009-000004");
}

async fn refusals_leave_the_store_unchanged(db: TestDb) {
    let store = &db.store;
    let order = take(
        &**store,
        "2025-10-09 09:00",
        complaint("110105010", "11.04.01", "占道"),
    )
    .await;
    let closed = take(
        &**store,
        "2025-10-09 09:00",
        complaint("110105010", "11.04.01", "咨询"),
    )
    .await;
    let answer = |o| {
        support::command(
            center(),
            "2025-10-09 09:30",
            o,
            Command::Forward {
                party: whistle_core::order::OutsideParty::HebeiHotline,
                note: String::new(),
            },
        )
    };
    store.execute_one(answer(&closed)).await.unwrap();
    act(
        &**store,
        center(),
        "2025-10-09 10:00",
        &closed,
        Command::RecordForwardAnswer {
            answer: "已答复".into(),
        },
    )
    .await;
    store
        .change_unit(
            UnitChange::Retired {
                code: code("110105011"),
            },
            &center(),
            at("2025-10-09 09:00"),
        )
        .await
        .unwrap();
    let before = snapshot(&db).await;
    let to = |unit: &str| Command::Dispatch {
        unit: Some(code(unit)),
        co_handlers: vec![],
        handle_by: None,
    };
    let cases: Vec<(Envelope, &str)> = vec![
        (
            support::command(center(), "2025-10-09 10:00", &order, to("119999999")),
            "unknown_unit",
        ),
        (
            support::command(center(), "2025-10-09 10:00", &order, to("110105011")),
            "unit_retired",
        ),
        (
            support::command(
                center(),
                "2025-10-09 10:00",
                &order,
                Command::Dispatch {
                    unit: None,
                    co_handlers: vec![],
                    handle_by: Some(at("2025-10-01 00:00")),
                },
            ),
            "deadline_before_intake",
        ),
        (
            support::command(center(), "2025-10-09 10:00", &closed, dispatch()),
            "illegal_transition",
        ),
        (
            support::command(
                as_unit("110105010"),
                "2025-10-09 10:00",
                &order,
                Command::Accept,
            ),
            "illegal_transition",
        ),
        (
            intake("2025-10-09 10:00", complaint("110105010", "99.99", "x")),
            "unknown_category",
        ),
        (
            intake("2025-10-09 10:00", complaint("110105010", "11.04.01", "  ")),
            "text_empty",
        ),
        (
            intake(
                "2025-10-09 10:00",
                complaint("110105010", "11.04.01", &"长".repeat(100 * 1024)),
            ),
            "text_too_long",
        ),
        (
            intake("2025-10-09 10:00", complaint("119999999", "11.04.01", "x")),
            "unknown_unit",
        ),
        (
            Envelope {
                actor: center(),
                at: at("2025-10-09 10:00"),
                request: Request::Command {
                    order: OrderRef::No(
                        whistle_core::ids::OrderNo::parse("20250101-999999").unwrap(),
                    ),
                    expected_version: None,
                    command: Command::Accept,
                },
            },
            "not_found",
        ),
        (
            Envelope {
                actor: center(),
                at: at("2025-10-09 10:00"),
                request: Request::Command {
                    order: OrderRef::Id(order.order_id),
                    expected_version: Some(7),
                    command: dispatch(),
                },
            },
            "conflict",
        ),
    ];
    for (envelope, key) in cases {
        let error = store.execute_one(envelope).await.unwrap_err();
        assert_eq!(error.key(), key, "{error}");
    }
    assert_eq!(
        snapshot(&db).await,
        before,
        "a refused command changed the store"
    );
}

async fn a_batch_commits_each_command_or_nothing_of_it(db: TestDb) {
    let before = db.store.totals().await.unwrap();
    let results = db
        .store
        .execute(vec![
            intake(
                "2025-10-09 09:00",
                complaint("110105010", "11.04.01", "第一件"),
            ),
            intake(
                "2025-10-09 09:00",
                complaint("110105010", "11.04", "分类不是末级"),
            ),
            intake(
                "2025-10-09 09:00",
                complaint("110105010", "11.04.01", "第三件"),
            ),
        ])
        .await;
    assert!(results[0].is_ok() && results[2].is_ok());
    assert_eq!(results[1].as_ref().unwrap_err().key(), "category_not_leaf");
    let after = db.store.totals().await.unwrap();
    assert_eq!((after.0 - before.0, after.1 - before.1), (2, 2));
    // Two commands on one order in one batch apply in order.
    let first = results[0].as_ref().unwrap();
    let results = db
        .store
        .execute(vec![
            support::command(center(), "2025-10-09 10:00", first, dispatch()),
            support::command(
                as_unit("110105010"),
                "2025-10-09 10:05",
                first,
                Command::Accept,
            ),
            support::command(
                as_unit("110105010"),
                "2025-10-09 10:06",
                first,
                Command::Accept,
            ),
        ])
        .await;
    assert_eq!(results[1].as_ref().unwrap().version, 3);
    assert_eq!(results[2].as_ref().unwrap_err().key(), "illegal_transition");
}

async fn personal_data_stays_out_of_events(db: TestDb) {
    let order = take(
        &*db.store,
        "2025-10-09 09:00",
        complaint("110105010", "11.04.01", "占道"),
    )
    .await;
    let requester = db.store.requester(order.order_id).await.unwrap().unwrap();
    assert_eq!(requester.phone.as_deref(), Some("13800001234"));
    assert_eq!(requester.masked().phone.as_deref(), Some("*******1234"));
    let history = serde_json::to_string(&db.store.history(order.order_id).await.unwrap()).unwrap();
    let projection =
        serde_json::to_string(&db.store.order(&OrderRef::Id(order.order_id)).await.unwrap())
            .unwrap();
    for text in [history, projection] {
        assert!(
            !text.contains("13800001234") && !text.contains("张三") && !text.contains("3号楼"),
            "{text}"
        );
    }
    // A malformed phone is refused without echoing it.
    let mut bad = intake(
        "2025-10-09 09:00",
        complaint("110105010", "11.04.01", "占道"),
    );
    if let Request::Intake { requester, .. } = &mut bad.request {
        requester.as_mut().unwrap().phone = Some("call 555 now".into());
    }
    let error = db.store.execute_one(bad).await.unwrap_err();
    assert!(!error.to_string().contains("555"), "{error}");
}

async fn snapshot(db: &TestDb) -> (i64, i64, String) {
    let (orders, events) = db.store.totals().await.unwrap();
    let page = db
        .store
        .list_orders(
            &Scope::All,
            &OrderFilter::default(),
            &PageRequest {
                after: None,
                limit: 1000,
            },
        )
        .await
        .unwrap();
    (orders, events, serde_json::to_string(&page.items).unwrap())
}
