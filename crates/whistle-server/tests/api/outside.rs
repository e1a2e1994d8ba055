//! One time zone on the outside: every instant the JSON API, the citizen's tracking, the live
//! feed, the reports and Open311 emit is RFC 3339 in Beijing time (`+08:00`), none in UTC.

use crate::support::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// Every string in `value` that is an RFC 3339 instant, with where it was found.
fn instants(value: &Value, path: &str, found: &mut Vec<(String, String)>) {
    match value {
        Value::String(text) if chrono::DateTime::parse_from_rfc3339(text).is_ok() => {
            found.push((path.to_string(), text.clone()));
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                instants(item, &format!("{path}[{i}]"), found);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                instants(item, &format!("{path}.{key}"), found);
            }
        }
        _ => {}
    }
}

fn all_in_beijing(label: &str, value: &Value) -> usize {
    let mut found = Vec::new();
    instants(value, label, &mut found);
    for (path, text) in &found {
        assert!(text.ends_with("+08:00"), "{path} = {text}");
    }
    found.len()
}

#[tokio::test]
async fn every_instant_outside_is_in_beijing_time() {
    let app = spawn_app().await;
    app.add_grid_and_lane().await;
    let mut seen = 0;
    let no = app.order("110105010", "11.04.01").await;
    let mut feed = app
        .client
        .get(format!("{}/api/v1/whistles/feed?after=0", app.base))
        .bearer_auth(&app.tokens["admin"])
        .send()
        .await
        .unwrap();
    for (command, fields) in [
        ("accept", json!({})),
        ("contact", json!({"note": "已联系"})),
        (
            "request_extension",
            json!({"extra": "5wd", "reason": "需联合执法"}),
        ),
    ] {
        let (status, body) = app.run("street", &no, command, fields).await;
        assert_eq!(status, StatusCode::OK, "{command}: {body}");
        seen += all_in_beijing(command, &body);
    }
    let (status, whistle) = app
        .post(
            "street",
            "/api/v1/whistles",
            json!({"kind": "emergency", "lead": "110105.dept.urban-management",
                   "assisting": ["110105.dept.housing"], "place": "某路口", "needed": "联合处置",
                   "list_item": "pipe-burst"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{whistle}");
    seen += all_in_beijing("whistle", &whistle);
    let wno = whistle["no"].as_str().unwrap();
    let (status, case) = app
        .post(
            "grid_worker",
            "/api/v1/grid-cases",
            json!({"role": "grid_worker", "found_at": "2025-10-09T08:50:00+08:00",
                   "category": "11.04.01", "description": "路口有商贩占道经营", "place": "惠新东街路口"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{case}");
    assert_eq!(
        case["report"]["found_at"], "2025-10-09T08:50:00+08:00",
        "{case}"
    );
    let gno = case["no"].as_str().unwrap();
    for path in [
        format!("/api/v1/orders/{no}"),
        format!("/api/v1/orders/{no}/history"),
        "/api/v1/orders?limit=5".to_string(),
        "/api/v1/due?at=2025-10-20T09:00:00%2B08:00".to_string(),
        format!("/api/v1/whistles/{wno}"),
        format!("/api/v1/whistles/{wno}/history"),
        "/api/v1/whistles".to_string(),
        format!("/api/v1/grid-cases/{gno}"),
        format!("/api/v1/grid-cases/{gno}/history"),
        "/api/v1/deadline?from=2025-10-09T09:00:00%2B08:00&working_days=3".to_string(),
        "/api/v1/reports/daily?date=2025-10-09".to_string(),
        "/open311/v2/requests.json".to_string(),
    ] {
        let (status, body) = app.get("admin", &path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        seen += all_in_beijing(&path, &body);
    }
    let (status, tracked) = app
        .get("", &format!("/api/v1/track/{no}?phone_last4=1234"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(all_in_beijing("track", &tracked) >= 2, "{tracked}");
    // The live feed's events, the event and the whistle inside them too.
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    while !text.contains("\n\n") {
        match tokio::time::timeout_at(deadline, feed.chunk()).await {
            Ok(Ok(Some(chunk))) => text.push_str(&String::from_utf8_lossy(&chunk)),
            _ => break,
        }
    }
    let data = text
        .lines()
        .find_map(|line| line.strip_prefix("data:"))
        .expect("a feed event");
    let event: Value = serde_json::from_str(data.trim()).unwrap();
    assert!(all_in_beijing("feed", &event) >= 3, "{event}");
    // The login answer's expiry.
    let hash = whistle_server::auth::hash_password("correct horse battery").unwrap();
    let account = whistle_store::Account {
        login: "xiaowang".into(),
        display_name: "小王".into(),
        role: "operator".into(),
        unit: whistle_core::ids::UnitCode::parse("11.center").unwrap(),
        active: true,
        other_roles: Vec::new(),
    };
    use whistle_server::Clock;
    app.state
        .store
        .put_user(&account, &hash, app.clock.now())
        .await
        .unwrap();
    let (status, login) = app
        .post(
            "",
            "/api/v1/login",
            json!({"login": "xiaowang", "password": "correct horse battery"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{login}");
    seen += all_in_beijing("login", &login);
    assert!(login["expires_at"].as_str().unwrap().ends_with("+08:00"));
    assert!(seen >= 40, "only {seen} instants seen");
    // Input in any offset is the same instant: the deadline preview from UTC and from Beijing.
    let (_, utc) = app
        .get(
            "admin",
            "/api/v1/deadline?from=2025-10-09T01:00:00Z&working_days=3",
        )
        .await;
    let (_, beijing) = app
        .get(
            "admin",
            "/api/v1/deadline?from=2025-10-09T09:00:00%2B08:00&working_days=3",
        )
        .await;
    assert_eq!(utc, beijing);
}
