//! The stored format, pinned: an order's projection (`orders.state`) and its events' payloads
//! (`events.payload`), as a real life wrote them, read back from fixed bytes and written again
//! byte for byte. A field renamed, retyped or reordered in the core breaks this test rather than
//! every database already in service. To change the format on purpose, add a migration that
//! rewrites stored rows, then regenerate with `WHISTLE_BLESS=1 cargo test -p whistle-store --test
//! stored_format` and review the diff.

mod support;

use support::*;
use whistle_core::order::{Command, EventPayload, Order, ReplyOutcome, Satisfaction, VisitResult};

const ORDER: &str = include_str!("golden/order_state.json");
const EVENTS: &str = include_str!("golden/event_payloads.jsonl");

#[test]
fn a_stored_order_reads_back_and_writes_the_same_bytes() {
    let order: Order = serde_json::from_str(ORDER.trim_end()).expect("the stored order reads");
    assert_eq!(order.no.to_string().len(), 15);
    assert_eq!(order.category.as_str(), "11.04.01");
    assert!(order.visit.is_some() && order.visited_at.is_some());
    assert_eq!(serde_json::to_string(&order).unwrap(), ORDER.trim_end());
}

#[test]
fn stored_event_payloads_read_back_and_write_the_same_bytes() {
    let lines: Vec<&str> = EVENTS.lines().collect();
    assert_eq!(
        lines.len(),
        6,
        "intake, dispatch, accept, contact, reply, visit"
    );
    for line in lines {
        let payload: EventPayload = serde_json::from_str(line).expect("the payload reads");
        assert_eq!(serde_json::to_string(&payload).unwrap(), line);
    }
}

/// Regenerates the fixed bytes from a real life on SQLite (only with `WHISTLE_BLESS=1`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bless() {
    if std::env::var("WHISTLE_BLESS").is_err() {
        return;
    }
    let db = sqlite().await;
    let store = &db.store;
    let street = as_unit("110105010");
    let order = store
        .execute_one(intake(
            "2025-08-20 10:00",
            complaint("110105010", "11.04.01", "占道经营"),
        ))
        .await
        .unwrap();
    for (actor, time, command) in [
        (center(), "2025-08-20 11:00", dispatch()),
        (street.clone(), "2025-08-20 12:00", Command::Accept),
        (
            street.clone(),
            "2025-08-21 09:00",
            Command::Contact {
                note: "电话联系".into(),
            },
        ),
        (
            street.clone(),
            "2025-08-28 10:00",
            Command::Reply {
                outcome: ReplyOutcome::Resolved,
                actions: "已清理".into(),
            },
        ),
        (
            center(),
            "2025-09-01 00:30",
            Command::ReturnVisit {
                result: VisitResult::Valid {
                    contacted: true,
                    resolved: true,
                    satisfaction: Satisfaction::Satisfied,
                },
            },
        ),
    ] {
        store
            .execute_one(support::command(actor, time, &order, command))
            .await
            .unwrap();
    }
    let path = db.url.trim_start_matches("sqlite://").to_string();
    let connection = rusqlite::Connection::open(path).unwrap();
    let state: String = connection
        .query_row("SELECT state FROM orders", [], |r| r.get(0))
        .unwrap();
    let mut statement = connection
        .prepare("SELECT payload FROM events ORDER BY seq")
        .unwrap();
    let payloads: Vec<String> = statement
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    std::fs::write(dir.join("order_state.json"), format!("{state}\n")).unwrap();
    std::fs::write(dir.join("event_payloads.jsonl"), payloads.join("\n") + "\n").unwrap();
}
