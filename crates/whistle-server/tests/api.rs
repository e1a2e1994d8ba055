//! Black-box HTTP tests: each test starts the real server on port 0 over a fresh database, with
//! a clock the test controls, and speaks HTTP to it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use support::*;
use whistle_core::ids::UnitCode;
use whistle_core::time::parse_beijing;
use whistle_server::{Clock, ServerSettings};
use whistle_store::Migrate;

#[tokio::test]
async fn health_readiness_and_metrics() {
    let app = spawn_app().await;
    assert_eq!(app.get("", "/healthz").await.0, StatusCode::OK);
    let response = app
        .client
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .unwrap();
    assert!(
        response.headers().get("x-request-id").is_some(),
        "every response carries its request id"
    );
    assert_eq!(app.get("", "/readyz").await.0, StatusCode::OK);
    app.order("110105010", "11.04.01").await;
    let (status, metrics) = app.get("", "/metrics").await;
    assert_eq!(status, StatusCode::OK);
    let text = metrics.as_str().unwrap();
    assert!(text.contains("whistle_http_requests_total{method=\"POST\",route=\"/api/v1/orders\",status=\"201\"} 1"), "{text}");
    assert!(
        text.contains("whistle_orders{stage=\"dispatched\"} 1"),
        "{text}"
    );
    assert!(text.contains("whistle_orders_overdue 0"));
    assert!(!text.contains("13800001234") && !text.contains("张三"));
}

