//! The storage conformance suite: every test runs on SQLite, and on PostgreSQL when
//! `WHISTLE_TEST_PG_URL` is set (CI sets it), each on a fresh database.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::*;
use whistle_core::order::{
    Command, EventPayload, Order, ReplyOutcome, Satisfaction, Supervision, VisitResult,
};
use whistle_core::org::{UnitChange, UnitKind};
use whistle_store::import::{parse, FileKind};
use whistle_store::{
    CommandError, Envelope, Idempotency, OrderFilter, OrderRef, PageRequest, ReferenceImport,
    Request, Scope, StoreError,
};

conformance!(
    reference_data_is_complete,
    a_whole_life_is_recorded_and_replays,
    a_period_finds_its_orders_through_the_indexes,
    order_numbers_count_per_day,
    refusals_leave_the_store_unchanged,
    stale_versions_conflict_and_concurrent_commands_serialise,
    a_batch_commits_each_command_or_nothing_of_it,
    lists_filter_and_paginate_stably,
    the_due_query_follows_deadlines,
    imports_are_all_or_nothing_and_catalogues_are_versioned,
    units_are_renamed_merged_and_retired_without_breaking_history,
    calendar_and_policy_are_data,
    personal_data_stays_out_of_events,
    random_commands_keep_projections_equal_to_replay,
    schemas_of_other_versions_are_refused,
    idempotency_keys_return_the_first_result,
    scopes_limit_what_each_principal_sees,
    text_search_finds_chinese_substrings_and_is_inert,
    accounts_tokens_and_sessions_round_trip,
    whistles_are_stored_replayed_and_scoped,
    whistle_commands_in_one_call_stand_alone,
    grid_cases_close_their_loop_in_the_store,
    the_whistle_list_is_data,
    two_processes_on_one_database_serialise,
);

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
    let x = a
        .execute_one(intake(
            "2025-10-09 09:00",
            complaint("110105010", "11.04.01", "占道"),
        ))
        .await
        .unwrap();
    a.execute_one(support::command(
        center(),
        "2025-10-09 09:10",
        &x,
        dispatch(),
    ))
    .await
    .unwrap();
    // B caches X at version 3; A moves it on to 5; B's next urge must land at 6.
    let seen = b
        .execute_one(support::command(center(), "2025-10-09 09:20", &x, urge()))
        .await
        .unwrap();
    assert_eq!(seen.version, 3);
    for minute in ["09:30", "09:40"] {
        a.execute_one(support::command(
            center(),
            &format!("2025-10-09 {minute}"),
            &x,
            urge(),
        ))
        .await
        .unwrap();
    }
    let after = b
        .execute_one(support::command(center(), "2025-10-09 09:50", &x, urge()))
        .await
        .unwrap();
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
        let outcome = store
            .execute_one(intake(
                &format!("2025-10-09 {minute}"),
                complaint("110105010", "11.04.01", "噪声"),
            ))
            .await
            .unwrap();
        numbers.push(outcome.order_no.to_string());
    }
    let mut distinct = numbers.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 4, "{numbers:?}");
    assert_eq!(numbers, distinct, "numbers follow the order of intake");
    // Refusals are decided on the current state too: B holds Y as pending dispatch; A dispatches
    // it; the lead unit's acceptance through B is valid, not refused on B's stale view.
    let y = b
        .execute_one(intake(
            "2025-10-09 11:00",
            complaint("110105010", "11.04.01", "停车"),
        ))
        .await
        .unwrap();
    let dispatched = a
        .execute_one(support::command(
            center(),
            "2025-10-09 11:05",
            &y,
            dispatch(),
        ))
        .await
        .unwrap();
    let lead = dispatched
        .events
        .iter()
        .find_map(|e| match &e.payload {
            EventPayload::Dispatched(d) => Some(d.lead.clone()),
            _ => None,
        })
        .unwrap();
    let accepted = b
        .execute_one(support::command(
            as_unit(lead.as_str()),
            "2025-10-09 11:06",
            &y,
            Command::Accept,
        ))
        .await
        .unwrap();
    assert_eq!(accepted.version, dispatched.version + 1);
    for (id, version) in [(x.order_id, 6), (y.order_id, accepted.version)] {
        let history = a.history(id).await.unwrap();
        assert_eq!(history.len() as u64, version);
        let stored = b.order(&OrderRef::Id(id)).await.unwrap().unwrap();
        assert_eq!(stored.version, version);
        assert_eq!(stored, Order::from_events(&history).unwrap());
    }
}

async fn reference_data_is_complete(db: TestDb) {
    let reference = db.store.reference();
    let count = |kind: UnitKind| {
        reference
            .directory
            .units()
            .filter(|u| u.kind == kind)
            .count()
    };
    assert_eq!(count(UnitKind::District), 16);
    let streets = reference
        .directory
        .units()
        .filter(|u| u.kind.is_street_level())
        .count();
    assert_eq!(streets + count(UnitKind::StatisticalZone), 349);
    assert_eq!(count(UnitKind::StatisticalZone), 6);
    assert_eq!(count(UnitKind::Community) + count(UnitKind::Village), 7535);
    assert!(count(UnitKind::Department) >= 16 * 20);
    assert!(count(UnitKind::Enterprise) >= 6);
    assert_eq!(reference.catalogue.version, 1);
    assert!(reference.calendar.has_year(2018) && reference.calendar.has_year(2026));
    // Every street can route every street matter, every district every line matter.
    for street in reference
        .directory
        .units()
        .filter(|u| u.kind.is_street_level())
    {
        for category in reference
            .taxonomy
            .iter()
            .filter(|c| reference.taxonomy.is_leaf(&c.code))
        {
            let territory = whistle_core::catalogue::Territory {
                district: reference
                    .directory
                    .district_of(&street.code)
                    .map(|d| d.code.clone()),
                street: Some(street.code.clone()),
                community: None,
            };
            let route = reference.catalogue.route(
                &category.code,
                &territory,
                &reference.directory,
                &reference.duties,
                &reference.city,
            );
            assert!(
                route.is_ok(),
                "{} in {}: {:?}",
                category.code,
                street.code,
                route.err()
            );
        }
    }
}

