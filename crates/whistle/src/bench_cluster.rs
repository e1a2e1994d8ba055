//! `whistle bench cluster`: several `whistle serve` instances over one database, as a city runs
//! them behind a balancer, under sustained load — and the checks that make it safe:
//!
//! - intake and order commands spread over the servers (each step of an order's life through
//!   the next server), some intakes retried with the same `Idempotency-Key` through another
//!   server (the same order must come back);
//! - whistles raised on one server, reported into on another;
//! - the deadline worker running in every server, on one clock that runs `--speed` times faster
//!   than the wall clock, so response deadlines and report-in deadlines fall due during the run;
//! - a live whistle feed open on every server from the start.
//!
//! At the end the clock stops, the workers catch up, and the run counts: every due notice and
//! every absence recorded exactly once (0 duplicates, 0 missed), every server's feed delivered
//! every whistle event exactly once and in position order (also those written by the others),
//! every retry answered with its first order, and `rebuild` finds no projection that differs.
//! Any failed check makes the command fail.
//!
//! The servers run in this one process, each with its own connection pool, worker and feed
//! wake-up; nothing is shared between them but the database (and the clock, which stands for
//! NTP-synchronised hosts).

use clap::Args;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use whistle_core::ids::UnitCode;
use whistle_core::order::{EventPayload, Supervision};
use whistle_core::time::Timestamp;
use whistle_core::whistle::WhistleEvent;
use whistle_server::{AppState, Clock, ServerSettings};
use whistle_store::{OrderRef, Store};

use crate::bench_http::percentile;
use crate::{store_failure, Env, Failure};

#[derive(Args)]
pub struct ClusterArgs {
    /// Servers over the one database.
    #[arg(long, default_value_t = 3)]
    servers: usize,
    /// Seconds of load.
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    /// Clients sending requests at once (each waits for its answer).
    #[arg(long, default_value_t = 12)]
    concurrency: usize,
    /// Simulated seconds per wall-clock second (3600: an hour a second), so that deadlines
    /// fall due while the run lasts.
    #[arg(long, default_value_t = 3600)]
    speed: u32,
}

/// One clock for all the servers, `speed` times faster than the wall clock, that can be stopped.
struct FastClock {
    base: Timestamp,
    start: Instant,
    speed: u32,
    stopped: Mutex<Option<Timestamp>>,
}

impl FastClock {
    fn stop(&self) -> Timestamp {
        let now = self.now();
        *self.stopped.lock().unwrap_or_else(|e| e.into_inner()) = Some(now);
        now
    }
}

impl Clock for FastClock {
    fn now(&self) -> Timestamp {
        if let Some(at) = *self.stopped.lock().unwrap_or_else(|e| e.into_inner()) {
            return at;
        }
        let elapsed = self.start.elapsed() * self.speed;
        self.base + chrono::Duration::from_std(elapsed).unwrap_or_default()
    }
}

/// The street the load works in, its handled categories, and the whistle's units.
const STREET: &str = "110105010";
const STREETS: [&str; 4] = ["110105010", "110105011", "110105001", "110108001"];
const CATEGORIES: [&str; 2] = ["11.04.01", "11.01.01"];
const WHISTLE_LEAD: &str = "110105.dept.urban-management";
const WHISTLE_ASSISTING: [&str; 2] = ["110105.dept.housing", "11.ent.power"];

struct Server {
    base: String,
    state: Arc<AppState>,
}

/// Integration tokens, one per (scope, unit), made on first use.
struct Tokens {
    store: Arc<dyn Store>,
    made: tokio::sync::Mutex<HashMap<(String, String), String>>,
    at: Timestamp,
}

impl Tokens {
    async fn get(&self, scope: &str, unit: &str) -> Result<String, String> {
        let mut made = self.made.lock().await;
        if let Some(token) = made.get(&(scope.to_string(), unit.to_string())) {
            return Ok(token.clone());
        }
        let code = UnitCode::parse(unit).map_err(|e| e.to_string())?;
        let (record, token) =
            whistle_server::auth::new_token(&format!("cluster-{scope}"), scope, None, code);
        self.store
            .put_token(&record, self.at)
            .await
            .map_err(|e| e.to_string())?;
        made.insert((scope.to_string(), unit.to_string()), token.clone());
        Ok(token)
    }
}

