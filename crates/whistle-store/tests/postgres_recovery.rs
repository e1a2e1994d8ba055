//! The PostgreSQL backend survives its sessions being killed (a server restart, a failover): the
//! commands in flight fail with a storage error and write nothing, the next ones reconnect.
//! Needs `WHISTLE_TEST_PG_URL` (CI sets it).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::*;
use whistle_store::CommandError;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_recover_after_the_sessions_are_killed() {
    let Some(db) = postgres().await else {
        eprintln!("PostgreSQL recovery skipped: WHISTLE_TEST_PG_URL is not set");
        return;
    };
    let first = db
        .store
        .execute_one(intake(
            "2025-10-09 09:00",
            complaint("110105010", "11.04.01", "占道"),
        ))
        .await
        .unwrap();
    let (admin, connection) = tokio_postgres::connect(&db.url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let killed = admin
        .query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
            &[],
        )
        .await
        .unwrap();
    assert!(!killed.is_empty(), "the store had no sessions to kill");
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let mut attempts = 0;
    let second = loop {
        attempts += 1;
        match db
            .store
            .execute_one(intake(
                "2025-10-09 09:05",
                complaint("110105010", "11.04.01", "占道"),
            ))
            .await
        {
            Ok(outcome) => break outcome,
            Err(CommandError::Store(_)) if attempts < 3 => continue,
            Err(other) => panic!("attempt {attempts}: {other}"),
        }
    };
    // Gap-free numbering survived: the failed attempt wrote nothing.
    assert_eq!(
        (first.order_no.as_str(), second.order_no.as_str()),
        ("20251009-000001", "20251009-000002")
    );
    let mut reads = 0;
    loop {
        reads += 1;
        match db.store.totals().await {
            Ok((orders, _)) => {
                assert_eq!(orders, 2);
                break;
            }
            Err(_) if reads < 10 => continue,
            Err(other) => panic!("{other}"),
        }
    }
}
