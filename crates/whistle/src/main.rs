//! `whistle`: the one binary. This commands are the admin/scripting surface over the
//! engine: init, migrate, reference data, deadlines, work orders and the engine benchmark.

/// `println!` that ends the process quietly when stdout is closed (`whistle … | head`).
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if writeln!(std::io::stdout(), $($arg)*).is_err() {
            std::process::exit(0);
        }
    }};
}

mod bench;
mod bench_cluster;
mod bench_http;
mod bench_pages;
mod bench_reports;
mod config;
mod demo;
mod order_cmd;
mod reference_cmd;
mod report_cmd;
mod server_cmd;
use whistle_sim as simulate;
mod whistle_cmd;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use whistle_core::error::Lang;
use whistle_store::{CommandError, StoreError};

#[derive(Parser)]
#[command(
    name = "whistle",
    version,
    about = "吹哨报到 · 接诉即办 — the work-order engine"
)]
pub struct Cli {
    /// Database URL: sqlite://PATH or postgres://… (overrides WHISTLE_DATABASE__URL and whistle.toml).
    #[arg(long, global = true)]
    database_url: Option<String>,
    /// Configuration file (default: ./whistle.toml when present).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Language of messages: zh (default) or en.
    #[arg(long, global = true, default_value = "zh")]
    lang: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create the database if needed, migrate it and load the shipped Beijing reference data.
    Init {
        /// Also create this many sample orders (in every stage) if the database has none.
        #[arg(long, num_args = 0..=1, default_missing_value = "300")]
        demo: Option<usize>,
    },
    /// Apply pending schema migrations.
    Migrate,
    /// Print the effective configuration (secrets masked).
    Config,
    /// A consistent copy of the live SQLite database while it serves (PostgreSQL: pg_dump or
    /// pg_basebackup, see docs/OPERATIONS.md). Never overwrites.
    Backup {
        #[arg(long)]
        output: PathBuf,
    },
    /// List units: the streets/townships, departments and centres of a district, or any kind.
    Units(reference_cmd::UnitsArgs),
    /// Add, rename, merge or retire a unit; show the change history.
    #[command(subcommand)]
    Unit(reference_cmd::UnitCommand),
    /// The request taxonomy with default handlers and time limits.
    Categories(reference_cmd::FormatArgs),
    /// The dispatch catalogue: show a version or preview a route.
    #[command(subcommand)]
    Catalogue(reference_cmd::CatalogueCommand),
    /// Compute a deadline: --from TIME with --working-days N or --hours N.
    Deadline(reference_cmd::DeadlineArgs),
    /// Import reference data from a CSV or JSON file (one transaction; nothing on error).
    Import(reference_cmd::ImportArgs),
    /// Export reference data as CSV (calendar: JSON; policy: TOML) to stdout.
    Export(reference_cmd::ExportArgs),
    /// Work orders: intake, the life's commands, show, list, due.
    #[command(subcommand)]
    Order(order_cmd::OrderCommand),
    /// Run the HTTP service (JSON API, Open311, deadline worker).
    Serve(server_cmd::ServeArgs),
    /// A fresh demo: database with reference data, sample orders, an account per role; then serve.
    Demo(server_cmd::DemoArgs),
    /// Accounts.
    #[command(subcommand)]
    User(server_cmd::UserCommand),
    /// Integration tokens.
    #[command(subcommand)]
    Token(server_cmd::TokenCommand),
    /// Whistles (吹哨报到): raise, report in, act together, close, rate.
    #[command(subcommand)]
    Whistle(whistle_cmd::WhistleCmd),
    /// The whistle list (吹哨事项清单) as a street sees it, with default units.
    WhistleList {
        #[arg(long)]
        street: String,
    },
    /// Grid discovery (网格发现): file, dispatch, handle, verify.
    #[command(subcommand)]
    Grid(whistle_cmd::GridCmd),
    /// Simulate days of the hotline through the real engine (deterministic by seed).
    Simulate {
        #[arg(long, default_value_t = 31)]
        days: u32,
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Requests per (weekday) day before the weekday and seasonal shape.
        #[arg(long, default_value_t = 70_000)]
        per_day: u32,
        /// First day (Beijing), default: `days` days before today.
        #[arg(long)]
        start: Option<String>,
        /// A SQLite file to simulate into (instead of --database-url).
        #[arg(long)]
        db: Option<std::path::PathBuf>,
    },
    /// Reports: the evaluation (一张卷子), daily/weekly/monthly bulletins, hotspots, repeats,
    /// governance-class streets, topics of the month and the double assessment.
    #[command(subcommand)]
    Report(report_cmd::ReportCommand),
    /// Topics of the month (每月一题): choose, list, remove.
    #[command(subcommand)]
    Topic(report_cmd::TopicCommand),
    /// Rebuild every projection from the events and report differences.
    Rebuild,
    /// Benchmarks (results go to docs/BENCHMARKS.md).
    #[command(subcommand)]
    Bench(bench::BenchCommand),
}

