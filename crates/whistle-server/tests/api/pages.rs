//! The pages' door: the content policy and the embedded files, signing in and out with the
//! forms' tokens, an order's page within the viewer's scope, and the citizen's tracking.

use crate::support::*;
use reqwest::StatusCode;
use serde_json::json;
use whistle_core::ids::UnitCode;
use whistle_server::Clock;

pub const PASSWORD: &str = "correct horse battery";

pub async fn user(app: &TestApp, login: &str, role: &str, unit: &str) {
    let hash = whistle_server::auth::hash_password(PASSWORD).unwrap();
    let account = whistle_store::Account {
        login: login.into(),
        display_name: login.into(),
        role: role.into(),
        unit: UnitCode::parse(unit).unwrap(),
        active: true,
        other_roles: Vec::new(),
    };
    app.state
        .store
        .put_user(&account, &hash, app.clock.now())
        .await
        .unwrap();
}

/// A client that shows redirects instead of following them, and keeps no cookies.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|v| v.split(';').next().unwrap().to_string())
}

pub fn location(response: &reqwest::Response) -> String {
    response.headers()["location"].to_str().unwrap().to_string()
}

pub fn hidden(body: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = body.find(&marker).unwrap() + marker.len();
    body[start..start + body[start..].find('"').unwrap()].to_string()
}

