//! The citizen's page through its forms: a request submitted without login (refused input kept
//! and nothing stored; a double submit stores one order; the number shown only to the browser
//! that sent it), then rated after the reply (dissatisfied with rework reopens; outside the
//! window or before a reply, refused).

use crate::pages::{browser, hidden, location, set_cookie};
use crate::support::*;
use reqwest::StatusCode;
use serde_json::json;

struct Visitor<'a> {
    app: &'a TestApp,
    client: reqwest::Client,
    cookie: String,
    token: String,
}

impl<'a> Visitor<'a> {
    async fn arrive(app: &'a TestApp) -> Visitor<'a> {
        let client = browser();
        let home = client.get(format!("{}/", app.base)).send().await.unwrap();
        let cookie = set_cookie(&home, "whistle_form").unwrap();
        let token = hidden(&home.text().await.unwrap(), "csrf");
        Visitor {
            app,
            client,
            cookie,
            token,
        }
    }

    async fn post(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let mut form = vec![("csrf", self.token.as_str())];
        form.extend_from_slice(fields);
        self.client
            .post(format!("{}{path}", self.app.base))
            .header("cookie", &self.cookie)
            .form(&form)
            .send()
            .await
            .unwrap()
    }
}

const KEY: &str = "0123456789abcdef0123456789abcdef";

fn request<'a>(text: &'a str, phone: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("key", KEY),
        ("request_type", "complaint"),
        ("category", "11.04.01"),
        ("district", "110105"),
        ("street", "110105010"),
        ("address", "惠新东街"),
        ("text", text),
        ("name", "王女士"),
        ("phone", phone),
    ]
}