#[derive(Default)]
struct Tally {
    intake: Vec<Duration>,
    command: Vec<Duration>,
    whistle: Vec<Duration>,
    orders: Vec<String>,
    whistles: Vec<String>,
    retries: usize,
    retries_differing: usize,
    conflicts_retried: usize,
}

/// An order a client works on: its number and the version it last saw.
struct Held {
    no: String,
    version: u64,
}

struct Load {
    client: reqwest::Client,
    servers: Vec<String>,
    tokens: Tokens,
    next: AtomicUsize,
    stop: AtomicBool,
}

impl Load {
    fn server(&self, i: usize) -> &str {
        &self.servers[i % self.servers.len()]
    }

    async fn send(
        &self,
        server: usize,
        token: &str,
        path: &str,
        body: Option<&Value>,
        key: Option<&str>,
    ) -> Result<(u16, Value), String> {
        let url = format!("{}{path}", self.server(server));
        let mut request = match body {
            Some(body) => self.client.post(url).json(body),
            None => self.client.get(url),
        }
        .bearer_auth(token);
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        let response = request.send().await.map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let value = response.json::<Value>().await.map_err(|e| e.to_string())?;
        Ok((status, value))
    }

    /// A command on an order, through `server`; a version conflict (the worker wrote a notice
    /// in between) is answered by reading the order again and retrying.
    async fn command(
        &self,
        tally: &mut Tally,
        server: usize,
        token: &str,
        order: &mut Held,
        (name, fields): (&str, Value),
    ) -> Result<(), String> {
        let (no, version) = (order.no.as_str(), &mut order.version);
        for _ in 0..5 {
            let mut body = fields.clone();
            body["version"] = json!(*version);
            let t = Instant::now();
            let (status, answer) = self
                .send(
                    server,
                    token,
                    &format!("/api/v1/orders/{no}/{name}"),
                    Some(&body),
                    None,
                )
                .await?;
            tally.command.push(t.elapsed());
            if status == 200 {
                *version = answer["version"].as_u64().unwrap_or(*version);
                return Ok(());
            }
            if status == 409 && answer["error"] == "conflict" {
                tally.conflicts_retried += 1;
                let (_, order) = self
                    .send(
                        server + 1,
                        token,
                        &format!("/api/v1/orders/{no}"),
                        None,
                        None,
                    )
                    .await?;
                *version = order["version"].as_u64().unwrap_or(*version);
                continue;
            }
            return Err(format!("{name} on {no}: {status} {answer}"));
        }
        Err(format!("{name} on {no}: still conflicting after 5 tries"))
    }

    async fn client(self: Arc<Self>) -> Result<Tally, String> {
        let mut tally = Tally::default();
        let operator = self.tokens.get("operator", "11.center").await?;
        let official = self.tokens.get("street_official", STREET).await?;
        while !self.stop.load(Ordering::Relaxed) {
            let i = self.next.fetch_add(1, Ordering::Relaxed);
            let street = STREETS[i % STREETS.len()];
            let body = json!({
                "request_type": "complaint",
                "text": "小区门口有商贩占道经营，晚上噪音很大，影响通行和休息，希望尽快处理。",
                "category": CATEGORIES[(i / STREETS.len()) % CATEGORIES.len()],
                "location": {"street": street, "address": "某某路与某某街交叉口"},
                "requester": {"name": "张三", "phone": "13800001234"},
            });
            let key = uuid::Uuid::now_v7().to_string();
            let t = Instant::now();
            let (status, order) = self
                .send(i, &operator, "/api/v1/orders", Some(&body), Some(&key))
                .await?;
            tally.intake.push(t.elapsed());
            if status != 201 {
                return Err(format!("intake: {status} {order}"));
            }
            let no = order["no"].as_str().unwrap_or_default().to_string();
            tally.orders.push(no.clone());
            if i.is_multiple_of(5) {
                // The balancer sends the client's retry to another server.
                let (_, again) = self
                    .send(i + 1, &operator, "/api/v1/orders", Some(&body), Some(&key))
                    .await?;
                tally.retries += 1;
                if again["no"] != order["no"] {
                    tally.retries_differing += 1;
                }
            }
            // Two orders in three are handled (accept, contact, reply), each step through the
            // next server; the third is left alone, so its response deadline falls due.
            if !i.is_multiple_of(3) {
                if let Some(lead) = order["lead_unit"].as_str() {
                    let handler = self.tokens.get("handler", lead).await?;
                    let mut held = Held {
                        no: no.clone(),
                        version: order["version"].as_u64().unwrap_or(0),
                    };
                    let steps = [
                        ("accept", json!({})),
                        ("contact", json!({"note": "已电话联系诉求人"})),
                        (
                            "reply",
                            json!({"outcome": "resolved", "actions": "已清理占道摊点"}),
                        ),
                    ];
                    for (n, step) in steps.into_iter().enumerate() {
                        self.command(&mut tally, i + 1 + n, &handler, &mut held, step)
                            .await?;
                    }
                }
            }
            if i.is_multiple_of(10) {
                self.whistle(&mut tally, i, &official).await?;
            }
        }
        Ok(tally)
    }

