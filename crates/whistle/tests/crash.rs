//! The hostile tester's kill -9, over HTTP: `whistle serve` is killed three times while clients
//! post intakes, each with its own idempotency key; after each restart the clients retry every
//! intake that got no answer, with the same key. Afterwards every acknowledged order is stored,
//! no request is stored twice, and `whistle rebuild` finds nothing that differs from the events.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

struct Server {
    child: Child,
    base: String,
}

fn whistle(dir: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_whistle"));
    command
        .current_dir(dir)
        .env_remove("WHISTLE_DATABASE__URL")
        .env("WHISTLE_LOG", "error")
        .env("WHISTLE_SERVER__WORKER__ENABLED", "false");
    command
}

fn serve(dir: &std::path::Path) -> Server {
    let mut child = whistle(dir)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let base = loop {
        let line = lines
            .next()
            .expect("the server printed its address")
            .unwrap();
        if let Some(address) = line.strip_prefix("whistle listening on ") {
            break address.trim().to_string();
        }
    };
    // Keep reading so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Server { child, base }
}

fn body(i: usize) -> serde_json::Value {
    serde_json::json!({
        "request_type": "complaint",
        "text": format!("第{i}号诉求：小区门口占道经营"),
        "category": "11.04.01",
        "location": {"street": "110105010"},
        "requester": {"phone": "13800001234"},
    })
}

/// Posts intake `i` with its key; the order number when answered 201.
async fn post(client: &reqwest::Client, base: &str, token: &str, i: usize) -> Option<String> {
    let response = client
        .post(format!("{base}/api/v1/orders"))
        .bearer_auth(token)
        .header("idempotency-key", format!("crash-{i}"))
        .json(&body(i))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .ok()?;
    if !response.status().is_success() {
        return None;
    }
    let value: serde_json::Value = response.json().await.ok()?;
    value["no"].as_str().map(str::to_string)
}

#[test]
fn acknowledged_intakes_survive_kill_9_of_the_server_and_retries_make_no_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let init = whistle(dir.path()).arg("init").output().unwrap();
    assert!(init.status.success());
    let token = whistle(dir.path())
        .args(["token", "create", "--name", "crash", "--scope", "operator"])
        .output()
        .unwrap();
    let token = String::from_utf8(token.stdout).unwrap().trim().to_string();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let client = reqwest::Client::new();
    // i → the number the server acknowledged for it.
    let acknowledged: Arc<Mutex<BTreeMap<usize, String>>> = Arc::default();
    // Intakes sent at least once.
    let attempted: Arc<Mutex<BTreeSet<usize>>> = Arc::default();
    let mut retried = 0;
    let mut next = 0usize;
    let mut kills = 0;
    for round in 0..4 {
        let mut server = serve(dir.path());
        runtime.block_on(async {
            // Retry every earlier intake that has no answer yet, with its key.
            let pending: Vec<usize> = {
                let done = acknowledged.lock().unwrap();
                let sent = attempted.lock().unwrap();
                sent.iter()
                    .copied()
                    .filter(|i| !done.contains_key(i))
                    .collect()
            };
            retried += pending.len();
            for i in pending {
                if let Some(no) = post(&client, &server.base, &token, i).await {
                    acknowledged.lock().unwrap().insert(i, no);
                }
            }
            if round == 3 {
                return;
            }
            // Eight clients post new intakes until the server is killed under them.
            let start = next;
            next += 8 * 5_000;
            let mut tasks = Vec::new();
            for client_no in 0..8 {
                let client = client.clone();
                let base = server.base.clone();
                let token = token.clone();
                let acknowledged = acknowledged.clone();
                let attempted = attempted.clone();
                tasks.push(tokio::spawn(async move {
                    for i in (start + client_no..start + 8 * 5_000).step_by(8) {
                        attempted.lock().unwrap().insert(i);
                        match post(&client, &base, &token, i).await {
                            Some(no) => {
                                acknowledged.lock().unwrap().insert(i, no);
                            }
                            None => break,
                        }
                    }
                }));
            }
            tokio::time::sleep(Duration::from_millis(600 + 250 * round as u64)).await;
            server.child.kill().unwrap();
            kills += 1;
            for task in tasks {
                let _ = task.await;
            }
        });
        if round == 3 {
            // The last server is stopped the same way.
            let _ = server.child.kill();
        }
        let _ = server.child.wait();
    }
    assert_eq!(kills, 3);
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() > 500,
        "only {} intakes went through",
        acknowledged.len()
    );
    // Every acknowledged number is stored, and each request is stored once.
    let url = format!("sqlite://{}", dir.path().join("whistle.db").display());
    let orders: Vec<(String, String)> = runtime.block_on(async {
        let store = whistle_store::open(&url, whistle_store::Migrate::Refuse)
            .await
            .unwrap();
        let mut orders = Vec::new();
        let mut after = None;
        loop {
            let page = store
                .list_orders(
                    &whistle_store::Scope::All,
                    &whistle_store::OrderFilter::default(),
                    &whistle_store::PageRequest { after, limit: 1000 },
                )
                .await
                .unwrap();
            for summary in &page.items {
                let order = store
                    .order(&whistle_store::OrderRef::Id(summary.id))
                    .await
                    .unwrap()
                    .unwrap();
                orders.push((order.no.to_string(), order.text.clone()));
            }
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        orders
    });
    let stored: BTreeSet<String> = orders.iter().map(|(no, _)| no.clone()).collect();
    let lost: Vec<&String> = acknowledged
        .values()
        .filter(|no| !stored.contains(*no))
        .collect();
    assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");
    let mut texts: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, text) in &orders {
        *texts.entry(text.as_str()).or_default() += 1;
    }
    let duplicates: Vec<_> = texts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(duplicates.is_empty(), "stored twice: {duplicates:?}");
    let distinct: BTreeSet<&String> = acknowledged.values().collect();
    assert_eq!(
        distinct.len(),
        acknowledged.len(),
        "two requests answered with one order"
    );
    let rebuild = whistle(dir.path()).arg("rebuild").output().unwrap();
    let report = String::from_utf8_lossy(&rebuild.stdout);
    assert!(
        report.contains("0 projections differed") && report.contains("0 counter cells differed"),
        "{report}"
    );
    assert!(retried > 0, "no kill caught a request in flight");
    eprintln!(
        "kill -9: {kills} kills, {} intakes acknowledged, {retried} retried after a kill, {} stored, 0 lost, 0 duplicates",
        acknowledged.len(),
        stored.len()
    );
}