/// `period_order_ids`: received, dispatched or return-visited in the period, by Beijing time;
/// `orders_by_id`: in the order asked, unknown ids left out.
async fn a_period_finds_its_orders_through_the_indexes(db: TestDb) {
    let store = &db.store;
    let center = center();
    let street = as_unit("110105010");
    let received = |time: &'static str| {
        store.execute_one(intake(time, complaint("110105010", "11.04.01", "占道经营")))
    };
    let run = |order: &whistle_store::Outcome,
               steps: Vec<(whistle_core::ids::Actor, &'static str, Command)>| {
        let order = order.clone();
        async move {
            for (actor, time, command) in steps {
                store
                    .execute_one(support::command(actor, time, &order, command))
                    .await
                    .unwrap();
            }
        }
    };
    // Visited in September, received and dispatched in August.
    let visited = received("2025-08-20 10:00").await.unwrap();
    run(
        &visited,
        vec![
            (center.clone(), "2025-08-20 11:00", dispatch()),
            (street.clone(), "2025-08-20 12:00", Command::Accept),
            (
                street.clone(),
                "2025-08-21 09:00",
                Command::Contact {
                    note: "电话联系".into(),
                },
            ),
            (
                street.clone(),
                "2025-08-28 10:00",
                Command::Reply {
                    outcome: ReplyOutcome::Resolved,
                    actions: "已清理".into(),
                },
            ),
            (
                center.clone(),
                "2025-09-01 00:30",
                Command::ReturnVisit {
                    result: VisitResult::Valid {
                        contacted: true,
                        resolved: true,
                        satisfaction: Satisfaction::Satisfied,
                    },
                },
            ),
        ],
    )
    .await;
    // Received on the last evening of August (Beijing), dispatched after midnight.
    let dispatched = received("2025-08-31 23:30").await.unwrap();
    run(
        &dispatched,
        vec![(center.clone(), "2025-09-01 00:10", dispatch())],
    )
    .await;
    let within = received("2025-09-30 23:59").await.unwrap();
    // Outside: all of it in August; received at the first minute of October.
    let before = received("2025-08-10 10:00").await.unwrap();
    run(
        &before,
        vec![(center.clone(), "2025-08-10 11:00", dispatch())],
    )
    .await;
    received("2025-10-01 00:00").await.unwrap();
    let ids = store
        .period_order_ids(at("2025-09-01 00:00"), at("2025-10-01 00:00"))
        .await
        .unwrap();
    let mut expected = vec![visited.order_id, dispatched.order_id, within.order_id];
    expected.sort();
    assert_eq!(ids, expected);
    assert!(store
        .period_order_ids(at("2024-01-01 00:00"), at("2024-02-01 00:00"))
        .await
        .unwrap()
        .is_empty());
    let unknown = whistle_core::ids::OrderId(uuid::Uuid::nil());
    let orders = store
        .orders_by_id(&[within.order_id, unknown, visited.order_id])
        .await
        .unwrap();
    let found: Vec<_> = orders.iter().map(|o| o.id).collect();
    assert_eq!(found, [within.order_id, visited.order_id]);
    assert_eq!(orders[1].stage.name(), "visited");
    assert!(store.orders_by_id(&[]).await.unwrap().is_empty());
}

