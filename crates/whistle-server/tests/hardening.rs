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

async fn with_account(settings: whistle_server::ServerSettings) -> TestApp {
    let app = spawn_app_with(whistle_server::ServerSettings {
        worker: whistle_server::WorkerSettings {
            enabled: false,
            ..Default::default()
        },
        ..settings
    })
    .await;
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
    app
}

async fn login_from(app: &TestApp, from: &str, password: &str) -> reqwest::Response {
    app.client
        .post(format!("{}/api/v1/login", app.base))
        .header("x-forwarded-for", from)
        .json(&json!({"login": "xiaowang", "password": password}))
        .send()
        .await
        .unwrap()
}

/// Logout by cookie ends the session; the cookie is the one a browser sends.
#[tokio::test]
async fn logout_with_the_cookie_ends_the_session() {
    let app = with_account(Default::default()).await;
    let response = login_from(&app, "", "correct horse battery").await;
    assert_eq!(response.status(), StatusCode::OK);
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_string();
    let pair = cookie.split(';').next().unwrap().to_string();
    let me = |pair: String| {
        let app = &app;
        async move {
            app.client
                .get(format!("{}/api/v1/me", app.base))
                .header("cookie", pair)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(me(pair.clone()).await, StatusCode::OK);
    let out = app
        .client
        .post(format!("{}/api/v1/logout", app.base))
        .header("cookie", pair.clone())
        .header("origin", &app.base)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    assert_eq!(me(pair).await, StatusCode::UNAUTHORIZED);
}

/// A login for an account that does not exist costs the same argon2 work as one that does.
#[tokio::test]
async fn login_takes_as_long_for_unknown_accounts() {
    let app = with_account(Default::default()).await;
    let time = |login: &'static str| {
        let app = &app;
        async move {
            let started = std::time::Instant::now();
            for _ in 0..3 {
                let status = app
                    .client
                    .post(format!("{}/api/v1/login", app.base))
                    .json(&json!({"login": login, "password": "wrong password"}))
                    .send()
                    .await
                    .unwrap()
                    .status();
                assert_eq!(status, StatusCode::UNAUTHORIZED);
            }
            started.elapsed().as_secs_f64()
        }
    };
    let _ = time("nobody").await;
    let known = time("xiaowang").await;
    let unknown = time("nobody-at-all").await;
    assert!(
        unknown > known * 0.5,
        "unknown {unknown:.4}s against known {known:.4}s: the time tells which accounts exist"
    );
}

/// Budgets per class and key: a guesser behind one address holds only that address's attempts
/// at the account; the right password from another address still works, and tracking from the
/// guesser's address is untouched. Tracking an order takes only a few wrong suffixes.
#[tokio::test]
async fn rate_limits_are_per_account_per_address_and_per_order() {
    let app = with_account(whistle_server::ServerSettings {
        trusted_proxies: vec!["127.0.0.1".into()],
        login_failures_per_ip_account: 5,
        login_failures_per_account: 20,
        track_failures_per_order_per_hour: 5,
        ..Default::default()
    })
    .await;
    for _ in 0..5 {
        assert_eq!(
            login_from(&app, "203.0.113.9", "guess").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let held = login_from(&app, "203.0.113.9", "correct horse battery").await;
    assert_eq!(held.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(held.headers().contains_key("retry-after"));
    assert_eq!(
        login_from(&app, "198.51.100.7", "correct horse battery")
            .await
            .status(),
        StatusCode::OK,
        "the right password from another address"
    );
    // An X-Forwarded-For from an untrusted peer is ignored: the guesser cannot rotate addresses
    // unless the proxy is trusted (here it is; so the account-wide budget is what stops it).
    for i in 0..20 {
        let _ = login_from(&app, &format!("192.0.2.{i}"), "guess").await;
    }
    assert_eq!(
        login_from(&app, "198.51.100.8", "correct horse battery")
            .await
            .status(),
        StatusCode::TOO_MANY_REQUESTS,
        "the account-wide failure budget"
    );
    let no = app.order("110105010", "11.04.01").await;
    let track = |suffix: &'static str| {
        let app = &app;
        let no = no.clone();
        async move {
            app.client
                .get(format!(
                    "{}/api/v1/track/{no}?phone_last4={suffix}",
                    app.base
                ))
                .header("x-forwarded-for", "203.0.113.9")
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(
        track("1234").await,
        StatusCode::OK,
        "tracking is its own budget"
    );
    for _ in 0..5 {
        assert_eq!(track("0000").await, StatusCode::NOT_FOUND);
    }
    assert_eq!(
        track("1234").await,
        StatusCode::TOO_MANY_REQUESTS,
        "the order is held"
    );
}

/// Writes: JSON only (415 otherwise), and cookie sessions only from the service's own origin.
#[tokio::test]
async fn cross_site_writes_are_refused() {
    let app = with_account(Default::default()).await;
    let order = json!({"request_type": "complaint", "text": "占道经营", "category": "11.04.01",
                       "location": {"street": "110105010"}});
    let token = app.tokens["operator"].clone();
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        None,
    ] {
        let mut request = app
            .client
            .post(format!("{}/api/v1/orders", app.base))
            .bearer_auth(&token)
            .body(order.to_string());
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let response = request.send().await.unwrap();
        assert_eq!(
            response.status(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{content_type:?}"
        );
    }
    let (before, _) = app.state.store.totals().await.unwrap();
    let cookie = login_from(&app, "", "correct horse battery")
        .await
        .headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let post = |origin: Option<&'static str>| {
        let app = &app;
        let cookie = cookie.clone();
        let order = order.clone();
        async move {
            let mut request = app
                .client
                .post(format!("{}/api/v1/orders", app.base))
                .header("cookie", cookie)
                .json(&order);
            if let Some(origin) = origin {
                request = request.header("origin", origin);
            }
            request.send().await.unwrap().status()
        }
    };
    assert_eq!(post(None).await, StatusCode::FORBIDDEN);
    assert_eq!(
        post(Some("https://evil.example")).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.state.store.totals().await.unwrap().0,
        before,
        "nothing written"
    );
    let own: &'static str = Box::leak(app.base.clone().into_boxed_str());
    assert_eq!(post(Some(own)).await, StatusCode::CREATED);
    // A login form posted from another site is refused too.
    let response = app
        .client
        .post(format!("{}/api/v1/login", app.base))
        .header("origin", "https://evil.example")
        .json(&json!({"login": "xiaowang", "password": "correct horse battery"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    // Photos are URLs or attachments, never paths.
    app.add_grid_and_lane().await;
    let (status, body) = app
        .post(
            "grid_worker",
            "/api/v1/grid-cases",
            json!({"role": "grid_worker", "found_at": "2025-10-09T08:50:00+08:00", "category": "11.04.01",
                   "description": "占道", "place": "路口", "photos": ["../../etc/passwd"]}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("photos"),
        "{body}"
    );
}

/// Behind TLS (an https public URL) the session cookie is Secure by default.
#[tokio::test]
async fn the_cookie_is_secure_behind_https() {
    let app = with_account(whistle_server::ServerSettings {
        public_url: Some("https://12345.example.gov.cn".into()),
        ..Default::default()
    })
    .await;
    let response = login_from(&app, "", "correct horse battery").await;
    assert_eq!(response.status(), StatusCode::OK);
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(cookie.contains("; Secure"), "{cookie}");
    let plain = with_account(Default::default()).await;
    let cookie = login_from(&plain, "", "correct horse battery")
        .await
        .headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(!cookie.contains("Secure"), "{cookie}");
}