/// A failure with its exit code: 2 for refused input, 1 for everything else.
pub enum Failure {
    Refused(String),
    Failed(anyhow::Error),
}

impl From<anyhow::Error> for Failure {
    fn from(error: anyhow::Error) -> Self {
        Failure::Failed(error)
    }
}

pub fn store_failure(error: StoreError, lang: Lang) -> Failure {
    match error {
        StoreError::Domain(error) => {
            Failure::Refused(format!("[{}] {}", error.key(), error.message(lang)))
        }
        StoreError::Import(text) => Failure::Refused(format!("[import] {text}")),
        StoreError::Schema(text) | StoreError::Config(text) => Failure::Refused(text),
        StoreError::Other(error) => Failure::Failed(error),
    }
}

pub fn command_failure(error: CommandError, lang: Lang) -> Failure {
    match error {
        CommandError::Store(failure) => Failure::Failed(anyhow::Error::new(failure)),
        other => Failure::Refused(format!("[{}] {}", other.key(), other.message(lang))),
    }
}

/// The language this process writes its messages in (`--lang`), set once as it starts: one CLI
/// run has one reader. Everything a refusal says goes through [`refuse`].
static LANGUAGE: std::sync::OnceLock<Lang> = std::sync::OnceLock::new();

pub fn process_lang() -> Lang {
    LANGUAGE.get().copied().unwrap_or_default()
}

/// A refusal (exit code 2) in the process's language.
pub fn refuse(zh: impl Into<String>, en: impl Into<String>) -> Failure {
    Failure::Refused(match process_lang() {
        Lang::En => en.into(),
        Lang::Zh => zh.into(),
    })
}

pub struct Env {
    pub url: String,
    pub lang: Lang,
    /// How the SQLite writer is sized (the settings' `[database.sqlite]`).
    pub tuning: whistle_store::Tuning,
}

impl Env {
    pub async fn open(&self) -> Result<std::sync::Arc<dyn whistle_store::Store>, Failure> {
        whistle_store::open_tuned(&self.url, whistle_store::Migrate::Refuse, self.tuning)
            .await
            .map_err(|e| store_failure(e, self.lang))
    }
}

/// mimalloc: the write pipeline allocates and frees many small objects on two threads, where
/// the system allocator spent about a third of the planner's time (see docs/BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("WHISTLE_LOG")
                .unwrap_or_else(|_| "warn,whistle_server=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the runtime: {error}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Refused(message)) => {
            eprintln!("错误 error: {message}");
            ExitCode::from(2)
        }
        Err(Failure::Failed(error)) => {
            eprintln!("error: {error:#}");
            ExitCode::from(1)
        }
    }
}

