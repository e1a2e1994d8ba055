//! Three servers over one PostgreSQL under sustained load (`whistle bench cluster`), bounded for
//! CI: intake and commands spread over the servers, the deadline worker in all three, a live
//! whistle feed on each. The command itself checks every notice and absence recorded exactly
//! once, every feed event delivered exactly once and in order on every server, idempotent
//! retries through another server, and a clean rebuild — and fails otherwise.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

#[tokio::test]
async fn three_servers_over_one_postgres_record_and_deliver_everything_exactly_once() {
    let Ok(base) = std::env::var("WHISTLE_TEST_PG_URL") else {
        eprintln!("cluster test skipped: WHISTLE_TEST_PG_URL is not set");
        return;
    };
    let (client, connection) = tokio_postgres::connect(&base, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let name = format!("whistle_cluster_{}", std::process::id());
    for statement in [
        format!("DROP DATABASE IF EXISTS {name}"),
        format!("CREATE DATABASE {name}"),
    ] {
        client.batch_execute(&statement).await.unwrap();
    }
    let url = format!("{}/{name}", &base[..base.rfind('/').unwrap()]);
    let output = Command::new(env!("CARGO_BIN_EXE_whistle"))
        .env_remove("WHISTLE_DATABASE__URL")
        .env("WHISTLE_LOG", "error")
        .args(["--database-url", &url, "bench", "cluster", "--servers", "3"])
        .args(["--seconds", "8", "--concurrency", "6", "--speed", "14400"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for line in [
        "0 answered with another order",
        "0 duplicates, 0 missed",
        "0 projections differed, 0 counter cells differed",
        "all checks passed",
    ] {
        assert!(stdout.contains(line), "{line}: {stdout}");
    }
    assert_eq!(stdout.matches(", in order").count(), 3, "{stdout}");
    client
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await
        .unwrap();
}
