//! The HTTP tests' harness: the real server on port 0 over a fresh database, a clock the test
//! controls, a token for every principal, and small helpers to speak JSON to it.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use whistle_core::ids::UnitCode;
use whistle_core::time::{parse_beijing, Timestamp};
use whistle_server::auth::new_token;
use whistle_server::{AppState, Clock, ServerSettings};
use whistle_store::{Migrate, Store};

pub struct TestClock(pub Mutex<Timestamp>);

impl Clock for TestClock {
    fn now(&self) -> Timestamp {
        *self.0.lock().unwrap()
    }
}

impl TestClock {
    pub fn advance(&self, minutes: i64) {
        *self.0.lock().unwrap() += chrono::Duration::minutes(minutes);
    }
}

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub state: Arc<AppState>,
    pub clock: Arc<TestClock>,
    pub tokens: HashMap<&'static str, String>,
    pub _dir: Option<tempfile::TempDir>,
}

/// (name, scope, unit): the principals every test has as tokens.
pub const PRINCIPALS: [(&str, &str, &str); 21] = [
    ("grid_worker", "grid_worker", "110105010.grid.1"),
    ("steward", "lane_steward", "110105010.lane.1"),
    ("official", "street_official", "110105010"),
    ("liaison", "department_liaison", "110105.dept.housing"),
    ("coordinator", "district_coordinator", "110105"),
    ("housing", "handler", "110105.dept.housing"),
    ("power", "handler", "11.ent.power"),
    ("district", "handler", "110105"),
    ("transport", "handler", "11.dept.transport"),
    ("operator", "operator", "11.center"),
    ("dispatcher", "dispatcher", "11.center"),
    ("visit", "visit_agent", "11.center"),
    ("supervisor", "supervisor", "11.center"),
    ("admin", "admin", "11.center"),
    ("street", "handler", "110105010"),
    ("other_street", "handler", "110105011"),
    ("chengguan", "handler", "110105.dept.urban-management"),
    ("leader", "leader", "110105"),
    ("other_leader", "leader", "110101"),
    ("housing_line", "leader", "11.dept.housing"),
    ("open311", "open311", "11.center"),
];

pub async fn start(
    store: Arc<dyn Store>,
    settings: ServerSettings,
    dir: Option<tempfile::TempDir>,
) -> TestApp {
    let clock = Arc::new(TestClock(Mutex::new(
        parse_beijing("2025-10-09 09:00").unwrap(),
    )));
    let mut tokens = HashMap::new();
    for (name, scope, unit) in PRINCIPALS {
        let (record, token) = new_token(name, scope, None, UnitCode::parse(unit).unwrap());
        store.put_token(&record, clock.now()).await.unwrap();
        tokens.insert(name, token);
    }
    let state = AppState::new(
        store,
        ServerSettings {
            listen: "127.0.0.1:0".into(),
            ..settings
        },
        clock.clone(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(whistle_server::serve(
        listener,
        state.clone(),
        std::future::pending(),
    ));
    TestApp {
        base,
        client: reqwest::Client::new(),
        state,
        clock,
        tokens,
        _dir: dir,
    }
}

pub async fn spawn_app_with(settings: ServerSettings) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("whistle.db").display());
    let store = whistle_store::open(&url, Migrate::Apply).await.unwrap();
    let admin = whistle_core::ids::Actor {
        user: "test".into(),
        unit: UnitCode::parse("11.center").unwrap(),
    };
    whistle_store::seed::install_defaults(
        &*store,
        &admin,
        parse_beijing("2025-01-01 00:00").unwrap(),
    )
    .await
    .unwrap();
    start(store, settings, Some(dir)).await
}

/// The default settings without the background deadline worker: tests tick it themselves.
pub async fn spawn_app() -> TestApp {
    let mut settings = ServerSettings::default();
    settings.worker.enabled = false;
    spawn_app_with(settings).await
}

impl TestApp {
    pub async fn call(
        &self,
        who: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .client
            .request(method, format!("{}{}", self.base, path));
        if let Some(token) = self.tokens.get(who) {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn get(&self, who: &str, path: &str) -> (StatusCode, Value) {
        self.call(who, Method::GET, path, None).await
    }

    pub async fn post(&self, who: &str, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(who, Method::POST, path, Some(body)).await
    }

    /// Creates a dispatched order at a street; returns its number.
    pub async fn order(&self, street: &str, category: &str) -> String {
        let (status, body) = self
            .post(
                "operator",
                "/api/v1/orders",
                json!({"request_type": "complaint", "text": "小区门口占道经营", "category": category,
                       "location": {"street": street}, "requester": {"name": "张三", "phone": "13800001234"}}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["no"].as_str().unwrap().to_string()
    }

    pub async fn version(&self, no: &str) -> u64 {
        self.get("admin", &format!("/api/v1/orders/{no}")).await.1["version"]
            .as_u64()
            .unwrap()
    }

    pub async fn run(
        &self,
        who: &str,
        no: &str,
        command: &str,
        mut fields: Value,
    ) -> (StatusCode, Value) {
        fields["version"] = json!(self.version(no).await);
        self.post(who, &format!("/api/v1/orders/{no}/{command}"), fields)
            .await
    }

    /// Adds the grid `110105010.grid.1` and the lane `110105010.lane.1` under 小关街道, the units of
    /// the grid worker's and the lane steward's tokens.
    pub async fn add_grid_and_lane(&self) {
        for (unit, kind) in [
            ("110105010.grid.1", whistle_core::org::UnitKind::Grid),
            ("110105010.lane.1", whistle_core::org::UnitKind::Lane),
        ] {
            let unit = whistle_core::org::Unit {
                code: UnitCode::parse(unit).unwrap(),
                kind,
                name: unit.into(),
                parent: Some(UnitCode::parse("110105010").unwrap()),
                line: None,
                status: whistle_core::org::UnitStatus::Active,
                merged_into: None,
            };
            let admin = whistle_core::ids::Actor {
                user: "test".into(),
                unit: UnitCode::parse("11.center").unwrap(),
            };
            self.state
                .store
                .change_unit(
                    whistle_core::org::UnitChange::Added { unit },
                    &admin,
                    self.clock.now(),
                )
                .await
                .unwrap();
        }
    }
}
