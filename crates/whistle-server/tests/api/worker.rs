//! The deadline worker: each notice and each absence recorded once, also with two workers on one PostgreSQL.

use crate::support::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use whistle_core::ids::UnitCode;
use whistle_core::time::parse_beijing;
use whistle_server::{Clock, ServerSettings};
use whistle_store::Migrate;

async fn supervised(app: &TestApp, no: &str) -> Vec<Value> {
    let (_, history) = app
        .get("admin", &format!("/api/v1/orders/{no}/history"))
        .await;
    history["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"]["event"] == "supervised")
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
        .map(|e| e["event"]["action"]["action"].as_str().unwrap())
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

#[tokio::test]
async fn the_worker_purges_expired_sessions_and_old_idempotency_keys() {
    let app = spawn_app().await;
    let body = json!({"request_type": "complaint", "text": "保留期测试", "category": "11.04.01", "location": {"street": "110105010"}});
    let send = || {
        let request = app
            .client
            .post(format!("{}/api/v1/orders", app.base))
            .bearer_auth(&app.tokens["operator"])
            .header("Idempotency-Key", "retention-1")
            .json(&body);
        async move {
            let response = request.send().await.unwrap();
            let replayed = response.headers().get("idempotent-replayed").is_some();
            let body: Value = response.json().await.unwrap();
            (body["no"].as_str().unwrap().to_string(), replayed)
        }
    };
    let (first, _) = send().await;
    let (login, _) = app
        .post(
            "",
            "/api/v1/login",
            json!({"login": "nobody", "password": "wrong password"}),
        )
        .await;
    assert_eq!(login, StatusCode::UNAUTHORIZED);
    crate::pages::user(&app, "xiaoguan", "handler", "110105010").await;
    let (status, _) = app
        .post(
            "",
            "/api/v1/login",
            json!({"login": "xiaoguan", "password": crate::pages::PASSWORD}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let tick = || whistle_server::worker::tick(&app.state);
    let report = tick().await.unwrap();
    assert_eq!((report.purged_keys, report.purged_sessions), (0, 0));
    // The session lasts 12 hours; the key 30 days (records are stamped with the wall clock, so
    // the test clock, in 2025, must pass it by 30 days).
    app.clock.advance(13 * 60);
    let report = tick().await.unwrap();
    assert_eq!((report.purged_keys, report.purged_sessions), (0, 1));
    assert_eq!(send().await, (first.clone(), true), "the key still answers");
    let wall = chrono::Utc::now();
    let ahead = (wall - app.clock.now()).num_minutes() + 31 * 24 * 60;
    app.clock.advance(ahead);
    let report = tick().await.unwrap();
    assert_eq!(report.purged_keys, 1);
    let (second, replayed) = send().await;
    assert!(!replayed && second != first, "a purged key is forgotten");
}

#[tokio::test]
async fn no_key_is_purged_when_the_policy_keeps_them() {
    let mut settings = ServerSettings::default();
    settings.worker.enabled = false;
    settings.worker.idempotency_days = 0;
    let app = spawn_app_with(settings).await;
    let body = json!({"request_type": "complaint", "text": "保留期测试", "category": "11.04.01", "location": {"street": "110105010"}});
    let (status, _) = app.post("operator", "/api/v1/orders", body).await;
    assert_eq!(status, StatusCode::CREATED);
    app.clock.advance(3 * 365 * 24 * 60);
    let report = whistle_server::worker::tick(&app.state).await.unwrap();
    assert_eq!(report.purged_keys, 0);
}

/// The worker closes the last ended period on the policy's day (the 5th), once: edition 1 is
/// then what the evaluation shows.
#[tokio::test]
async fn the_worker_closes_a_period_on_its_policy_day() {
    let app = spawn_app().await;
    let no = app.order("110105010", "11.04.01").await;
    for (who, command, fields) in [
        ("street", "accept", json!({})),
        ("street", "contact", json!({"note": "已联系"})),
        (
            "street",
            "reply",
            json!({"outcome": "resolved", "actions": "已处理"}),
        ),
        (
            "visit",
            "return_visit",
            json!({"result": {"visit": "valid", "contacted": true, "resolved": true, "satisfaction": "satisfied"}}),
        ),
    ] {
        app.clock.advance(60);
        let (status, body) = app.run(who, &no, command, fields).await;
        assert_eq!(status, StatusCode::OK, "{command}: {body}");
    }
    // 4 November: not yet.
    app.clock.advance(26 * 24 * 60 - 4 * 60);
    let tick = whistle_server::worker::tick(&app.state).await.unwrap();
    assert_eq!(tick.closed_period, None);
    let (_, open) = app
        .get("leader", "/api/v1/reports/evaluation?period=2025-10")
        .await;
    assert_eq!(open["edition"], Value::Null);
    // 5 November: closed, once.
    app.clock.advance(24 * 60);
    let tick = whistle_server::worker::tick(&app.state).await.unwrap();
    assert_eq!(tick.closed_period.as_deref(), Some("2025-10"));
    let tick = whistle_server::worker::tick(&app.state).await.unwrap();
    assert_eq!(tick.closed_period, None);
    let (status, closed) = app
        .get("leader", "/api/v1/reports/evaluation?period=2025-10")
        .await;
    assert_eq!(status, StatusCode::OK, "{closed}");
    assert_eq!(closed["edition"]["number"], 1);
    assert_eq!(closed["edition"]["by_user"], "deadline-worker");
    let (_, first) = app
        .get(
            "leader",
            "/api/v1/reports/evaluation?period=2025-10&edition=1",
        )
        .await;
    assert_eq!(first["units"], closed["units"]);
}
