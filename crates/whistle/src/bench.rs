//! `whistle bench …`: the engine benchmark (complete lifecycles through the Store API, with the
//! raw-database limit measured in the same run) and the due-query benchmark.

use clap::{Args, Subcommand};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use whistle_core::catalogue::Territory;
use whistle_core::ids::{Actor, CategoryCode, UnitCode};
use whistle_core::order::{Channel, Command, Intake, Location, RequestType, Triage};
use whistle_core::time::Timestamp;
use whistle_store::{Backend, Envelope, OrderRef, PageRequest, Request, Store};

use crate::{store_failure, Env, Failure};

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Complete lifecycles (intake → dispatch → accept → contact → reply → visit → close).
    Engine(EngineArgs),
    /// The 'due at time T' query with N open orders.
    Due(DueArgs),
    /// The monthly evaluation and the daily bulletin on an existing store, side by side with
    /// DuckDB on the raw rows (`--duckdb-python`).
    Reports(crate::bench_reports::ReportsArgs),
    /// Load a running `whistle serve` over HTTP: intakes (closed loop and at a fixed rate) and list pages.
    Http(HttpArgs),
    /// Several servers over one database (PostgreSQL in production) under sustained load, with
    /// their deadline workers and live feeds: counts duplicates and misses, and fails on any.
    Cluster(crate::bench_cluster::ClusterArgs),
    /// The pages' server times on an existing store (inbox, queues, order, hints, intake save).
    Pages(crate::bench_pages::PagesArgs),
    /// Intake orders from several clients, printing each number once acknowledged (the crash test
    /// kills this and checks every printed number survived).
    #[command(hide = true)]
    AckStream {
        #[arg(long, default_value_t = 1_000_000)]
        count: usize,
    },
}

#[derive(Args)]
pub struct EngineArgs {
    /// Lifecycles to run (7 commands each).
    #[arg(long, default_value_t = 20_000)]
    lifecycles: usize,
    /// Lifecycles in flight at once (concurrent clients).
    #[arg(long, default_value_t = 512)]
    concurrency: usize,
    /// Commands per transaction in the raw baseline.
    #[arg(long, default_value_t = 512)]
    raw_batch: usize,
}

pub use crate::bench_http::HttpArgs;

#[derive(Args)]
pub struct DueArgs {
    /// Open orders to create first (through the engine: intake + dispatch).
    #[arg(long, default_value_t = 1_000_000)]
    open: usize,
    /// Queries to time.
    #[arg(long, default_value_t = 2_000)]
    queries: usize,
    #[arg(long, default_value_t = 512)]
    concurrency: usize,
}

/// A monotonic clock for generated commands: never goes backwards, unlike the wall clock.
#[derive(Clone)]
struct BenchClock {
    base: Timestamp,
    start: Instant,
}

impl BenchClock {
    fn now(&self) -> Timestamp {
        self.base + chrono::Duration::from_std(self.start.elapsed()).unwrap_or_default()
    }
}

fn unit(code: &str) -> Result<UnitCode, Failure> {
    UnitCode::parse(code).map_err(|e| Failure::Failed(e.into()))
}

/// The store for a bulk benchmark (engine, due): sized for large batches.
async fn prepare(env: &Env) -> Result<Arc<dyn Store>, Failure> {
    let bulk = whistle_store::Tuning::BULK;
    let store = whistle_store::open_tuned(&env.url, whistle_store::Migrate::Apply, bulk)
        .await
        .map_err(|e| store_failure(e, env.lang))?;
    if store.reference().directory.is_empty() {
        crate::reference_cmd::init(env, None, chrono::Utc::now()).await?;
        return whistle_store::open_tuned(&env.url, whistle_store::Migrate::Refuse, bulk)
            .await
            .map_err(|e| store_failure(e, env.lang));
    }
    Ok(store)
}

/// Streets to spread requests over, and street-handled categories.
fn workload(store: &dyn Store) -> (Vec<UnitCode>, Vec<CategoryCode>) {
    let reference = store.reference();
    let mut streets: Vec<UnitCode> = reference
        .directory
        .units()
        .filter(|u| u.kind.is_street_level())
        .map(|u| u.code.clone())
        .collect();
    streets.sort();
    let categories = ["11.04.01", "11.01.01", "04.01", "06.02", "08.04", "17.01"]
        .iter()
        .filter_map(|c| CategoryCode::parse(c).ok())
        .collect();
    (streets, categories)
}

