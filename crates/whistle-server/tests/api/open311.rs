//! Open311 GeoReport v2: discovery, services, requests in JSON and XML, refusals.

use crate::support::*;
use reqwest::{Method, StatusCode};
use serde_json::Value;

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
