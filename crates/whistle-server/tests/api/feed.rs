//! Named roles, the whistle list and the live feed of whistle events.

use crate::support::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// Reads a server-sent-events stream until `wanted` appears in it or `seconds` pass; returns
/// what was read.
async fn read_feed(response: &mut reqwest::Response, wanted: &str, seconds: u64) -> String {
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(seconds);
    while !text.contains(wanted) {
        match tokio::time::timeout_at(deadline, response.chunk()).await {
            Ok(Ok(Some(chunk))) => text.push_str(&String::from_utf8_lossy(&chunk)),
            _ => break,
        }
    }
    text
}

async fn open_feed(app: &TestApp, who: &str, last_event_id: Option<&str>) -> reqwest::Response {
    let mut request = app
        .client
        .get(format!("{}/api/v1/whistles/feed", app.base))
        .bearer_auth(&app.tokens[who]);
    if let Some(id) = last_event_id {
        request = request.header("Last-Event-ID", id);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "text/event-stream"
    );
    response
}

/// The named roles each take their own steps; the whistle list supplies default units; the
/// summoned department sees the whistle at once on its live feed, another district does not;
/// the outcome lands on the linked order.
#[tokio::test]
async fn named_roles_the_whistle_list_and_the_live_feed() {
    let app = spawn_app().await;
    // The list as the street sees it, with its defaults resolved in 朝阳区.
    let (status, list) = app.get("official", "/api/v1/whistle-list").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["street"], "110105010");
    let items = list["items"].as_array().unwrap();
    assert!(items.len() >= 20);
    let rental = items.iter().find(|i| i["code"] == "group-rental").unwrap();
    assert_eq!(rental["kind"], "enforcement");
    assert_eq!(rental["lead"], "110105.dept.housing");
    assert_eq!(
        rental["assisting"],
        json!(["110105.dept.public-security", "110105.dept.fire"])
    );
    assert_eq!(
        app.get("leader", "/api/v1/whistle-list").await.1["error"],
        "invalid_query",
        "a district user names the street"
    );
    assert_eq!(
        app.get("leader", "/api/v1/whistle-list?street=110105010")
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        app.get("leader", "/api/v1/whistle-list?street=110105")
            .await
            .1["error"],
        "not_whistle_street"
    );
    // Feeds open before the whistle: the summoned department's and another district's.
    let mut housing_feed = open_feed(&app, "liaison", None).await;
    let mut far_feed = open_feed(&app, "other_leader", None).await;
    let no = app.order("110105010", "11.04.01").await;
    let raise = json!({"kind": "enforcement", "list_item": "group-rental", "order": no,
                       "place": "惠新东街5号楼地下室", "needed": "群租房联合整治"});
    for who in ["liaison", "coordinator", "grid_worker", "leader"] {
        assert_eq!(
            app.post(who, "/api/v1/whistles", raise.clone()).await.0,
            StatusCode::FORBIDDEN,
            "{who} may not whistle"
        );
    }
    let (status, whistle) = app.post("official", "/api/v1/whistles", raise).await;
    assert_eq!(status, StatusCode::CREATED, "{whistle}");
    let wno = whistle["no"].as_str().unwrap().to_string();
    assert_eq!(whistle["list_item"], "group-rental");
    assert_eq!(whistle["off_list_reason"], Value::Null);
    let units: Vec<&str> = whistle["summons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["unit"].as_str().unwrap())
        .collect();
    assert_eq!(
        units,
        [
            "110105.dept.housing",
            "110105.dept.public-security",
            "110105.dept.fire"
        ]
    );
    let seen = read_feed(&mut housing_feed, &wno, 5).await;
    assert!(seen.contains("event: whistle"), "{seen}");
    assert!(seen.contains("\"event\":\"raised\""), "{seen}");
    let first_id = seen
        .lines()
        .find_map(|l| l.strip_prefix("id: "))
        .unwrap()
        .trim()
        .to_string();
    // Off the list: a written reason and a named lead.
    let off = json!({"kind": "request", "place": "某小区", "needed": "协调停车", "lead": "110105.dept.traffic"});
    assert_eq!(
        app.post("official", "/api/v1/whistles", off.clone())
            .await
            .1["error"],
        "text_empty"
    );
    let mut reasoned = off.clone();
    reasoned["off_list_reason"] = json!("清单未列的新情况");
    assert_eq!(
        app.post("official", "/api/v1/whistles", reasoned).await.0,
        StatusCode::CREATED
    );
    let run = |who: &'static str, command: &'static str, fields: Value| {
        let app = &app;
        let wno = wno.clone();
        async move {
            let (_, current) = app.get("admin", &format!("/api/v1/whistles/{wno}")).await;
            let mut body = fields;
            body["version"] = current["version"].clone();
            app.post(who, &format!("/api/v1/whistles/{wno}/{command}"), body)
                .await
        }
    };
    app.clock.advance(30);
    assert_eq!(
        run("grid_worker", "report_in", json!({"people": 1}))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        run("liaison", "report_in", json!({"people": 4})).await.0,
        StatusCode::OK
    );
    let task = json!({"unit": "110105.dept.housing", "text": "清查地下室群租"});
    assert_eq!(
        run("liaison", "assign_task", task.clone()).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(run("official", "assign_task", task).await.0, StatusCode::OK);
    assert_eq!(
        run(
            "liaison",
            "complete_task",
            json!({"task": 1, "note": "已清退", "photos": []})
        )
        .await
        .0,
        StatusCode::OK
    );
    let close = json!({"result": "solved", "reasons": "群租户已清退"});
    assert_eq!(
        run("coordinator", "close", close.clone()).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(run("official", "close", close).await.0, StatusCode::OK);
    let rating = json!({"unit": "110105.dept.housing", "scores": {"response": 4, "cooperation": 4, "result": 5}, "comment": "配合积极"});
    assert_eq!(run("official", "rate", rating).await.0, StatusCode::OK);
    assert_eq!(
        run("liaison", "object", json!({"reason": "已按时完成"}))
            .await
            .0,
        StatusCode::OK
    );
    let decision = json!({"unit": "110105.dept.housing", "upheld": false, "note": "评价属实"});
    assert_eq!(
        run("official", "decide_objection", decision.clone())
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        run("coordinator", "decide_objection", decision).await.0,
        StatusCode::OK
    );
    // The liaison's feed carried every step; the other district's carried nothing.
    let seen = read_feed(&mut housing_feed, "objection_decided", 5).await;
    for event in [
        "reported_in",
        "task_completed",
        "closed",
        "rated",
        "objected",
    ] {
        assert!(
            seen.contains(&format!("\"event\":\"{event}\"")),
            "{event}: {seen}"
        );
    }
    let far = read_feed(&mut far_feed, "event: whistle", 2).await;
    assert!(!far.contains("event: whistle"), "{far}");
    // A reconnect with Last-Event-ID resumes after that event.
    let mut resumed = open_feed(&app, "liaison", Some(&first_id)).await;
    let replay = read_feed(&mut resumed, "reported_in", 5).await;
    assert!(replay.contains("reported_in"), "{replay}");
    assert!(!replay.contains("\"event\":\"raised\""), "{replay}");
    // The outcome is on the order, as a handling record in its history.
    let (_, order) = app.get("official", &format!("/api/v1/orders/{no}")).await;
    assert_eq!(order["whistle_outcomes"][0]["whistle"], json!(wno));
    assert_eq!(order["whistle_outcomes"][0]["result"], "solved");
    let (_, history) = app
        .get("official", &format!("/api/v1/orders/{no}/history"))
        .await;
    let events = history["events"].as_array().unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.to_string().contains("whistle_outcome_recorded")),
        "{history}"
    );
    // Nobody may send the outcome record by hand, not even an administrator.
    let (status, body) = app
        .run(
            "admin",
            &no,
            "record_whistle_outcome",
            json!({"whistle": wno, "result": "solved", "reasons": ""}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["error"], "unknown_command");
}