/// Signs in through the form; the session cookie (`whistle_session=…`).
pub async fn sign_in(app: &TestApp, login: &str) -> String {
    let client = browser();
    let page = client
        .get(format!("{}/ui/login", app.base))
        .send()
        .await
        .unwrap();
    let form_cookie = set_cookie(&page, "whistle_login_csrf").unwrap();
    let token = hidden(&page.text().await.unwrap(), "csrf");
    let response = client
        .post(format!("{}/ui/login", app.base))
        .header("cookie", &form_cookie)
        .form(&[
            ("login", login),
            ("password", PASSWORD),
            ("csrf", &token),
            ("next", "/ui/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    set_cookie(&response, "whistle_session").unwrap()
}

#[tokio::test]
async fn every_page_carries_the_content_policy_and_the_files_are_immutable() {
    let app = spawn_app().await;
    let response = browser()
        .get(format!("{}/", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.starts_with("default-src 'self'"), "{csp}");
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.headers()["x-frame-options"], "DENY");
    let body = response.text().await.unwrap();
    assert!(body.contains("<html lang=\"zh-CN\">"));
    let assets: Vec<&str> = body
        .split('"')
        .filter(|part| part.starts_with("/assets/"))
        .collect();
    assert_eq!(
        assets.len(),
        3,
        "the style sheet, htmx and the keys: {assets:?}"
    );
    for asset in assets {
        let response = browser()
            .get(format!("{}{asset}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{asset}");
        assert_eq!(
            response.headers()["cache-control"],
            "public, max-age=31536000, immutable"
        );
        let kind = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(
            kind.starts_with("text/css") || kind.starts_with("text/javascript"),
            "{kind}"
        );
    }
    let stale = browser()
        .get(format!("{}/assets/htmx.000000000000.js", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), StatusCode::NOT_FOUND);
    let english = browser()
        .get(format!("{}/", app.base))
        .header("accept-language", "en-GB,en;q=0.9")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(english.contains("<html lang=\"en\">") && english.contains("Track my request"));
    let switched = browser()
        .get(format!("{}/ui/lang/en?next=/track%3Fno%3D1", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&switched), "/track?no=1");
    assert_eq!(
        set_cookie(&switched, "whistle_lang").unwrap(),
        "whistle_lang=en"
    );
}

#[tokio::test]
async fn signing_in_needs_the_forms_token_and_signing_out_the_sessions() {
    let app = spawn_app().await;
    user(&app, "xiaoli", "handler", "110105010").await;
    let client = browser();
    let door = client
        .get(format!("{}/ui/", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(door.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&door), "/ui/login?next=/ui/");

    let page = client
        .get(format!("{}/ui/login", app.base))
        .send()
        .await
        .unwrap();
    let form_cookie = set_cookie(&page, "whistle_login_csrf").unwrap();
    let token = hidden(&page.text().await.unwrap(), "csrf");
    let login = |cookie: Option<String>, fields: Vec<(&'static str, String)>| {
        let mut request = client.post(format!("{}/ui/login", app.base)).form(&fields);
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        request.send()
    };
    let fields = |password: &str, csrf: &str, next: &str| {
        vec![
            ("login", "xiaoli".to_string()),
            ("password", password.to_string()),
            ("csrf", csrf.to_string()),
            ("next", next.to_string()),
        ]
    };
    // Another site's form: no token cookie, or a token that is not the cookie's.
    for (cookie, csrf) in [
        (None, token.clone()),
        (Some(form_cookie.clone()), "0".repeat(32)),
    ] {
        let refused = login(cookie, fields(PASSWORD, &csrf, "/ui/"))
            .await
            .unwrap();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        assert!(set_cookie(&refused, "whistle_session").is_none());
        assert!(refused.text().await.unwrap().contains("登录页面已过期"));
    }
    let wrong = login(Some(form_cookie.clone()), fields("wrong", &token, "/ui/"))
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(set_cookie(&wrong, "whistle_session").is_none());
    let body = wrong.text().await.unwrap();
    assert!(
        body.contains("用户名或密码错误") && body.contains("value=\"xiaoli\""),
        "{body}"
    );
    let empty = login(Some(form_cookie.clone()), fields("", &token, "/ui/"))
        .await
        .unwrap();
    assert_eq!(empty.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let malformed = client
        .post(format!("{}/ui/login", app.base))
        .header("cookie", &form_cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("login=a&login=b&password=x")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    assert!(malformed.text().await.unwrap().contains("表单格式不正确"));
    // An open redirect is not followed: `next` stays on the service.
    let signed = login(
        Some(form_cookie.clone()),
        fields(PASSWORD, &token, "https://evil.example/"),
    )
    .await
    .unwrap();
    assert_eq!(signed.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&signed), "/ui/");
    let session = set_cookie(&signed, "whistle_session").unwrap();

    let landing = client
        .get(format!("{}/ui/", app.base))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(landing.status(), StatusCode::OK);
    let landing = landing.text().await.unwrap();
    assert!(landing.contains("我的工作台") && landing.contains("小关街道"));
    let csrf = hidden(&landing, "csrf");
    let logout = |fields: Vec<(&'static str, String)>| {
        client
            .post(format!("{}/ui/logout", app.base))
            .header("cookie", &session)
            .form(&fields)
            .send()
    };
    let refused = logout(vec![("csrf", "0".repeat(32))]).await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let still = client
        .get(format!("{}/ui/", app.base))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(
        still.status(),
        StatusCode::OK,
        "a refused sign-out leaves the session"
    );
    let out = logout(vec![("csrf", csrf)]).await.unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert!(set_cookie(&out, "whistle_session").unwrap().ends_with('='));
    let gone = client
        .get(format!("{}/ui/", app.base))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(
        gone.status(),
        StatusCode::SEE_OTHER,
        "the session is ended in the store"
    );
}

#[tokio::test]
async fn an_order_page_shows_only_what_the_viewer_may_see() {
    let app = spawn_app().await;
    user(&app, "xiaoguan", "handler", "110105010").await;
    user(&app, "other", "handler", "110101001").await;
    let no = app.order("110105010", "11.04.01").await;
    let page = |session: String| {
        browser()
            .get(format!("{}/ui/orders/{no}", app.base))
            .header("cookie", session)
            .send()
    };
    let own = page(sign_in(&app, "xiaoguan").await).await.unwrap();
    assert_eq!(own.status(), StatusCode::OK);
    let body = own.text().await.unwrap();
    for wanted in [
        "小区门口占道经营",
        "占道经营",
        "小关街道",
        "受理",
        "派单",
        "*******1234",
        "张*",
    ] {
        assert!(body.contains(wanted), "{wanted} missing");
    }
    assert!(
        !body.contains("13800001234") && !body.contains("张三"),
        "the requester is masked"
    );
    let foreign = page(sign_in(&app, "other").await).await.unwrap();
    assert_eq!(foreign.status(), StatusCode::NOT_FOUND);
    assert!(!foreign.text().await.unwrap().contains("小区门口占道经营"));
    // An integration token opens no page.
    let token = browser()
        .get(format!("{}/ui/orders/{no}", app.base))
        .bearer_auth(&app.tokens["admin"])
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), StatusCode::SEE_OTHER);
    let lookup = browser()
        .get(format!("{}/ui/orders?no=%20{no}%20", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&lookup), format!("/ui/orders/{no}"));
}

#[tokio::test]
async fn the_citizen_tracks_with_four_digits_and_sees_nothing_personal() {
    let app = spawn_app().await;
    let no = app.order("110105010", "11.04.01").await;
    let track = |last4: &str| {
        browser()
            .get(format!("{}/track?no={no}&last4={last4}", app.base))
            .send()
    };
    let found = track("1234").await.unwrap();
    assert_eq!(found.status(), StatusCode::OK);
    let body = found.text().await.unwrap();
    assert!(
        body.contains("id=\"tracked\"") && body.contains("小关街道") && body.contains("待签收")
    );
    assert!(!body.contains("张三") && !body.contains("13800001234") && !body.contains("operator"));
    let wrong = track("0000").await.unwrap();
    assert_eq!(wrong.status(), StatusCode::NOT_FOUND);
    let wrong = wrong.text().await.unwrap();
    assert!(wrong.contains("未找到该工单") && !wrong.contains("id=\"tracked\""));
    let malformed = track("12a").await.unwrap();
    assert_eq!(malformed.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let unknown = browser()
        .get(format!("{}/track?no=not-a-number&last4=1234", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_intake_form_saves_once_and_refuses_bad_input_without_writing() {
    let app = spawn_app().await;
    user(&app, "xiaowang", "operator", "11.center").await;
    user(&app, "xiaoguan", "handler", "110105010").await;
    let session = sign_in(&app, "xiaowang").await;
    let client = browser();
    let form = client
        .get(format!("{}/ui/intake?ani=138-0000-5678", app.base))
        .header("cookie", &session)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        form.contains("value=\"13800005678\""),
        "the caller number from ?ani="
    );
    let (csrf, key) = (hidden(&form, "csrf"), hidden(&form, "key"));
    let count = || async {
        app.state
            .store
            .list_orders(
                &whistle_store::Scope::All,
                &whistle_store::OrderFilter::default(),
                &whistle_store::PageRequest {
                    after: None,
                    limit: 100,
                },
            )
            .await
            .unwrap()
            .items
            .len()
    };
    let post = |fields: Vec<(&'static str, String)>, cookie: String| {
        client
            .post(format!("{}/ui/intake", app.base))
            .header("cookie", cookie)
            .form(&fields)
            .send()
    };
    let good = |csrf: &str| {
        vec![
            ("csrf", csrf.to_string()),
            ("key", key.clone()),
            ("phone", "13800005678".to_string()),
            ("text", "小区门口占道经营".to_string()),
            ("district", "110105".to_string()),
            ("street", "110105010".to_string()),
            ("category", "11.04.01 占道经营".to_string()),
            ("request_type", "complaint".to_string()),
            ("disposition", "dispatch".to_string()),
        ]
    };
    // Refusals write nothing and keep what was typed.
    let with = |field: &'static str, value: &str| {
        let mut fields = good(&csrf);
        fields.retain(|(name, _)| *name != field);
        fields.push((field, value.to_string()));
        fields
    };
    for (fields, status, wanted) in [
        (
            with("text", "  "),
            StatusCode::UNPROCESSABLE_ENTITY,
            "请填写诉求内容",
        ),
        (
            with("category", "占道"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "末级类别",
        ),
        (
            with("category", "11.04 市容环境"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "末级类别",
        ),
        (
            with("street", "999999999"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "请从列表中选择",
        ),
        (
            with("phone", "12ab"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "5–20 位数字",
        ),
        (
            with("disposition", "answer_now"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "请写明答复或说明",
        ),
        (
            with("disposition", "repeat_no_new"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "原工单号",
        ),
        (
            with("disposition", "nonsense"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "请选择处理方式",
        ),
        (with("csrf", ""), StatusCode::FORBIDDEN, "页面已过期"),
    ] {
        let response = post(fields, session.clone()).await.unwrap();
        assert_eq!(response.status(), status, "{wanted}");
        let body = response.text().await.unwrap();
        assert!(body.contains(wanted), "{wanted}: {body}");
        assert!(
            body.contains("小区门口占道经营") || wanted == "请填写诉求内容",
            "the text is kept"
        );
        assert!(!body.contains("13800005678") || body.contains("value=\"13800005678\""));
    }
    let repeat_of_nothing = post(
        {
            let mut fields = with("disposition", "repeat_no_new");
            fields.push(("earlier", "20200101-000001".into()));
            fields
        },
        session.clone(),
    )
    .await
    .unwrap();
    assert_eq!(
        repeat_of_nothing.status(),
        StatusCode::NOT_FOUND,
        "the engine's refusal"
    );
    let malformed = client
        .post(format!("{}/ui/intake", app.base))
        .header("cookie", &session)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("text=a&text=b")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    let handler = post(good(&csrf), sign_in(&app, "xiaoguan").await)
        .await
        .unwrap();
    assert_eq!(
        handler.status(),
        StatusCode::FORBIDDEN,
        "the intake desk is the operator's"
    );
    assert_eq!(count().await, 0, "nothing refused was written");

    // Saved and dispatched; the same form submitted twice stores one order.
    let first = post(good(&csrf), session.clone()).await.unwrap();
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    let again = post(good(&csrf), session.clone()).await.unwrap();
    assert_eq!(location(&first), location(&again));
    assert_eq!(count().await, 1);
    let no = location(&first).rsplit('=').next().unwrap().to_string();
    let (_, order) = app.get("admin", &format!("/api/v1/orders/{no}")).await;
    assert_eq!(order["stage"]["stage"], "dispatched");
    assert_eq!(order["stage"]["lead"], "110105010");
    assert_eq!(order["requester"]["phone"], "*******5678");
    let saved = client
        .get(format!("{}{}", app.base, location(&first)))
        .header("cookie", &session)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(saved.contains(&format!("id=\"saved-no\">{no}<")) && saved.contains("小关街道"));
    // A changed form under the same key is not a retry.
    let changed = post(with("text", "另一件事"), session.clone())
        .await
        .unwrap();
    assert_eq!(changed.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(count().await, 1);
    // The lists under the district and the street come by name.
    let streets = client
        .get(format!("{}/ui/intake/streets?district=110105", app.base))
        .header("cookie", &session)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        streets.contains("<option value=\"110105010\">小关街道</option>"),
        "{streets}"
    );
}

#[tokio::test]
async fn the_inbox_lists_the_units_orders_and_accepts_with_its_version() {
    let app = spawn_app().await;
    user(&app, "xiaoguan", "handler", "110105010").await;
    user(&app, "other", "handler", "110101001").await;
    let no = app.order("110105010", "11.04.01").await;
    let elsewhere = app.order("110101001", "11.04.01").await;
    let session = sign_in(&app, "xiaoguan").await;
    let client = browser();
    let get = |path: String, session: String| {
        client
            .get(format!("{}{path}", app.base))
            .header("cookie", session)
            .send()
    };
    let inbox = get("/ui/inbox".into(), session.clone())
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        inbox.contains(&no) && !inbox.contains(&elsewhere),
        "only my unit's orders"
    );
    assert!(inbox.contains("待签收") && inbox.contains("剩余"));
    let csrf = hidden(&inbox, "csrf");
    let csv = get("/ui/inbox?tab=pending&format=csv".into(), session.clone())
        .await
        .unwrap();
    assert!(csv.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let csv = csv.text().await.unwrap();
    assert!(
        csv.starts_with("\u{feff}工单号,类别") && csv.contains(&no) && csv.contains("占道经营")
    );
    assert!(
        !csv.contains("13800001234"),
        "no personal data in the export"
    );
    let xlsx = get("/ui/inbox?tab=pending&format=xlsx".into(), session.clone())
        .await
        .unwrap();
    assert!(xlsx.headers()["content-type"]
        .to_str()
        .unwrap()
        .contains("spreadsheetml"));
    assert!(
        xlsx.bytes().await.unwrap().starts_with(b"PK"),
        "a workbook (zip)"
    );
    // The street filter by the typeahead's "name code" and by the code alone agree.
    let by_name = get(
        "/ui/inbox?tab=all&street=%E5%B0%8F%E5%85%B3%E8%A1%97%E9%81%93%20110105010".into(),
        session.clone(),
    )
    .await
    .unwrap()
    .text()
    .await
    .unwrap();
    assert!(by_name.contains(&no));
    let filtered = get("/ui/inbox?tab=all&q=不存在的词".into(), session.clone())
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(filtered.contains("id=\"empty\""));

    let accept = |version: u64, csrf: String, session: String| {
        client
            .post(format!("{}/ui/orders/{no}/act/accept", app.base))
            .header("cookie", session)
            .form(&[
                ("csrf", csrf),
                ("version", version.to_string()),
                ("next", "/ui/inbox?tab=pending".to_string()),
            ])
            .send()
    };
    let version = app.version(&no).await;
    let forged = accept(version, "0".repeat(32), session.clone())
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let stale = accept(version - 1, csrf.clone(), session.clone())
        .await
        .unwrap();
    assert_eq!(stale.status(), StatusCode::CONFLICT, "someone acted first");
    let foreign = accept(
        version,
        hidden(
            &get("/ui/inbox".into(), sign_in(&app, "other").await)
                .await
                .unwrap()
                .text()
                .await
                .unwrap(),
            "csrf",
        ),
        sign_in(&app, "other").await,
    )
    .await
    .unwrap();
    assert_ne!(
        foreign.status(),
        StatusCode::SEE_OTHER,
        "not another street's order"
    );
    assert_eq!(app.version(&no).await, version, "refusals change nothing");
    let accepted = accept(version, csrf.clone(), session.clone())
        .await
        .unwrap();
    assert_eq!(accepted.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&accepted), "/ui/inbox?tab=pending");
    let (_, order) = app.get("admin", &format!("/api/v1/orders/{no}")).await;
    assert_eq!(order["stage"]["stage"], "accepted");
    let handling = get("/ui/inbox?tab=handling".into(), session.clone())
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(handling.contains(&no) && handling.contains("办理中"));
}

#[tokio::test]
async fn the_inboxs_time_limit_filter_splits_on_time_late_and_three_times_late() {
    let app = spawn_app().await;
    user(&app, "xiaoguan", "handler", "110105010").await;
    let old = app.order("110105010", "11.04.01").await;
    // Ten days on, the first order is far past its deadline; a new one has its time ahead.
    app.clock.advance(10 * 24 * 60);
    let new = app.order("110105010", "11.04.01").await;
    let client = browser();
    // Signed in afresh for each look: the clock's jumps outlast a session.
    let page = |filter: &'static str| {
        let client = client.clone();
        let app = &app;
        async move {
            let session = sign_in(app, "xiaoguan").await;
            client
                .get(format!(
                    "{}/ui/inbox?tab=all&punctuality={filter}",
                    app.base
                ))
                .header("cookie", session)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    let on_time = page("on_time").await;
    let late = page("late").await;
    let thrice = page("thrice").await;
    let all = page("nonsense").await;
    assert!(on_time.contains(&new) && !on_time.contains(&old));
    assert!(late.contains(&old) && !late.contains(&new));
    assert!(thrice.contains(&old) && !thrice.contains(&new));
    assert!(
        all.contains(&old) && all.contains(&new),
        "an unknown value filters nothing"
    );
    assert!(
        thrice.contains("value=\"thrice\" selected"),
        "the choice is kept"
    );
    // The choice travels with the tabs and the export.
    assert!(late.contains("punctuality=late"));
    // A day past its deadline is late, not yet three times late.
    let (_, listed) = app
        .get("admin", "/api/v1/orders?unit=110105010&limit=10")
        .await;
    let due_at = |no: &str| {
        listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["no"] == no)
            .unwrap()["next_due_at"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let due = chrono::DateTime::parse_from_rfc3339(&due_at(&new)).unwrap();
    let minutes = (due.with_timezone(&chrono::Utc) - app.clock.now()).num_minutes() + 1;
    app.clock.advance(minutes);
    let late = page("late").await;
    let thrice = page("thrice").await;
    assert!(late.contains(&new), "just past its deadline");
    assert!(
        !thrice.contains(&new),
        "not yet three times the time allowed"
    );
}

#[tokio::test]
async fn a_co_handlers_inbox_lists_the_parts_it_owes_until_reported() {
    let app = spawn_app().await;
    user(&app, "xiaoguan", "handler", "110105010").await;
    user(&app, "chengguan", "handler", "110105.dept.urban-management").await;
    let no = app.order("110105010", "11.04.01").await;
    let other = app.order("110105010", "11.04.01").await;
    let client = browser();
    let get = |path: &str, session: &str| {
        let request = client
            .get(format!("{}{path}", app.base))
            .header("cookie", session)
            .send();
        async move { request.await.unwrap().text().await.unwrap() }
    };
    let co = sign_in(&app, "chengguan").await;
    let lead = sign_in(&app, "xiaoguan").await;
    let owed = get("/ui/inbox?tab=parts", &co).await;
    assert!(
        owed.contains(&no) && owed.contains(&other),
        "both parts owed"
    );
    assert!(owed.contains("协办待反馈"));
    assert!(
        !get("/ui/inbox?tab=parts", &lead).await.contains(&no),
        "the lead owes no part"
    );
    assert!(!get("/ui/inbox?tab=rework", &lead).await.contains(&no));
    let page = get(&format!("/ui/orders/{no}"), &co).await;
    let reported = client
        .post(format!("{}/ui/orders/{no}/act/part", app.base))
        .header("cookie", &co)
        .form(&[
            ("csrf", hidden(&page, "csrf")),
            ("version", app.version(&no).await.to_string()),
            ("text", "已派执法队清理".to_string()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(reported.status(), StatusCode::SEE_OTHER);
    let owed = get("/ui/inbox?tab=parts", &co).await;
    assert!(
        !owed.contains(&no) && owed.contains(&other),
        "a reported part leaves the tab"
    );
}

#[tokio::test]
async fn the_handling_forms_check_their_fields_token_version_and_unit() {
    let app = spawn_app().await;
    user(&app, "xiaoguan", "handler", "110105010").await;
    user(&app, "chengguan", "handler", "110105.dept.urban-management").await;
    let no = app.order("110105010", "11.04.01").await;
    let session = sign_in(&app, "xiaoguan").await;
    let client = browser();
    let detail = |session: String| {
        let url = format!("{}/ui/orders/{no}", app.base);
        let client = client.clone();
        async move {
            client
                .get(url)
                .header("cookie", session)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    let page = detail(session.clone()).await;
    assert!(
        page.contains("/act/accept") && !page.contains("/act/reply"),
        "a dispatched order is accepted first"
    );
    let co_handler = detail(sign_in(&app, "chengguan").await).await;
    assert!(
        co_handler.contains("/act/part") && !co_handler.contains("/act/accept"),
        "the co-handler reports its part and does not get the lead's commands"
    );
    let csrf = hidden(&page, "csrf");
    let act = |command: &str, fields: Vec<(&'static str, String)>| {
        client
            .post(format!("{}/ui/orders/{no}/act/{command}", app.base))
            .header("cookie", &session)
            .form(&fields)
            .send()
    };
    let base = |version: u64| vec![("csrf", csrf.clone()), ("version", version.to_string())];
    let version = app.version(&no).await;
    assert_eq!(
        act("accept", vec![("version", version.to_string())])
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        act("accept", base(version - 1)).await.unwrap().status(),
        StatusCode::CONFLICT
    );
    assert_eq!(
        act("nonsense", base(version)).await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.version(&no).await, version);
    assert_eq!(
        act("accept", base(version)).await.unwrap().status(),
        StatusCode::SEE_OTHER
    );
    let version = app.version(&no).await;
    let with = |extra: Vec<(&'static str, &str)>| {
        let mut fields = base(version);
        fields.extend(extra.into_iter().map(|(k, v)| (k, v.to_string())));
        fields
    };
    for (command, fields, wanted) in [
        (
            "reply",
            with(vec![("outcome", "resolved"), ("actions", "  ")]),
            "请写明办理情况",
        ),
        (
            "reply",
            with(vec![("outcome", "maybe"), ("actions", "已处理")]),
            "请选择办理结果",
        ),
        ("contact", with(vec![("note", "")]), "请写明联系情况"),
        (
            "extend",
            with(vec![("days", "0"), ("reason", "需协调")]),
            "1–60",
        ),
        (
            "extend",
            with(vec![("days", "3"), ("reason", "")]),
            "延期理由",
        ),
    ] {
        let response = act(command, fields).await.unwrap();
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{wanted}"
        );
        let page = response.text().await.unwrap();
        assert!(page.contains(wanted), "{wanted}");
        if command == "extend" && wanted == "1–60" {
            assert!(
                page.contains(">需协调<") || page.contains("value=\"需协调\""),
                "what was typed is kept"
            );
        }
    }
    let malformed = client
        .post(format!("{}/ui/orders/{no}/act/reply", app.base))
        .header("cookie", &session)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf={csrf}&version=x"))
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    assert_eq!(app.version(&no).await, version, "no refusal wrote anything");
    let replied = act(
        "reply",
        with(vec![("outcome", "resolved"), ("actions", "已清理占道摊点")]),
    )
    .await
    .unwrap();
    assert_eq!(replied.status(), StatusCode::SEE_OTHER);
    let (_, order) = app.get("admin", &format!("/api/v1/orders/{no}")).await;
    assert_eq!(order["stage"]["stage"], "replied");
    assert_eq!(order["reply"]["actions"], "已清理占道摊点");
}

#[tokio::test]
async fn a_person_with_several_roles_switches_and_acts_in_the_one_chosen() {
    let app = spawn_app().await;
    user(&app, "banzhang", "supervisor", "11.center").await;
    user(&app, "single", "dispatcher", "11.center").await;
    let (mut account, hash) = app.state.store.user("banzhang").await.unwrap().unwrap();
    account.other_roles.push(whistle_store::Grant {
        role: "dispatcher".into(),
        unit: UnitCode::parse("11.center").unwrap(),
    });
    app.state
        .store
        .put_user(&account, &hash, app.clock.now())
        .await
        .unwrap();
    let client = browser();
    let get = |cookie: String, path: &'static str| {
        client
            .get(format!("{}{path}", app.base))
            .header("cookie", cookie)
            .send()
    };
    // One role: no switch is offered.
    let single = sign_in(&app, "single").await;
    let page = get(single.clone(), "/ui/")
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!page.contains("action=\"/ui/role\""));

    let cookie = sign_in(&app, "banzhang").await;
    let landing = get(cookie.clone(), "/ui/")
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(landing.contains("action=\"/ui/role\""), "{landing}");
    assert!(landing.contains("value=\"supervisor@11.center\" selected"));
    assert!(landing.contains("/ui/supervision"));
    let csrf = hidden(&landing, "csrf");
    // The JSON API answers in the role acted in, and the dispatcher's queue is not the
    // supervisor's.
    let me = |cookie: String| {
        let request = client
            .get(format!("{}/api/v1/me", app.base))
            .header("cookie", cookie)
            .send();
        async move {
            let body: serde_json::Value = request.await.unwrap().json().await.unwrap();
            body["role"].as_str().unwrap().to_string()
        }
    };
    let queue = |cookie: String| get(cookie, "/ui/dispatch");
    assert_eq!(me(cookie.clone()).await, "supervisor");
    assert_eq!(
        queue(cookie.clone()).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );

    let switch = |cookie: String, fields: Vec<(&'static str, String)>| {
        client
            .post(format!("{}/ui/role", app.base))
            .header("cookie", cookie)
            .form(&fields)
            .send()
    };
    // Without the form's token, a role not held, a role that is not written as one: refused.
    for fields in [
        vec![("role", "dispatcher@11.center".to_string())],
        vec![("csrf", csrf.clone()), ("role", "admin@11.center".into())],
        vec![
            ("csrf", csrf.clone()),
            ("role", "dispatcher@110105010".into()),
        ],
        vec![("csrf", csrf.clone()), ("role", "dispatcher".into())],
        vec![("csrf", csrf.clone()), ("role", "@@".into())],
    ] {
        let refused = switch(cookie.clone(), fields.clone()).await.unwrap();
        assert!(
            refused.status() == StatusCode::FORBIDDEN
                || refused.status() == StatusCode::UNPROCESSABLE_ENTITY,
            "{fields:?}: {}",
            refused.status()
        );
    }
    // Another person's session is not switched by a form carrying this one's token.
    let refused = switch(
        single.clone(),
        vec![
            ("csrf", csrf.clone()),
            ("role", "supervisor@11.center".into()),
        ],
    )
    .await
    .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let still = get(cookie.clone(), "/ui/")
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(still.contains("value=\"supervisor@11.center\" selected"));

    let switched = switch(
        cookie.clone(),
        vec![
            ("csrf", csrf.clone()),
            ("role", "dispatcher@11.center".into()),
        ],
    )
    .await
    .unwrap();
    assert_eq!(switched.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&switched), "/ui/");
    let landing = get(cookie.clone(), "/ui/")
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(landing.contains("value=\"dispatcher@11.center\" selected"));
    assert!(landing.contains("/ui/dispatch"));
    assert!(!landing.contains("href=\"/ui/supervision\""), "{landing}");
    assert_eq!(me(cookie.clone()).await, "dispatcher");
    assert_eq!(
        queue(cookie.clone()).await.unwrap().status(),
        StatusCode::OK
    );
    // Another session of the same person keeps its own role.
    let other = sign_in(&app, "banzhang").await;
    let page = get(other, "/ui/").await.unwrap().text().await.unwrap();
    assert!(page.contains("value=\"supervisor@11.center\" selected"));

    // The administrator takes the role away: the session falls back to the first role.
    let (mut account, hash) = app.state.store.user("banzhang").await.unwrap().unwrap();
    account.other_roles.clear();
    app.state
        .store
        .put_user(&account, &hash, app.clock.now())
        .await
        .unwrap();
    let page = get(cookie.clone(), "/ui/")
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!page.contains("action=\"/ui/role\""));
    assert!(page.contains("/ui/supervision"));
    assert_eq!(me(cookie).await, "supervisor");
}

#[tokio::test]
async fn a_unit_assigns_an_order_to_a_colleague_and_each_finds_their_own() {
    let app = spawn_app().await;
    user(&app, "xiaoguan", "handler", "110105010").await;
    user(&app, "xiaowang", "handler", "110105010").await;
    user(&app, "neighbour", "handler", "110105011").await;
    user(&app, "dispatcher", "dispatcher", "11.center").await;
    let no = app.order("110105010", "11.04.01").await;
    let other = app.order("110105010", "11.04.01").await;
    // The API refuses a login that is not one of the unit's handlers, and a malformed body.
    for to in ["neighbour", "dispatcher", "nobody", ""] {
        let (status, body) = app.run("street", &no, "assign", json!({"to": to})).await;
        assert!(
            status == StatusCode::UNPROCESSABLE_ENTITY || status == StatusCode::BAD_REQUEST,
            "{to}: {status} {body}"
        );
    }
    let (status, _) = app
        .run("street", &no, "assign", json!({"who": "xiaowang"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, body) = app
        .run("other_street", &no, "assign", json!({"to": "neighbour"}))
        .await;
    assert_ne!(status, StatusCode::OK, "{body}");
    assert_eq!(app.version(&no).await, 2, "refusals write nothing");

    // The order's page offers the unit's handlers; the form assigns; the page says who has it.
    let session = sign_in(&app, "xiaoguan").await;
    let client = browser();
    let get = |path: String| {
        client
            .get(format!("{}{path}", app.base))
            .header("cookie", session.clone())
            .send()
    };
    let page = get(format!("/ui/orders/{no}"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("data-action=\"assign\""), "{page}");
    assert!(page.contains("value=\"xiaowang\"") && !page.contains("value=\"neighbour\""));
    let csrf = hidden(&page, "csrf");
    let key = {
        let start = page.find("act/assign").unwrap();
        hidden(&page[start..], "key")
    };
    let assigned = client
        .post(format!("{}/ui/orders/{no}/act/assign", app.base))
        .header("cookie", session.clone())
        .form(&[
            ("csrf", csrf.as_str()),
            ("version", "2"),
            ("key", key.as_str()),
            ("to", "xiaowang"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(assigned.status(), StatusCode::SEE_OTHER);
    let page = get(format!("/ui/orders/{no}"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("承办人 xiaowang"),
        "the lead shows its person"
    );
    assert!(page.contains("指派承办人") && page.contains("转交同事"));
    // The inbox: mine, not assigned, a colleague's.
    let inbox = |filter: &'static str| {
        let request = get(format!("/ui/inbox?tab=all&assignee={filter}"));
        async move { request.await.unwrap().text().await.unwrap() }
    };
    let mine = inbox("me").await;
    assert!(!mine.contains(&no) && !mine.contains(&other));
    let theirs = inbox("xiaowang").await;
    assert!(theirs.contains(&no) && !theirs.contains(&other));
    let nobody = inbox("none").await;
    assert!(nobody.contains(&other) && !nobody.contains(&no));
    let unknown = inbox("neighbour").await;
    assert!(
        unknown.contains(&other) && unknown.contains(&no),
        "not a colleague: no filter"
    );
    // Handed on to me.
    let (status, body) = app
        .run("street", &no, "assign", json!({"to": "xiaoguan"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(inbox("me").await.contains(&no));
    let (_, listed) = app
        .get("admin", "/api/v1/orders?assignee=xiaoguan&limit=10")
        .await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
}
