//! Fresh stores for tests: a SQLite file in a temporary directory, or a new PostgreSQL database
//! created on the server named by `WHISTLE_TEST_PG_URL` (each test its own).

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use whistle_core::calendar::TimeLimit;
use whistle_core::catalogue::Territory;
use whistle_core::ids::{Actor, CategoryCode, UnitCode};
use whistle_core::order::{Channel, Command, Intake, Location, RequestType, Triage};
use whistle_core::time::{parse_beijing, Timestamp};
use whistle_store::{Envelope, Migrate, OrderRef, Outcome, Request, Store};

pub struct TestDb {
    pub store: Arc<dyn Store>,
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

pub async fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("whistle.db").display());
    let store = whistle_store::open(&url, Migrate::Apply).await.unwrap();
    whistle_store::seed::install_defaults(&*store, &center(), at("2025-01-01 00:00"))
        .await
        .unwrap();
    TestDb {
        store,
        url,
        _dir: Some(dir),
    }
}

/// A URL for a new, empty database on the test server, or None when no server is configured.
pub async fn fresh_pg_url() -> Option<String> {
    let base = std::env::var("WHISTLE_TEST_PG_URL")
        .ok()
        .filter(|u| !u.is_empty())?;
    let (client, connection) = tokio_postgres::connect(&base, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let name = format!("whistle_test_{}", uuid::Uuid::now_v7().simple());
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    let (head, query) = match base.split_once('?') {
        Some((head, query)) => (head.to_string(), format!("?{query}")),
        None => (base.clone(), String::new()),
    };
    let scheme_end = head.find("://").map_or(0, |i| i + 3);
    let root = match head[scheme_end..].find('/') {
        Some(slash) => head[..scheme_end + slash].to_string(),
        None => head.clone(),
    };
    Some(format!("{root}/{name}{query}"))
}

pub async fn postgres() -> Option<TestDb> {
    let url = fresh_pg_url().await?;
    let store = whistle_store::open(&url, Migrate::Apply).await.unwrap();
    whistle_store::seed::install_defaults(&*store, &center(), at("2025-01-01 00:00"))
        .await
        .unwrap();
    Some(TestDb {
        store,
        url,
        _dir: None,
    })
}

pub fn at(text: &str) -> Timestamp {
    parse_beijing(text).unwrap()
}

pub fn code(text: &str) -> UnitCode {
    UnitCode::parse(text).unwrap()
}

pub fn center() -> Actor {
    Actor {
        user: "operator".into(),
        unit: code("11.center"),
    }
}

pub fn as_unit(unit: &str) -> Actor {
    Actor {
        user: "handler".into(),
        unit: code(unit),
    }
}

pub fn complaint(street: &str, category: &str, text: &str) -> Intake {
    Intake {
        received_at: None,
        channel: Channel::Phone,
        request_type: RequestType::Complaint,
        text: text.into(),
        category: CategoryCode::parse(category).unwrap(),
        urgency: None,
        location: Location {
            territory: Territory {
                district: None,
                street: Some(code(street)),
                community: None,
            },
            ..Location::default()
        },
        triage: Triage::Dispatch,
    }
}

pub fn intake(at_text: &str, intake: Intake) -> Envelope {
    Envelope {
        actor: center(),
        at: at(at_text),
        request: Request::Intake {
            intake: Box::new(intake),
            requester: Some(whistle_store::Requester {
                name: Some("张三".into()),
                phone: Some("13800001234".into()),
                address_detail: Some("3号楼2单元501".into()),
            }),
        },
    }
}

pub fn command(actor: Actor, at_text: &str, order: &Outcome, command: Command) -> Envelope {
    Envelope {
        actor,
        at: at(at_text),
        request: Request::Command {
            order: OrderRef::Id(order.order_id),
            expected_version: None,
            command,
        },
    }
}

/// Takes a request in at the centre (with a requester); it must be accepted.
pub async fn take(store: &dyn Store, at_text: &str, request: Intake) -> Outcome {
    store.execute_one(intake(at_text, request)).await.unwrap()
}

/// One command on an order by `actor`; it must be accepted.
pub async fn act(
    store: &dyn Store,
    actor: Actor,
    at_text: &str,
    order: &Outcome,
    what: Command,
) -> Outcome {
    store
        .execute_one(command(actor, at_text, order, what))
        .await
        .unwrap()
}

pub fn dispatch() -> Command {
    Command::Dispatch {
        unit: None,
        co_handlers: Vec::new(),
        handle_by: None,
    }
}

pub fn extra(days: u32) -> TimeLimit {
    TimeLimit::WorkingDays(days)
}

/// Runs the same test body on SQLite, and on PostgreSQL when configured.
#[macro_export]
macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::support::sqlite().await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    match $crate::support::postgres().await {
                        Some(db) => super::$name(db).await,
                        None => eprintln!("PostgreSQL conformance skipped: WHISTLE_TEST_PG_URL is not set"),
                    }
                }
            )*
        }
    };
}

/// Runs statements on the test database directly, behind the store's back (to stage what an
/// older binary left behind).
pub async fn raw_sql(db: &TestDb, statements: &[&str]) {
    if let Some(path) = db.url.strip_prefix("sqlite://") {
        let connection = rusqlite::Connection::open(path).unwrap();
        connection
            .busy_timeout(std::time::Duration::from_secs(10))
            .unwrap();
        for statement in statements {
            connection.execute_batch(statement).unwrap();
        }
    } else {
        let (client, connection) = tokio_postgres::connect(&db.url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        for statement in statements {
            client.batch_execute(statement).await.unwrap();
        }
    }
}