async fn run(cli: Cli) -> Result<(), Failure> {
    let lang = match cli.lang.as_str() {
        "zh" => Lang::Zh,
        "en" => Lang::En,
        _ => {
            return Err(Failure::Refused(
                "--lang 只能是 zh 或 en · unknown language: use zh or en".into(),
            ))
        }
    };
    let _ = LANGUAGE.set(lang);
    let settings = config::Settings::load(cli.config.as_deref(), cli.database_url.as_deref())?;
    let env = Env {
        url: settings.database.url.clone(),
        lang,
        tuning: settings.database.sqlite,
    };
    match cli.command {
        Command::Init { demo } => reference_cmd::init(&env, demo, chrono::Utc::now()).await,
        Command::Migrate => {
            let store = whistle_store::open(&env.url, whistle_store::Migrate::Apply)
                .await
                .map_err(|e| store_failure(e, lang))?;
            out!(
                "schema at version {} ({:?})",
                whistle_store::SCHEMA_VERSION,
                store.backend()
            );
            Ok(())
        }
        Command::Backup { output } => {
            let url = env.url.clone();
            let report = tokio::task::spawn_blocking(move || {
                whistle_store::backup::backup_sqlite(&url, &output).map(|r| (r, output))
            })
            .await
            .map_err(|e| Failure::Failed(e.into()))?
            .map_err(|e| store_failure(e, lang))?;
            let (report, output) = report;
            out!(
                "{}: {} pages, {} bytes, schema v{}, in {:.2} s",
                output.display(),
                report.pages,
                report.bytes,
                report.schema_version,
                report.took.as_secs_f64()
            );
            Ok(())
        }
        Command::Config => {
            out!("{}", settings.to_toml().trim_end());
            Ok(())
        }
        Command::Units(args) => reference_cmd::units(&env, args).await,
        Command::Unit(command) => reference_cmd::unit(&env, command).await,
        Command::Categories(args) => reference_cmd::categories(&env, args).await,
        Command::Catalogue(command) => reference_cmd::catalogue(&env, command).await,
        Command::Deadline(args) => reference_cmd::deadline(&env, args).await,
        Command::Import(args) => reference_cmd::import(&env, args).await,
        Command::Export(args) => reference_cmd::export(&env, args).await,
        Command::Order(command) => order_cmd::run(&env, command).await,
        Command::Rebuild => {
            let store = env.open().await?;
            let report = store
                .rebuild_projections()
                .await
                .map_err(|e| store_failure(e, lang))?;
            out!(
                "replayed {} orders from {} events; {} projections differed{}; {} counter cells differed (evaluation by day and period, intake by day and month)",
                report.orders,
                report.events,
                report.differing.len(),
                if report.differing.is_empty() {
                    String::new()
                } else {
                    format!(": {}", report.differing.join(", "))
                },
                report.counter_cells_differing
            );
            Ok(())
        }
        Command::Bench(command) => bench::run(&env, command).await,
        Command::Whistle(command) => whistle_cmd::whistle(&env, command).await,
        Command::Simulate {
            days,
            seed,
            per_day,
            start,
            db,
        } => {
            let env = match db {
                Some(path) => Env {
                    url: format!("sqlite://{}", path.display()),
                    lang,
                    tuning: env.tuning,
                },
                None => env,
            };
            let start = match start {
                Some(text) => {
                    chrono::NaiveDate::parse_from_str(&text, "%Y-%m-%d").map_err(|_| {
                        refuse(
                            "--start 格式有误，应为 YYYY-MM-DD",
                            "invalid --start: use YYYY-MM-DD",
                        )
                    })?
                }
                None => {
                    whistle_core::time::beijing_date(chrono::Utc::now())
                        - chrono::Days::new(u64::from(days))
                }
            };
            if days == 0 || per_day == 0 {
                return Err(refuse(
                    "--days 和 --per-day 须为正数",
                    "--days and --per-day must be positive",
                ));
            }
            // Bulk loading: large batches, so a large writer cache (whistle_store::Tuning).
            let store = whistle_store::open_tuned(
                &env.url,
                whistle_store::Migrate::Apply,
                whistle_store::Tuning::BULK,
            )
            .await
            .map_err(|e| store_failure(e, lang))?;
            whistle_store::seed::install_defaults(
                &*store,
                &reference_cmd::admin_actor()?,
                chrono::Utc::now(),
            )
            .await
            .map_err(|e| store_failure(e, lang))?;
            let report = simulate::run(
                &*store,
                &simulate::Settings {
                    days,
                    seed,
                    per_day,
                    start,
                },
            )
            .await?;
            out!(
                "simulated {days} days from {start} (seed {seed}): {} orders, {} commands, {} whistles ({} commands), {} refused, in {:.1} s — {:.0} orders/s, {:.0} commands/s",
                report.orders,
                report.commands,
                report.whistles,
                report.whistle_commands,
                report.refused,
                report.seconds,
                report.orders as f64 / report.seconds.max(1e-9),
                report.commands as f64 / report.seconds.max(1e-9)
            );
            Ok(())
        }
        Command::WhistleList { street } => whistle_cmd::whistle_list(&env, &street).await,
        Command::Grid(command) => whistle_cmd::grid(&env, command).await,
        Command::Report(command) => report_cmd::report(&env, command).await,
        Command::Topic(command) => report_cmd::topic(&env, command).await,
        Command::Serve(args) => server_cmd::serve(&env, &settings, args).await,
        Command::Demo(args) => {
            // The demo always builds a fresh SQLite file under --data-dir; a database named
            // otherwise is refused rather than silently not used.
            let named = cli.database_url.is_some()
                || std::env::var("WHISTLE_DATABASE__URL").is_ok_and(|v| !v.is_empty());
            if named {
                return Err(refuse(
                    format!(
                        "demo 总是在 --data-dir 下新建 SQLite 演示库，不使用 {}。PostgreSQL 请用：whistle --database-url postgres://… init --demo，然后 whistle serve",
                        whistle_store::redact_url(&env.url)
                    ),
                    format!(
                        "demo always builds a fresh SQLite database under --data-dir and does not use {}; for PostgreSQL run `whistle --database-url postgres://… init --demo` and then `whistle serve`",
                        whistle_store::redact_url(&env.url)
                    ),
                ));
            }
            server_cmd::demo(&env, &settings, args).await
        }
        Command::User(command) => server_cmd::user(&env, command).await,
        Command::Token(command) => server_cmd::token(&env, command).await,
    }
}
