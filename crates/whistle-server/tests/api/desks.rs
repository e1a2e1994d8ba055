//! The centre's desks through their forms: the dispatcher's queues (take the suggestion, bulk,
//! uphold a dispute with a redispatch by name, decide an extension), the return-visit desk
//! (dissatisfied → reopened; the reveal recorded), the supervisor's board (one 督办 for a double
//! submit) — and what each refuses.

use crate::pages::{browser, hidden, location, sign_in, user};
use crate::support::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

struct Desk<'a> {
    app: &'a TestApp,
    session: String,
    client: reqwest::Client,
}

impl<'a> Desk<'a> {
    async fn open(app: &'a TestApp, login: &str) -> Desk<'a> {
        Desk {
            app,
            session: sign_in(app, login).await,
            client: browser(),
        }
    }

    async fn get(&self, path: &str) -> (StatusCode, String) {
        let response = self
            .client
            .get(format!("{}{path}", self.app.base))
            .header("cookie", &self.session)
            .send()
            .await
            .unwrap();
        (response.status(), response.text().await.unwrap())
    }

    async fn post(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let csrf = hidden(&self.get("/ui/").await.1, "csrf");
        let mut form: Vec<(&str, &str)> = vec![("csrf", &csrf)];
        form.extend_from_slice(fields);
        self.client
            .post(format!("{}{path}", self.app.base))
            .header("cookie", &self.session)
            .form(&form)
            .send()
            .await
            .unwrap()
    }

    /// A command from an order's form, with the order's current version.
    async fn act(&self, no: &str, command: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let version = self.app.version(no).await.to_string();
        let mut form = vec![("version", version.as_str())];
        form.extend_from_slice(fields);
        self.post(&format!("/ui/orders/{no}/act/{command}"), &form)
            .await
    }
}

async fn pending(app: &TestApp, text: &str) -> String {
    let (status, body) = app
        .post(
            "operator",
            "/api/v1/orders",
            json!({"request_type": "complaint", "text": text, "category": "11.04.01",
                   "location": {"street": "110105010"}, "dispatch": false,
                   "requester": {"name": "张三", "phone": "13800001234"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["no"].as_str().unwrap().to_string()
}

async fn order(app: &TestApp, no: &str) -> Value {
    app.get("admin", &format!("/api/v1/orders/{no}")).await.1
}

async fn events(app: &TestApp, no: &str) -> Vec<Value> {
    app.get("admin", &format!("/api/v1/orders/{no}/history"))
        .await
        .1["events"]
        .as_array()
        .unwrap()
        .clone()
}

fn kinds(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["event"]["event"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn the_dispatcher_takes_suggestions_reviews_disputes_and_decides_extensions() {
    let app = spawn_app().await;
    user(&app, "disp", "dispatcher", "11.center").await;
    user(&app, "xiaoguan", "handler", "110105010").await;
    let first = pending(&app, "小区门口占道经营").await;
    let desk = Desk::open(&app, "disp").await;
    let (status, queue) = desk.get("/ui/dispatch").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        queue.contains(&first) && queue.contains("小关街道"),
        "the suggestion by name"
    );
    assert!(queue.contains("目录 v"), "and the rule that matched");
    // The urgency filter: an emergency apart from the ordinary.
    let (status, body) = app
        .post(
            "operator",
            "/api/v1/orders",
            json!({"request_type": "complaint", "text": "燃气泄漏气味", "category": "11.04.01",
                   "urgency": "emergency", "location": {"street": "110105010"}, "dispatch": false}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let emergency = body["no"].as_str().unwrap().to_string();
    let (_, urgent) = desk.get("/ui/dispatch?tab=waiting&urgency=emergency").await;
    assert!(urgent.contains(&emergency) && !urgent.contains(&first));
    let (_, normal) = desk.get("/ui/dispatch?tab=waiting&urgency=normal").await;
    assert!(normal.contains(&first) && !normal.contains(&emergency));
    // The suggestion, taken from the row, back to the queue.
    let taken = desk
        .act(&first, "dispatch", &[("next", "/ui/dispatch?tab=waiting")])
        .await;
    assert_eq!(taken.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&taken), "/ui/dispatch?tab=waiting");
    assert_eq!(order(&app, &first).await["stage"]["lead"], "110105010");
    assert!(
        !desk.get("/ui/dispatch").await.1.contains(&first),
        "it left the queue"
    );

    // Bulk: the selected rows by the catalogue; an empty selection is refused.
    let (second, third) = (pending(&app, "占道二").await, pending(&app, "占道三").await);
    let picks: Vec<String> = [&second, &third]
        .iter()
        .map(|no| format!("{no}:{}", 1))
        .collect();
    let refused = desk.post("/ui/dispatch/bulk", &[("key", "k1")]).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let bulk = desk
        .post(
            "/ui/dispatch/bulk",
            &[("key", "k1"), ("pick", &picks[0]), ("pick", &picks[1])],
        )
        .await;
    assert_eq!(bulk.status(), StatusCode::SEE_OTHER);
    assert!(location(&bulk).contains("done=2"), "{}", location(&bulk));
    for no in [&second, &third] {
        assert_eq!(order(&app, no).await["stage"]["stage"], "dispatched");
    }

    // The street disputes the first; the dispatcher upholds it and redispatches by the unit's name.
    let street = Desk::open(&app, "xiaoguan").await;
    let disputed = street
        .act(
            &first,
            "dispute",
            &[("reason", "占道在商场红线内，属城管执法")],
        )
        .await;
    assert_eq!(disputed.status(), StatusCode::SEE_OTHER);
    let (_, disputes) = desk.get("/ui/dispatch?tab=disputes").await;
    assert!(disputes.contains(&first) && disputes.contains("占道在商场红线内"));
    let unknown = desk
        .act(
            &first,
            "review_dispute",
            &[
                ("upheld", "yes"),
                ("redispatch_to", "不存在的局"),
                ("note", ""),
            ],
        )
        .await;
    assert_eq!(unknown.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = unknown.text().await.unwrap();
    assert!(
        page.contains("没有名为「不存在的局」的承办单位") && page.contains("value=\"不存在的局\"")
    );
    let upheld = desk
        .act(
            &first,
            "review_dispute",
            &[
                ("upheld", "yes"),
                ("redispatch_to", "朝阳区城市管理综合行政执法局"),
                ("note", "属执法事项"),
            ],
        )
        .await;
    assert_eq!(upheld.status(), StatusCode::SEE_OTHER);
    let now = order(&app, &first).await;
    assert_eq!(now["stage"]["lead"], "110105.dept.urban-management");
    let history = kinds(&events(&app, &first).await);
    assert!(history.ends_with(&[
        "disputed".into(),
        "dispute_reviewed".into(),
        "dispatched".into()
    ]));
    assert!(!desk
        .get("/ui/dispatch?tab=disputes")
        .await
        .1
        .contains(&first));

    // An extension: asked by the street, listed, approved; the deadline moves.
    assert_eq!(
        street.act(&second, "accept", &[]).await.status(),
        StatusCode::SEE_OTHER
    );
    let before = order(&app, &second).await["handle_by"].clone();
    let asked = street
        .act(
            &second,
            "extend",
            &[("days", "3"), ("reason", "需协调物业")],
        )
        .await;
    assert_eq!(asked.status(), StatusCode::SEE_OTHER);
    let (_, extensions) = desk.get("/ui/dispatch?tab=extensions").await;
    assert!(extensions.contains(&second) && extensions.contains("需协调物业"));
    let decided = desk
        .act(
            &second,
            "decide_extension",
            &[("approved", "yes"), ("note", "同意")],
        )
        .await;
    assert_eq!(decided.status(), StatusCode::SEE_OTHER);
    assert_ne!(order(&app, &second).await["handle_by"], before);

    // Not a dispatcher's desk for a handler; a stale version shows the order as it is now.
    assert_eq!(street.get("/ui/dispatch").await.0, StatusCode::FORBIDDEN);
    let stale = desk
        .post(
            &format!("/ui/orders/{third}/act/merge"),
            &[("version", "1"), ("into", &second)],
        )
        .await;
    assert_eq!(stale.status(), StatusCode::CONFLICT);
    assert!(stale.text().await.unwrap().contains(&third));
}

#[tokio::test]
async fn the_visit_desk_reopens_the_dissatisfied_and_records_the_reveal() {
    let app = spawn_app().await;
    user(&app, "visit1", "visit_agent", "11.center").await;
    user(&app, "xiaoguan", "handler", "110105010").await;
    let no = app.order("110105010", "11.04.01").await;
    let street = Desk::open(&app, "xiaoguan").await;
    street.act(&no, "accept", &[]).await;
    let replied = street
        .act(
            &no,
            "reply",
            &[("outcome", "resolved"), ("actions", "已清理占道摊点")],
        )
        .await;
    assert_eq!(replied.status(), StatusCode::SEE_OTHER);
    let desk = Desk::open(&app, "visit1").await;
    let (status, page) = desk.get("/ui/visits").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(&no) && page.contains("已清理占道摊点"));
    assert!(
        page.contains("****") && !page.contains("13800001234"),
        "masked"
    );
    // The reveal is recorded before the phone is shown; without a reason it is refused.
    let bare = desk
        .post("/ui/visits/reveal", &[("no", &no), ("reason", " ")])
        .await;
    assert_eq!(bare.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let shown = desk
        .post("/ui/visits/reveal", &[("no", &no), ("reason", "回访致电")])
        .await;
    assert_eq!(shown.status(), StatusCode::OK);
    assert!(shown.text().await.unwrap().contains("13800001234"));
    assert!(kinds(&events(&app, &no).await).contains(&"requester_revealed".to_string()));
    // Malformed answers change nothing; dissatisfied reopens (重办) and the desk moves on.
    let version = app.version(&no).await;
    let bad = desk
        .act(
            &no,
            "visit",
            &[
                ("satisfaction", "delighted"),
                ("contacted", "yes"),
                ("resolved", "yes"),
                ("invalid", ""),
                ("then", "auto"),
            ],
        )
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.version(&no).await, version);
    assert!(desk
        .get("/ui/visits")
        .await
        .1
        .contains("id=\"shift-total\">0<"));
    let saved = desk
        .act(
            &no,
            "visit",
            &[
                ("satisfaction", "dissatisfied"),
                ("contacted", "yes"),
                ("resolved", "no"),
                ("invalid", ""),
                ("then", "auto"),
                ("next", "/ui/visits"),
            ],
        )
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&saved), "/ui/visits");
    let now = order(&app, &no).await;
    assert_eq!(now["stage"]["stage"], "dispatched");
    assert_eq!(now["reopen_count"], 1);
    let (_, after) = desk.get("/ui/visits").await;
    assert!(after.contains("id=\"empty\""));
    // The shift counters: this agent's visits today, by result; another agent's are apart.
    assert!(
        after.contains("id=\"shift-total\">1<") && after.contains("不满意 1 · 无效 0"),
        "{after}"
    );
    user(&app, "visit2", "visit_agent", "11.center").await;
    let (_, other) = Desk::open(&app, "visit2").await.get("/ui/visits").await;
    assert!(other.contains("id=\"shift-total\">0<"));
    let (_, inbox) = street.get("/ui/inbox?tab=rework").await;
    assert!(inbox.contains(&no), "back in the street's inbox");
    let (_, detail) = street.get(&format!("/ui/orders/{no}")).await;
    assert!(detail.contains("重办"));
}

#[tokio::test]
async fn the_supervisor_urges_an_overdue_order_once_for_a_double_submit() {
    let app = spawn_app().await;
    user(&app, "sup", "supervisor", "11.center").await;
    let no = app.order("110105010", "11.04.01").await;
    let desk = Desk::open(&app, "sup").await;
    assert!(desk
        .get("/ui/supervision?tab=overdue")
        .await
        .1
        .contains("id=\"empty\""));
    let (_, soon) = desk.get("/ui/supervision?tab=soon").await;
    assert!(
        soon.contains(&no),
        "the response is due within a working day"
    );
    app.clock.advance(60 * 24 * 4);
    // A new shift: the session of four days ago has expired.
    let desk = Desk::open(&app, "sup").await;
    let (_, board) = desk.get("/ui/supervision?tab=overdue").await;
    assert!(board.contains(&no) && board.contains("小关街道"));
    let key = hidden(&board, "key");
    let version = app.version(&no).await.to_string();
    let path = format!("/ui/orders/{no}/act/supervise");
    let fields = [
        ("version", version.as_str()),
        ("key", key.as_str()),
        ("action", "urge"),
        ("note", ""),
        ("next", "/ui/supervision?tab=overdue"),
    ];
    let urge = || desk.post(&path, &fields);
    assert_eq!(urge().await.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        urge().await.status(),
        StatusCode::SEE_OTHER,
        "the second click replays"
    );
    let urged = events(&app, &no)
        .await
        .iter()
        .filter(|e| e["event"]["event"] == "supervised")
        .count();
    assert_eq!(urged, 1);
    assert_eq!(order(&app, &no).await["urge_count"], 1);
}

#[tokio::test]
async fn the_administrator_manages_accounts_and_the_standard_reply_texts() {
    let app = spawn_app().await;
    user(&app, "root", "admin", "11.center").await;
    user(&app, "xiaoguan", "handler", "110105010").await;
    let desk = Desk::open(&app, "root").await;
    assert_eq!(
        Desk::open(&app, "xiaoguan").await.get("/ui/admin").await.0,
        StatusCode::FORBIDDEN
    );
    let (status, page) = desk.get("/ui/admin").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("xiaoguan") && page.contains("派单目录"));
    let desk = &desk;
    let create = |login: &'static str, role: &'static str, unit: &'static str| async move {
        desk.post(
            "/ui/admin",
            &[
                ("action", "create"),
                ("login", login),
                ("name", "新同事"),
                ("role", role),
                ("unit", unit),
            ],
        )
        .await
    };
    for (login, role, unit, wanted) in [
        ("bad login!", "handler", "110105010", "登录名应为"),
        (
            "newbie",
            "street_official",
            "110105.dept.housing",
            "不能属于",
        ),
        ("newbie", "handler", "不存在的单位", "没有名为"),
        ("xiaoguan", "handler", "110105010", "已存在"),
    ] {
        let response = create(login, role, unit).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{wanted}"
        );
        assert!(response.text().await.unwrap().contains(wanted), "{wanted}");
    }
    let created = create("newbie", "handler", "小关街道 110105010").await;
    assert_eq!(created.status(), StatusCode::OK);
    let page = created.text().await.unwrap();
    let password = page
        .split("初始密码：")
        .nth(1)
        .unwrap()
        .split('（')
        .next()
        .unwrap()
        .to_string();
    assert_eq!(password.len(), 16);
    let (account, _) = app.state.store.user("newbie").await.unwrap().unwrap();
    assert_eq!(account.unit.as_str(), "110105010");
    assert!(whistle_server::auth::verify_password(
        &password,
        &app.state.store.user("newbie").await.unwrap().unwrap().1
    ));
    // Disable and enable; never oneself.
    assert_eq!(
        desk.post("/ui/admin", &[("action", "disable"), ("login", "root")])
            .await
            .status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        desk.post("/ui/admin", &[("action", "disable"), ("login", "newbie")])
            .await
            .status(),
        StatusCode::OK
    );
    assert!(
        !app.state
            .store
            .user("newbie")
            .await
            .unwrap()
            .unwrap()
            .0
            .active
    );
    let reset = desk
        .post("/ui/admin", &[("action", "reset"), ("login", "newbie")])
        .await;
    assert!(reset.text().await.unwrap().contains("newbie 的新密码"));
    let (_, hash) = app.state.store.user("newbie").await.unwrap().unwrap();
    assert!(
        !whistle_server::auth::verify_password(&password, &hash),
        "the old password is gone"
    );

    // Reply texts: a bad line refused with its number (nothing stored), a good set offered.
    let bad = desk
        .post(
            "/ui/admin",
            &[
                ("action", "replies"),
                ("replies", "category,outcome,text\n11.04,done,已处理\n"),
            ],
        )
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.text().await.unwrap().contains("第 2 行"));
    assert!(app
        .state
        .store
        .setting("reply_texts")
        .await
        .unwrap()
        .is_none());
    let texts = "category,outcome,text\n11.04,resolved,已依法取缔占道摊点，恢复通行\n,explained,经核实不属实\n";
    assert_eq!(
        desk.post("/ui/admin", &[("action", "replies"), ("replies", texts)])
            .await
            .status(),
        StatusCode::OK
    );
    let no = app.order("110105010", "11.04.01").await;
    let (status, body) = app.run("street", &no, "accept", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, page) = Desk::open(&app, "xiaoguan")
        .await
        .get(&format!("/ui/orders/{no}"))
        .await;
    assert!(
        page.contains("resolved|已依法取缔占道摊点，恢复通行")
            && page.contains("explained|经核实不属实")
    );
}

#[tokio::test]
async fn the_intake_hints_show_open_orders_of_the_same_category_in_the_street() {
    let app = spawn_app().await;
    user(&app, "op", "operator", "11.center").await;
    let open = app.order("110105010", "11.04.01").await;
    let elsewhere = app.order("110105011", "11.04.01").await;
    let other_kind = app.order("110105010", "11.01.01").await;
    let desk = Desk::open(&app, "op").await;
    let (status, hints) = desk
        .get("/ui/intake/hints?phone=&street=110105010&category=11.04.01%20%E5%8D%A0%E9%81%93")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(hints.contains("可能重复") && hints.contains(&open));
    assert!(!hints.contains(&elsewhere) && !hints.contains(&other_kind));
    assert!(
        hints.contains(&format!("data-repeat=\"{open}\"")),
        "linking is the operator's act"
    );
    // Nothing chosen yet, or nonsense: no duplicates, no error.
    let (status, hints) = desk.get("/ui/intake/hints?street=%27%3B&category=x").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!hints.contains(&open));
}