fn intake(street: &UnitCode, category: &CategoryCode) -> Request {
    Request::Intake {
        intake: Box::new(Intake {
            received_at: None,
            channel: Channel::Phone,
            request_type: RequestType::Complaint,
            text: "小区门口有商贩占道经营，晚上噪音很大，影响通行和休息，希望尽快处理。".into(),
            category: category.clone(),
            urgency: None,
            location: Location {
                territory: Territory {
                    district: None,
                    street: Some(street.clone()),
                    community: None,
                },
                address: Some("某某路与某某街交叉口东北角".into()),
                ..Location::default()
            },
            triage: Triage::Dispatch,
        }),
        requester: Some(whistle_store::Requester {
            name: Some("张三".into()),
            phone: Some("13800001234".into()),
            address_detail: None,
        }),
    }
}

struct Latencies(Vec<Duration>);

impl Latencies {
    fn percentile(&mut self, p: f64) -> Duration {
        self.0.sort_unstable();
        if self.0.is_empty() {
            return Duration::ZERO;
        }
        let index = ((self.0.len() as f64 - 1.0) * p).round() as usize;
        self.0[index]
    }
}

pub async fn run(env: &Env, command: BenchCommand) -> Result<(), Failure> {
    match command {
        BenchCommand::Engine(args) => engine(env, args).await,
        BenchCommand::Due(args) => due(env, args).await,
        BenchCommand::AckStream { count } => ack_stream(env, count).await,
        BenchCommand::Http(args) => crate::bench_http::run(args).await,
        BenchCommand::Pages(args) => crate::bench_pages::run(env, args).await,
        BenchCommand::Cluster(args) => crate::bench_cluster::run(env, args).await,
        BenchCommand::Reports(args) => crate::bench_reports::run(env, args).await,
    }
}

async fn engine(env: &Env, args: EngineArgs) -> Result<(), Failure> {
    let store = prepare(env).await?;
    let (streets, categories) = workload(&*store);
    let clock = BenchClock {
        base: chrono::Utc::now(),
        start: Instant::now(),
    };
    let next = Arc::new(AtomicUsize::new(0));
    let center = Actor {
        user: "bench".into(),
        unit: unit("11.center")?,
    };
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..args.concurrency.max(1) {
        let (store, streets, categories, clock, next, center) = (
            store.clone(),
            streets.clone(),
            categories.clone(),
            clock.clone(),
            next.clone(),
            center.clone(),
        );
        let total = args.lifecycles;
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    return Ok::<_, String>(latencies);
                }
                let street = &streets[(i * 7919) % streets.len()];
                let category = &categories[i % categories.len()];
                let t = Instant::now();
                let outcome = store
                    .execute_one(Envelope {
                        actor: center.clone(),
                        at: clock.now(),
                        request: intake(street, category),
                    })
                    .await
                    .map_err(|e| format!("intake: {e}"))?;
                latencies.push(t.elapsed());
                let id = outcome.order_id;
                let mut lead: Option<UnitCode> = None;
                let steps = crate::demo::lifecycle_steps(i);
                for (by_lead, command) in steps {
                    let actor = match (&lead, by_lead) {
                        (Some(lead), true) => Actor {
                            user: "handler".into(),
                            unit: lead.clone(),
                        },
                        _ => center.clone(),
                    };
                    let t = Instant::now();
                    let outcome = store
                        .execute_one(Envelope {
                            actor,
                            at: clock.now(),
                            request: Request::Command {
                                order: OrderRef::Id(id),
                                expected_version: None,
                                command,
                            },
                        })
                        .await
                        .map_err(|e| format!("lifecycle step: {e}"))?;
                    latencies.push(t.elapsed());
                    if lead.is_none() {
                        if let Some(whistle_core::order::EventPayload::Dispatched(d)) =
                            outcome.events.first().map(|e| &e.payload)
                        {
                            lead = Some(d.lead.clone());
                        }
                    }
                }
            }
        }));
    }
    let mut latencies = Latencies(Vec::new());
    for task in tasks {
        let result = task.await.map_err(|e| Failure::Failed(e.into()))?;
        latencies
            .0
            .extend(result.map_err(|e| Failure::Failed(anyhow::anyhow!(e)))?);
    }
    let engine_elapsed = started.elapsed();
    let commands = latencies.0.len();
    let engine_rate = commands as f64 / engine_elapsed.as_secs_f64();
    let (p50, p99) = (latencies.percentile(0.5), latencies.percentile(0.99));
    let raw_elapsed = match store.backend() {
        Backend::Sqlite => {
            let path = env.url.trim_start_matches("sqlite://").to_string();
            let (lifecycles, batch) = (args.lifecycles, args.raw_batch);
            tokio::task::spawn_blocking(move || {
                whistle_store::baseline::sqlite(std::path::Path::new(&path), lifecycles, batch)
            })
            .await
            .map_err(|e| Failure::Failed(e.into()))?
        }
        Backend::Postgres => {
            whistle_store::baseline::postgres(&env.url, args.lifecycles, args.raw_batch).await
        }
    }
    .map_err(|e| store_failure(e, env.lang))?;
    let raw_rate = commands as f64 / raw_elapsed.as_secs_f64();
    out!("backend            {:?}", store.backend());
    out!(
        "lifecycles         {} ({} commands, {} in flight)",
        args.lifecycles,
        commands,
        args.concurrency
    );
    out!(
        "engine             {:.0} commands/s ({:.2} s), latency p50 {:.2} ms, p99 {:.2} ms",
        engine_rate,
        engine_elapsed.as_secs_f64(),
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3
    );
    out!(
        "raw limit          {:.0} commands/s ({:.2} s, same rows, {} commands per transaction)",
        raw_rate,
        raw_elapsed.as_secs_f64(),
        args.raw_batch
    );
    out!("engine / raw       {:.2}", engine_rate / raw_rate);
    Ok(())
}

