//! The reports over both backends: every test runs on SQLite, and on PostgreSQL when
//! `WHISTLE_TEST_PG_URL` is set (CI sets it), each on a fresh database — the store's
//! conformance harness, shared.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../whistle-store/tests/support/mod.rs"]
mod support;

use support::*;
use whistle_core::order::Command;

conformance!(
    reports_read_intake_volumes_overdue_notices_and_repeats,
    a_published_month_stays_published,
);

/// Open → closed → revised: closing stores edition 1; a ruling after the close leaves it as it
/// was, shows as a pending adjustment with its reason, and a revision publishes it as edition 2;
/// both stay retrievable, and the next period's change is against the published figures.
async fn a_published_month_stays_published(db: TestDb) {
    use whistle_core::order::{ReplyOutcome, Satisfaction, VisitResult};
    use whistle_reports::editions;
    let store = &*db.store;
    let street = as_unit("110105010");
    let mut orders = Vec::new();
    for i in 0..6 {
        let order = take(
            store,
            "2025-10-20 09:00",
            complaint("110105010", "11.04.01", "路灯不亮"),
        )
        .await;
        act(store, center(), "2025-10-20 09:10", &order, dispatch()).await;
        act(
            store,
            street.clone(),
            "2025-10-20 09:20",
            &order,
            Command::Accept,
        )
        .await;
        act(
            store,
            street.clone(),
            "2025-10-20 09:25",
            &order,
            Command::Contact {
                note: String::new(),
            },
        )
        .await;
        act(
            store,
            street.clone(),
            "2025-10-21 10:00",
            &order,
            Command::Reply {
                outcome: ReplyOutcome::Resolved,
                actions: "已修复".into(),
            },
        )
        .await;
        act(
            store,
            center(),
            "2025-10-22 10:00",
            &order,
            Command::ReturnVisit {
                result: VisitResult::Valid {
                    contacted: true,
                    resolved: i > 0,
                    satisfaction: if i > 0 {
                        Satisfaction::Satisfied
                    } else {
                        Satisfaction::Dissatisfied
                    },
                },
            },
        )
        .await;
        orders.push(order);
    }
    let admin = center();
    let line = |r: &whistle_reports::EvaluationReport| {
        r.units
            .iter()
            .find(|u| u.unit.as_str() == "110105010")
            .cloned()
            .unwrap()
    };
    // Open: the live figures, no edition; it cannot be closed before its last day is over.
    let open = editions::published(store, "2025-10", None, at("2025-10-25 09:00"))
        .await
        .unwrap();
    assert_eq!(open.edition, None);
    assert!(open.partial);
    assert!(
        editions::close(store, "2025-10", at("2025-10-31 20:00"), &admin, "")
            .await
            .is_err()
    );
    // Closed on 5 November: edition 1.
    let first = editions::close(store, "2025-10", at("2025-11-05 09:00"), &admin, "月度通报")
        .await
        .unwrap();
    assert_eq!(first.edition.as_ref().map(|e| e.number), Some(1));
    assert_eq!(line(&first).counts.visits, 6);
    assert!(
        editions::close(store, "2025-10", at("2025-11-05 10:00"), &admin, "")
            .await
            .is_err(),
        "closed once"
    );
    assert!(
        editions::revise(store, "2025-10", at("2025-11-05 10:00"), &admin, "无变化")
            .await
            .is_err(),
        "nothing to revise"
    );
    // A ruling on 10 November on the dissatisfied October order: October's published figures
    // stand; the change is pending, with its reason.
    act(
        store,
        center(),
        "2025-11-10 09:00",
        &orders[0],
        Command::RuleUnreasonable {
            reason: "诉求超出政策范围".into(),
        },
    )
    .await;
    let now = at("2025-11-12 09:00");
    let shown = editions::published(store, "2025-10", None, now)
        .await
        .unwrap();
    assert_eq!(line(&shown).counts, line(&first).counts, "no silent change");
    assert!(shown
        .pending_adjustments
        .iter()
        .any(|a| a.field == "excluded" && a.before == "0" && a.after == "1"));
    assert_eq!(shown.pending_reasons.len(), 1);
    assert_eq!(shown.pending_reasons[0].what, "ruled_unreasonable");
    assert_eq!(
        shown.pending_reasons[0].order,
        orders[0].order_no.to_string()
    );
    assert!(
        editions::revise(store, "2025-10", now, &admin, " ")
            .await
            .is_err(),
        "a revision says why"
    );
    let second = editions::revise(store, "2025-10", now, &admin, "核减复核")
        .await
        .unwrap();
    assert_eq!(second.edition.as_ref().map(|e| e.number), Some(2));
    assert_eq!(line(&second).counts.excluded, 1);
    assert_eq!(line(&second).counts.visits, 5);
    assert!(!second.adjustments.is_empty());
    assert_eq!(second.reasons.len(), 1);
    // Both editions stay as published.
    let again = editions::published(store, "2025-10", Some(1), now)
        .await
        .unwrap();
    assert_eq!(line(&again), line(&first));
    assert_eq!(again.edition, first.edition);
    let latest = editions::published(store, "2025-10", None, now)
        .await
        .unwrap();
    assert_eq!(latest.edition.as_ref().map(|e| e.number), Some(2));
    assert!(latest.pending_adjustments.is_empty());
    assert!(editions::published(store, "2025-10", Some(3), now)
        .await
        .is_err());
    // The rendered document says which edition it is.
    let doc = whistle_reports::evaluation::evaluation_document(
        &again,
        whistle_reports::document::Lang::Zh,
    );
    assert!(
        doc.summary.iter().any(|s| s.contains("第1版")),
        "{:?}",
        doc.summary
    );
    // November's change is against October's published (latest) edition.
    let november = whistle_reports::evaluation::evaluation(store, "2025-11", now)
        .await
        .unwrap();
    assert_eq!(november.previous_edition, Some(2));
}

