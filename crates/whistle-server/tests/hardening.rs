//! What a hostile tester tried: times at the edge of the calendar, panics in the writer, made-up
//! methods against the metrics. The service answers each with a clear 4xx (or one 500 for an
//! injected defect) and stays ready.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use reqwest::{Method, StatusCode};
use serde_json::json;
use support::*;

async fn ready(app: &TestApp) -> (StatusCode, String) {
    let response = app
        .client
        .get(format!("{}/readyz", app.base))
        .send()
        .await
        .unwrap();
    (response.status(), response.text().await.unwrap())
}

async fn metrics(app: &TestApp) -> String {
    app.client
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test]
async fn extreme_times_are_refused_and_the_service_stays_ready() {
    let app = spawn_app().await;
    // Unauthenticated deadline previews at chrono's edges used to panic the handler.
    for from in [
        "%2B262142-12-31%2023:00",
        "-262143-01-01",
        "2150-01-01",
        "1900-01-01",
    ] {
        let (status, body) = app
            .get("", &format!("/api/v1/deadline?from={from}&hours=720"))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{from}: {body}");
        assert!(body["error"].is_string(), "{body}");
    }
    let (status, _) = app
        .get("", "/api/v1/deadline?from=2026-12-01%2009:00&hours=720")
        .await;
    assert_eq!(status, StatusCode::OK);
    // The two legal commands that stopped every write: a far deadline, then an extension.
    let (status, body) = app
        .post(
            "operator",
            "/api/v1/orders",
            json!({"request_type": "complaint", "text": "占道经营", "category": "11.04.01",
                   "location": {"street": "110105010"}, "dispatch": false}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let no = body["no"].as_str().unwrap().to_string();
    let (status, body) = app
        .run(
            "dispatcher",
            &no,
            "dispatch",
            json!({"handle_by": "+262142-12-31T00:00:00Z"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"], "time_out_of_range");
    assert!(
        body["message"].as_str().unwrap().contains("handle_by"),
        "{body}"
    );
    let (status, body) = app
        .post(
            "operator",
            "/api/v1/orders",
            json!({"request_type": "complaint", "text": "占道经营", "category": "11.04.01",
                   "location": {"street": "110105010"}, "received_at": "1999-12-31T00:00:00Z"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("received_at"),
        "{body}"
    );
    for path in [
        "/api/v1/orders?from=%2B262142-12-31T00:00:00Z",
        "/api/v1/orders?before=-262143-01-01",
        "/api/v1/due?at=2300-01-01",
    ] {
        let (status, body) = app.get("admin", path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
    }
    let (status, body) = app
        .get(
            "",
            "/open311/v2/requests.json?start_date=%2B262142-01-01T00:00:00Z&end_date=%2B262142-01-02T00:00:00Z",
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    app.order("110105010", "11.04.01").await;
    assert_eq!(ready(&app).await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_panic_in_the_writer_is_one_500_and_the_service_goes_on() {
    let app = spawn_app().await;
    fail::cfg("write", "return(PANIC-OVER-HTTP)").unwrap();
    fail::cfg("decide", "return(PANIC-DECIDE-OVER-HTTP)").unwrap();
    for marker in ["PANIC-OVER-HTTP", "PANIC-DECIDE-OVER-HTTP"] {
        let (status, body) = app
            .post(
                "operator",
                "/api/v1/orders",
                json!({"request_type": "complaint", "text": format!("占道 {marker}"), "category": "11.04.01",
                       "location": {"street": "110105010"}}),
            )
            .await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
        assert_eq!(body["error"], "internal");
        assert!(
            !body["message"].as_str().unwrap().contains("panic"),
            "{body}"
        );
        for _ in 0..3 {
            app.order("110105010", "11.04.01").await;
        }
    }
    assert_eq!(ready(&app).await, (StatusCode::OK, "ready".into()));
    let text = metrics(&app).await;
    assert!(
        text.contains("whistle_component_up{component=\"writer\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("whistle_component_up{component=\"planner\"} 1"),
        "{text}"
    );
}

#[tokio::test]
async fn readiness_fails_while_the_deadline_worker_is_not_running() {
    let mut settings = whistle_server::ServerSettings::default();
    settings.worker.enabled = true;
    let app = spawn_app_with(settings).await;
    // The harness starts no worker: readiness says so, and so does the metric.
    let (status, text) = ready(&app).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(text.contains("deadline_worker"), "{text}");
    assert!(metrics(&app)
        .await
        .contains("whistle_component_up{component=\"deadline_worker\"} 0"));
    let worker = whistle_server::worker::spawn(app.state.clone());
    assert_eq!(ready(&app).await.0, StatusCode::OK);
    worker.abort();
    let _ = worker.await;
    assert_eq!(ready(&app).await.0, StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn made_up_methods_do_not_grow_the_metrics() {
    let app = spawn_app().await;
    let before = metrics(&app).await.len();
    for i in 0..300 {
        let method = Method::from_bytes(format!("X{i:04}PROBE").as_bytes()).unwrap();
        let _ = app
            .client
            .request(method, format!("{}/api/v1/orders/x{i}", app.base))
            .send()
            .await
            .unwrap();
    }
    let text = metrics(&app).await;
    assert!(!text.contains("PROBE"), "a made-up method became a label");
    assert!(
        text.len() < before + 4_000,
        "metrics grew from {before} to {} bytes",
        text.len()
    );
}

/// A phone number sent where it does not belong comes back nowhere: not in the JSON API's
/// refusals, not in Open311's, not for whistles or grid cases. The refusals still name the field.
#[tokio::test]
async fn a_phone_in_a_wrong_field_is_never_echoed() {
    let app = spawn_app().await;
    let phone = "13912345678";
    let no = app.order("110105010", "11.04.01").await;
    let version = app.version(&no).await;
    let intake = |field: &str| {
        let mut body = json!({"request_type": "complaint", "text": "占道经营", "category": "11.04.01",
                              "location": {"street": "110105010"}});
        match field {
            "latitude" => body["location"]["latitude"] = json!(phone),
            "category" => body["category"] = json!(phone),
            "street" => body["location"]["street"] = json!(phone),
            "channel" => body["channel"] = json!(phone),
            "received_at" => body["received_at"] = json!(phone),
            key => body[key] = json!(phone),
        }
        body
    };
    let mut probes: Vec<(&str, Method, String, Option<serde_json::Value>)> = Vec::new();
    for field in [
        "latitude",
        "category",
        "street",
        "channel",
        "received_at",
        "urgency",
        "triage",
    ] {
        probes.push((
            "operator",
            Method::POST,
            "/api/v1/orders".into(),
            Some(intake(field)),
        ));
    }
    probes.extend([
        ("operator", Method::POST, "/api/v1/orders".into(), Some(json!({phone: 1}))),
        ("dispatcher", Method::POST, format!("/api/v1/orders/{no}/dispatch"),
         Some(json!({"version": version, "unit": phone}))),
        ("dispatcher", Method::POST, format!("/api/v1/orders/{no}/request_extension"),
         Some(json!({"version": version, "extra": phone, "reason": "x"}))),
        ("admin", Method::GET, format!("/api/v1/orders?stage={phone}"), None),
        ("admin", Method::GET, format!("/api/v1/orders?street={phone}"), None),
        ("admin", Method::GET, format!("/api/v1/orders?limit={phone}"), None),
        ("admin", Method::GET, format!("/api/v1/orders?from={phone}"), None),
        ("admin", Method::GET, format!("/api/v1/orders/{phone}"), None),
        ("", Method::GET, format!("/api/v1/deadline?from={phone}&hours=2"), None),
        ("", Method::GET, format!("/api/v1/track/{no}?phone_last4={phone}"), None),
        ("", Method::GET, format!("/open311/v2/services/{phone}.json"), None),
        ("", Method::GET, format!("/open311/v2/services.json?jurisdiction_id={phone}"), None),
        ("", Method::GET, format!("/open311/v2/requests/{phone}.json"), None),
        ("", Method::GET, format!("/open311/v2/requests.json?start_date={phone}"), None),
        ("street", Method::POST, "/api/v1/whistles".into(),
         Some(json!({"kind": "emergency", "list_item": phone, "place": "路口", "needed": "处置"}))),
        ("street", Method::POST, "/api/v1/whistles".into(),
         Some(json!({"kind": phone, "place": "路口", "needed": "处置"}))),
        ("grid_worker", Method::POST, "/api/v1/grid-cases".into(),
         Some(json!({"role": "grid_worker", "found_at": "2025-10-09T08:50:00+08:00", "category": phone,
                     "description": "占道", "place": "路口"}))),
        ("grid_worker", Method::POST, "/api/v1/grid-cases".into(),
         Some(json!({"role": phone, "found_at": "2025-10-09T08:50:00+08:00", "category": "11.04.01",
                     "description": "占道", "place": "路口"}))),
        ("admin", Method::GET, format!("/api/v1/reports/daily?date={phone}"), None),
        ("admin", Method::GET, format!("/api/v1/reports/evaluation?period={phone}"), None),
        ("admin", Method::GET, format!("/api/v1/whistles/{phone}"), None),
        ("admin", Method::GET, format!("/api/v1/grid-cases/{phone}"), None),
    ]);
    let count = probes.len();
    for (who, method, path, body) in probes {
        for lang in ["zh-CN", "en"] {
            let mut request = app
                .client
                .request(method.clone(), format!("{}{}", app.base, path))
                .header("accept-language", lang);
            if let Some(token) = app.tokens.get(who) {
                request = request.bearer_auth(token);
            }
            if let Some(body) = &body {
                request = request.json(body);
            }
            let response = request.send().await.unwrap();
            let status = response.status();
            let text = response.text().await.unwrap();
            assert!(
                !status.is_server_error(),
                "{method} {path}: {status} {text}"
            );
            assert!(
                !text.contains(phone),
                "{method} {path} echoed the phone: {text}"
            );
        }
    }
    assert!(count >= 25);
    // The refusals still say what to fix.
    let (_, body) = app
        .post("operator", "/api/v1/orders", intake("latitude"))
        .await;
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("location.latitude"),
        "{body}"
    );
    let (_, body) = app
        .post("operator", "/api/v1/orders", intake("channel"))
        .await;
    assert!(
        body["message"].as_str().unwrap().contains("phone"),
        "the allowed values: {body}"
    );
    let (_, body) = app.get("admin", &format!("/api/v1/whistles/{phone}")).await;
    assert!(body["message"].as_str().unwrap().contains("吹哨"), "{body}");
}
