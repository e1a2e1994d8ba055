//! The grid loop (网格化) over HTTP.

use crate::support::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// Grid discovery over HTTP: a grid worker reports, the street dispatches, the department
/// handles, the handler may not verify, a lane steward does.
#[tokio::test]
async fn the_grid_loop_over_http() {
    let app = spawn_app().await;
    app.add_grid_and_lane().await;
    let report = json!({
        "role": "grid_worker", "found_at": "2025-10-09T08:50:00+08:00", "category": "11.04.01",
        "description": "路口有商贩占道经营", "place": "惠新东街路口", "photos": ["https://photos.example.cn/g1.jpg"],
    });
    let mut extra = report.clone();
    extra["colour"] = json!("red");
    assert_eq!(
        app.post("grid_worker", "/api/v1/grid-cases", extra).await.1["error"],
        "invalid_field"
    );
    assert_eq!(
        app.post("leader", "/api/v1/grid-cases", report.clone())
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    let (status, case) = app.post("grid_worker", "/api/v1/grid-cases", report).await;
    assert_eq!(status, StatusCode::CREATED, "{case}");
    let no = case["no"].as_str().unwrap().to_string();
    assert_eq!(
        app.get("grid_worker", "/api/v1/grid-cases")
            .await
            .1
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        app.get("other_street", &format!("/api/v1/grid-cases/{no}"))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    let step = |who: &'static str, command: &'static str, mut body: Value, version: u64| {
        let app = &app;
        let no = no.clone();
        async move {
            body["version"] = json!(version);
            app.post(who, &format!("/api/v1/grid-cases/{no}/{command}"), body)
                .await
        }
    };
    assert_eq!(
        step(
            "grid_worker",
            "dispatch",
            json!({"to": "110105.dept.urban-management"}),
            1
        )
        .await
        .1["error"],
        "forbidden",
        "a grid worker files and verifies; the street dispatches"
    );
    app.clock.advance(10);
    assert_eq!(
        step(
            "street",
            "dispatch",
            json!({"to": "110105.dept.urban-management"}),
            1
        )
        .await
        .0,
        StatusCode::OK
    );
    app.clock.advance(120);
    let handled =
        json!({"handled_at": "2025-10-09T11:00:00+08:00", "note": "已劝离", "photos": []});
    assert_eq!(
        step("chengguan", "handle", handled, 2).await.0,
        StatusCode::OK
    );
    app.clock.advance(30);
    assert_eq!(
        step(
            "chengguan",
            "verify",
            json!({"passed": true, "note": "自查"}),
            3
        )
        .await
        .1["error"],
        "invalid_value",
        "not by the handler"
    );
    let (status, done) = step(
        "steward",
        "verify",
        json!({"passed": true, "note": "现场核查通过"}),
        3,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["stage"], "verified");
    for field in [
        "filed_at",
        "dispatched_at",
        "handled_at",
        "fed_back_at",
        "verified_at",
    ] {
        assert!(done[field].is_string(), "{field} recorded");
    }
    let (_, history) = app
        .get("street", &format!("/api/v1/grid-cases/{no}/history"))
        .await;
    assert_eq!(history["events"].as_array().unwrap().len(), 4);
}