#[tokio::test]
async fn the_supervisors_board_filters_exports_and_lists_absent_units() {
    let app = spawn_app().await;
    user(&app, "sup", "supervisor", "11.center").await;
    let here = app.order("110105010", "11.04.01").await;
    let there = app.order("110105011", "11.04.01").await;
    // Five days on, both are overdue; a third, new one is not.
    app.clock.advance(60 * 24 * 5);
    let fresh = app.order("110105010", "11.04.01").await;
    let desk = Desk::open(&app, "sup").await;
    let board = |query: &'static str| {
        let desk = &desk;
        async move { desk.get(&format!("/ui/supervision?{query}")).await.1 }
    };
    let all = board("tab=overdue").await;
    assert!(all.contains(&here) && all.contains(&there) && !all.contains(&fresh));
    // By street (the typeahead's "name code"), by district, by days overdue.
    let street = board("tab=overdue&street=%E5%B0%8F%E5%85%B3%E8%A1%97%E9%81%93%20110105010").await;
    assert!(street.contains(&here) && !street.contains(&there));
    assert!(
        street.contains("value=\"小关街道 110105010\""),
        "the filter is kept"
    );
    let district = board("tab=overdue&district=110105").await;
    assert!(district.contains(&here) && district.contains(&there));
    let elsewhere = board("tab=overdue&district=110108").await;
    assert!(!elsewhere.contains(&here) && elsewhere.contains("id=\"empty\""));
    let long = board("tab=overdue&days=30").await;
    assert!(!long.contains(&here), "not yet 30 days overdue");
    let short = board("tab=overdue&days=2").await;
    assert!(short.contains(&here));
    // A department line: the street-led orders are not its.
    let line = board("tab=overdue&line=urban-management").await;
    assert!(!line.contains(&here) && line.contains("id=\"empty\""));
    // Filters that do not parse filter nothing and are not kept.
    let junk = board("tab=overdue&street=nowhere&line=nope&days=-3&district=abc").await;
    assert!(junk.contains(&here) && junk.contains(&there));
    // The export: the same rows, no personal data.
    let (status, csv) = desk
        .get("/ui/supervision?tab=overdue&district=110105&format=csv")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(csv.starts_with("\u{feff}工单号,承办单位"), "{csv}");
    assert!(csv.contains(&here) && csv.contains(&there) && !csv.contains(&fresh));
    assert!(!csv.contains("13800001234") && !csv.contains("张三"));

    // A whistle whose summoned power company does not report in: listed with the absent unit
    // until the district decides.
    let raise = serde_json::json!({
        "kind": "emergency", "lead": "110105.dept.urban-management",
        "assisting": ["11.ent.power"],
        "place": "惠新东街12号院", "needed": "地下管道破裂，需抢修", "list_item": "pipe-burst",
    });
    let (status, whistle) = app.post("street", "/api/v1/whistles", raise).await;
    assert_eq!(status, StatusCode::CREATED, "{whistle}");
    let no = whistle["no"].as_str().unwrap().to_string();
    assert!(!board("tab=absences").await.contains(&no));
    app.clock.advance(60);
    whistle_server::worker::tick(&app.state).await.unwrap();
    let desk = Desk::open(&app, "sup").await;
    let (_, absences) = desk.get("/ui/supervision?tab=absences").await;
    assert!(absences.contains(&no), "{absences}");
    assert!(
        absences.contains("北京市电力公司") || absences.contains("电力"),
        "{absences}"
    );
    let (_, other) = desk
        .get("/ui/supervision?tab=absences&district=110108")
        .await;
    assert!(!other.contains(&no));
}
