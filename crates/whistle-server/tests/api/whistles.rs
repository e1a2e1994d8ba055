//! A whistle (吹哨报到) over HTTP, from raise to ratings.

use crate::support::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// A full emergency whistle with three departments: one on time, one late, one absent (marked by
/// the worker, escalated, replaced by the district) — through tasks, the close and the ratings.
#[tokio::test]
async fn an_emergency_whistle_over_http() {
    let app = spawn_app().await;
    let raise = json!({
        "kind": "emergency", "lead": "110105.dept.urban-management",
        "assisting": ["110105.dept.housing", "11.ent.power"],
        "place": "惠新东街12号院", "needed": "地下管道破裂，需抢修并疏导交通", "list_item": "pipe-burst",
    });
    assert_eq!(
        app.post("chengguan", "/api/v1/whistles", raise.clone())
            .await
            .1["error"],
        "not_whistle_street"
    );
    assert_eq!(
        app.post("leader", "/api/v1/whistles", raise.clone())
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    let mut bogus = raise.clone();
    bogus["colour"] = json!("red");
    assert_eq!(
        app.post("street", "/api/v1/whistles", bogus).await.1["error"],
        "invalid_field"
    );
    let (status, whistle) = app.post("street", "/api/v1/whistles", raise).await;
    assert_eq!(status, StatusCode::CREATED, "{whistle}");
    let no = whistle["no"].as_str().unwrap().to_string();
    let run = |who: &'static str, command: &'static str, fields: Value| {
        let app = &app;
        let no = no.clone();
        async move {
            let (_, current) = app.get("admin", &format!("/api/v1/whistles/{no}")).await;
            let mut body = fields;
            body["version"] = current["version"].clone();
            app.post(who, &format!("/api/v1/whistles/{no}/{command}"), body)
                .await
        }
    };
    app.clock.advance(20);
    assert_eq!(
        run("chengguan", "report_in", json!({"people": 6})).await.0,
        StatusCode::OK
    );
    assert_eq!(
        run("chengguan", "report_in", json!({"people": 6})).await.1["error"],
        "already_reported_in"
    );
    assert_eq!(
        run("other_street", "report_in", json!({"people": 1}))
            .await
            .0,
        StatusCode::NOT_FOUND,
        "not summoned: not visible"
    );
    app.clock.advance(20);
    assert_eq!(
        run("housing", "report_in", json!({"people": 2})).await.0,
        StatusCode::OK
    );
    // The worker marks the power company absent and the whistle escalates.
    let report = whistle_server::worker::tick(&app.state).await.unwrap();
    assert_eq!(report.absences, 1);
    assert_eq!(
        whistle_server::worker::tick(&app.state)
            .await
            .unwrap()
            .absences,
        0,
        "once"
    );
    let replace = json!({"unit": "11.ent.power", "decision": {"decision": "replace", "with": "11.dept.transport"}});
    assert_eq!(
        run("street", "resolve_absence", replace.clone()).await.1["error"],
        "not_whistle_district"
    );
    assert_eq!(
        run("district", "resolve_absence", replace).await.0,
        StatusCode::OK
    );
    app.clock.advance(10);
    assert_eq!(
        run("transport", "report_in", json!({"people": 3})).await.0,
        StatusCode::OK
    );
    assert_eq!(
        run(
            "street",
            "assign_task",
            json!({"unit": "110105.dept.urban-management", "text": "封闭道路、抢修管线"})
        )
        .await
        .0,
        StatusCode::OK
    );
    let done =
        json!({"task": 1, "note": "已完成抢修", "photos": ["https://photos.example.cn/a1.jpg"]});
    assert_eq!(
        run("housing", "complete_task", done.clone()).await.1["error"],
        "not_lead_unit"
    );
    app.clock.advance(60);
    assert_eq!(
        run("chengguan", "complete_task", done).await.0,
        StatusCode::OK
    );
    let rate = |unit: &str, score: u8| json!({"unit": unit, "scores": {"response": score, "cooperation": score, "result": score}, "comment": "评价"});
    assert_eq!(
        run("street", "rate", rate("110105.dept.urban-management", 5))
            .await
            .1["error"],
        "illegal_transition"
    );
    assert_eq!(
        run(
            "street",
            "close",
            json!({"result": "solved", "reasons": ""})
        )
        .await
        .0,
        StatusCode::OK
    );
    for (unit, score) in [
        ("110105.dept.urban-management", 5),
        ("110105.dept.housing", 3),
        ("11.ent.power", 1),
        ("11.dept.transport", 4),
    ] {
        assert_eq!(
            run("street", "rate", rate(unit, score)).await.0,
            StatusCode::OK,
            "{unit}"
        );
    }
    assert_eq!(
        run("housing", "object", json!({"reason": "我单位已按时派员"}))
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        run(
            "district",
            "decide_objection",
            json!({"unit": "110105.dept.housing", "upheld": false, "note": "迟到属实"})
        )
        .await
        .0,
        StatusCode::OK
    );
    // What everyone sees, and the attributed history.
    let (_, whistle) = app.get("leader", &format!("/api/v1/whistles/{no}")).await;
    let summons = whistle["summons"].as_array().unwrap();
    let on_time: Vec<(String, Value)> = summons
        .iter()
        .map(|s| {
            (
                s["unit"].as_str().unwrap().to_string(),
                s["report"]["on_time"].clone(),
            )
        })
        .collect();
    assert_eq!(
        on_time,
        vec![
            ("110105.dept.urban-management".into(), json!(true)),
            ("110105.dept.housing".into(), json!(false)),
            ("11.ent.power".into(), Value::Null),
            ("11.dept.transport".into(), json!(true)),
        ]
    );
    assert!(whistle["escalated_at"].is_string());
    assert_eq!(whistle["ratings"].as_array().unwrap().len(), 4);
    let (_, history) = app
        .get("street", &format!("/api/v1/whistles/{no}/history"))
        .await;
    assert_eq!(history["events"].as_array().unwrap().len(), 16);
    for (who, count) in [
        ("street", 1),
        ("chengguan", 1),
        ("transport", 1),
        ("leader", 1),
        ("other_street", 0),
        ("other_leader", 0),
    ] {
        assert_eq!(
            app.get(who, "/api/v1/whistles")
                .await
                .1
                .as_array()
                .unwrap()
                .len(),
            count,
            "{who}"
        );
    }
    // The month's double-assessment figures, by hand: raised 09:00; 城管 reported 09:20 (on time,
    // 20 min), 住建 09:40 (late, 40 min), power absent, transport summoned 09:40 and reported
    // 09:50 (on time, 10 min). Ratings 5/3/1/4, final once the windows have passed; 住建's
    // objection was rejected (lost).
    app.clock.advance(6 * 24 * 60);
    let (status, figures) = app
        .get("leader", "/api/v1/reports/double-assessment?month=2025-10")
        .await;
    assert_eq!(status, StatusCode::OK, "{figures}");
    assert_eq!(figures["whistles"], 1);
    let department = |unit: &str| {
        figures["departments"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["unit"] == unit)
            .unwrap()
            .clone()
    };
    let expected = [
        ("110105.dept.urban-management", 1, 0, 0, Some(20.0), 5.0, 0),
        ("110105.dept.housing", 0, 1, 0, Some(40.0), 3.0, 1),
        ("11.ent.power", 0, 0, 1, None, 1.0, 0),
        ("11.dept.transport", 1, 0, 0, Some(10.0), 4.0, 0),
    ];
    for (unit, on_time, late, absent, minutes, rating, lost) in expected {
        let d = department(unit);
        assert_eq!(
            (
                d["summoned"].as_u64(),
                d["on_time"].as_u64(),
                d["late"].as_u64(),
                d["absent"].as_u64()
            ),
            (Some(1), Some(on_time), Some(late), Some(absent)),
            "{unit}"
        );
        assert_eq!(d["mean_report_minutes"].as_f64(), minutes, "{unit}");
        assert_eq!(
            (d["ratings"].as_u64(), d["mean_rating"].as_f64()),
            (Some(1), Some(rating)),
            "{unit}"
        );
        assert_eq!(
            (d["objections_won"].as_u64(), d["objections_lost"].as_u64()),
            (Some(0), Some(lost)),
            "{unit}"
        );
    }
    let street = &figures["streets"][0];
    assert_eq!(
        (
            street["street"].as_str(),
            street["raised"].as_u64(),
            street["solved"].as_u64(),
            street["escalated"].as_u64()
        ),
        (Some("110105010"), Some(1), Some(1), Some(1))
    );
    assert_eq!(street["by_kind"]["emergency"], 1);
    let csv = app
        .client
        .get(format!(
            "{}/api/v1/reports/double-assessment?month=2025-10&format=csv",
            app.base
        ))
        .bearer_auth(&app.tokens["leader"])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        csv.contains("110105.dept.housing,1,0,1,0,0,40.00,1,3.00,0,1\n"),
        "{csv}"
    );
    // Every report renders in every format: the double assessment as text and XLSX too.
    let text = app
        .client
        .get(format!(
            "{}/api/v1/reports/double-assessment?month=2025-10&format=text",
            app.base
        ))
        .bearer_auth(&app.tokens["leader"])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains("吹哨报到双考核") && text.contains("110105.dept.housing"),
        "{text}"
    );
    let xlsx = app
        .client
        .get(format!(
            "{}/api/v1/reports/double-assessment?month=2025-10&format=xlsx",
            app.base
        ))
        .bearer_auth(&app.tokens["leader"])
        .send()
        .await
        .unwrap();
    assert_eq!(
        xlsx.headers()["content-disposition"],
        "attachment; filename=\"double-assessment-2025-10.xlsx\""
    );
    assert!(xlsx.bytes().await.unwrap().starts_with(b"PK"));
    let (_, other) = app
        .get(
            "other_leader",
            "/api/v1/reports/double-assessment?month=2025-10",
        )
        .await;
    assert_eq!(
        other["whistles"], 0,
        "another district's figures exclude this whistle"
    );
    assert_eq!(
        app.get("leader", "/api/v1/reports/double-assessment?month=2025-13")
            .await
            .1["error"],
        "invalid_value"
    );
}
