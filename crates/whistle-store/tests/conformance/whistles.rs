//! Whistles (吹哨报到): commands, replay, scopes and the whistle list.

use crate::support::*;
use whistle_core::order::Order;
use whistle_store::{OrderRef, ReferenceImport, Scope};

conformance!(
    whistle_commands_in_one_call_stand_alone,
    whistles_are_stored_replayed_and_scoped,
    the_whistle_list_is_data,
);

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
    let order = take(
        &**store,
        "2025-10-09 08:00",
        complaint("110105010", "11.04.01", "占道经营"),
    )
    .await;
    act(&**store, center(), "2025-10-09 08:10", &order, dispatch()).await;
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
    let other = take(
        &**store,
        "2025-10-09 08:00",
        complaint("110105011", "11.04.01", "占道"),
    )
    .await;
    act(&**store, center(), "2025-10-09 08:10", &other, dispatch()).await;
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
