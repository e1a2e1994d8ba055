//! The service itself: health, readiness and metrics, the OpenAPI document, and the reports in every format.

use crate::support::*;
use reqwest::{Method, StatusCode};
use serde_json::json;

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
    // Both ways against the router's own list of routes: every route it serves is documented,
    // every documented path is served.
    let served = whistle_server::served_routes();
    let fits = |template: &str, path: &str| {
        let (a, b): (Vec<&str>, Vec<&str>) =
            (template.split('/').collect(), path.split('/').collect());
        a.len() == b.len()
            && a.iter()
                .zip(&b)
                .all(|(t, p)| t == p || (t.starts_with('{') && t.ends_with('}')))
    };
    let documented: Vec<(String, String)> = paths
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .map(|method| (method.clone(), path.clone()))
                .collect::<Vec<_>>()
        })
        .collect();
    for (method, template) in &served {
        assert!(
            documented
                .iter()
                .any(|(m, p)| m == method && fits(template, p)),
            "{method} {template} is served but not documented"
        );
    }
    for (method, path) in &documented {
        assert!(
            served.iter().any(|(m, t)| m == method && fits(t, path)),
            "{method} {path} is documented but not served"
        );
    }
    for name in whistle_server::whistles_api::COMMANDS {
        assert!(
            paths.contains_key(&format!("/api/v1/whistles/{{no}}/{name}")),
            "{name}"
        );
    }
    for name in whistle_server::grid_api::COMMANDS {
        assert!(
            paths.contains_key(&format!("/api/v1/grid-cases/{{no}}/{name}")),
            "{name}"
        );
    }
    // Every body and answer has a schema, resolvable in the components.
    let schemas = document["components"]["schemas"].as_object().unwrap();
    let text = document.to_string();
    for reference in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
        let name = &reference[..reference.find('"').unwrap()];
        assert!(
            schemas.contains_key(name),
            "{name} is referred to but not defined"
        );
    }
    assert!(schemas.contains_key("OrderView") && schemas.contains_key("Command"));
    // The documented role lists are the server's: for intake and reveal, a principal of every
    // role in the harness is refused when its role is not listed (403, or 404 for an order it
    // cannot see) and never with 403 when it is.
    let roles = |path: &str| -> Vec<String> {
        paths[path]["post"]["x-roles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap().to_string())
            .collect()
    };
    let reveal = roles("/api/v1/orders/{no}/requester/reveal");
    assert!(
        reveal.contains(&"street_official".to_string()),
        "{reveal:?}"
    );
    let intake = roles("/api/v1/orders");
    let refused =
        |status: StatusCode| status == StatusCode::FORBIDDEN || status == StatusCode::NOT_FOUND;
    for (who, role, _) in crate::support::PRINCIPALS {
        if who == "open311" {
            continue;
        }
        let (status, body) = app
            .post(who, "/api/v1/orders", json!({"request_type": "complaint", "text": "x", "category": "11.04.01", "location": {"street": "110105010"}}))
            .await;
        if intake.contains(&role.to_string()) {
            assert_ne!(status, StatusCode::FORBIDDEN, "{who} intake: {body}");
        } else {
            assert_eq!(status, StatusCode::FORBIDDEN, "{who} intake: {body}");
        }
        let (status, body) = app
            .post(
                who,
                &format!("/api/v1/orders/{no}/requester/reveal"),
                json!({"reason": "核实"}),
            )
            .await;
        if reveal.contains(&role.to_string()) {
            assert_ne!(status, StatusCode::FORBIDDEN, "{who} reveal: {body}");
        } else {
            assert!(refused(status), "{who} reveal: {status} {body}");
        }
    }
    // Every documented operation is routed (a refusal is fine; "no such route" or 405 is not).
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            let concrete = path
                .replace("{no}", &no)
                .replace("{format}", "json")
                .replace("{service_code}", "11.04.01")
                .replace("{service_request_id}", &no)
                .replace("{token}", "x");
            if !concrete.starts_with("/api/") && !concrete.starts_with("/open311/") {
                continue;
            }
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

/// Orders, whistles and grid cases answer their histories in one shape: `{no, events: [{seq,
/// at, actor, event}]}` with `event.event` naming the event; a command's result lists its events
/// in the same shape.
#[tokio::test]
async fn the_three_histories_have_one_shape() {
    let app = spawn_app().await;
    app.add_grid_and_lane().await;
    let order = app.order("110105010", "11.04.01").await;
    let (status, whistle) = app
        .post(
            "street",
            "/api/v1/whistles",
            json!({"kind": "emergency", "lead": "110105.dept.urban-management", "assisting": [],
                   "place": "惠新东街12号院", "needed": "抢修", "list_item": "pipe-burst"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{whistle}");
    let (status, case) = app
        .post(
            "grid_worker",
            "/api/v1/grid-cases",
            json!({"role": "grid_worker", "found_at": "2025-10-09T08:50:00+08:00", "category": "11.04.01",
                   "description": "路口有商贩占道经营", "place": "惠新东街路口"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{case}");
    let paths = [
        format!("/api/v1/orders/{order}/history"),
        format!(
            "/api/v1/whistles/{}/history",
            whistle["no"].as_str().unwrap()
        ),
        format!(
            "/api/v1/grid-cases/{}/history",
            case["no"].as_str().unwrap()
        ),
    ];
    for path in paths {
        let (status, history) = app.get("admin", &path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        let mut top: Vec<_> = history.as_object().unwrap().keys().cloned().collect();
        top.sort();
        assert_eq!(top, ["events", "no"], "{path}");
        for entry in history["events"].as_array().unwrap() {
            let mut keys: Vec<_> = entry.as_object().unwrap().keys().cloned().collect();
            keys.sort();
            assert_eq!(keys, ["actor", "at", "event", "seq"], "{path}: {entry}");
            assert!(entry["event"]["event"].is_string(), "{path}: {entry}");
            assert!(entry["actor"]["unit"].is_string());
        }
    }
    let (status, result) = app.run("street", &order, "accept", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{result}");
    assert_eq!(result["events"][0]["event"]["event"], "accepted");
    assert!(result["events"][0]["seq"].is_u64());
}