async fn due(env: &Env, args: DueArgs) -> Result<(), Failure> {
    let store = prepare(env).await?;
    let (streets, categories) = workload(&*store);
    let clock = BenchClock {
        base: chrono::Utc::now(),
        start: Instant::now(),
    };
    let center = Actor {
        user: "bench".into(),
        unit: unit("11.center")?,
    };
    let open = store
        .stage_counts()
        .await
        .map_err(|e| store_failure(e, env.lang))?
        .into_iter()
        .filter(|(stage, _)| stage == "dispatched" || stage == "accepted")
        .map(|(_, n)| n as usize)
        .sum::<usize>();
    let missing = args.open.saturating_sub(open);
    let started = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..args.concurrency.max(1) {
        let (store, streets, categories, clock, next, center) = (
            store.clone(),
            streets.clone(),
            categories.clone(),
            clock.clone(),
            next.clone(),
            center.clone(),
        );
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= missing {
                    return Ok::<_, String>(());
                }
                let street = &streets[(i * 7919) % streets.len()];
                let category = &categories[i % categories.len()];
                let outcome = store
                    .execute_one(Envelope {
                        actor: center.clone(),
                        at: clock.now(),
                        request: intake(street, category),
                    })
                    .await
                    .map_err(|e| e.to_string())?;
                let dispatch = Command::Dispatch {
                    unit: None,
                    co_handlers: Vec::new(),
                    handle_by: None,
                };
                store
                    .execute_one(Envelope {
                        actor: center.clone(),
                        at: clock.now(),
                        request: Request::Command {
                            order: OrderRef::Id(outcome.order_id),
                            expected_version: None,
                            command: dispatch,
                        },
                    })
                    .await
                    .map_err(|e| e.to_string())?;
            }
        }));
    }
    for task in tasks {
        task.await
            .map_err(|e| Failure::Failed(e.into()))?
            .map_err(|e| Failure::Failed(anyhow::anyhow!(e)))?;
    }
    if missing > 0 {
        out!(
            "created {missing} open orders in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
    // Query at instants spread over the deadlines: from the earliest to well past the latest.
    let horizon = chrono::Duration::days(30);
    let mut latencies = Latencies(Vec::new());
    let mut returned = 0usize;
    let base = chrono::Utc::now();
    for q in 0..args.queries {
        let at = base + horizon * (q as i32 % 31) / 30;
        let t = Instant::now();
        let page = store
            .due(
                at,
                &PageRequest {
                    after: None,
                    limit: 100,
                },
            )
            .await
            .map_err(|e| store_failure(e, env.lang))?;
        latencies.0.push(t.elapsed());
        returned += page.items.len();
    }
    out!("backend            {:?}", store.backend());
    out!("open orders        {}", open + missing);
    out!(
        "due query          {} queries (page of 100), {} rows returned",
        args.queries,
        returned
    );
    out!(
        "latency            p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        latencies.percentile(0.5).as_secs_f64() * 1e3,
        latencies.percentile(0.99).as_secs_f64() * 1e3,
        latencies.percentile(1.0).as_secs_f64() * 1e3
    );
    Ok(())
}

async fn ack_stream(env: &Env, count: usize) -> Result<(), Failure> {
    let store = env.open().await?;
    let (streets, categories) = workload(&*store);
    let center = Actor {
        user: "probe".into(),
        unit: unit("11.center")?,
    };
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let (store, streets, categories, next, center) = (
            store.clone(),
            streets.clone(),
            categories.clone(),
            next.clone(),
            center.clone(),
        );
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    return;
                }
                let request = intake(
                    &streets[i % streets.len()],
                    &categories[i % categories.len()],
                );
                if let Ok(outcome) = store
                    .execute_one(Envelope {
                        actor: center.clone(),
                        at: chrono::Utc::now(),
                        request,
                    })
                    .await
                {
                    out!("{}", outcome.order_no);
                }
            }
        }));
    }
    for task in tasks {
        task.await.map_err(|e| Failure::Failed(e.into()))?;
    }
    Ok(())
}