    /// Raises an emergency whistle; the lead department reports in through another server for
    /// two whistles in three, the others' units are left to the workers to mark absent.
    async fn whistle(&self, tally: &mut Tally, i: usize, official: &str) -> Result<(), String> {
        let raise = json!({
            "kind": "emergency", "lead": WHISTLE_LEAD, "assisting": WHISTLE_ASSISTING,
            "place": "某路口", "needed": "联合处置", "list_item": "pipe-burst",
        });
        let t = Instant::now();
        let (status, whistle) = self
            .send(i, official, "/api/v1/whistles", Some(&raise), None)
            .await?;
        tally.whistle.push(t.elapsed());
        if status != 201 {
            return Err(format!("raise: {status} {whistle}"));
        }
        let no = whistle["no"].as_str().unwrap_or_default().to_string();
        tally.whistles.push(no.clone());
        if !i.is_multiple_of(30) {
            let liaison = self.tokens.get("department_liaison", WHISTLE_LEAD).await?;
            let body = json!({"version": whistle["version"], "people": 4});
            let t = Instant::now();
            let (status, answer) = self
                .send(
                    i + 1,
                    &liaison,
                    &format!("/api/v1/whistles/{no}/report_in"),
                    Some(&body),
                    None,
                )
                .await?;
            tally.whistle.push(t.elapsed());
            // Late (the fast clock passed the deadline and a worker marked it absent first) or
            // a version a worker moved on are fair outcomes; anything else is not.
            if status != 200 && status != 409 && status != 422 {
                return Err(format!("report_in: {status} {answer}"));
            }
        }
        Ok(())
    }
}

/// Reads a server's live feed, collecting the positions of the events it delivers.
async fn follow(
    client: reqwest::Client,
    url: String,
    token: String,
    after: i64,
    positions: Arc<Mutex<Vec<i64>>>,
) -> Result<(), String> {
    let mut response = client
        .get(format!("{url}/api/v1/whistles/feed?after={after}"))
        .bearer_auth(token)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !response.status().is_success() {
        return Err(format!("feed: {}", response.status()));
    }
    let mut pending = String::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? {
        pending.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = pending.find("\n\n") {
            let block: String = pending.drain(..end + 2).collect();
            for line in block.lines() {
                if let Some(id) = line.strip_prefix("id:") {
                    if let Ok(position) = id.trim().parse::<i64>() {
                        positions
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .push(position);
                    }
                }
            }
        }
    }
    Ok(())
}

fn failed(message: impl std::fmt::Display) -> Failure {
    Failure::Failed(anyhow::anyhow!("{message}"))
}