async fn a_whole_life_is_recorded_and_replays(db: TestDb) {
    let store = &db.store;
    let order = store
        .execute_one(intake(
            "2025-09-30 16:00",
            complaint("110105010", "11.04.01", "小区门口占道经营"),
        ))
        .await
        .unwrap();
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
        store
            .execute_one(support::command(actor, time, &order, command))
            .await
            .unwrap();
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
        let outcome = db
            .store
            .execute_one(intake(time, complaint("110105010", "11.04.01", "占道")))
            .await
            .unwrap();
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
    let next = db
        .store
        .execute_one(intake(
            "2025-10-09 14:00",
            complaint("110105010", "11.04.01", "占道"),
        ))
        .await
        .unwrap();
    assert_eq!(next.order_no.as_str(), "20251009-000004");
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

async fn refusals_leave_the_store_unchanged(db: TestDb) {
    let store = &db.store;
    let order = store
        .execute_one(intake(
            "2025-10-09 09:00",
            complaint("110105010", "11.04.01", "占道"),
        ))
        .await
        .unwrap();
    let closed = store
        .execute_one(intake(
            "2025-10-09 09:00",
            complaint("110105010", "11.04.01", "咨询"),
        ))
        .await
        .unwrap();
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
    store
        .execute_one(support::command(
            center(),
            "2025-10-09 10:00",
            &closed,
            Command::RecordForwardAnswer {
                answer: "已答复".into(),
            },
        ))
        .await
        .unwrap();
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

async fn stale_versions_conflict_and_concurrent_commands_serialise(db: TestDb) {
    let store = db.store.clone();
    let order = store
        .execute_one(intake(
            "2025-10-09 09:00",
            complaint("110105010", "11.04.01", "占道"),
        ))
        .await
        .unwrap();
    store
        .execute_one(support::command(
            center(),
            "2025-10-09 10:00",
            &order,
            dispatch(),
        ))
        .await
        .unwrap();
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

async fn lists_filter_and_paginate_stably(db: TestDb) {
    let store = &db.store;
    let mut created = Vec::new();
    for i in 0..30 {
        let street = if i % 3 == 0 { "110105011" } else { "110105010" };
        let category = if i % 2 == 0 { "11.04.01" } else { "04.01" };
        let time = format!("2025-10-{:02} {:02}:00", 9 + i / 10, 8 + i % 10);
        let outcome = store
            .execute_one(intake(&time, complaint(street, category, "列表测试")))
            .await
            .unwrap();
        if i % 4 != 0 {
            store
                .execute_one(support::command(
                    center(),
                    &format!("2025-10-{:02} 20:00", 9 + i / 10),
                    &outcome,
                    dispatch(),
                ))
                .await
                .unwrap();
        }
        created.push((outcome, street, category, i % 4 != 0));
    }
    let collect = |filter: OrderFilter, limit: u32| {
        let store = store.clone();
        async move {
            let mut seen = Vec::new();
            let mut page = PageRequest { after: None, limit };
            loop {
                let result = store
                    .list_orders(&Scope::All, &filter, &page)
                    .await
                    .unwrap();
                seen.extend(result.items.iter().map(|o| (o.received_at, o.id)));
                match result.next {
                    Some(next) => page.after = Some(next),
                    None => break,
                }
            }
            seen
        }
    };
    let all = collect(OrderFilter::default(), 7).await;
    assert_eq!(all.len(), 30);
    assert!(
        all.windows(2).all(|w| w[0] > w[1]),
        "newest first, no duplicates"
    );
    let street = collect(
        OrderFilter {
            street: Some(code("110105011")),
            ..OrderFilter::default()
        },
        4,
    )
    .await;
    assert_eq!(
        street.len(),
        created.iter().filter(|c| c.1 == "110105011").count()
    );
    let district = collect(
        OrderFilter {
            district: Some(code("110105")),
            ..OrderFilter::default()
        },
        1000,
    )
    .await;
    assert_eq!(district.len(), 30);
    let dispatched = collect(
        OrderFilter {
            stage: Some("dispatched".into()),
            ..OrderFilter::default()
        },
        5,
    )
    .await;
    assert_eq!(dispatched.len(), created.iter().filter(|c| c.3).count());
    let category = collect(
        OrderFilter {
            category: Some(whistle_core::ids::CategoryCode::parse("11").unwrap()),
            ..OrderFilter::default()
        },
        6,
    )
    .await;
    assert_eq!(category.len(), 15);
    let unit = collect(
        OrderFilter {
            unit: Some(code("110105.dept.urban-management")),
            ..OrderFilter::default()
        },
        3,
    )
    .await;
    assert_eq!(
        unit.len(),
        created.iter().filter(|c| c.3 && c.2 == "11.04.01").count()
    );
    let window = OrderFilter {
        received_from: Some(at("2025-10-10 00:00")),
        received_before: Some(at("2025-10-11 00:00")),
        ..OrderFilter::default()
    };
    assert_eq!(collect(window, 3).await.len(), 10);
    let bad = store
        .list_orders(
            &Scope::All,
            &OrderFilter {
                stage: Some("bogus".into()),
                ..OrderFilter::default()
            },
            &PageRequest::default(),
        )
        .await;
    assert!(matches!(bad, Err(StoreError::Domain(_))));
    let bad = store
        .list_orders(
            &Scope::All,
            &OrderFilter::default(),
            &PageRequest {
                after: Some("garbage".into()),
                limit: 5,
            },
        )
        .await;
    assert!(bad.is_err());
    // A huge page is capped.
    let capped = store
        .list_orders(
            &Scope::All,
            &OrderFilter::default(),
            &PageRequest {
                after: None,
                limit: u32::MAX,
            },
        )
        .await
        .unwrap();
    assert_eq!(capped.items.len(), 30);
}

async fn the_due_query_follows_deadlines(db: TestDb) {
    let store = &db.store;
    let mut orders = Vec::new();
    for day in 0..5 {
        let time = format!("2025-10-{:02} 09:00", 13 + day);
        let outcome = store
            .execute_one(intake(
                &time,
                complaint("110105010", "11.04.01", "到期测试"),
            ))
            .await
            .unwrap();
        store
            .execute_one(support::command(
                center(),
                &format!("2025-10-{:02} 10:00", 13 + day),
                &outcome,
                dispatch(),
            ))
            .await
            .unwrap();
        orders.push(outcome);
    }
    // Responses are due 24 h after dispatch: at 2025-10-15 10:00 the first three are due.
    let due = store
        .due(at("2025-10-16 10:00"), &PageRequest::default())
        .await
        .unwrap();
    assert_eq!(
        due.items
            .iter()
            .map(|o| o.no.to_string())
            .collect::<Vec<_>>(),
        ["20251013-000001", "20251014-000001", "20251015-000001"]
    );
    assert!(due
        .items
        .windows(2)
        .all(|w| w[0].next_due_at <= w[1].next_due_at));
    // Contacting moves the order to its handling deadline; replying removes it.
    let first = &orders[0];
    store
        .execute_one(support::command(
            as_unit("110105010"),
            "2025-10-17 11:00",
            first,
            Command::Accept,
        ))
        .await
        .unwrap();
    store
        .execute_one(support::command(
            as_unit("110105010"),
            "2025-10-17 11:01",
            first,
            Command::Contact {
                note: String::new(),
            },
        ))
        .await
        .unwrap();
    let due = store
        .due(at("2025-10-16 10:00"), &PageRequest::default())
        .await
        .unwrap();
    assert_eq!(due.items.len(), 2);
    let later = store
        .due(at("2025-10-23 10:00"), &PageRequest::default())
        .await
        .unwrap();
    assert_eq!(
        later.items.len(),
        5,
        "the first is due for handling on 10-22"
    );
    store
        .execute_one(support::command(
            as_unit("110105010"),
            "2025-10-17 12:00",
            first,
            Command::Reply {
                outcome: ReplyOutcome::Resolved,
                actions: "已处理".into(),
            },
        ))
        .await
        .unwrap();
    let later = store
        .due(
            at("2025-10-23 10:00"),
            &PageRequest {
                after: None,
                limit: 2,
            },
        )
        .await
        .unwrap();
    assert_eq!(later.items.len(), 2);
    let rest = store
        .due(
            at("2025-10-23 10:00"),
            &PageRequest {
                after: later.next.clone(),
                limit: 2,
            },
        )
        .await
        .unwrap();
    assert_eq!(rest.items.len(), 2);
    assert!(rest.next.is_none());
}

async fn imports_are_all_or_nothing_and_catalogues_are_versioned(db: TestDb) {
    let store = &db.store;
    let old = store
        .execute_one(intake(
            "2025-10-09 09:00",
            complaint("110105010", "11.04.01", "占道"),
        ))
        .await
        .unwrap();
    store
        .execute_one(support::command(
            center(),
            "2025-10-09 10:00",
            &old,
            dispatch(),
        ))
        .await
        .unwrap();
    // A malformed row: reported with its line, nothing imported.
    let text = "category,territory,lead,co_handlers\n11.04.01,11,district:urban-management,\n11.04.02,11,nobody,\n";
    let error = parse(FileKind::Catalogue, text.as_bytes(), false)
        .unwrap_err()
        .to_string();
    assert!(error.contains("line 3"), "{error}");
    // A well-formed file naming an unknown category: refused whole by validation.
    let text = "category,territory,lead,co_handlers\n11.04.01,11,district:urban-management,\n42.42,11,street,\n";
    let parsed = parse(FileKind::Catalogue, text.as_bytes(), false).unwrap();
    assert!(store
        .import(parsed, &center(), at("2025-10-09 11:00"))
        .await
        .is_err());
    assert_eq!(store.reference().catalogue.version, 1);
    // A community as lead outside its duty list is refused (art. 17).
    let text = "category,territory,lead,co_handlers\n11.04.01,11,community,\n";
    let parsed = parse(FileKind::Catalogue, text.as_bytes(), false).unwrap();
    let error = store
        .import(parsed, &center(), at("2025-10-09 11:00"))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("duty list"), "{error}");
    // Invalid UTF-8 is refused before anything else.
    assert!(parse(FileKind::Units, b"code,kind\n\xff\xfe,city\n", false).is_err());
    // A valid new catalogue becomes version 2; the old order keeps version 1, still readable.
    let mut entries = store.catalogue_entries(1).await.unwrap();
    for entry in &mut entries {
        if entry.category.as_str() == "11.04.01" {
            entry.lead = whistle_core::catalogue::HandlerRule::District("urban-management".into());
            entry.co_handlers.clear();
        }
    }
    let report = store
        .import(
            ReferenceImport::Catalogue {
                entries,
                note: "占道经营改由城管主办".into(),
            },
            &center(),
            at("2025-10-09 11:00"),
        )
        .await
        .unwrap();
    assert_eq!(report.catalogue_version, Some(2));
    let new = store
        .execute_one(intake(
            "2025-10-09 12:00",
            complaint("110105010", "11.04.01", "占道"),
        ))
        .await
        .unwrap();
    store
        .execute_one(support::command(
            center(),
            "2025-10-09 12:30",
            &new,
            dispatch(),
        ))
        .await
        .unwrap();
    let new = store
        .order(&OrderRef::Id(new.order_id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (new.catalogue_version, new.lead().unwrap().as_str()),
        (Some(2), "110105.dept.urban-management")
    );
    let old = store
        .order(&OrderRef::Id(old.order_id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (old.catalogue_version, old.lead().unwrap().as_str()),
        (Some(1), "110105010")
    );
    let v1 = store.catalogue_entries(1).await.unwrap();
    assert!(v1
        .iter()
        .any(|e| e.category.as_str() == "11.04.01" && e.lead.to_string() == "street"));
}

async fn units_are_renamed_merged_and_retired_without_breaking_history(db: TestDb) {
    let store = &db.store;
    let order = store
        .execute_one(intake(
            "2025-10-09 09:00",
            complaint("110105011", "11.04.01", "占道"),
        ))
        .await
        .unwrap();
    store
        .execute_one(support::command(
            center(),
            "2025-10-09 10:00",
            &order,
            dispatch(),
        ))
        .await
        .unwrap();
    let name = store
        .reference()
        .directory
        .get(&code("110105011"))
        .unwrap()
        .name
        .clone();
    store
        .change_unit(
            UnitChange::Renamed {
                code: code("110105011"),
                from: name,
                to: "新街道".into(),
            },
            &center(),
            at("2025-10-09 11:00"),
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .reference()
            .directory
            .get(&code("110105011"))
            .unwrap()
            .name,
        "新街道"
    );
    store
        .change_unit(
            UnitChange::Merged {
                code: code("110105011"),
                into: code("110105010"),
            },
            &center(),
            at("2025-10-09 12:00"),
        )
        .await
        .unwrap();
    // The old order still names its unit; a new dispatch there is refused.
    let stored = store
        .order(&OrderRef::Id(order.order_id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.lead().unwrap().as_str(), "110105011");
    let other = store
        .execute_one(intake(
            "2025-10-09 13:00",
            complaint("110105010", "11.04.01", "占道"),
        ))
        .await
        .unwrap();
    let to_old = Command::Dispatch {
        unit: Some(code("110105011")),
        co_handlers: vec![],
        handle_by: None,
    };
    let error = store
        .execute_one(support::command(
            center(),
            "2025-10-09 13:10",
            &other,
            to_old,
        ))
        .await
        .unwrap_err();
    assert_eq!(error.key(), "unit_retired");
    // Merging into a retired unit, or a unit into itself, is refused and changes nothing.
    assert!(store
        .change_unit(
            UnitChange::Merged {
                code: code("110105010"),
                into: code("110105011")
            },
            &center(),
            at("2025-10-09 14:00")
        )
        .await
        .is_err());
    let changes = store.unit_changes().await.unwrap();
    assert_eq!(changes.len(), 2);
    // Survives a reopen of the store.
    drop(changes);
    let reopened = whistle_store::open(&db.url, whistle_store::Migrate::Refuse)
        .await
        .unwrap();
    assert_eq!(
        reopened
            .reference()
            .directory
            .get(&code("110105011"))
            .unwrap()
            .merged_into,
        Some(code("110105010"))
    );
}

async fn calendar_and_policy_are_data(db: TestDb) {
    let store = &db.store;
    let from = at("2027-01-29 10:00");
    let before = store.reference().calendar.deadline(from, extra(1)).unwrap();
    assert_eq!(
        before.fallback_years.iter().copied().collect::<Vec<_>>(),
        vec![2027]
    );
    let year = r#"{"source":"State Council notice (test)","years":{"2027":{"holidays":{"2027-02-01":"测试假日"},"makeup_workdays":{}}}}"#;
    let parsed = parse(FileKind::Calendar, year.as_bytes(), true).unwrap();
    store
        .import(parsed, &center(), at("2025-10-09 09:00"))
        .await
        .unwrap();
    let after = store.reference().calendar.deadline(from, extra(1)).unwrap();
    assert!(after.fallback_years.is_empty());
    assert_eq!(
        whistle_core::time::format_minutes(after.at),
        "2027-02-02 10:00"
    );
    // Policy: ordinary orders get 5 working days instead of 7.
    let policy = "[limits.emergency]\nrespond = \"2h\"\nhandle = \"24h\"\n[limits.utility]\nrespond = \"2h\"\nhandle = \"24h\"\n\
        [limits.ordinary]\nrespond = \"12h\"\nhandle = \"5wd\"\n[limits.complex]\nrespond = \"24h\"\nhandle = \"15wd\"\n\
        [limits.consultation]\nrespond = \"2wd\"\nhandle = \"2wd\"\n";
    let parsed = parse(FileKind::Policy, policy.as_bytes(), false).unwrap();
    store
        .import(parsed, &center(), at("2025-10-09 09:00"))
        .await
        .unwrap();
    let order = store
        .execute_one(intake(
            "2025-10-09 09:00",
            complaint("110105010", "11.04.01", "占道"),
        ))
        .await
        .unwrap();
    let dispatched = store
        .execute_one(support::command(
            center(),
            "2025-10-09 10:00",
            &order,
            dispatch(),
        ))
        .await
        .unwrap();
    let EventPayload::Dispatched(d) = &dispatched.events[0].payload else {
        panic!()
    };
    assert_eq!(d.handle_limit.to_string(), "5wd");
    assert_eq!(
        whistle_core::time::format_minutes(d.handle_by),
        "2025-10-15 10:00"
    );
    assert_eq!(
        whistle_core::time::format_minutes(d.respond_by),
        "2025-10-09 22:00"
    );
    // A policy missing a class is refused.
    assert!(parse(
        FileKind::Policy,
        b"[limits.ordinary]\nrespond = \"12h\"\nhandle = \"5wd\"\n",
        false
    )
    .is_err());
}

async fn personal_data_stays_out_of_events(db: TestDb) {
    let order = db
        .store
        .execute_one(intake(
            "2025-10-09 09:00",
            complaint("110105010", "11.04.01", "占道"),
        ))
        .await
        .unwrap();
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

async fn schemas_of_other_versions_are_refused(db: TestDb) {
    // Not initialised: refused with a pointer to `whistle migrate`, and no file is created.
    if db.url.starts_with("sqlite://") {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("absent.db");
        let error = whistle_store::open(
            &format!("sqlite://{}", path.display()),
            whistle_store::Migrate::Refuse,
        )
        .await
        .err()
        .unwrap();
        assert!(error.to_string().contains("whistle init"), "{error}");
        assert!(!path.exists(), "opening must not create a database");
        let connection =
            rusqlite::Connection::open(db.url.trim_start_matches("sqlite://")).unwrap();
        connection.execute("INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 0)", []).unwrap();
    } else {
        let (client, connection) = tokio_postgres::connect(&db.url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        client.execute("INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 0)", &[]).await.unwrap();
    }
    for mode in [
        whistle_store::Migrate::Refuse,
        whistle_store::Migrate::Apply,
    ] {
        let error = whistle_store::open(&db.url, mode).await.err().unwrap();
        assert!(error.to_string().contains("newer"), "{error}");
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

async fn scopes_limit_what_each_principal_sees(db: TestDb) {
    let store = &db.store;
    let mut made = Vec::new();
    for (street, category) in [
        ("110105010", "11.04.01"),
        ("110105011", "04.02"),
        ("110101001", "11.04.01"),
        ("110101001", "04.02"),
    ] {
        let order = store
            .execute_one(intake(
                "2025-10-09 09:00",
                complaint(street, category, "范围测试"),
            ))
            .await
            .unwrap();
        store
            .execute_one(support::command(
                center(),
                "2025-10-09 10:00",
                &order,
                dispatch(),
            ))
            .await
            .unwrap();
        made.push(order);
    }
    let count = |scope: Scope| {
        let store = store.clone();
        async move {
            store
                .list_orders(&scope, &OrderFilter::default(), &PageRequest::default())
                .await
                .unwrap()
                .items
                .len()
        }
    };
    assert_eq!(count(Scope::All).await, 4);
    assert_eq!(count(Scope::District(code("110105"))).await, 2);
    assert_eq!(count(Scope::Street(code("110101001"))).await, 2);
    assert_eq!(count(Scope::Units(vec![code("110105010")])).await, 1);
    // The co-handling department of 朝阳 sees the street order it assists with.
    assert_eq!(
        count(Scope::Units(vec![code("110105.dept.urban-management")])).await,
        1
    );
    // A line: every housing department (04.02 goes to the district's housing commission).
    let line = vec![
        code("11.dept.housing"),
        code("110105.dept.housing"),
        code("110101.dept.housing"),
    ];
    assert_eq!(count(Scope::Units(line.clone())).await, 2);
    assert_eq!(count(Scope::Units(Vec::new())).await, 0);
    // A filter inside a scope cannot widen it.
    let filter = OrderFilter {
        unit: Some(code("110101001")),
        ..OrderFilter::default()
    };
    let page = store
        .list_orders(
            &Scope::Units(vec![code("110105010")]),
            &filter,
            &PageRequest::default(),
        )
        .await
        .unwrap();
    assert!(page.items.is_empty());
    let street_order = store
        .order(&OrderRef::Id(made[0].order_id))
        .await
        .unwrap()
        .unwrap();
    assert!(store
        .visible(&Scope::Units(vec![code("110105010")]), &street_order)
        .await
        .unwrap());
    assert!(store
        .visible(&Scope::District(code("110105")), &street_order)
        .await
        .unwrap());
    assert!(!store
        .visible(&Scope::District(code("110101")), &street_order)
        .await
        .unwrap());
    assert!(!store
        .visible(&Scope::Units(line), &street_order)
        .await
        .unwrap());
}

async fn text_search_finds_chinese_substrings_and_is_inert(db: TestDb) {
    let store = &db.store;
    let texts = [
        "小区门口占道经营，晚上很吵",
        "楼上噪音扰民",
        "'; DROP TABLE orders; --",
        "<script>alert('x')</script> 垃圾满溢",
        "100% 无人清运 a_b",
    ];
    for text in texts {
        store
            .execute_one(intake(
                "2025-10-09 09:00",
                complaint("110105010", "11.04.01", text),
            ))
            .await
            .unwrap();
    }
    let search = |text: &str| {
        let store = store.clone();
        let filter = OrderFilter {
            text: Some(text.to_string()),
            ..OrderFilter::default()
        };
        async move {
            store
                .list_orders(&Scope::All, &filter, &PageRequest::default())
                .await
                .unwrap()
                .items
                .len()
        }
    };
    assert_eq!(search("占道").await, 1, "two Chinese characters");
    assert_eq!(search("门口占道经营").await, 1);
    assert_eq!(search("噪音扰民").await, 1);
    assert_eq!(search("扰").await, 1, "one character");
    assert_eq!(
        search("DROP TABLE").await,
        1,
        "stored verbatim, found, and inert"
    );
    assert_eq!(search("<script>").await, 1);
    assert_eq!(search("不存在的内容").await, 0);
    assert_eq!(search("100% 无人").await, 1);
    assert_eq!(
        store.totals().await.unwrap().0,
        5,
        "the orders table is intact"
    );
    let order = store
        .list_orders(
            &Scope::All,
            &OrderFilter {
                text: Some("DROP".into()),
                ..OrderFilter::default()
            },
            &PageRequest::default(),
        )
        .await
        .unwrap();
    let stored = store
        .order(&OrderRef::Id(order.items[0].id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.text, "'; DROP TABLE orders; --");
}

async fn accounts_tokens_and_sessions_round_trip(db: TestDb) {
    let store = &db.store;
    let account = whistle_store::Account {
        login: "handler-110105010".into(),
        display_name: "小关街道承办人".into(),
        role: "handler".into(),
        unit: code("110105010"),
        active: true,
    };
    store
        .put_user(&account, "$argon2id$fake", at("2025-10-09 09:00"))
        .await
        .unwrap();
    let (loaded, hash) = store.user("handler-110105010").await.unwrap().unwrap();
    assert_eq!((loaded, hash.as_str()), (account.clone(), "$argon2id$fake"));
    store
        .put_user(
            &whistle_store::Account {
                active: false,
                ..account
            },
            "$argon2id$other",
            at("2025-10-09 10:00"),
        )
        .await
        .unwrap();
    assert!(
        !store
            .user("handler-110105010")
            .await
            .unwrap()
            .unwrap()
            .0
            .active
    );
    assert!(store.user("nobody").await.unwrap().is_none());
    assert_eq!(store.users().await.unwrap().len(), 1);
    let token = whistle_store::TokenRecord {
        id: "abc123".into(),
        secret_hash: "deadbeef".into(),
        name: "311 app".into(),
        scope: "open311".into(),
        login: None,
        unit: code("11.center"),
        revoked: false,
    };
    store
        .put_token(&token, at("2025-10-09 09:00"))
        .await
        .unwrap();
    assert_eq!(store.token("abc123").await.unwrap(), Some(token.clone()));
    store
        .put_token(
            &whistle_store::TokenRecord {
                revoked: true,
                ..token
            },
            at("2025-10-09 09:00"),
        )
        .await
        .unwrap();
    assert!(store.token("abc123").await.unwrap().unwrap().revoked);
    store
        .put_session(
            "hash1",
            "handler-110105010",
            at("2025-10-10 09:00"),
            at("2025-10-09 09:00"),
        )
        .await
        .unwrap();
    assert_eq!(
        store.session("hash1").await.unwrap(),
        Some(("handler-110105010".into(), at("2025-10-10 09:00")))
    );
    store.delete_session("hash1").await.unwrap();
    assert!(store.session("hash1").await.unwrap().is_none());
    // A reveal of personal data is an event in the order's history.
    let order = store
        .execute_one(intake(
            "2025-10-09 09:00",
            complaint("110105010", "11.04.01", "占道"),
        ))
        .await
        .unwrap();
    let reveal = Command::RevealRequester {
        reason: "回访需核实电话".into(),
    };
    store
        .execute_one(support::command(
            center(),
            "2025-10-09 09:30",
            &order,
            reveal,
        ))
        .await
        .unwrap();
    let history = store.history(order.order_id).await.unwrap();
    assert_eq!(history.last().unwrap().payload.name(), "requester_revealed");
    assert_eq!(history.last().unwrap().actor.unit.as_str(), "11.center");
}

/// `execute_whistles`: each command as if alone — later ones see earlier ones, a refused one
/// leaves nothing (not even a used number) and does not undo the others.
async fn whistle_commands_in_one_call_stand_alone(db: TestDb) {
    use whistle_core::whistle::{Raise, WhistleCommand, WhistleKind};
    use whistle_store::whistles::{WhistleEnvelope, WhistleRequest};
    let store = &db.store;
    assert!(store.execute_whistles(Vec::new()).await.is_empty());
    let raise = |order: Option<whistle_core::ids::OrderNo>| WhistleEnvelope {
        actor: as_unit("110105010"),
        at: at("2025-10-09 09:00"),
        request: WhistleRequest::Raise(Box::new(Raise {
            kind: WhistleKind::Emergency,
            order,
            lead: Some(code("110105.dept.urban-management")),
            assisting: vec![code("110105.dept.housing")],
            place: "惠新东街12号院".into(),
            needed: "联合处置".into(),
            list_item: Some("pipe-burst".into()),
            off_list_reason: None,
            override_reference: None,
        })),
    };
    let report_in = |version: Option<u64>| WhistleEnvelope {
        actor: as_unit("110105.dept.urban-management"),
        at: at("2025-10-09 09:10"),
        request: WhistleRequest::Command {
            whistle: "W20251009-000001".into(),
            expected_version: version,
            command: WhistleCommand::ReportIn { people: 2 },
        },
    };
    let unknown = whistle_core::ids::OrderNo::parse("20990101-000001").unwrap();
    let results = store
        .execute_whistles(vec![
            raise(None),
            raise(Some(unknown)),
            report_in(Some(1)),
            report_in(Some(7)),
            raise(None),
        ])
        .await;
    let keys: Vec<&str> = results
        .iter()
        .map(|r| r.as_ref().map_or_else(|e| e.key(), |_| "ok"))
        .collect();
    assert_eq!(keys, ["ok", "not_found", "ok", "conflict", "ok"]);
    let first = results[0].as_ref().unwrap();
    assert_eq!(first.whistle.no, "W20251009-000001");
    assert_eq!(
        results[4].as_ref().unwrap().whistle.no,
        "W20251009-000002",
        "the refused raise used no number"
    );
    let stored = store.whistle("W20251009-000001").await.unwrap().unwrap();
    assert_eq!(stored.version, 2);
    let history = store.whistle_history(first.whistle.id).await.unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(
        store.list_whistles(&Scope::All, 100).await.unwrap().len(),
        2
    );
}

async fn whistles_are_stored_replayed_and_scoped(db: TestDb) {
    use whistle_core::whistle::{Raise, Whistle, WhistleCommand, WhistleKind};
    use whistle_store::whistles::{WhistleEnvelope, WhistleRequest};
    let store = &db.store;
    let order = store
        .execute_one(intake(
            "2025-10-09 08:00",
            complaint("110105010", "11.04.01", "占道经营"),
        ))
        .await
        .unwrap();
    store
        .execute_one(support::command(
            center(),
            "2025-10-09 08:10",
            &order,
            dispatch(),
        ))
        .await
        .unwrap();
    let raise = |order_no: Option<whistle_core::ids::OrderNo>| Raise {
        kind: WhistleKind::Emergency,
        order: order_no,
        lead: Some(code("110105.dept.urban-management")),
        assisting: vec![code("110105.dept.housing"), code("11.ent.power")],
        place: "惠新东街12号院".into(),
        needed: "联合处置".into(),
        list_item: Some("pipe-burst".into()),
        off_list_reason: None,
        override_reference: None,
    };
    let envelope = |unit: &str, time: &str, request: WhistleRequest| WhistleEnvelope {
        actor: as_unit(unit),
        at: at(time),
        request,
    };
    let raised = store
        .execute_whistle(envelope(
            "110105010",
            "2025-10-09 09:00",
            WhistleRequest::Raise(Box::new(raise(Some(order.order_no.clone())))),
        ))
        .await
        .unwrap();
    let no = raised.whistle.no.clone();
    assert_eq!(no, "W20251009-000001");
    // Refusals change nothing: an order not held, an unknown order, an unknown whistle, a stale version.
    let before = store.list_whistles(&Scope::All, 100).await.unwrap();
    let other = store
        .execute_one(intake(
            "2025-10-09 08:00",
            complaint("110105011", "11.04.01", "占道"),
        ))
        .await
        .unwrap();
    store
        .execute_one(support::command(
            center(),
            "2025-10-09 08:10",
            &other,
            dispatch(),
        ))
        .await
        .unwrap();
    let not_held = store
        .execute_whistle(envelope(
            "110105010",
            "2025-10-09 09:01",
            WhistleRequest::Raise(Box::new(raise(Some(other.order_no.clone())))),
        ))
        .await;
    assert_eq!(not_held.unwrap_err().key(), "not_lead_unit");
    let unknown = whistle_core::ids::OrderNo::parse("20990101-000001").unwrap();
    let missing = store
        .execute_whistle(envelope(
            "110105010",
            "2025-10-09 09:01",
            WhistleRequest::Raise(Box::new(raise(Some(unknown)))),
        ))
        .await;
    assert_eq!(missing.unwrap_err().key(), "not_found");
    let report = |unit: &str, time: &str, version: Option<u64>| {
        envelope(
            unit,
            time,
            WhistleRequest::Command {
                whistle: no.clone(),
                expected_version: version,
                command: WhistleCommand::ReportIn { people: 3 },
            },
        )
    };
    assert_eq!(
        store
            .execute_whistle(report(
                "110105.dept.urban-management",
                "2025-10-09 09:10",
                Some(7)
            ))
            .await
            .unwrap_err()
            .key(),
        "conflict"
    );
    let ghost = WhistleEnvelope {
        actor: as_unit("110105.dept.housing"),
        at: at("2025-10-09 09:10"),
        request: WhistleRequest::Command {
            whistle: "W20990101-000001".into(),
            expected_version: None,
            command: WhistleCommand::ReportIn { people: 1 },
        },
    };
    assert_eq!(
        store.execute_whistle(ghost).await.unwrap_err().key(),
        "not_found"
    );
    assert_eq!(store.list_whistles(&Scope::All, 100).await.unwrap(), before);
    // Report-ins, absences from the worker's queue, escalation.
    store
        .execute_whistle(report(
            "110105.dept.urban-management",
            "2025-10-09 09:10",
            Some(1),
        ))
        .await
        .unwrap();
    assert!(store
        .absences_due(at("2025-10-09 09:30"), 10)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store
            .absences_due(at("2025-10-09 09:31"), 10)
            .await
            .unwrap(),
        vec![no.clone()]
    );
    for unit in ["110105.dept.housing", "11.ent.power"] {
        let mark = envelope(
            "11.center",
            "2025-10-09 09:31",
            WhistleRequest::Command {
                whistle: no.clone(),
                expected_version: None,
                command: WhistleCommand::MarkAbsent { unit: code(unit) },
            },
        );
        store.execute_whistle(mark).await.unwrap();
    }
    assert!(
        store
            .absences_due(at("2025-10-09 12:00"), 10)
            .await
            .unwrap()
            .is_empty(),
        "every absence recorded once"
    );
    let stored = store.whistle(&no).await.unwrap().unwrap();
    assert!(stored.escalated_at.is_some());
    let history = store.whistle_history(stored.id).await.unwrap();
    assert_eq!(
        Whistle::from_records(&history).unwrap(),
        stored,
        "projection = replay"
    );
    assert_eq!(
        history.len(),
        5,
        "raised, reported in, absent, escalated, absent"
    );
    // Scopes: the street, its district, the summoned department see it; others do not.
    let count = |scope: Scope| {
        let store = store.clone();
        async move { store.list_whistles(&scope, 100).await.unwrap().len() }
    };
    assert_eq!(count(Scope::Street(code("110105010"))).await, 1);
    assert_eq!(count(Scope::District(code("110105"))).await, 1);
    assert_eq!(
        count(Scope::Units(vec![code("110105010")])).await,
        1,
        "a street handler"
    );
    assert_eq!(
        count(Scope::Units(vec![code("110105.dept.housing")])).await,
        1,
        "a summoned department"
    );
    assert_eq!(
        count(Scope::Units(vec![code("110105.dept.water")])).await,
        0
    );
    assert_eq!(count(Scope::District(code("110101"))).await, 0);
    let second = store
        .execute_whistle(envelope(
            "110105010",
            "2025-10-09 10:00",
            WhistleRequest::Raise(Box::new(raise(None))),
        ))
        .await
        .unwrap();
    assert_eq!(second.whistle.no, "W20251009-000002");
    // The live feed: every event once, in position order, each with its whistle.
    let feed = store.whistle_feed(0, 100).await.unwrap();
    assert_eq!(
        feed.len(),
        6,
        "five events of the first whistle, one of the second"
    );
    assert!(feed.windows(2).all(|w| w[0].position < w[1].position));
    assert_eq!(feed[0].whistle.no, no);
    assert_eq!(feed[5].whistle.no, "W20251009-000002");
    assert_eq!(store.whistle_feed_head().await.unwrap(), feed[5].position);
    let rest = store.whistle_feed(feed[3].position, 100).await.unwrap();
    assert_eq!(rest.len(), 2);
    // Closing the whistle records its outcome on the order, in the same transaction.
    let target = OrderRef::Id(order.order_id);
    let order_before = store.order(&target).await.unwrap().unwrap();
    let close = |unit: &str| {
        envelope(
            unit,
            "2025-10-09 15:00",
            WhistleRequest::Command {
                whistle: no.clone(),
                expected_version: None,
                command: WhistleCommand::Close {
                    result: whistle_core::whistle::WhistleResult::PartlySolved,
                    reasons: "管道已修复，路面待恢复".into(),
                },
            },
        )
    };
    assert_eq!(
        store
            .execute_whistle(close("110105011"))
            .await
            .unwrap_err()
            .key(),
        "not_whistle_street"
    );
    assert_eq!(
        store.order(&target).await.unwrap().unwrap(),
        order_before,
        "a refused close writes nothing to the order"
    );
    store.execute_whistle(close("110105010")).await.unwrap();
    let updated = store.order(&target).await.unwrap().unwrap();
    assert_eq!(updated.version, order_before.version + 1);
    assert_eq!(updated.whistle_outcomes.len(), 1);
    assert_eq!(updated.whistle_outcomes[0].whistle, no);
    assert_eq!(
        updated.whistle_outcomes[0].result,
        whistle_core::whistle::WhistleResult::PartlySolved
    );
    let order_history = store.history(order.order_id).await.unwrap();
    assert_eq!(
        order_history.last().unwrap().payload.name(),
        "whistle_outcome_recorded"
    );
    assert_eq!(
        Order::from_events(&order_history).unwrap(),
        updated,
        "the order's projection = replay"
    );
}

async fn the_whistle_list_is_data(db: TestDb) {
    use whistle_core::catalogue::HandlerRule;
    use whistle_core::whistle::{WhistleKind, WhistleListItem};
    let store = db.store.clone();
    let admin = as_unit("11.center");
    let reference = store.reference();
    let shipped = reference.whistle_list.len();
    assert!(
        shipped >= 20,
        "the shipped list is installed ({shipped} items)"
    );
    let street = code("110105010");
    let item = reference
        .whistle_list
        .item_for("pipe-burst", &street, &reference.directory)
        .unwrap()
        .clone();
    assert_eq!(item.kind, WhistleKind::Emergency);
    // A district's own item beats the city's for its streets, and survives a reopen.
    let mut items: Vec<WhistleListItem> = reference.whistle_list.items().cloned().collect();
    items.push(WhistleListItem {
        territory: code("110105"),
        lead: HandlerRule::parse("district:water").unwrap(),
        assisting: vec![],
        ..item.clone()
    });
    store
        .import(
            ReferenceImport::WhistleList(items.clone()),
            &admin,
            at("2025-10-09 09:00"),
        )
        .await
        .unwrap();
    let reopened = whistle_store::open(&db.url, whistle_store::Migrate::Refuse)
        .await
        .unwrap();
    let reference = reopened.reference();
    assert_eq!(reference.whistle_list.len(), shipped + 1);
    let own = reference
        .whistle_list
        .item_for("pipe-burst", &street, &reference.directory)
        .unwrap();
    assert_eq!(own.territory, code("110105"));
    let elsewhere = reference
        .whistle_list
        .item_for("pipe-burst", &code("110101001"), &reference.directory)
        .unwrap();
    assert_eq!(elsewhere.territory, code("11"));
    // A list with one bad item is refused whole; the stored list is unchanged.
    let mut bad = items.clone();
    bad.push(WhistleListItem {
        code: "x".into(),
        lead: HandlerRule::parse("district:no-such-line").unwrap(),
        ..item.clone()
    });
    assert!(reopened
        .import(
            ReferenceImport::WhistleList(bad),
            &admin,
            at("2025-10-09 09:00")
        )
        .await
        .is_err());
    assert_eq!(reopened.reference().whistle_list.len(), shipped + 1);
    let csv = whistle_store::import::whistle_list_to_csv(reopened.reference().whistle_list.items())
        .unwrap();
    let whistle_store::ReferenceImport::WhistleList(again) = whistle_store::import::parse(
        whistle_store::import::FileKind::WhistleList,
        csv.as_bytes(),
        false,
    )
    .unwrap() else {
        panic!("not a whistle list");
    };
    assert_eq!(again.len(), shipped + 1, "export and import round-trip");
    let malformed = "code,kind,title,territory,lead,assisting\nok,enforcement,违建,11,district:housing,\nbad,nonsense,违建,11,district:housing,\n";
    let error = whistle_store::import::parse(
        whistle_store::import::FileKind::WhistleList,
        malformed.as_bytes(),
        false,
    )
    .unwrap_err()
    .to_string();
    assert!(error.contains("line 3"), "{error}");
}

async fn grid_cases_close_their_loop_in_the_store(db: TestDb) {
    use whistle_core::grid::{GridCase, GridCommand, GridStage, Report, ReporterRole};
    use whistle_store::grids::{GridEnvelope, GridRequest};
    let store = &db.store;
    for (unit, kind) in [
        ("110105010.grid.1", UnitKind::Grid),
        ("110105010.lane.1", UnitKind::Lane),
    ] {
        let unit = whistle_core::org::Unit {
            code: code(unit),
            kind,
            name: unit.into(),
            parent: Some(code("110105010")),
            line: None,
            status: whistle_core::org::UnitStatus::Active,
            merged_into: None,
        };
        store
            .change_unit(
                UnitChange::Added { unit },
                &center(),
                at("2025-10-01 00:00"),
            )
            .await
            .unwrap();
    }
    let person = |user: &str, unit: &str| whistle_core::ids::Actor {
        user: user.into(),
        unit: code(unit),
    };
    let report = Report {
        role: ReporterRole::GridWorker,
        found_at: at("2025-10-09 08:50"),
        category: whistle_core::ids::CategoryCode::parse("11.04.01").unwrap(),
        description: "路口占道经营".into(),
        place: "惠新东街路口".into(),
        photos: vec!["https://photos.example.cn/g1.jpg".into()],
    };
    let filed = store
        .execute_grid(GridEnvelope {
            actor: person("grid-wang", "110105010.grid.1"),
            at: at("2025-10-09 09:00"),
            request: GridRequest::File(Box::new(report)),
        })
        .await
        .unwrap();
    assert_eq!(
        (filed.no.as_str(), filed.stage),
        ("G20251009-000001", GridStage::Filed)
    );
    let step = |who: whistle_core::ids::Actor,
                when: &str,
                version: Option<u64>,
                command: GridCommand| GridEnvelope {
        actor: who,
        at: at(when),
        request: GridRequest::Command {
            case: "G20251009-000001".into(),
            expected_version: version,
            command,
        },
    };
    let chengguan = person("cg-zhao", "110105.dept.urban-management");
    store
        .execute_grid(step(
            person("street-li", "110105010"),
            "2025-10-09 09:10",
            Some(1),
            GridCommand::Dispatch {
                to: code("110105.dept.urban-management"),
            },
        ))
        .await
        .unwrap();
    assert_eq!(
        store
            .execute_grid(step(
                chengguan.clone(),
                "2025-10-09 09:20",
                Some(1),
                GridCommand::Handle {
                    handled_at: at("2025-10-09 09:15"),
                    note: "已劝离".into(),
                    photos: vec![]
                }
            ))
            .await
            .unwrap_err()
            .key(),
        "conflict"
    );
    store
        .execute_grid(step(
            chengguan.clone(),
            "2025-10-09 11:10",
            Some(2),
            GridCommand::Handle {
                handled_at: at("2025-10-09 11:00"),
                note: "已劝离".into(),
                photos: vec![],
            },
        ))
        .await
        .unwrap();
    // The handler may not verify its own work; the store is unchanged by the refusal.
    let verify = GridCommand::Verify {
        passed: true,
        note: "核查通过".into(),
    };
    assert!(store
        .execute_grid(step(chengguan, "2025-10-09 12:00", None, verify.clone()))
        .await
        .is_err());
    assert_eq!(
        store
            .grid_case("G20251009-000001")
            .await
            .unwrap()
            .unwrap()
            .version,
        3
    );
    let done = store
        .execute_grid(step(
            person("steward-chen", "110105010.lane.1"),
            "2025-10-09 12:00",
            None,
            verify,
        ))
        .await
        .unwrap();
    assert_eq!(done.stage, GridStage::Verified);
    let stored = store.grid_case("G20251009-000001").await.unwrap().unwrap();
    let history = store.grid_history(stored.id).await.unwrap();
    assert_eq!(
        GridCase::from_records(stored.id, &stored.no, &history).unwrap(),
        stored,
        "projection = replay"
    );
    assert_eq!(history.len(), 4);
    let ghost = GridEnvelope {
        actor: person("street-li", "110105010"),
        at: at("2025-10-09 12:00"),
        request: GridRequest::Command {
            case: "G20990101-000001".into(),
            expected_version: None,
            command: GridCommand::Dispatch {
                to: code("110105010"),
            },
        },
    };
    assert_eq!(
        store.execute_grid(ghost).await.unwrap_err().key(),
        "not_found"
    );
    for (scope, count) in [
        (Scope::Street(code("110105010")), 1),
        (Scope::District(code("110105")), 1),
        (Scope::Units(vec![code("110105.dept.urban-management")]), 1),
        (Scope::Units(vec![code("110105.dept.housing")]), 0),
        (Scope::District(code("110101")), 0),
    ] {
        assert_eq!(
            store.list_grid_cases(&scope, 100).await.unwrap().len(),
            count,
            "{scope:?}"
        );
    }
    // The double assessment's grid counts: found and verified in the month, per street.
    let october = (at("2025-10-01 00:00"), at("2025-11-01 00:00"));
    let counts = store
        .grid_counts(&Scope::District(code("110105")), october.0, october.1)
        .await
        .unwrap();
    assert_eq!(
        counts,
        vec![whistle_core::whistle::GridCounts {
            street: code("110105010"),
            found: 1,
            verified: 1
        }]
    );
    let november = (at("2025-11-01 00:00"), at("2025-12-01 00:00"));
    assert!(store
        .grid_counts(&Scope::All, november.0, november.1)
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .grid_counts(&Scope::District(code("110101")), october.0, october.1)
        .await
        .unwrap()
        .is_empty());
}
