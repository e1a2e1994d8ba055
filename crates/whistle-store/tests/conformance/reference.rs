//! Reference data: completeness, imports and catalogue versions, unit changes, calendar and policy, schema versions.

use crate::support::{self, *};
use whistle_core::order::{Command, EventPayload};
use whistle_core::org::{UnitChange, UnitKind};
use whistle_store::import::{parse, FileKind};
use whistle_store::{OrderRef, ReferenceImport};

conformance!(
    reference_data_is_complete,
    imports_are_all_or_nothing_and_catalogues_are_versioned,
    units_are_renamed_merged_and_retired_without_breaking_history,
    calendar_and_policy_are_data,
    schemas_of_other_versions_are_refused,
);

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

async fn imports_are_all_or_nothing_and_catalogues_are_versioned(db: TestDb) {
    let store = &db.store;
    let old = take(
        &**store,
        "2025-10-09 09:00",
        complaint("110105010", "11.04.01", "占道"),
    )
    .await;
    act(&**store, center(), "2025-10-09 10:00", &old, dispatch()).await;
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
    let new = take(
        &**store,
        "2025-10-09 12:00",
        complaint("110105010", "11.04.01", "占道"),
    )
    .await;
    act(&**store, center(), "2025-10-09 12:30", &new, dispatch()).await;
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
    let order = take(
        &**store,
        "2025-10-09 09:00",
        complaint("110105011", "11.04.01", "占道"),
    )
    .await;
    act(&**store, center(), "2025-10-09 10:00", &order, dispatch()).await;
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
    let other = take(
        &**store,
        "2025-10-09 13:00",
        complaint("110105010", "11.04.01", "占道"),
    )
    .await;
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
    let order = take(
        &**store,
        "2025-10-09 09:00",
        complaint("110105010", "11.04.01", "占道"),
    )
    .await;
    let dispatched = act(&**store, center(), "2025-10-09 10:00", &order, dispatch()).await;
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