pub async fn run(env: &Env, args: ClusterArgs) -> Result<(), Failure> {
    let lang = env.lang;
    let first = whistle_store::open(&env.url, whistle_store::Migrate::Apply)
        .await
        .map_err(|e| store_failure(e, lang))?;
    if first.reference().directory.is_empty() {
        crate::reference_cmd::init(env, None, chrono::Utc::now()).await?;
    }
    let clock = Arc::new(FastClock {
        base: chrono::Utc::now(),
        start: Instant::now(),
        speed: args.speed.max(1),
        stopped: Mutex::new(None),
    });
    let mut settings = ServerSettings {
        listen: "127.0.0.1:0".into(),
        ..ServerSettings::default()
    };
    settings.worker.enabled = true;
    settings.worker.tick_seconds = 1;
    let mut servers = Vec::new();
    let mut workers = Vec::new();
    for _ in 0..args.servers.max(1) {
        let store = whistle_store::open(&env.url, whistle_store::Migrate::Refuse)
            .await
            .map_err(|e| store_failure(e, lang))?;
        let state = AppState::new(store, settings.clone(), clock.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| failed(format!("cannot listen on loopback: {e}")))?;
        let base = format!(
            "http://{}",
            listener.local_addr().map_err(|e| failed(e.to_string()))?
        );
        tokio::spawn(whistle_server::serve(
            listener,
            state.clone(),
            std::future::pending(),
        ));
        workers.push(whistle_server::worker::spawn(state.clone()));
        servers.push(Server { base, state });
    }
    let store = servers[0].state.store.clone();
    let client = reqwest::Client::new();
    let tokens = Tokens {
        store: store.clone(),
        made: Default::default(),
        at: clock.now(),
    };
    let admin = tokens.get("admin", "11.center").await.map_err(failed)?;
    let head = store
        .whistle_feed_head()
        .await
        .map_err(|e| store_failure(e, lang))?;
    let mut feeds = Vec::new();
    let mut followers = Vec::new();
    for server in &servers {
        let positions = Arc::new(Mutex::new(Vec::new()));
        feeds.push(positions.clone());
        followers.push(tokio::spawn(follow(
            client.clone(),
            server.base.clone(),
            admin.clone(),
            head,
            positions,
        )));
    }
    let load = Arc::new(Load {
        client: client.clone(),
        servers: servers.iter().map(|s| s.base.clone()).collect(),
        tokens,
        next: AtomicUsize::new(0),
        stop: AtomicBool::new(false),
    });
    println!(
        "{} servers over one {:?} database, {} clients for {} s, the clock at {}× the wall clock",
        servers.len(),
        store.backend(),
        args.concurrency.max(1),
        args.seconds,
        clock.speed
    );
    let started = Instant::now();
    let clients: Vec<_> = (0..args.concurrency.max(1))
        .map(|_| tokio::spawn(load.clone().client()))
        .collect();
    tokio::time::sleep(Duration::from_secs(args.seconds)).await;
    load.stop.store(true, Ordering::Relaxed);
    let mut tally = Tally::default();
    for client in clients {
        let part = client
            .await
            .map_err(|e| failed(e.to_string()))?
            .map_err(failed)?;
        tally.intake.extend(part.intake);
        tally.command.extend(part.command);
        tally.whistle.extend(part.whistle);
        tally.orders.extend(part.orders);
        tally.whistles.extend(part.whistles);
        tally.retries += part.retries;
        tally.retries_differing += part.retries_differing;
        tally.conflicts_retried += part.conflicts_retried;
    }
    let elapsed = started.elapsed().as_secs_f64();

    // Stop the clock and let every worker tick at least twice at the stopped time.
    let stopped = clock.stop();
    tokio::time::sleep(Duration::from_millis(2_500)).await;

    // Notices: none due left, none recorded twice.
    let due_soon = store.reference().policy.due_soon_minutes;
    let (mut notices, mut notice_duplicates, mut notices_missed) = (0usize, 0usize, 0usize);
    for no in &tally.orders {
        let no = whistle_core::ids::OrderNo::parse(no).map_err(|e| failed(e.to_string()))?;
        let order = store
            .order(&OrderRef::No(no.clone()))
            .await
            .map_err(|e| store_failure(e, lang))?
            .ok_or_else(|| failed(format!("order {no} is missing")))?;
        notices_missed += order.notices_due(stopped, due_soon).len();
        let mut seen = BTreeMap::new();
        for event in store
            .history(order.id)
            .await
            .map_err(|e| store_failure(e, lang))?
        {
            if let EventPayload::Supervised { action, .. } = event.payload {
                let key = match action {
                    Supervision::DueSoon { deadline, due_at } => ("due_soon", deadline, due_at),
                    Supervision::Overdue { deadline, due_at } => ("overdue", deadline, due_at),
                    _ => continue,
                };
                *seen.entry(format!("{key:?}")).or_insert(0usize) += 1;
            }
        }
        notices += seen.len();
        notice_duplicates += seen.values().map(|n| n - 1).sum::<usize>();
    }

    // Absences: none due left, none marked twice.
    let (mut absences, mut absence_duplicates, mut absences_missed) = (0usize, 0usize, 0usize);
    for no in &tally.whistles {
        let whistle = store
            .whistle(no)
            .await
            .map_err(|e| store_failure(e, lang))?
            .ok_or_else(|| failed(format!("whistle {no} is missing")))?;
        absences_missed += whistle.absences_due(stopped).len();
        let mut marked: BTreeMap<String, usize> = BTreeMap::new();
        for record in store
            .whistle_history(whistle.id)
            .await
            .map_err(|e| store_failure(e, lang))?
        {
            if let WhistleEvent::MarkedAbsent { unit } = record.event {
                *marked.entry(unit.to_string()).or_default() += 1;
            }
        }
        absences += marked.len();
        absence_duplicates += marked.values().map(|n| n - 1).sum::<usize>();
    }

    // The feed: what the database holds after the head, against what each server delivered.
    let mut written = Vec::new();
    let mut after = head;
    loop {
        let page = store
            .whistle_feed(after, 1000)
            .await
            .map_err(|e| store_failure(e, lang))?;
        let Some(last) = page.last() else { break };
        after = last.position;
        written.extend(page.iter().map(|item| item.position));
    }
    let patience = Instant::now();
    while patience.elapsed() < Duration::from_secs(15)
        && feeds
            .iter()
            .any(|feed| feed.lock().unwrap_or_else(|e| e.into_inner()).len() < written.len())
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut feed_faults = 0usize;
    let mut feed_lines = Vec::new();
    for (server, feed) in feeds.iter().enumerate() {
        let got = feed.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let unique: std::collections::BTreeSet<i64> = got.iter().copied().collect();
        let duplicates = got.len() - unique.len();
        let missed = written.iter().filter(|p| !unique.contains(p)).count();
        let in_order = got.windows(2).all(|w| w[0] < w[1]);
        let extra = unique.iter().filter(|p| !written.contains(p)).count();
        feed_faults += duplicates + missed + extra + usize::from(!in_order);
        feed_lines.push(format!(
            "server {}: {} delivered, {duplicates} duplicates, {missed} missed, {}",
            server + 1,
            got.len(),
            if in_order { "in order" } else { "OUT OF ORDER" }
        ));
    }
    for follower in followers {
        follower.abort();
    }
    for worker in workers {
        worker.abort();
    }
    let rebuild = store
        .rebuild_projections()
        .await
        .map_err(|e| store_failure(e, lang))?;

    let commands = tally.command.len();
    println!(
        "intake                   {} orders in {elapsed:.1} s = {:.0}/s, p50 {:.1} ms, p99 {:.1} ms",
        tally.intake.len(),
        tally.intake.len() as f64 / elapsed,
        percentile(&mut tally.intake, 0.5),
        percentile(&mut tally.intake, 0.99)
    );
    println!(
        "order commands           {commands} = {:.0}/s, p50 {:.1} ms, p99 {:.1} ms ({} version conflicts with a worker, retried)",
        commands as f64 / elapsed,
        percentile(&mut tally.command, 0.5),
        percentile(&mut tally.command, 0.99),
        tally.conflicts_retried
    );
    println!(
        "whistles                 {} raised, {} requests, p50 {:.1} ms, p99 {:.1} ms",
        tally.whistles.len(),
        tally.whistle.len(),
        percentile(&mut tally.whistle, 0.5),
        percentile(&mut tally.whistle, 0.99)
    );
    println!(
        "idempotent retries       {} through another server, {} answered with another order",
        tally.retries, tally.retries_differing
    );
    println!(
        "deadline notices         {notices} recorded, {notice_duplicates} duplicates, {notices_missed} missed"
    );
    println!(
        "absences                 {absences} marked, {absence_duplicates} duplicates, {absences_missed} missed"
    );
    println!("feed events              {} written", written.len());
    for line in &feed_lines {
        println!("  {line}");
    }
    println!(
        "rebuild                  {} orders replayed, {} projections differed, {} counter cells differed",
        rebuild.orders,
        rebuild.differing.len(),
        rebuild.counter_cells_differing
    );
    let faults = tally.retries_differing
        + notice_duplicates
        + notices_missed
        + absence_duplicates
        + absences_missed
        + feed_faults
        + rebuild.differing.len()
        + rebuild.counter_cells_differing as usize;
    if notices == 0 || absences == 0 || written.is_empty() {
        return Err(failed(
            "the run was too short to check anything: no notice, absence or feed event (raise --seconds or --speed)",
        ));
    }
    if faults > 0 {
        return Err(failed(format!("{faults} faults: see above")));
    }
    println!("all checks passed");
    Ok(())
}