#[tokio::test]
async fn a_whole_life_over_http_with_each_role_doing_its_part() {
    let app = spawn_app().await;
    let no = app.order("110105010", "11.04.01").await;
    let (_, order) = app.get("street", &format!("/api/v1/orders/{no}")).await;
    assert_eq!(order["stage"]["stage"], "dispatched");
    assert_eq!(order["stage"]["lead"], "110105010");
    assert_eq!(order["requester"]["phone"], "*******1234");
    for (who, command, fields) in [
        ("street", "accept", json!({})),
        ("street", "contact", json!({"note": "已电话联系"})),
        (
            "street",
            "reply",
            json!({"outcome": "resolved", "actions": "已清理占道摊点"}),
        ),
        (
            "visit",
            "return_visit",
            json!({"result": {"visit": "valid", "contacted": true, "resolved": true, "satisfaction": "satisfied"}}),
        ),
        ("visit", "close", json!({"note": ""})),
    ] {
        app.clock.advance(60);
        let (status, body) = app.run(who, &no, command, fields).await;
        assert_eq!(status, StatusCode::OK, "{command}: {body}");
    }
    let (status, history) = app
        .get("leader", &format!("/api/v1/orders/{no}/history"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let events: Vec<&str> = history["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["payload"]["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        events,
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
    assert_eq!(history["events"][2]["actor"]["unit"], "110105010");
    let (status, body) = app.run("visit", &no, "close", json!({"note": ""})).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::CONFLICT, Some("illegal_transition"))
    );
    // The exam paper of October 2025 from the counters: one valid visit, contacted in time,
    // resolved, satisfied — 100 % on every rate, first among streets and districts.
    let (status, report) = app
        .get("leader", "/api/v1/reports/evaluation?period=2025-10")
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let units = report["units"].as_array().unwrap();
    let street = units.iter().find(|u| u["unit"] == "110105010").unwrap();
    assert_eq!(street["group"], "streets");
    assert_eq!(street["rank"], 1);
    assert_eq!(street["counts"]["visits"], 1);
    assert_eq!(street["counts"]["dispatched"], 1);
    assert_eq!(street["rates"]["composite"], 1.0);
    let district = units.iter().find(|u| u["unit"] == "110105").unwrap();
    assert_eq!(district["group"], "districts");
    let (status, one) = app
        .get(
            "leader",
            "/api/v1/reports/evaluation?period=2025-10&unit=110105010",
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{one}");
    assert_eq!(one["units"].as_array().unwrap().len(), 1);
    assert_eq!(one["units"][0]["rank"], 1);
    let (status, unknown) = app
        .get(
            "leader",
            "/api/v1/reports/evaluation?period=2025-10&unit=110105999",
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{unknown}");
    assert_eq!(unknown["error"], "unknown_unit");
    assert_eq!(
        app.get("leader", "/api/v1/reports/evaluation?period=2099-01")
            .await
            .1["error"],
        "invalid_value"
    );
    assert_eq!(
        app.get(
            "leader",
            "/api/v1/reports/evaluation?period=2025-10&format=pdf"
        )
        .await
        .1["error"],
        "invalid_value"
    );
}

/// Each role does exactly what it should: allowed, refused (403), or — outside its jurisdiction —
/// told the order does not exist (404).
#[tokio::test]
async fn the_role_and_jurisdiction_matrix() {
    let app = spawn_app().await;
    let no = app.order("110105010", "11.04.01").await;
    let read = format!("/api/v1/orders/{no}");
    let expected_reads = [
        ("operator", 200),
        ("dispatcher", 200),
        ("visit", 200),
        ("supervisor", 200),
        ("admin", 200),
        ("street", 200),
        ("other_street", 404),
        ("chengguan", 200),
        ("leader", 200),
        ("other_leader", 404),
        ("housing_line", 404),
        ("open311", 403),
        ("nobody", 401),
    ];
    for (who, status) in expected_reads {
        assert_eq!(
            app.get(who, &read).await.0.as_u16(),
            status,
            "read by {who}"
        );
        assert_eq!(
            app.get(who, &format!("{read}/history")).await.0.as_u16(),
            status,
            "history by {who}"
        );
    }
    // Accepting: only the lead unit's handler; others are refused or do not see the order.
    let accept = [
        ("operator", 403),
        ("dispatcher", 403),
        ("visit", 403),
        ("supervisor", 403),
        ("other_street", 404),
        ("chengguan", 403),
        ("leader", 403),
        ("other_leader", 404),
        ("open311", 403),
        ("nobody", 401),
        ("street", 200),
    ];
    for (who, status) in accept {
        let (got, body) = app.run(who, &no, "accept", json!({})).await;
        assert_eq!(got.as_u16(), status, "accept by {who}: {body}");
    }
    // Supervision and rulings: the supervisor (and the admin), not the handler.
    let urge = json!({"action": {"action": "urge"}, "note": "请加快办理"});
    assert_eq!(
        app.run("street", &no, "supervise", urge.clone()).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.run("supervisor", &no, "supervise", urge).await.0,
        StatusCode::OK
    );
    // Intake: the operator (and admin) only.
    let create = json!({"request_type": "help", "text": "求助", "category": "11.04.01", "location": {"street": "110105010"}});
    for (who, status) in [
        ("dispatcher", 403),
        ("street", 403),
        ("leader", 403),
        ("admin", 201),
    ] {
        assert_eq!(
            app.post(who, "/api/v1/orders", create.clone())
                .await
                .0
                .as_u16(),
            status,
            "create by {who}"
        );
    }
    // Lists are cut to the jurisdiction in the query itself, whatever filter is sent.
    app.order("110101001", "11.04.01").await;
    for (who, count) in [
        ("operator", 3),
        ("street", 2),
        ("other_street", 0),
        ("leader", 2),
        ("other_leader", 1),
        ("chengguan", 2),
    ] {
        let (status, page) = app.get(who, "/api/v1/orders?limit=100").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            page["items"].as_array().unwrap().len(),
            count,
            "list by {who}"
        );
    }
    let (_, page) = app
        .get("street", "/api/v1/orders?street=110101001&limit=100")
        .await;
    assert_eq!(
        page["items"].as_array().unwrap().len(),
        0,
        "a filter cannot widen a scope"
    );
    assert_eq!(
        app.get("street", "/api/v1/due").await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(app.get("dispatcher", "/api/v1/due").await.0, StatusCode::OK);
}

#[tokio::test]
async fn personal_data_is_masked_and_every_reveal_is_recorded() {
    let app = spawn_app().await;
    let no = app.order("110105010", "11.04.01").await;
    let (_, list) = app.get("operator", "/api/v1/orders").await;
    assert!(!list.to_string().contains("13800001234"));
    let (_, order) = app.get("leader", &format!("/api/v1/orders/{no}")).await;
    assert_eq!(
        (
            order["requester"]["name"].as_str(),
            order["requester"]["phone"].as_str()
        ),
        (Some("张*"), Some("*******1234"))
    );
    let reveal = format!("/api/v1/orders/{no}/requester/reveal");
    for who in ["dispatcher", "leader", "supervisor"] {
        assert_eq!(
            app.post(who, &reveal, json!({"reason": "想看看"})).await.0,
            StatusCode::FORBIDDEN,
            "{who}"
        );
    }
    assert_eq!(
        app.post("other_street", &reveal, json!({"reason": "x"}))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.post("street", &reveal, json!({})).await.0,
        StatusCode::BAD_REQUEST,
        "a reason is required"
    );
    assert_eq!(
        app.post("street", &reveal, json!({"reason": " "})).await.1["error"],
        "text_empty"
    );
    let (status, requester) = app
        .post("street", &reveal, json!({"reason": "联系诉求人核实地点"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(requester["phone"], "13800001234");
    let (_, history) = app
        .get("admin", &format!("/api/v1/orders/{no}/history"))
        .await;
    let last = history["events"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["payload"]["event"], "requester_revealed");
    assert_eq!(last["payload"]["reason"], "联系诉求人核实地点");
    assert_eq!(last["actor"]["unit"], "110105010");
    assert!(!history.to_string().contains("13800001234"));
}

#[tokio::test]
async fn idempotency_keys_and_versions() {
    let app = spawn_app().await;
    let body = json!({"request_type": "complaint", "text": "重复提交测试", "category": "11.04.01", "location": {"street": "110105010"}});
    let send = |key: &'static str, body: Value| {
        let request = app
            .client
            .post(format!("{}/api/v1/orders", app.base))
            .bearer_auth(&app.tokens["operator"])
            .header("Idempotency-Key", key)
            .json(&body);
        async move {
            let response = request.send().await.unwrap();
            let replayed = response.headers().get("idempotent-replayed").is_some();
            (
                response.status(),
                replayed,
                response.json::<Value>().await.unwrap(),
            )
        }
    };
    let (first_status, first_replayed, first) = send("abc", body.clone()).await;
    let (second_status, second_replayed, second) = send("abc", body.clone()).await;
    assert_eq!((first_status, first_replayed), (StatusCode::CREATED, false));
    assert_eq!((second_status, second_replayed), (StatusCode::OK, true));
    assert_eq!(first["no"], second["no"]);
    let (_, page) = app.get("operator", "/api/v1/orders").await;
    assert_eq!(
        page["items"].as_array().unwrap().len(),
        1,
        "a retried create never makes a second order"
    );
    let mut changed = body.clone();
    changed["text"] = json!("另一件事");
    let (status, _, error) = send("abc", changed).await;
    assert_eq!(
        (status, error["error"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("idempotency_mismatch")
        )
    );
    // Versions: a stale one is a conflict, a missing one a bad request.
    let no = first["no"].as_str().unwrap();
    let path = format!("/api/v1/orders/{no}/accept");
    assert_eq!(
        app.post("street", &path, json!({"version": 1})).await.1["error"],
        "conflict"
    );
    assert_eq!(
        app.post("street", &path, json!({"version": 1})).await.0,
        StatusCode::CONFLICT
    );
    assert_eq!(
        app.post("street", &path, json!({})).await.1["error"],
        "version_required"
    );
    assert_eq!(
        app.post("street", &path, json!({"version": 2})).await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn bad_input_gets_a_clear_4xx_and_changes_nothing() {
    let app = spawn_app_with(ServerSettings {
        body_limit_bytes: 16 * 1024,
        ..ServerSettings::default()
    })
    .await;
    let no = app.order("110105010", "11.04.01").await;
    let raw = |path: &str, body: Vec<u8>| {
        let request = app
            .client
            .post(format!("{}{}", app.base, path))
            .bearer_auth(&app.tokens["operator"])
            .header("content-type", "application/json")
            .body(body);
        async move {
            let response = request.send().await.unwrap();
            (
                response.status(),
                response.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    let cases: Vec<(Vec<u8>, u16, &str)> = vec![
        (b"{not json".to_vec(), 400, "malformed_json"),
        (br#"{"request_type":"complaint","text":5,"category":"11.04.01"}"#.to_vec(), 400, "invalid_field"),
        (br#"{"request_type":"complaint","text":"x","category":"11.04.01","colour":"red"}"#.to_vec(), 400, "invalid_field"),
        (br#"{"request_type":"gossip","text":"x","category":"11.04.01"}"#.to_vec(), 400, "invalid_field"),
        (b"{\"request_type\":\"complaint\",\"text\":\"\xff\xfe\",\"category\":\"11.04.01\"}".to_vec(), 400, "malformed_json"),
        (format!("{{\"request_type\":\"complaint\",\"text\":\"{}\",\"category\":\"11.04.01\"}}", "长".repeat(20_000)).into_bytes(), 413, "body_too_large"),
        (br#"{"request_type":"complaint","text":"   ","category":"11.04.01","location":{"street":"110105010"}}"#.to_vec(), 422, "text_empty"),
        (br#"{"request_type":"complaint","text":"x","category":"99.99","location":{"street":"110105010"}}"#.to_vec(), 422, "unknown_category"),
        (br#"{"request_type":"complaint","text":"x","category":"11.04.01","location":{"street":"119999999"}}"#.to_vec(), 422, "unknown_unit"),
        (br#"{"request_type":"complaint","text":"x","category":"11.04.01","requester":{"phone":13800009999}}"#.to_vec(), 400, "invalid_field"),
    ];
    for (body, status, code) in cases {
        let (got, error) = raw("/api/v1/orders", body).await;
        assert_eq!(
            (got.as_u16(), error["error"].as_str()),
            (status, Some(code)),
            "{error}"
        );
        assert!(
            !error.to_string().contains("13800009999"),
            "personal data echoed: {error}"
        );
    }
    // Commands: unknown fields, unknown commands, unknown orders.
    let path = format!("/api/v1/orders/{no}/accept");
    let (status, error) = app
        .post("street", &path, json!({"version": 2, "sneaky": true}))
        .await;
    assert_eq!(
        (status, error["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_field"))
    );
    assert_eq!(
        app.post(
            "street",
            &format!("/api/v1/orders/{no}/teleport"),
            json!({"version": 2})
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get("admin", "/api/v1/orders/20990101-000001").await.1["error"],
        "not_found"
    );
    assert_eq!(
        app.get("admin", "/api/v1/orders/not-a-number").await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get("admin", "/api/v1/orders?limit=100000").await.1["error"],
        "invalid_page_size"
    );
    assert_eq!(
        app.get("admin", "/api/v1/orders?colour=red").await.1["error"],
        "invalid_query"
    );
    assert_eq!(
        app.get("admin", "/api/v1/orders?after=garbage").await.0,
        StatusCode::BAD_REQUEST
    );
    // Script and SQL in text: stored verbatim, returned as JSON strings, inert.
    let nasty = "<script>alert(1)</script>'; DROP TABLE orders; --";
    let (status, created) = app
        .post("operator", "/api/v1/orders", json!({"request_type": "report", "text": nasty, "category": "11.04.01", "location": {"street": "110105010"}}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(created["text"], nasty);
    let (_, found) = app.get("admin", "/api/v1/orders?q=DROP%20TABLE").await;
    assert_eq!(found["items"].as_array().unwrap().len(), 1);
    let (_, found) = app
        .get("admin", "/api/v1/orders?q=%E5%8D%A0%E9%81%93")
        .await;
    assert_eq!(
        found["items"].as_array().unwrap().len(),
        1,
        "Chinese substring search (占道)"
    );
    // Nothing above half-applied: still exactly the two orders, the first untouched.
    let (_, page) = app.get("admin", "/api/v1/orders").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    assert_eq!(app.version(&no).await, 2);
    // English on request.
    let response = app
        .client
        .get(format!("{}/api/v1/orders/20990101-000001", app.base))
        .bearer_auth(&app.tokens["admin"])
        .header("accept-language", "en-US")
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.json::<Value>().await.unwrap()["message"],
        "no such order"
    );
}

#[tokio::test]
async fn login_sessions_and_cookies() {
    let app = spawn_app().await;
    let hash = whistle_server::auth::hash_password("correct horse battery").unwrap();
    let account = whistle_store::Account {
        login: "xiaowang".into(),
        display_name: "小王".into(),
        role: "operator".into(),
        unit: UnitCode::parse("11.center").unwrap(),
        active: true,
    };
    app.state
        .store
        .put_user(&account, &hash, app.clock.now())
        .await
        .unwrap();
    let (status, body) = app
        .post(
            "",
            "/api/v1/login",
            json!({"login": "xiaowang", "password": "wrong"}),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_credentials"))
    );
    let response = app
        .client
        .post(format!("{}/api/v1/login", app.base))
        .json(&json!({"login": "xiaowang", "password": "correct horse battery"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let token = response.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let session = cookie.split(';').next().unwrap().to_string();
    let me = app
        .client
        .get(format!("{}/api/v1/me", app.base))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(me.json::<Value>().await.unwrap()["role"], "operator");
    let me = app
        .client
        .get(format!("{}/api/v1/me", app.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    // Sessions expire; logout ends them.
    app.clock.advance(13 * 60);
    let expired = app
        .client
        .get(format!("{}/api/v1/me", app.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(expired.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn citizens_track_with_the_last_four_digits_and_public_endpoints_are_rate_limited() {
    let app = spawn_app_with(ServerSettings {
        track_per_ip_per_minute: 5,
        ..ServerSettings::default()
    })
    .await;
    let no = app.order("110105010", "11.04.01").await;
    let (status, progress) = app
        .get("", &format!("/api/v1/track/{no}?phone_last4=1234"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(progress["stage"], "dispatched");
    assert!(!progress.to_string().contains("1380000") && !progress.to_string().contains("张"));
    assert_eq!(
        app.get("", &format!("/api/v1/track/{no}?phone_last4=9999"))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get("", "/api/v1/track/20990101-000001?phone_last4=1234")
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    let mut limited = None;
    for _ in 0..5 {
        let response = app
            .client
            .get(format!("{}/api/v1/track/{no}?phone_last4=1234", app.base))
            .send()
            .await
            .unwrap();
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(
                response
                    .headers()
                    .get("retry-after")
                    .map(|v| v.to_str().unwrap().to_string()),
            );
            break;
        }
    }
    let retry_after = limited
        .expect("the sixth request in a minute is limited")
        .expect("with Retry-After");
    assert!(retry_after.parse::<u64>().unwrap() >= 1);
}

async fn supervised(app: &TestApp, no: &str) -> Vec<Value> {
    let (_, history) = app
        .get("admin", &format!("/api/v1/orders/{no}/history"))
        .await;
    history["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["payload"]["event"] == "supervised")
        .cloned()
        .collect()
}

#[tokio::test]
async fn the_deadline_worker_records_each_notice_once() {
    let app = spawn_app().await;
    let no = app.order("110105010", "11.04.01").await;
    assert_eq!(
        whistle_server::worker::tick(&app.state)
            .await
            .unwrap()
            .recorded,
        0
    );
    // 23 hours later the 24-hour response deadline is within the 2-hour window.
    app.clock.advance(23 * 60);
    assert_eq!(
        whistle_server::worker::tick(&app.state)
            .await
            .unwrap()
            .recorded,
        1
    );
    assert_eq!(
        whistle_server::worker::tick(&app.state)
            .await
            .unwrap()
            .recorded,
        0
    );
    // Past it: overdue, once.
    app.clock.advance(2 * 60);
    assert_eq!(
        whistle_server::worker::tick(&app.state)
            .await
            .unwrap()
            .recorded,
        1
    );
    assert_eq!(
        whistle_server::worker::tick(&app.state)
            .await
            .unwrap()
            .recorded,
        0
    );
    let events = supervised(&app, &no).await;
    let actions: Vec<&str> = events
        .iter()
        .map(|e| e["payload"]["action"]["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["due_soon", "overdue"]);
    assert_eq!(events[0]["actor"]["user"], "deadline-worker");
}

/// Two servers' workers against one PostgreSQL: every notice exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_on_one_postgres_record_no_duplicates() {
    let Ok(base) = std::env::var("WHISTLE_TEST_PG_URL") else {
        eprintln!("two-worker test skipped: WHISTLE_TEST_PG_URL is not set");
        return;
    };
    let (client, connection) = tokio_postgres_connect(&base).await;
    let name = format!("whistle_test_{}", uuid::Uuid::now_v7().simple());
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    drop(connection);
    let root = &base[..base.rfind('/').unwrap()];
    let url = format!("{root}/{name}");
    let first_store = whistle_store::open(&url, Migrate::Apply).await.unwrap();
    let admin = whistle_core::ids::Actor {
        user: "test".into(),
        unit: UnitCode::parse("11.center").unwrap(),
    };
    whistle_store::seed::install_defaults(
        &*first_store,
        &admin,
        parse_beijing("2025-01-01 00:00").unwrap(),
    )
    .await
    .unwrap();
    let second_store = whistle_store::open(&url, Migrate::Refuse).await.unwrap();
    let first = start(first_store, ServerSettings::default(), None).await;
    let second = start(second_store, ServerSettings::default(), None).await;
    let mut orders = Vec::new();
    for i in 0..40 {
        orders.push(
            first
                .order(
                    if i % 2 == 0 { "110105010" } else { "110105011" },
                    "11.04.01",
                )
                .await,
        );
    }
    for app in [&first, &second] {
        app.clock.advance(25 * 60);
    }
    let (a, b) = tokio::join!(
        whistle_server::worker::tick(&first.state),
        whistle_server::worker::tick(&second.state)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    // Every order is overdue on its response deadline: 40 notices in all, split between the two.
    assert_eq!(a.recorded + b.recorded, 40, "{a:?} {b:?}");
    assert_eq!(a.failed + b.failed, 0);
    for no in &orders {
        assert_eq!(supervised(&first, no).await.len(), 1, "{no}");
    }
}

/// More due whistles than a worker batch: one tick takes them batch after batch, records every
/// absence once (each whistle escalates on its first), and the next tick finds nothing due.
#[tokio::test]
async fn a_tick_marks_absences_beyond_one_batch() {
    let mut settings = ServerSettings::default();
    settings.worker.batch = 5;
    let app = spawn_app_with(settings).await;
    let raise = json!({
        "kind": "emergency", "lead": "110105.dept.urban-management", "assisting": ["110105.dept.housing", "11.ent.power"],
        "place": "某路口", "needed": "联合处置", "list_item": "pipe-burst",
    });
    let mut numbers = Vec::new();
    for _ in 0..12 {
        let (status, whistle) = app.post("street", "/api/v1/whistles", raise.clone()).await;
        assert_eq!(status, StatusCode::CREATED, "{whistle}");
        numbers.push(whistle["no"].as_str().unwrap().to_string());
    }
    app.clock.advance(31);
    let report = whistle_server::worker::tick(&app.state).await.unwrap();
    assert_eq!((report.absences, report.failed), (36, 0), "{report:?}");
    let again = whistle_server::worker::tick(&app.state).await.unwrap();
    assert_eq!((again.absences, again.failed), (0, 0), "{again:?}");
    for no in &numbers {
        let (_, whistle) = app.get("admin", &format!("/api/v1/whistles/{no}")).await;
        assert!(whistle["escalated_at"].is_string(), "{whistle}");
    }
}

/// Two servers' workers against one PostgreSQL: every absence is marked exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_on_one_postgres_mark_each_absence_once() {
    let Ok(base) = std::env::var("WHISTLE_TEST_PG_URL") else {
        eprintln!("two-worker absence test skipped: WHISTLE_TEST_PG_URL is not set");
        return;
    };
    let (client, _connection) = tokio_postgres_connect(&base).await;
    let name = format!("whistle_test_{}", uuid::Uuid::now_v7().simple());
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    let url = format!("{}/{name}", &base[..base.rfind('/').unwrap()]);
    let first_store = whistle_store::open(&url, Migrate::Apply).await.unwrap();
    let admin = whistle_core::ids::Actor {
        user: "test".into(),
        unit: UnitCode::parse("11.center").unwrap(),
    };
    whistle_store::seed::install_defaults(
        &*first_store,
        &admin,
        parse_beijing("2025-01-01 00:00").unwrap(),
    )
    .await
    .unwrap();
    let second_store = whistle_store::open(&url, Migrate::Refuse).await.unwrap();
    let first = start(first_store, ServerSettings::default(), None).await;
    let second = start(second_store, ServerSettings::default(), None).await;
    let raise = json!({
        "kind": "emergency", "lead": "110105.dept.urban-management", "assisting": ["110105.dept.housing", "11.ent.power"],
        "place": "某路口", "needed": "联合处置", "list_item": "pipe-burst",
    });
    let mut numbers = Vec::new();
    for _ in 0..12 {
        let (status, whistle) = first
            .post("street", "/api/v1/whistles", raise.clone())
            .await;
        assert_eq!(status, StatusCode::CREATED);
        numbers.push(whistle["no"].as_str().unwrap().to_string());
    }
    for app in [&first, &second] {
        app.clock.advance(31);
    }
    let (a, b) = tokio::join!(
        whistle_server::worker::tick(&first.state),
        whistle_server::worker::tick(&second.state)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.absences + b.absences, 36, "{a:?} {b:?}");
    assert_eq!(a.failed + b.failed, 0);
    for no in &numbers {
        let (_, history) = first
            .get("admin", &format!("/api/v1/whistles/{no}/history"))
            .await;
        let events: Vec<&str> = history["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["event"]["event"].as_str().unwrap())
            .collect();
        assert_eq!(
            events.iter().filter(|e| **e == "marked_absent").count(),
            3,
            "{no}: {events:?}"
        );
        assert_eq!(
            events.iter().filter(|e| **e == "escalated").count(),
            1,
            "{no}"
        );
    }
}

async fn tokio_postgres_connect(
    url: &str,
) -> (tokio_postgres::Client, tokio::task::JoinHandle<()>) {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    let handle = tokio::spawn(async move {
        let _ = connection.await;
    });
    (client, handle)
}

impl TestApp {
    async fn open311(
        &self,
        method: Method,
        path: &str,
        form: Option<&[(&str, &str)]>,
    ) -> (StatusCode, String, String) {
        let mut request = self
            .client
            .request(method, format!("{}/open311/v2/{}", self.base, path));
        if let Some(form) = form {
            let body: String = form_encode(form);
            request = request
                .header(
                    "content-type",
                    "application/x-www-form-urlencoded; charset=utf-8",
                )
                .body(body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        (status, content_type, response.text().await.unwrap())
    }
}

fn form_encode(pairs: &[(&str, &str)]) -> String {
    let mut out = Vec::new();
    for (key, value) in pairs {
        let encode = |text: &str| -> String {
            text.bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                        (b as char).to_string()
                    }
                    b' ' => "+".to_string(),
                    _ => format!("%{b:02X}"),
                })
                .collect()
        };
        out.push(format!("{}={}", encode(key), encode(value)));
    }
    out.join("&")
}

#[tokio::test]
async fn open311_discovery_services_and_definitions() {
    let app = spawn_app().await;
    let (status, content_type, body) = app.open311(Method::GET, "discovery.json", None).await;
    assert_eq!(
        (status, content_type.as_str()),
        (StatusCode::OK, "application/json; charset=utf-8")
    );
    let discovery: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        discovery["endpoints"][0]["specification"],
        "http://wiki.open311.org/GeoReport_v2"
    );
    let (_, content_type, body) = app.open311(Method::GET, "discovery.xml", None).await;
    assert!(
        content_type.starts_with("text/xml")
            && body.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<discovery>")
    );
    let (_, _, body) = app.open311(Method::GET, "services.json", None).await;
    let services: Value = serde_json::from_str(&body).unwrap();
    let list = services.as_array().unwrap();
    assert!(list.len() > 50);
    let vending = list
        .iter()
        .find(|s| s["service_code"] == "11.04.01")
        .unwrap();
    assert_eq!(
        (vending["service_name"].as_str(), vending["type"].as_str()),
        (Some("占道经营"), Some("realtime"))
    );
    let (_, _, xml) = app.open311(Method::GET, "services.xml", None).await;
    assert!(
        xml.contains(
            "<service><service_code>11.04.01</service_code><service_name>占道经营</service_name>"
        ),
        "{xml}"
    );
    let (status, _, body) = app
        .open311(Method::GET, "services/11.04.01.json", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let definition: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(definition["attributes"][0]["code"], "request_type");
    assert_eq!(
        definition["attributes"][0]["values"]
            .as_array()
            .unwrap()
            .len(),
        6
    );
    let (status, _, xml) = app
        .open311(Method::GET, "services/11.04.01.xml", None)
        .await;
    assert!(
        status == StatusCode::OK
            && xml.contains(
                "<service_definition><service_code>11.04.01</service_code><attributes><attribute>"
            )
    );
    // Not-leaf, unknown, wrong jurisdiction (empty counts as absent), wrong format.
    for (path, status) in [
        ("services/11.04.json", 404),
        ("services/99.json", 404),
        ("services.json?jurisdiction_id=sfgov.org", 404),
        ("services.json?jurisdiction_id=", 200),
        ("services.json?jurisdiction_id=beijing.gov.cn", 200),
        ("services.csv", 404),
    ] {
        assert_eq!(
            app.open311(Method::GET, path, None).await.0.as_u16(),
            status,
            "{path}"
        );
    }
    let (_, _, body) = app.open311(Method::GET, "services/99.json", None).await;
    let errors: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(errors[0]["code"], "404");
    let (_, _, xml) = app.open311(Method::GET, "services/99.xml", None).await;
    assert!(
        xml.contains("<errors><error><code>404</code><description>"),
        "{xml}"
    );
}

#[tokio::test]
async fn open311_requests_post_and_get_in_json_and_xml() {
    let app = spawn_app().await;
    let key = app.tokens["open311"].clone();
    let form = [
        ("api_key", key.as_str()),
        ("jurisdiction_id", ""),
        ("service_code", "11.04.01"),
        ("lat", "39.98"),
        ("long", "116.41"),
        ("address_string", "小关街道惠新东街路口"),
        ("first_name", "三"),
        ("last_name", "张"),
        ("phone", "13800001234"),
        ("email", "zhang@example.com"),
        ("description", "路口有人占道经营 <b>夜市</b> & 噪音"),
        ("attribute[street]", "110105010"),
        ("attribute[request_type]", "complaint"),
    ];
    let (status, _, body) = app
        .open311(Method::POST, "requests.json", Some(&form))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let created: Value = serde_json::from_str(&body).unwrap();
    let id = created[0]["service_request_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(created[0]["account_id"].is_null());
    // It is a normal work order: at intake through the open311 channel, routed by the street.
    let (_, order) = app.get("admin", &format!("/api/v1/orders/{id}")).await;
    assert_eq!(
        (order["channel"].as_str(), order["stage"]["lead"].as_str()),
        (Some("open311"), Some("110105010"))
    );
    // XML POST with the key in the query string.
    let xml_form = [
        ("service_code", "12.01.02"),
        ("address_string", "朝阳区某小区外道路"),
        ("description", "路灯不亮"),
    ];
    let (status, content_type, xml) = app
        .open311(
            Method::POST,
            &format!("requests.xml?api_key={key}"),
            Some(&xml_form),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{xml}");
    assert!(
        content_type.starts_with("text/xml")
            && xml.contains("<service_requests><request><service_request_id>")
    );
    // GET one: an array of one in JSON; offsets on datetimes; no personal data anywhere.
    let (status, _, body) = app
        .open311(Method::GET, &format!("requests/{id}.json"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let one: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(one.as_array().unwrap().len(), 1);
    assert_eq!(
        (one[0]["status"].as_str(), one[0]["service_code"].as_str()),
        (Some("open"), Some("11.04.01"))
    );
    assert!(one[0]["requested_datetime"]
        .as_str()
        .unwrap()
        .ends_with("+08:00"));
    assert_eq!(one[0]["agency_responsible"], "小关街道");
    for text in [
        &body,
        &app.open311(Method::GET, &format!("requests/{id}.xml"), None)
            .await
            .2,
    ] {
        assert!(
            !text.contains("13800001234") && !text.contains("张三") && !text.contains("zhang@"),
            "{text}"
        );
    }
    let (_, _, xml) = app
        .open311(Method::GET, &format!("requests/{id}.xml"), None)
        .await;
    assert!(
        xml.contains("&lt;b&gt;夜市&lt;/b&gt; &amp; 噪音"),
        "XML escaped: {xml}"
    );
    // GET many, with filters and pages.
    let list = |query: String| {
        let app = &app;
        async move {
            let (status, _, body) = app
                .open311(Method::GET, &format!("requests.json?{query}"), None)
                .await;
            assert_eq!(status, StatusCode::OK, "{query}: {body}");
            serde_json::from_str::<Value>(&body)
                .unwrap()
                .as_array()
                .unwrap()
                .len()
        }
    };
    assert_eq!(list(String::new()).await, 2);
    assert_eq!(list("service_code=11.04.01".into()).await, 1);
    assert_eq!(list("service_code=11.04.01,12.01.02".into()).await, 2);
    assert_eq!(list("status=closed".into()).await, 0);
    assert_eq!(list("status=open".into()).await, 2);
    assert_eq!(list(format!("service_request_id={id}")).await, 1);
    assert_eq!(list("page_size=1".into()).await, 1);
    assert_eq!(list("page_size=1&page=2".into()).await, 1);
    assert_eq!(list("page_size=1&page=3".into()).await, 0);
    assert_eq!(
        list("start_date=2025-10-09T00:00:00%2B08:00&end_date=2025-10-10T00:00:00%2B08:00".into())
            .await,
        2
    );
    assert_eq!(list("start_date=2025-10-10T00:00:00Z".into()).await, 0);
    // Orders from the hotline itself are not published.
    app.order("110105010", "11.04.01").await;
    assert_eq!(list(String::new()).await, 2);
    let (_, _, xml) = app
        .open311(Method::GET, "requests.xml?status=open", None)
        .await;
    assert_eq!(xml.matches("<request>").count(), 2);
    // Tokens: requests are realtime; a token is the request id.
    let (status, _, body) = app
        .open311(Method::GET, &format!("tokens/{id}.json"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()[0]["service_request_id"],
        id
    );
    assert_eq!(
        app.open311(Method::GET, "tokens/12345.json", None).await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn open311_refusals_follow_the_spec() {
    let app = spawn_app().await;
    let key = app.tokens["open311"].clone();
    let operator = app.tokens["operator"].clone();
    let long = "字".repeat(4001);
    type Form<'a> = Vec<(&'a str, &'a str)>;
    let cases: Vec<(Form, u16, &str)> = vec![
        (
            vec![("service_code", "11.04.01"), ("address_string", "x")],
            403,
            "api_key missing",
        ),
        (
            vec![
                ("api_key", "wht_bad_bad"),
                ("service_code", "11.04.01"),
                ("address_string", "x"),
            ],
            403,
            "invalid api_key",
        ),
        (
            vec![
                ("api_key", operator.as_str()),
                ("service_code", "11.04.01"),
                ("address_string", "x"),
            ],
            403,
            "invalid api_key",
        ),
        (
            vec![("api_key", key.as_str()), ("address_string", "x")],
            400,
            "service_code",
        ),
        (
            vec![
                ("api_key", key.as_str()),
                ("service_code", "99.99"),
                ("address_string", "x"),
            ],
            404,
            "not found",
        ),
        (
            vec![("api_key", key.as_str()), ("service_code", "11.04.01")],
            400,
            "location",
        ),
        (
            vec![
                ("api_key", key.as_str()),
                ("service_code", "11.04.01"),
                ("lat", "39.9"),
            ],
            400,
            "lat and long",
        ),
        (
            vec![
                ("api_key", key.as_str()),
                ("service_code", "11.04.01"),
                ("lat", "north"),
                ("long", "116.4"),
            ],
            400,
            "lat and long",
        ),
        (
            vec![
                ("api_key", key.as_str()),
                ("service_code", "11.04.01"),
                ("address_string", "x"),
                ("description", long.as_str()),
            ],
            400,
            "4,000",
        ),
        (
            vec![
                ("api_key", key.as_str()),
                ("service_code", "11.04.01"),
                ("address_string", "x"),
                ("jurisdiction_id", "sfgov.org"),
            ],
            404,
            "jurisdiction",
        ),
        (
            vec![
                ("api_key", key.as_str()),
                ("service_code", "11.04.01"),
                ("address_string", "x"),
                ("attribute[request_type]", "gossip"),
            ],
            400,
            "request_type",
        ),
        (
            vec![
                ("api_key", key.as_str()),
                ("service_code", "11.04.01"),
                ("address_string", "x"),
                ("phone", "call me maybe"),
            ],
            400,
            "phone",
        ),
    ];
    for (form, status, words) in cases {
        let (got, _, body) = app
            .open311(Method::POST, "requests.json", Some(&form))
            .await;
        assert_eq!(got.as_u16(), status, "{form:?}: {body}");
        let errors: Value = serde_json::from_str(&body).unwrap();
        assert!(
            errors[0]["description"].as_str().unwrap().contains(words),
            "{body}"
        );
        assert!(!body.contains("call me maybe"));
    }
    for (query, words) in [
        ("status=pending", "status"),
        ("page_size=5000", "page_size"),
        ("start_date=yesterday", "start_date"),
        (
            "start_date=2025-01-01T00:00:00Z&end_date=2025-06-01T00:00:00Z",
            "90 days",
        ),
    ] {
        let (got, _, body) = app
            .open311(Method::GET, &format!("requests.json?{query}"), None)
            .await;
        assert_eq!(got, StatusCode::BAD_REQUEST, "{query}");
        assert!(body.contains(words), "{body}");
    }
    let (_, _, body) = app
        .open311(Method::GET, "requests/20990101-000001.json", None)
        .await;
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()[0]["code"],
        "404"
    );
    assert_eq!(app.totals_orders().await, 0, "nothing was stored");
    // The Open311 key opens nothing else.
    let response = app
        .client
        .get(format!("{}/api/v1/orders", app.base))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

impl TestApp {
    async fn totals_orders(&self) -> i64 {
        self.state.store.totals().await.unwrap().0
    }
}

#[tokio::test]
async fn the_openapi_document_matches_the_router_and_the_engine() {
    let app = spawn_app().await;
    let no = app.order("110105010", "11.04.01").await;
    let (status, document) = app.get("", "/api/v1/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(document["openapi"], "3.1.0");
    let paths = document["paths"].as_object().unwrap();
    // Every command is documented, and every example is a valid command of the engine.
    for name in whistle_server::api::COMMANDS {
        let path = format!("/api/v1/orders/{{no}}/{name}");
        let example =
            &paths[&path]["post"]["requestBody"]["content"]["application/json"]["example"];
        let mut command = example.clone();
        command.as_object_mut().unwrap().remove("version");
        command["command"] = json!(name);
        assert!(
            serde_json::from_value::<whistle_core::order::Command>(command).is_ok(),
            "{name}: {example}"
        );
    }
    // Every documented operation is routed (a refusal is fine; "no such route" or 405 is not).
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            let concrete = path.replace("{no}", &no);
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            if path.ends_with("/feed") {
                // A stream that never ends: only its head is checked.
                let response = app
                    .client
                    .get(format!("{}{concrete}", app.base))
                    .bearer_auth(&app.tokens["admin"])
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), StatusCode::OK, "{path}");
                continue;
            }
            let (status, body) = app
                .call("admin", method.clone(), &concrete, Some(json!({})))
                .await;
            assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
            assert_ne!(body["error"], "no_route", "{method} {path}");
        }
    }
    assert_eq!(
        app.get("admin", "/api/v1/nonsense").await.1["error"],
        "no_route"
    );
    let page = app
        .client
        .get(format!("{}/api/docs", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("/api/v1/openapi.json")
            && !page.contains("http://")
            && !page.contains("https://"),
        "offline page"
    );
}

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

/// The bulletins and analyses over HTTP: JSON by default, CSV, XLSX (as a download) and text, in
/// Chinese or English; bad parameters and the future refused; no requester data in any of them.
#[tokio::test]
async fn reports_are_served_in_every_format() {
    let app = spawn_app().await;
    app.order("110105010", "11.04.01").await;
    app.order("110105010", "11.04.01").await;
    let (status, daily) = app
        .get("leader", "/api/v1/reports/daily?date=2025-10-09")
        .await;
    assert_eq!(status, StatusCode::OK, "{daily}");
    assert_eq!(daily["kind"], "daily");
    assert_eq!(daily["empty"], false);
    assert!(
        daily["summary"][0]
            .as_str()
            .unwrap()
            .contains("共受理诉求2件"),
        "{daily}"
    );
    let text = daily.to_string();
    assert!(!text.contains("13800001234") && !text.contains("张三"));
    for path in [
        "/api/v1/reports/weekly?week=2025-W41",
        "/api/v1/reports/monthly?month=2025-10",
        "/api/v1/reports/hotspots?date=2025-10-09",
        "/api/v1/reports/repeats?from=2025-10-01&to=2025-10-09",
        "/api/v1/reports/governance-streets?month=2025-10",
        "/api/v1/reports/topics?month=2025-10",
    ] {
        let (status, body) = app.get("street", path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        assert!(body["tables"].is_array(), "{path}");
    }
    // Formats: CSV and text as text, XLSX as a download.
    let (status, csv) = app
        .get("leader", "/api/v1/reports/daily?date=2025-10-09&format=csv")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(csv
        .as_str()
        .unwrap()
        .starts_with("# 12345市民服务热线日通报"));
    let response = app
        .client
        .get(format!(
            "{}/api/v1/reports/evaluation?period=2025-10&format=xlsx",
            app.base
        ))
        .bearer_auth(&app.tokens["leader"])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("evaluation-2025-10.xlsx"));
    let bytes = response.bytes().await.unwrap();
    assert_eq!(&bytes[..2], b"PK");
    let response = app
        .client
        .get(format!(
            "{}/api/v1/reports/daily?date=2025-10-09&format=text",
            app.base
        ))
        .bearer_auth(&app.tokens["leader"])
        .header("Accept-Language", "en")
        .send()
        .await
        .unwrap();
    let english = response.text().await.unwrap();
    assert!(
        english.starts_with("12345 hotline daily bulletin"),
        "{english}"
    );
    // Refusals: missing or malformed parameters, the future, an unknown format, no token.
    for (path, code) in [
        ("/api/v1/reports/daily", "invalid_query"),
        ("/api/v1/reports/daily?date=2025-02-30", "invalid_value"),
        ("/api/v1/reports/daily?date=2099-01-01", "invalid_value"),
        (
            "/api/v1/reports/daily?date=2025-10-09&format=pdf",
            "invalid_value",
        ),
        ("/api/v1/reports/weekly?week=2025-42", "invalid_value"),
        ("/api/v1/reports/repeats?from=2025-10-09", "invalid_query"),
        (
            "/api/v1/reports/daily?date=2025-10-09&colour=red",
            "invalid_query",
        ),
        // One parser for every report: a parameter another report takes is refused too.
        (
            "/api/v1/reports/daily?date=2025-10-09&month=2025-10",
            "invalid_query",
        ),
        (
            "/api/v1/reports/double-assessment?month=2025-10&table=people",
            "invalid_query",
        ),
    ] {
        let (status, body) = app.get("leader", path).await;
        let expected = if code == "invalid_query" {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        };
        assert_eq!(status, expected, "{path}: {body}");
        assert_eq!(body["error"], code, "{path}: {body}");
    }
    assert_eq!(
        app.get("nobody", "/api/v1/reports/daily?date=2025-10-09")
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    let (status, body) = app
        .get("leader", "/api/v1/reports/nonsense?date=2025-10-09")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
}
