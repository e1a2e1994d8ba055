//! Reads: periods through the indexes, lists and pages, the due query, scopes, text search.

use crate::support::*;
use whistle_core::order::{Command, ReplyOutcome, Satisfaction, VisitResult};
use whistle_store::{
    AssignedTo, Awaiting, OrderFilter, OrderRef, Owed, PageRequest, Scope, StoreError,
};

conformance!(
    a_period_finds_its_orders_through_the_indexes,
    lists_filter_and_paginate_stably,
    the_due_query_follows_deadlines,
    scopes_limit_what_each_principal_sees,
    text_search_finds_chinese_substrings_and_is_inert,
    a_callers_orders_are_found_by_the_phone,
    the_centres_queues_and_deadline_filters,
    what_handling_units_owe_is_listed,
    orders_are_listed_by_the_lead_units_assignee,
);

/// `assignee`: the lead unit's person (承办人) as the writers keep it in the `assignee` column —
/// set by an assignment, changed by another, untouched by a co-handler's own assignment, kept
/// through the order's life and recomputed by the rebuild; `Nobody` lists the rest.
async fn orders_are_listed_by_the_lead_units_assignee(db: TestDb) {
    let store = &db.store;
    let street = "110105010";
    let mut orders = Vec::new();
    for day in 0..3 {
        let outcome = take(
            &**store,
            &format!("2025-10-{:02} 09:00", 13 + day),
            complaint(street, "11.04.01", "指派测试"),
        )
        .await;
        orders.push(
            act(
                &**store,
                center(),
                &format!("2025-10-{:02} 09:10", 13 + day),
                &outcome,
                dispatch(),
            )
            .await,
        );
    }
    let list = |assignee: AssignedTo| {
        let store = store.clone();
        let filter = OrderFilter {
            assignee: Some(assignee),
            unit: Some(code(street)),
            oldest_first: true,
            ..OrderFilter::default()
        };
        async move {
            store
                .list_orders(&Scope::All, &filter, &PageRequest::default())
                .await
                .unwrap()
                .items
                .into_iter()
                .map(|o| o.no.to_string())
                .collect::<Vec<_>>()
        }
    };
    let no = |i: usize| orders[i].order_no.to_string();
    let person = |login: &str| AssignedTo::Person(login.into());
    assert!(list(person("xiaowang")).await.is_empty());
    assert_eq!(list(AssignedTo::Nobody).await, [no(0), no(1), no(2)]);
    let assign = |to: &str| Command::Assign { to: to.into() };
    let first = act(
        &**store,
        as_unit(street),
        "2025-10-16 09:00",
        &orders[0],
        assign("xiaowang"),
    )
    .await;
    act(
        &**store,
        as_unit(street),
        "2025-10-16 09:01",
        &orders[1],
        assign("xiaowang"),
    )
    .await;
    // The co-handler's own person is its part's, not the order's.
    let order = store
        .order(&OrderRef::Id(orders[2].order_id))
        .await
        .unwrap()
        .unwrap();
    let co = order.parts_owed()[0].to_string();
    act(
        &**store,
        as_unit(&co),
        "2025-10-16 09:02",
        &orders[2],
        assign("colleague"),
    )
    .await;
    assert_eq!(list(person("xiaowang")).await, [no(0), no(1)]);
    assert!(list(person("colleague")).await.is_empty());
    assert_eq!(list(AssignedTo::Nobody).await, [no(2)]);
    // Handed on: the other person's list, and the order's life goes on with it.
    let handed = act(
        &**store,
        as_unit(street),
        "2025-10-16 10:00",
        &first,
        assign("laoli"),
    )
    .await;
    let accepted = act(
        &**store,
        as_unit(street),
        "2025-10-16 10:05",
        &handed,
        Command::Accept,
    )
    .await;
    act(
        &**store,
        as_unit(street),
        "2025-10-16 11:00",
        &accepted,
        Command::Reply {
            outcome: ReplyOutcome::Resolved,
            actions: "已处理".into(),
        },
    )
    .await;
    assert_eq!(list(person("xiaowang")).await, [no(1)]);
    assert_eq!(list(person("laoli")).await, [no(0)]);
    let report = store.rebuild_projections().await.unwrap();
    assert!(report.differing.is_empty(), "{report:?}");
    assert_eq!(list(person("laoli")).await, [no(0)]);
    // An order's page shows each unit's person.
    let order = store
        .order(&OrderRef::Id(orders[2].order_id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(order.assignee(&code(&co)), Some("colleague"));
    assert_eq!(order.assignee(&code(street)), None);
}

/// `owed`: 重办 lists the reopened orders back with their unit until answered again; 协办 lists,
/// for a co-handler, the orders whose part it has not reported since the current dispatch —
/// reported parts leave it, a reopen (a new dispatch) owes them again — and never a part another
/// co-handler owes.
async fn what_handling_units_owe_is_listed(db: TestDb) {
    let store = &db.store;
    let street = "110105010";
    let mut orders = Vec::new();
    for day in 0..3 {
        let outcome = take(
            &**store,
            &format!("2025-10-{:02} 09:00", 13 + day),
            complaint(street, "11.04.01", "协办测试"),
        )
        .await;
        let dispatched = act(
            &**store,
            center(),
            &format!("2025-10-{:02} 09:10", 13 + day),
            &outcome,
            dispatch(),
        )
        .await;
        orders.push(dispatched);
    }
    let order = store
        .order(&OrderRef::Id(orders[0].order_id))
        .await
        .unwrap()
        .unwrap();
    let co = order.parts_owed()[0].to_string();
    assert_eq!(
        order.parts_owed().len(),
        1,
        "the catalogue names one co-handler"
    );
    let list = |owed, unit: &str| {
        let store = store.clone();
        let filter = OrderFilter {
            owed: Some(owed),
            unit: Some(code(unit)),
            oldest_first: true,
            ..OrderFilter::default()
        };
        async move {
            store
                .list_orders(&Scope::All, &filter, &PageRequest::default())
                .await
                .unwrap()
                .items
                .into_iter()
                .map(|o| o.no.to_string())
                .collect::<Vec<_>>()
        }
    };
    let no = |i: usize| orders[i].order_no.to_string();
    assert_eq!(list(Owed::Part, &co).await, [no(0), no(1), no(2)]);
    // The lead owes no part; nothing is in rework.
    assert!(list(Owed::Part, street).await.is_empty());
    assert!(list(Owed::Rework, street).await.is_empty());
    // Order 0: the co-handler reports its part. Order 1: the whole life, dissatisfied, reopened.
    let part = act(
        &**store,
        as_unit(&co),
        "2025-10-16 09:00",
        &orders[0],
        Command::ReportPart {
            text: "已清理".into(),
        },
    )
    .await;
    assert_eq!(part.version, 3);
    assert_eq!(list(Owed::Part, &co).await, [no(1), no(2)]);
    let mut one = orders[1].clone();
    for (actor, time, command) in [
        (
            as_unit(&co),
            "2025-10-16 09:00",
            Command::ReportPart {
                text: "已配合".into(),
            },
        ),
        (as_unit(street), "2025-10-16 09:10", Command::Accept),
        (
            as_unit(street),
            "2025-10-16 10:00",
            Command::Reply {
                outcome: ReplyOutcome::Resolved,
                actions: "已处理".into(),
            },
        ),
        (
            center(),
            "2025-10-17 10:00",
            Command::ReturnVisit {
                result: VisitResult::Valid {
                    contacted: true,
                    resolved: false,
                    satisfaction: Satisfaction::Dissatisfied,
                },
            },
        ),
        (
            center(),
            "2025-10-17 10:05",
            Command::Reopen {
                reason: "问题仍在".into(),
            },
        ),
    ] {
        one = act(&**store, actor, time, &one, command).await;
    }
    // Reopened: in rework for the lead, and the co-handler owes a part again.
    assert_eq!(list(Owed::Rework, street).await, [no(1)]);
    assert_eq!(list(Owed::Part, &co).await, [no(1), no(2)]);
    the_migration_computes_owed_as_the_writer_does(&db).await;
    // The visit desk's counters: the agent's visits since a time, by its own name only.
    let agent = center().user;
    let visits = store
        .visits_by(&agent, at("2025-10-17 00:00"))
        .await
        .unwrap();
    assert!(matches!(
        visits.as_slice(),
        [VisitResult::Valid {
            satisfaction: Satisfaction::Dissatisfied,
            ..
        }]
    ));
    assert!(store
        .visits_by(&agent, at("2025-10-17 10:01"))
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .visits_by("someone-else", at("2025-10-01 00:00"))
        .await
        .unwrap()
        .is_empty());
    // Accepted, still in rework; answered again: out of it.
    one = act(
        &**store,
        as_unit(street),
        "2025-10-17 10:30",
        &one,
        Command::Accept,
    )
    .await;
    assert_eq!(list(Owed::Rework, street).await, [no(1)]);
    one = act(
        &**store,
        as_unit(street),
        "2025-10-17 11:00",
        &one,
        Command::Reply {
            outcome: ReplyOutcome::Resolved,
            actions: "重新处理".into(),
        },
    )
    .await;
    assert!(list(Owed::Rework, street).await.is_empty());
    assert_eq!(list(Owed::Part, &co).await, [no(2)]);
    let _ = one;
}

/// The dispatcher's queues (`awaiting`: a pending dispute, a pending extension) follow the
/// orders' state as commands change it; `due_before` lists the open orders whose running
/// deadline falls before a time; `oldest_first` turns the order and its pages round.
async fn the_centres_queues_and_deadline_filters(db: TestDb) {
    let store = &db.store;
    let street = "110105010";
    let mut orders = Vec::new();
    for day in 0..4 {
        let outcome = take(
            &**store,
            &format!("2025-10-{:02} 09:00", 13 + day),
            complaint(street, "11.04.01", "队列测试"),
        )
        .await;
        act(
            &**store,
            center(),
            &format!("2025-10-{:02} 09:10", 13 + day),
            &outcome,
            dispatch(),
        )
        .await;
        orders.push(outcome);
    }
    let handler = || as_unit(street);
    act(
        &**store,
        handler(),
        "2025-10-17 09:00",
        &orders[0],
        Command::Dispute {
            reason: "不属本街道".into(),
        },
    )
    .await;
    act(
        &**store,
        handler(),
        "2025-10-17 09:00",
        &orders[1],
        Command::Accept,
    )
    .await;
    act(
        &**store,
        handler(),
        "2025-10-17 09:05",
        &orders[1],
        Command::RequestExtension {
            extra: extra(3),
            reason: "需协调物业".into(),
        },
    )
    .await;
    act(
        &**store,
        handler(),
        "2025-10-17 09:00",
        &orders[2],
        Command::Accept,
    )
    .await;
    act(
        &**store,
        handler(),
        "2025-10-17 09:05",
        &orders[2],
        Command::RequestExtension {
            extra: extra(2),
            reason: "等待施工".into(),
        },
    )
    .await;
    let list = |filter: OrderFilter, page: PageRequest| {
        let store = store.clone();
        async move {
            store
                .list_orders(&Scope::All, &filter, &page)
                .await
                .unwrap()
        }
    };
    let numbers = |page: &whistle_store::Page<whistle_store::OrderSummary>| {
        page.items
            .iter()
            .map(|o| o.no.to_string())
            .collect::<Vec<_>>()
    };
    let awaiting = |awaiting| OrderFilter {
        awaiting: Some(awaiting),
        ..OrderFilter::default()
    };
    let disputes = list(awaiting(Awaiting::Dispute), PageRequest::default()).await;
    assert_eq!(numbers(&disputes), [orders[0].order_no.to_string()]);
    let extensions = list(awaiting(Awaiting::Extension), PageRequest::default()).await;
    assert_eq!(
        numbers(&extensions),
        [
            orders[2].order_no.to_string(),
            orders[1].order_no.to_string()
        ]
    );
    // Oldest first, one to a page: the cursor walks forward.
    let first = list(
        OrderFilter {
            oldest_first: true,
            ..awaiting(Awaiting::Extension)
        },
        PageRequest {
            after: None,
            limit: 1,
        },
    )
    .await;
    assert_eq!(numbers(&first), [orders[1].order_no.to_string()]);
    let second = list(
        OrderFilter {
            oldest_first: true,
            ..awaiting(Awaiting::Extension)
        },
        PageRequest {
            after: first.next.clone(),
            limit: 1,
        },
    )
    .await;
    assert_eq!(numbers(&second), [orders[2].order_no.to_string()]);
    assert!(second.next.is_none());
    // Deciding takes an order out of its queue; reviewing a dispute likewise.
    act(
        &**store,
        center(),
        "2025-10-17 10:00",
        &orders[1],
        Command::DecideExtension {
            approved: true,
            note: String::new(),
        },
    )
    .await;
    act(
        &**store,
        center(),
        "2025-10-17 10:00",
        &orders[0],
        Command::ReviewDispute {
            upheld: false,
            redispatch_to: None,
            note: "属本街道".into(),
        },
    )
    .await;
    assert!(list(awaiting(Awaiting::Dispute), PageRequest::default())
        .await
        .items
        .is_empty());
    assert_eq!(
        numbers(&list(awaiting(Awaiting::Extension), PageRequest::default()).await),
        [orders[2].order_no.to_string()]
    );
    // Due before: every running deadline at or before the time, within a unit's list too.
    let due = |time: &str, unit: Option<&str>| OrderFilter {
        due_before: Some(at(time)),
        unit: unit.map(code),
        oldest_first: true,
        ..OrderFilter::default()
    };
    // Responses are due 24 h after dispatch; order 3 (16th, not contacted) is due on the 17th.
    let soon = list(due("2025-10-17 09:10", None), PageRequest::default()).await;
    assert!(numbers(&soon).contains(&orders[3].order_no.to_string()));
    let none = list(
        due("2025-10-13 09:00", Some(street)),
        PageRequest::default(),
    )
    .await;
    assert!(none.items.is_empty());
    let all = list(
        due("2026-12-31 00:00", Some(street)),
        PageRequest::default(),
    )
    .await;
    assert_eq!(all.items.len(), 4);
    assert!(all.items.iter().all(|o| o.next_due_at.is_some()));
    let cut = at("2025-10-17 09:10");
    let later = OrderFilter {
        due_after: Some(cut),
        ..due("2026-12-31 00:00", Some(street))
    };
    let later = list(later, PageRequest::default()).await;
    let expected = all
        .items
        .iter()
        .filter(|o| o.next_due_at > Some(cut))
        .count();
    assert_eq!(later.items.len(), expected);
    let cut = all
        .items
        .iter()
        .filter_map(|o| o.next_due_at)
        .min()
        .unwrap();
    let after_first = OrderFilter {
        due_after: Some(cut),
        ..due("2026-12-31 00:00", Some(street))
    };
    let after_first = list(after_first, PageRequest::default()).await;
    assert!(
        after_first.items.len() < 4,
        "the earliest is not after itself"
    );
    assert!(after_first.items.iter().all(|o| o.next_due_at > Some(cut)));
    // Three times late: the time taken (received → then) three times the allowance
    // (received → the running deadline) or more — exactly the orders the rule picks.
    let mut counts = Vec::new();
    for time in ["2025-10-17 09:10", "2025-10-20 09:00", "2025-11-30 00:00"] {
        let then = at(time);
        let thrice = OrderFilter {
            thrice_late_at: Some(then),
            ..due("2026-12-31 00:00", Some(street))
        };
        let listed = numbers(&list(thrice, PageRequest::default()).await);
        let expected: Vec<String> = all
            .items
            .iter()
            .filter(|o| {
                let due = o.next_due_at.unwrap();
                let allowed = due - o.received_at;
                allowed > chrono::Duration::zero() && then - o.received_at >= allowed * 3
            })
            .map(|o| o.no.to_string())
            .collect();
        assert_eq!(listed, expected, "{time}");
        counts.push(listed.len());
    }
    // On the 17th one order is three times late and the others not yet; later all four.
    assert_eq!(counts, [1, 4, 4]);
    assert_eq!(
        list(
            OrderFilter {
                thrice_late_at: Some(at("2026-12-31 00:00")),
                ..due("2026-12-31 00:00", Some(street))
            },
            PageRequest::default()
        )
        .await
        .items
        .len(),
        4
    );
    // By deadline, soonest first, one to a page: the cursor follows the deadline.
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let filter = OrderFilter {
            by_deadline: true,
            ..OrderFilter::default()
        };
        let page = list(filter, PageRequest { after, limit: 1 }).await;
        seen.extend(page.items.iter().map(|o| o.next_due_at.unwrap()));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(
        seen.len(),
        4,
        "every open order with a running deadline, once"
    );
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "soonest first");
}

/// `orders_of_phone`: the orders received since a time under the phone given with them, newest
/// first, at most the limit; another caller's and older ones are not listed.
async fn a_callers_orders_are_found_by_the_phone(db: TestDb) {
    let store = &db.store;
    let with_phone = |time: &str, text: &str, phone: &str| {
        let mut envelope = intake(time, complaint("110105010", "11.04.01", text));
        if let whistle_store::Request::Intake { requester, .. } = &mut envelope.request {
            requester.as_mut().unwrap().phone = Some(phone.into());
        }
        envelope
    };
    let mut numbers = Vec::new();
    for (time, text, phone) in [
        ("2025-09-01 09:00", "九月", "13700007777"),
        ("2025-10-08 09:00", "十月八日", "13700007777"),
        ("2025-10-09 09:00", "另一位", "13900009999"),
        ("2025-10-09 10:00", "十月九日", "13700007777"),
    ] {
        let outcome = store
            .execute_one(with_phone(time, text, phone))
            .await
            .unwrap();
        numbers.push(outcome.order_no.to_string());
    }
    let found = store
        .orders_of_phone("13700007777", at("2025-10-01 00:00"), 10)
        .await
        .unwrap();
    let found: Vec<String> = found.iter().map(|o| o.no.to_string()).collect();
    assert_eq!(found, vec![numbers[3].clone(), numbers[1].clone()]);
    let one = store
        .orders_of_phone("13700007777", at("2025-01-01 00:00"), 1)
        .await
        .unwrap();
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].no.to_string(), numbers[3]);
    assert_eq!(one[0].stage, "pending_dispatch");
    assert_eq!(one[0].category, "11.04.01");
    assert!(store
        .orders_of_phone("10000000000", at("2025-01-01 00:00"), 10)
        .await
        .unwrap()
        .is_empty());
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
                act(&**store, actor, time, &order, command).await;
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