#[tokio::test]
async fn a_citizen_submits_tracks_and_rates_without_logging_in() {
    let app = spawn_app().await;
    let visitor = Visitor::arrive(&app).await;
    let (orders_before, _) = app.state.store.totals().await.unwrap();
    // Refused: no token; no category; too short; a phone that is not one; a street of another district.
    let forged = browser()
        .post(format!("{}/submit", app.base))
        .form(&request("小区门口占道经营严重", "13800001234"))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let mut no_category = request("小区门口占道经营严重", "13800001234");
    no_category[2] = ("category", "");
    let refused = visitor.post("/submit", &no_category).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = refused.text().await.unwrap();
    assert!(
        page.contains("请选择问题类别") && page.contains("小区门口占道经营严重"),
        "the text is kept"
    );
    for (fields, wanted) in [
        (request("太短", "13800001234"), "至少 5 个字"),
        (request("小区门口占道经营严重", "call me"), "有效的联系电话"),
    ] {
        let response = visitor.post("/submit", &fields).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(response.text().await.unwrap().contains(wanted), "{wanted}");
    }
    let mut elsewhere = request("小区门口占道经营严重", "13800001234");
    elsewhere[3] = ("district", "110101");
    assert_eq!(
        visitor.post("/submit", &elsewhere).await.status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        app.state.store.totals().await.unwrap().0,
        orders_before,
        "nothing stored"
    );

    // Accepted, dispatched by the catalogue; a double submit is the same order.
    let fields = request("小区门口占道经营严重，影响通行", "138-0000-1234");
    let first = visitor.post("/submit", &fields).await;
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    let again = visitor.post("/submit", &fields).await;
    assert_eq!(location(&again), location(&first));
    let no = location(&first)
        .trim_start_matches("/?submitted=")
        .to_string();
    assert_eq!(app.state.store.totals().await.unwrap().0, orders_before + 1);
    let (_, order) = app.get("admin", &format!("/api/v1/orders/{no}")).await;
    assert_eq!(order["channel"], "web");
    assert_eq!(order["stage"]["lead"], "110105010");
    let submitted = set_cookie(&first, "whistle_submitted").unwrap();
    let shown = browser()
        .get(format!("{}/?submitted={no}", app.base))
        .header("cookie", format!("{submitted}; {}", visitor.cookie))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(shown.contains("id=\"submitted\"") && shown.contains("小关街道"));
    let guessed = browser()
        .get(format!("{}/?submitted={no}", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !guessed.contains("id=\"submitted\""),
        "a guessed number shows nothing"
    );

    // Not yet replied: no rating form, and a rating is refused.
    let track = format!("{}/track?no={no}&last4=1234", app.base);
    let page = browser()
        .get(&track)
        .header("cookie", &visitor.cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!page.contains("id=\"rate\""));
    let rating = [
        ("no", no.as_str()),
        ("last4", "1234"),
        ("contacted", "yes"),
        ("resolved", "no"),
        ("satisfaction", "dissatisfied"),
        ("rework", "yes"),
    ];
    assert_eq!(
        visitor.post("/rate", &rating).await.status(),
        StatusCode::CONFLICT
    );
    for (command, fields) in [
        ("accept", json!({})),
        (
            "reply",
            json!({"outcome": "resolved", "actions": "已清理占道摊点"}),
        ),
    ] {
        let (status, body) = app.run("street", &no, command, fields).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let page = browser()
        .get(&track)
        .header("cookie", &visitor.cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("id=\"rate\"") && page.contains("已清理占道摊点"));
    // Wrong digits are not found; half an answer is refused; then dissatisfied with rework.
    let wrong = [
        ("no", no.as_str()),
        ("last4", "9999"),
        ("contacted", "yes"),
        ("resolved", "no"),
        ("satisfaction", "dissatisfied"),
    ];
    assert_eq!(
        visitor.post("/rate", &wrong).await.status(),
        StatusCode::NOT_FOUND
    );
    let half = [
        ("no", no.as_str()),
        ("last4", "1234"),
        ("satisfaction", "dissatisfied"),
    ];
    assert_eq!(
        visitor.post("/rate", &half).await.status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let rated = visitor.post("/rate", &rating).await;
    assert_eq!(rated.status(), StatusCode::SEE_OTHER);
    let (_, order) = app.get("admin", &format!("/api/v1/orders/{no}")).await;
    assert_eq!(order["stage"]["stage"], "dispatched", "reopened for rework");
    assert_eq!(order["reopen_count"], 1);
    let (_, history) = app
        .get("admin", &format!("/api/v1/orders/{no}/history"))
        .await;
    let visit = history["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event"]["event"] == "visited")
        .unwrap();
    assert_eq!(visit["actor"]["user"], "citizen-web");
    assert_eq!(visit["event"]["result"]["satisfaction"], "dissatisfied");
    let page = browser()
        .get(&track)
        .header("cookie", &visitor.cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("id=\"rated\"") && !page.contains("13800001234") && !page.contains("王女士")
    );
}

/// A 1×1 JPEG's first bytes are enough for the type check; the rest is filler.
fn jpeg(size: usize) -> Vec<u8> {
    let mut data = vec![0xFF, 0xD8, 0xFF, 0xE0];
    data.resize(size, 7);
    data
}

#[tokio::test]
async fn photos_are_checked_before_anything_is_stored_and_shown_only_within_scope() {
    let mut settings = whistle_server::ServerSettings::default();
    settings.worker.enabled = false;
    settings.attachment_max_bytes = 4096;
    settings.attachments_per_order = 2;
    let app = spawn_app_with(settings).await;
    crate::pages::user(&app, "xiaoguan", "handler", "110105010").await;
    crate::pages::user(&app, "hepingjie", "handler", "110105011").await;
    let visitor = Visitor::arrive(&app).await;
    let form = |photo: Vec<u8>, name: &str, text: &str| {
        let mut form = reqwest::multipart::Form::new();
        for (k, v) in request(text, "13800001234") {
            form = form.text(k.to_string(), v.to_string());
        }
        form.text("csrf", visitor.token.clone()).part(
            "photo",
            reqwest::multipart::Part::bytes(photo).file_name(name.to_string()),
        )
    };
    let send = |form: reqwest::multipart::Form| {
        visitor
            .client
            .post(format!("{}/submit", app.base))
            .header("cookie", &visitor.cookie)
            .multipart(form)
            .send()
    };
    let (before, _) = app.state.store.totals().await.unwrap();
    // A text file called .jpg, and a photo over the limit: refused, nothing stored.
    for (photo, name, wanted) in [
        (b"<?php echo 1; ?>".to_vec(), "x.jpg", "只接受"),
        (jpeg(5000), "big.jpg", "不能超过"),
    ] {
        let response = send(form(photo, name, "小区门口占道经营严重"))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(response.text().await.unwrap().contains(wanted), "{wanted}");
    }
    assert_eq!(
        app.state.store.totals().await.unwrap().0,
        before,
        "nothing stored"
    );
    let sent = send(form(
        jpeg(2000),
        "../../etc/现场.jpg",
        "门口占道经营，附照片",
    ))
    .await
    .unwrap();
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    let no = location(&sent)
        .trim_start_matches("/?submitted=")
        .to_string();
    let order = app
        .state
        .store
        .order(&whistle_store::OrderRef::No(
            whistle_core::ids::OrderNo::parse(&no).unwrap(),
        ))
        .await
        .unwrap()
        .unwrap();
    let files = app.state.store.attachments(order.id).await.unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].name, "现场.jpg", "no path");
    assert_eq!(files[0].added_by, "citizen-web");
    assert_eq!(files[0].content_type, "image/jpeg");

    // The street sees and downloads it; another street does not; staff upload within the cap.
    let session = crate::pages::sign_in(&app, "xiaoguan").await;
    let client = browser();
    let page = client
        .get(format!("{}/ui/orders/{no}", app.base))
        .header("cookie", &session)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let path = format!("/ui/orders/{no}/attachments/{}", files[0].sha256);
    assert!(page.contains(&path));
    let file = client
        .get(format!("{}{path}", app.base))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(file.headers()["content-type"], "image/jpeg");
    assert_eq!(file.bytes().await.unwrap().to_vec(), jpeg(2000));
    let other = crate::pages::sign_in(&app, "hepingjie").await;
    let denied = client
        .get(format!("{}{path}", app.base))
        .header("cookie", &other)
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), StatusCode::NOT_FOUND);
    let anonymous = client
        .get(format!("{}{path}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(
        anonymous.status(),
        StatusCode::SEE_OTHER,
        "to the login page"
    );
    let csrf = hidden(&page, "csrf");
    let upload = |data: Vec<u8>, csrf: String| {
        let form = reqwest::multipart::Form::new().text("csrf", csrf).part(
            "file",
            reqwest::multipart::Part::bytes(data).file_name("整改后.png"),
        );
        client
            .post(format!("{}/ui/orders/{no}/attachments", app.base))
            .header("cookie", &session)
            .multipart(form)
            .send()
    };
    let png = |n: u8| [b"\x89PNG\r\n\x1a\n".to_vec(), vec![n; 100]].concat();
    assert_eq!(
        upload(png(1), "0".repeat(32)).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        upload(png(1), csrf.clone()).await.unwrap().status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        upload(png(1), csrf.clone()).await.unwrap().status(),
        StatusCode::SEE_OTHER,
        "the same bytes again"
    );
    assert_eq!(
        upload(png(2), csrf.clone()).await.unwrap().status(),
        StatusCode::CONFLICT,
        "the order is full"
    );
    assert_eq!(
        app.state.store.attachments(order.id).await.unwrap().len(),
        2
    );
}