/// The bulletins' and analyses' reads: intake volumes kept with the events, the mix by type and
/// channel, emergencies, overdue notices, repeat detection and the chosen topics.
async fn reports_read_intake_volumes_overdue_notices_and_repeats(db: TestDb) {
    use whistle_reports::document::Lang;
    use whistle_reports::{analyses as analysis, bulletins};
    let store = &*db.store;
    let now = at("2025-10-20 09:00");
    // Nothing yet: an empty day says so; a future day, a malformed one are refused.
    let empty = bulletins::daily(store, "2025-10-08", now, Lang::Zh)
        .await
        .unwrap();
    assert!(
        empty.empty && empty.summary[0].contains("无受理诉求"),
        "{:?}",
        empty.summary
    );
    for bad in ["2025-10-21", "2025-13-01", "yesterday", ""] {
        assert!(
            bulletins::daily(store, bad, now, Lang::Zh).await.is_err(),
            "{bad}"
        );
    }
    assert!(bulletins::weekly(store, "2025-W60", now, Lang::Zh)
        .await
        .is_err());
    assert!(bulletins::monthly(store, "2025-11", now, Lang::Zh)
        .await
        .is_err());

    // 8 October: two complaints from the same phone about the same thing (a repeat), one
    // emergency elsewhere; 9 October: a request naming a public place.
    let first = store
        .execute_one(intake(
            "2025-10-08 09:00",
            complaint("110105010", "11.04.01", "占道经营"),
        ))
        .await
        .unwrap();
    store
        .execute_one(intake(
            "2025-10-08 15:00",
            complaint("110105010", "11.04.01", "又占道了"),
        ))
        .await
        .unwrap();
    let mut emergency = complaint("110105011", "11.04.01", "燃气泄漏");
    emergency.urgency = Some(whistle_core::taxonomy::Urgency::Emergency);
    store
        .execute_one(intake("2025-10-08 20:00", emergency))
        .await
        .unwrap();
    let mut placed = complaint("110105010", "11.04.01", "噪声");
    placed.location.address = Some("朝外大街 某小区".into());
    store
        .execute_one(intake("2025-10-09 08:00", placed))
        .await
        .unwrap();
    let rows = store
        .intake_volumes(true, "2025-10-08", "2025-10-09")
        .await
        .unwrap();
    let counts: Vec<(&str, &str, i64)> = rows
        .iter()
        .map(|r| (r.territory.as_str(), r.category.as_str(), r.count))
        .collect();
    assert_eq!(
        counts,
        vec![("110105010", "11.04.01", 2), ("110105011", "11.04.01", 1)]
    );
    let months = store
        .intake_volumes(false, "2025-10", "2025-11")
        .await
        .unwrap();
    assert_eq!(months.iter().map(|r| r.count).sum::<i64>(), 4);

    // The first order dispatched (a hard case: handled by the next evening), then noticed
    // overdue for its response and, the same day, for its handling: one overdue order.
    let dispatched = store
        .execute_one(command(
            center(),
            "2025-10-08 09:10",
            &first,
            Command::Dispatch {
                unit: None,
                co_handlers: Vec::new(),
                handle_by: Some(at("2025-10-09 20:00")),
            },
        ))
        .await
        .unwrap();
    let order = dispatched.order.clone().unwrap();
    let due_at = order.respond_by.unwrap();
    let handle_by = order.handle_by.unwrap();
    let lead = order.lead().unwrap().to_string();
    let late = (due_at.max(handle_by) + chrono::Duration::minutes(5))
        .with_timezone(&whistle_core::time::beijing())
        .format("%Y-%m-%d %H:%M")
        .to_string();
    store
        .execute_one(command(
            center(),
            &late,
            &dispatched,
            Command::Supervise {
                action: whistle_core::order::Supervision::Overdue {
                    deadline: whistle_core::order::DeadlineKind::Respond,
                    due_at,
                },
                note: String::new(),
            },
        ))
        .await
        .unwrap();
    store
        .execute_one(command(
            center(),
            &late,
            &dispatched,
            Command::Supervise {
                action: whistle_core::order::Supervision::Overdue {
                    deadline: whistle_core::order::DeadlineKind::Handle,
                    due_at: handle_by,
                },
                note: String::new(),
            },
        ))
        .await
        .unwrap();
    let late_day = bulletins::parse_date(&late[..10]).unwrap();
    let notices = store
        .overdue_notices(
            bulletins::midnight(late_day),
            bulletins::midnight(late_day.succ_opt().unwrap()),
        )
        .await
        .unwrap();
    assert_eq!(
        notices,
        vec![whistle_store::OverdueRow {
            unit: Some(lead.clone()),
            orders: 1,
            response_missed: 1,
            handling_missed: 1,
        }]
    );
    let that_day = bulletins::daily(store, &late[..10], now, Lang::Zh)
        .await
        .unwrap();
    assert!(
        that_day
            .summary
            .iter()
            .any(|s| s.contains("当日新增超期工单1件（超响应时限1件、超办理时限1件）")),
        "{:?}",
        that_day.summary
    );

    let day = bulletins::daily(store, "2025-10-08", now, Lang::Zh)
        .await
        .unwrap();
    assert!(!day.empty);
    assert!(
        day.summary[0].contains("共受理诉求3件"),
        "{:?}",
        day.summary
    );
    // October has data on a few days only: a partial month, compared on daily averages, never
    // published as a plain change ("环比增加N件（—）").
    let month = bulletins::monthly(store, "2025-10", now, Lang::Zh)
        .await
        .unwrap();
    assert!(
        month.summary[0].contains("部分期间") && month.summary[0].contains("按日均比较"),
        "{:?}",
        month.summary
    );
    assert!(!month.summary[0].contains("（—）"), "{:?}", month.summary);
    let table = |doc: &whistle_reports::document::Document, name: &str| {
        doc.tables
            .iter()
            .find(|t| t.name == name)
            .unwrap_or_else(|| panic!("no table {name}"))
            .clone()
    };
    assert_eq!(table(&day, "emergencies").rows.len(), 1);
    assert_eq!(
        table(&day, "types").rows[0][2],
        whistle_reports::document::Cell::Int(3)
    );
    assert_eq!(table(&day, "top_streets").rows.len(), 2);
    let english = bulletins::daily(store, "2025-10-08", now, Lang::En)
        .await
        .unwrap();
    assert!(
        english.summary[0].contains("received 3 requests"),
        "{:?}",
        english.summary
    );
    // The same data give the same bytes.
    for format in [
        whistle_reports::document::Format::Csv,
        whistle_reports::document::Format::Xlsx,
    ] {
        let again = bulletins::daily(store, "2025-10-08", now, Lang::Zh)
            .await
            .unwrap();
        assert_eq!(day.render(format).unwrap(), again.render(format).unwrap());
    }

    // Repeats: the second complaint repeats the first (same phone, same category); the third
    // (same phone, same category) too; the placed one as well, by requester.
    let keys = store
        .order_keys(at("2025-10-01 00:00"), at("2025-10-10 00:00"))
        .await
        .unwrap();
    assert_eq!(keys.len(), 4);
    assert_eq!(keys[3].place.as_deref(), Some("朝外大街 某小区"));
    let findings = analysis::detect_repeats(
        &keys,
        at("2025-10-01 00:00"),
        &store.reference().policy.analysis,
    );
    assert_eq!(findings.repeats.len(), 3);
    assert!(findings.repeats.iter().all(|r| r.by == "requester"));
    let doc = analysis::repeats(store, "2025-10-08", "2025-10-09", now, Lang::Zh)
        .await
        .unwrap();
    let csv = doc.csv();
    assert!(
        !csv.contains("13800001234") && !csv.contains("张三"),
        "{csv}"
    );
    assert!(
        analysis::repeats(store, "2025-10-09", "2025-10-08", now, Lang::Zh)
            .await
            .is_err()
    );

    // Topics: checked against the reference data, stored, listed, removed.
    let topic = whistle_core::analysis::Topic {
        code: "2025-10-stalls".into(),
        title: "占道经营".into(),
        chosen: "2025-10".into(),
        categories: vec!["11.04".into()],
        lead: "11.dept.city-management".into(),
        target_ratio: 0.7,
    };
    let unknown_lead = whistle_core::analysis::Topic {
        lead: "11.dept.nowhere".into(),
        ..topic.clone()
    };
    assert!(analysis::put_topic(store, unknown_lead).await.is_err());
    let unknown_category = whistle_core::analysis::Topic {
        categories: vec!["99.99".into()],
        ..topic.clone()
    };
    assert!(analysis::put_topic(store, unknown_category).await.is_err());
    assert!(analysis::topics_list(store).await.unwrap().is_empty());
    analysis::put_topic(store, topic.clone()).await.unwrap();
    assert_eq!(analysis::topics_list(store).await.unwrap(), vec![topic]);
    let doc = analysis::topics(store, "2025-10", now, Lang::Zh)
        .await
        .unwrap();
    let tracking = table(&doc, "tracking");
    assert_eq!(tracking.rows.len(), 1);
    assert_eq!(tracking.rows[0][4], whistle_reports::document::Cell::Int(4));
    assert!(analysis::remove_topic(store, "2025-10-stalls")
        .await
        .unwrap());
    assert!(!analysis::remove_topic(store, "2025-10-stalls")
        .await
        .unwrap());

    // Every document's tables in JSON: rows are objects under stable, unique ASCII keys, the
    // same keys in Chinese and in English.
    for lang in [Lang::Zh, Lang::En] {
        let documents = [
            bulletins::daily(store, "2025-10-08", now, lang)
                .await
                .unwrap(),
            bulletins::weekly(store, "2025-W41", now, lang)
                .await
                .unwrap(),
            bulletins::monthly(store, "2025-10", now, lang)
                .await
                .unwrap(),
            analysis::hotspots(store, "2025-10-08", now, lang)
                .await
                .unwrap(),
            analysis::repeats(store, "2025-10-08", "2025-10-09", now, lang)
                .await
                .unwrap(),
            analysis::governance_streets(store, "2025-10", now, lang)
                .await
                .unwrap(),
            analysis::topics(store, "2025-10", now, lang).await.unwrap(),
            whistle_reports::evaluation::evaluation_document(
                &whistle_reports::evaluation::evaluation(store, "2025-10", now)
                    .await
                    .unwrap(),
                lang,
            ),
        ];
        for doc in documents {
            let json: serde_json::Value = serde_json::from_slice(
                &doc.render(whistle_reports::document::Format::Json).unwrap(),
            )
            .unwrap();
            for (table, shown) in doc.tables.iter().zip(json["tables"].as_array().unwrap()) {
                let keys: Vec<&str> = shown["columns"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| c["key"].as_str().unwrap())
                    .collect();
                assert_eq!(keys, table.keys, "{}", table.name);
                assert_eq!(keys.len(), table.columns.len(), "{}", table.name);
                let unique: std::collections::BTreeSet<&&str> = keys.iter().collect();
                assert_eq!(unique.len(), keys.len(), "{}: {keys:?}", table.name);
                assert!(
                    keys.iter().all(|k| !k.is_empty()
                        && k.chars()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')),
                    "{}: {keys:?}",
                    table.name
                );
                for (row, object) in table.rows.iter().zip(shown["rows"].as_array().unwrap()) {
                    let object = object.as_object().unwrap();
                    assert_eq!(object.len(), row.len(), "{}", table.name);
                    for (key, cell) in keys.iter().zip(row) {
                        assert_eq!(object[*key], serde_json::to_value(cell).unwrap());
                    }
                }
            }
        }
    }
    assert_eq!(
        serde_json::to_value(table(&day, "types")).unwrap()["rows"][0]["requests"],
        3
    );

    // The recount from the orders finds the intake volumes kept with the events.
    let report = store.rebuild_projections().await.unwrap();
    assert_eq!(report.counter_cells_differing, 0);
}