async fn lists_filter_and_paginate_stably(db: TestDb) {
    let store = &db.store;
    let mut created = Vec::new();
    for i in 0..30 {
        let street = if i % 3 == 0 { "110105011" } else { "110105010" };
        let category = if i % 2 == 0 { "11.04.01" } else { "04.01" };
        let time = format!("2025-10-{:02} {:02}:00", 9 + i / 10, 8 + i % 10);
        let outcome = take(&**store, &time, complaint(street, category, "列表测试")).await;
        if i % 4 != 0 {
            act(
                &**store,
                center(),
                &format!("2025-10-{:02} 20:00", 9 + i / 10),
                &outcome,
                dispatch(),
            )
            .await;
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
        let outcome = take(
            &**store,
            &time,
            complaint("110105010", "11.04.01", "到期测试"),
        )
        .await;
        act(
            &**store,
            center(),
            &format!("2025-10-{:02} 10:00", 13 + day),
            &outcome,
            dispatch(),
        )
        .await;
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
    act(
        &**store,
        as_unit("110105010"),
        "2025-10-17 11:00",
        first,
        Command::Accept,
    )
    .await;
    act(
        &**store,
        as_unit("110105010"),
        "2025-10-17 11:01",
        first,
        Command::Contact {
            note: String::new(),
        },
    )
    .await;
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
    act(
        &**store,
        as_unit("110105010"),
        "2025-10-17 12:00",
        first,
        Command::Reply {
            outcome: ReplyOutcome::Resolved,
            actions: "已处理".into(),
        },
    )
    .await;
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

async fn scopes_limit_what_each_principal_sees(db: TestDb) {
    let store = &db.store;
    let mut made = Vec::new();
    for (street, category) in [
        ("110105010", "11.04.01"),
        ("110105011", "04.02"),
        ("110101001", "11.04.01"),
        ("110101001", "04.02"),
    ] {
        let order = take(
            &**store,
            "2025-10-09 09:00",
            complaint(street, category, "范围测试"),
        )
        .await;
        act(&**store, center(), "2025-10-09 10:00", &order, dispatch()).await;
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
        take(
            &**store,
            "2025-10-09 09:00",
            complaint("110105010", "11.04.01", text),
        )
        .await;
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

/// Migration 0012 fills `owed` for the orders already stored: cleared and recomputed by its
/// statement, every row holds what the writer wrote.
async fn the_migration_computes_owed_as_the_writer_does(db: &TestDb) {
    let statement = |file: &str| {
        let (_, update) = file
            .split_once("ALTER TABLE orders ADD COLUMN owed SMALLINT;")
            .unwrap();
        update.to_string()
    };
    const READ: &str = "SELECT no, owed FROM orders ORDER BY no";
    if let Some(path) = db.url.strip_prefix("sqlite://") {
        let connection = rusqlite::Connection::open(path).unwrap();
        connection
            .busy_timeout(std::time::Duration::from_secs(10))
            .unwrap();
        let read = || {
            let mut query = connection.prepare(READ).unwrap();
            let rows = query
                .query_map([], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, Option<i64>>(1)?))
                })
                .unwrap();
            rows.map(Result::unwrap).collect::<Vec<_>>()
        };
        let written = read();
        assert!(
            written.iter().any(|(_, owed)| *owed == Some(3)),
            "{written:?}"
        );
        connection
            .execute("UPDATE orders SET owed = NULL", [])
            .unwrap();
        connection
            .execute_batch(&statement(include_str!(
                "../../migrations/sqlite/0012_owed_column.sql"
            )))
            .unwrap();
        assert_eq!(read(), written);
    } else {
        let (client, connection) = tokio_postgres::connect(&db.url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        let read = || async {
            client
                .query(READ, &[])
                .await
                .unwrap()
                .iter()
                .map(|r| {
                    (
                        r.get::<_, String>(0),
                        r.get::<_, Option<i16>>(1).map(i64::from),
                    )
                })
                .collect::<Vec<_>>()
        };
        let written = read().await;
        assert!(
            written.iter().any(|(_, owed)| *owed == Some(3)),
            "{written:?}"
        );
        client
            .execute("UPDATE orders SET owed = NULL", &[])
            .await
            .unwrap();
        client
            .batch_execute(&statement(include_str!(
                "../../migrations/postgres/0012_owed_column.sql"
            )))
            .await
            .unwrap();
        assert_eq!(read().await, written);
    }
}
