//! `whistle bench http`: load against a running `whistle serve` on loopback.
//!
//! 1. Closed loop: `--concurrency` clients post intakes (with triage, catalogue routing and
//!    deadline computation) as fast as answered: the sustained maximum.
//! 2. Open loop at `--rate` intakes/s for `--seconds`: latency measured from each request's
//!    scheduled start, so queueing behind a slow server counts (no coordinated omission).
//! 3. List pages: `GET /api/v1/orders?limit=50` (and filtered by street), one after another.
//!
//! With `--server-pid` the server's resident memory is read from /proc before and after, with its peak.

use clap::Args;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::Failure;

#[derive(Args)]
pub struct HttpArgs {
    /// The server, e.g. http://127.0.0.1:8080
    #[arg(long)]
    url: String,
    /// A token that may take in requests (`whistle token create --name bench --scope operator`).
    #[arg(long)]
    token: String,
    /// The server's process id, to report its resident memory.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Intakes in the closed-loop phase.
    #[arg(long, default_value_t = 50_000)]
    intakes: usize,
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Intakes per second in the open-loop phase.
    #[arg(long, default_value_t = 1000)]
    rate: u32,
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// List page requests.
    #[arg(long, default_value_t = 2000)]
    lists: usize,
}

const STREETS: [&str; 8] = [
    "110105010",
    "110105001",
    "110108001",
    "110102001",
    "110106001",
    "110112001",
    "110101001",
    "110114001",
];
const CATEGORIES: [&str; 6] = [
    "11.04.01", "04.01", "06.02", "11.01.01", "07.01", "12.01.02",
];

fn body(i: usize) -> String {
    serde_json::json!({
        "request_type": "complaint",
        "text": "小区门口有商贩占道经营，晚上噪音很大，影响通行和休息，希望尽快处理。",
        "category": CATEGORIES[i % CATEGORIES.len()],
        "location": {"street": STREETS[i % STREETS.len()], "address": "某某路与某某街交叉口"},
        "requester": {"name": "张三", "phone": "13800001234"},
    })
    .to_string()
}

/// The `p` quantile of `latencies`, in milliseconds.
pub(crate) fn percentile(latencies: &mut [Duration], p: f64) -> f64 {
    if latencies.is_empty() {
        return 0.0;
    }
    latencies.sort_unstable();
    let index = ((latencies.len() as f64 - 1.0) * p).round() as usize;
    latencies[index].as_secs_f64() * 1e3
}

fn memory(pid: Option<u32>) -> String {
    let Some(pid) = pid else {
        return "not measured (give --server-pid)".into();
    };
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return "unreadable".into();
    };
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<u64>().ok())
            .map(|kb| format!("{:.0} MB", kb as f64 / 1024.0))
            .unwrap_or_else(|| "?".into())
    };
    format!("resident {} (peak {})", field("VmRSS:"), field("VmHWM:"))
}

async fn post(client: &reqwest::Client, args: &HttpArgs, i: usize) -> Result<(), String> {
    let response = client
        .post(format!("{}/api/v1/orders", args.url))
        .bearer_auth(&args.token)
        .header("content-type", "application/json")
        .body(body(i))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if response.status() != reqwest::StatusCode::CREATED {
        return Err(format!(
            "status {}: {}",
            response.status(),
            response.text().await.unwrap_or_default()
        ));
    }
    let created: serde_json::Value = response.json().await.map_err(|e| e.to_string())?;
    if created.get("dispatch_error").is_some() {
        return Err(format!("not dispatched: {created}"));
    }
    Ok(())
}

pub async fn run(args: HttpArgs) -> Result<(), Failure> {
    let args = Arc::new(args);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(1024)
        .build()
        .map_err(|e| Failure::Failed(e.into()))?;
    println!("server memory at start   {}", memory(args.server_pid));

    // 1. Closed loop.
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..args.concurrency.max(1) {
        let (client, args, next) = (client.clone(), args.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= args.intakes {
                    return Ok::<_, String>(latencies);
                }
                let t = Instant::now();
                post(&client, &args, i).await?;
                latencies.push(t.elapsed());
            }
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(
            task.await
                .map_err(|e| Failure::Failed(e.into()))?
                .map_err(|e| Failure::Failed(anyhow::anyhow!(e)))?,
        );
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "intake, closed loop      {:.0} intakes/s ({} in {:.1} s, {} clients), p50 {:.1} ms, p99 {:.1} ms",
        latencies.len() as f64 / elapsed,
        latencies.len(),
        elapsed,
        args.concurrency,
        percentile(&mut latencies, 0.5),
        percentile(&mut latencies, 0.99)
    );
    println!("server memory            {}", memory(args.server_pid));

    // 2. Open loop at a fixed rate.
    let total = (u64::from(args.rate) * args.seconds) as usize;
    let interval = Duration::from_secs_f64(1.0 / f64::from(args.rate.max(1)));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(total);
    for i in 0..total {
        let scheduled = started + interval * i as u32;
        tokio::time::sleep_until(scheduled.into()).await;
        let (client, args) = (client.clone(), args.clone());
        tasks.push(tokio::spawn(async move {
            post(&client, &args, 1_000_000 + i)
                .await
                .map(|_| scheduled.elapsed())
        }));
    }
    let mut latencies = Vec::with_capacity(total);
    for task in tasks {
        latencies.push(
            task.await
                .map_err(|e| Failure::Failed(e.into()))?
                .map_err(|e| Failure::Failed(anyhow::anyhow!(e)))?,
        );
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "intake at {} /s        achieved {:.0}/s over {:.1} s, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        args.rate,
        total as f64 / elapsed,
        elapsed,
        percentile(&mut latencies, 0.5),
        percentile(&mut latencies, 0.99),
        percentile(&mut latencies, 1.0)
    );

    // 3. List pages.
    for (label, query) in [
        ("list page", "limit=50"),
        ("list page by street", "limit=50&street=110105010"),
    ] {
        let mut latencies = Vec::with_capacity(args.lists);
        for _ in 0..args.lists {
            let t = Instant::now();
            let response = client
                .get(format!("{}/api/v1/orders?{query}", args.url))
                .bearer_auth(&args.token)
                .send()
                .await
                .map_err(|e| Failure::Failed(e.into()))?;
            let status = response.status();
            let bytes = response
                .bytes()
                .await
                .map_err(|e| Failure::Failed(e.into()))?;
            if !status.is_success() || bytes.is_empty() {
                return Err(Failure::Failed(anyhow::anyhow!("list failed: {status}")));
            }
            latencies.push(t.elapsed());
        }
        println!(
            "{label:<24} {} requests, p50 {:.2} ms, p99 {:.2} ms",
            args.lists,
            percentile(&mut latencies, 0.5),
            percentile(&mut latencies, 0.99)
        );
    }
    println!("server memory at end     {}", memory(args.server_pid));
    Ok(())
}
