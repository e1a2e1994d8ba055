//! Grid cases (网格化): the loop closed in the store.

use crate::support::*;
use whistle_core::org::{UnitChange, UnitKind};
use whistle_store::Scope;

conformance!(grid_cases_close_their_loop_in_the_store,);

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
