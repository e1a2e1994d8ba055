//! `whistle bench reports`: the monthly evaluation and ranking of every unit and the daily
//! bulletin, timed in-process on an existing store (e.g. one `whistle simulate` filled), and —
//! with `--duckdb-python` — the same results computed by DuckDB from the raw rows in the same
//! run, with the ratio. DuckDB also checks that the results are equal.

use clap::Args;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use whistle_reports::document::Lang;
use whistle_reports::{analyses as analysis, bulletins, evaluation as reports, export};

use crate::{store_failure, Env, Failure};

#[derive(Args)]
pub struct ReportsArgs {
    /// The evaluation period (YYYY-MM); also the month of the monthly analysis.
    #[arg(long)]
    period: String,
    /// The day of the daily bulletin (YYYY-MM-DD).
    #[arg(long)]
    date: String,
    /// Timed runs of each (the median is reported).
    #[arg(long, default_value_t = 20)]
    runs: usize,
    /// A Python interpreter with the duckdb package: times DuckDB on the raw rows, side by side.
    #[arg(long)]
    duckdb_python: Option<PathBuf>,
    /// Where the raw rows for DuckDB are written.
    #[arg(long, default_value = "target/bench-reports")]
    dir: PathBuf,
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort_unstable();
    samples.get(samples.len() / 2).copied().unwrap_or_default()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

pub async fn run(env: &Env, args: ReportsArgs) -> Result<(), Failure> {
    let lang = env.lang;
    let fail = |e| store_failure(e, lang);
    let store = env.open().await?;
    let now = chrono::Utc::now();
    let runs = args.runs.max(1);
    let mut evaluation_times = Vec::new();
    let mut evaluation = None;
    for _ in 0..runs {
        let started = Instant::now();
        let report = reports::evaluation(&*store, &args.period, now)
            .await
            .map_err(fail)?;
        evaluation_times.push(started.elapsed());
        evaluation = Some(report);
    }
    let evaluation = evaluation.ok_or_else(|| Failure::Refused("no runs".into()))?;
    let mut daily_times = Vec::new();
    let mut daily = None;
    for _ in 0..runs {
        let started = Instant::now();
        let document = bulletins::daily(&*store, &args.date, now, Lang::Zh)
            .await
            .map_err(fail)?;
        daily_times.push(started.elapsed());
        daily = Some(document);
    }
    let daily = daily.ok_or_else(|| Failure::Refused("no runs".into()))?;
    let mut others = Vec::new();
    for (name, which) in [
        ("monthly analysis", 0),
        ("weekly summary", 1),
        ("hotspots", 2),
        ("governance-class streets", 3),
        ("topic candidates (with repeats)", 4),
    ] {
        let day = bulletins::parse_date(&args.date).map_err(fail)?;
        let week = format!("{}", day.format("%G-W%V"));
        let started = Instant::now();
        match which {
            0 => bulletins::monthly(&*store, &args.period, now, Lang::Zh).await,
            1 => bulletins::weekly(&*store, &week, now, Lang::Zh).await,
            2 => analysis::hotspots(&*store, &args.date, now, Lang::Zh).await,
            3 => analysis::governance_streets(&*store, &args.period, now, Lang::Zh).await,
            _ => analysis::topics(&*store, &args.period, now, Lang::Zh).await,
        }
        .map_err(fail)?;
        others.push((name, started.elapsed()));
    }
    let ranked = evaluation.units.iter().filter(|u| u.rank.is_some()).count();
    println!(
        "evaluation {}: {} units, {} ranked; daily bulletin {}: {}",
        args.period,
        evaluation.units.len(),
        ranked,
        args.date,
        daily.summary.first().cloned().unwrap_or_default()
    );
    let evaluation_ms = ms(median(evaluation_times));
    let daily_ms = ms(median(daily_times));
    println!("| what | Whistle (median of {runs}) |");
    println!("|---|---|");
    println!("| monthly evaluation and ranking of every unit (with the previous period) | {evaluation_ms:.2} ms |");
    println!("| daily bulletin | {daily_ms:.2} ms |");
    for (name, elapsed) in &others {
        println!("| {name} (one run) | {:.1} ms |", ms(*elapsed));
    }
    let Some(python) = args.duckdb_python else {
        return Ok(());
    };
    std::fs::create_dir_all(&args.dir)
        .map_err(|e| Failure::Refused(format!("{}: {e}", args.dir.display())))?;
    let (first, before) = store
        .reference()
        .policy
        .evaluation
        .period(&args.period)
        .map_err(|e| fail(e.into()))?;
    let write = |name: &str, text: &[u8]| -> Result<PathBuf, Failure> {
        let path = args.dir.join(name);
        std::fs::write(&path, text)
            .map_err(|e| Failure::Refused(format!("{}: {e}", path.display())))?;
        Ok(path)
    };
    let orders = write(
        "orders.csv",
        export::orders_csv(&*store, &args.period)
            .await
            .map_err(fail)?
            .as_bytes(),
    )?;
    let evaluation_csv = write(
        "evaluation.csv",
        reports::evaluation_csv(&evaluation).as_bytes(),
    )?;
    let day = bulletins::parse_date(&args.date).map_err(fail)?;
    let intake_from = first.min(day.pred_opt().unwrap_or(day));
    let intake_before = before.max(day.succ_opt().unwrap_or(day));
    let intake = write(
        "intake.csv",
        export::intake_csv(&*store, intake_from, intake_before)
            .await
            .map_err(fail)?
            .as_bytes(),
    )?;
    let bulletin = write(
        "daily.json",
        &daily
            .render(whistle_reports::document::Format::Json)
            .map_err(fail)?,
    )?;
    let policy = &store.reference().policy.evaluation;
    let output = std::process::Command::new(&python)
        .arg("scripts/bench_reports_duckdb.py")
        .arg("--orders")
        .arg(&orders)
        .arg("--evaluation")
        .arg(&evaluation_csv)
        .arg("--intake")
        .arg(&intake)
        .arg("--bulletin")
        .arg(&bulletin)
        .args(["--period", &args.period, "--date", &args.date])
        .args(["--runs", &runs.to_string()])
        .args(["--start-day", &policy.period_start_day.to_string()])
        .args([
            "--weights",
            &format!(
                "{},{},{}",
                policy.weight_response, policy.weight_resolution, policy.weight_satisfaction
            ),
        ])
        .args(["--factor", &policy.basically_satisfied_factor.to_string()])
        .args(["--min-visits", &policy.min_valid_visits.to_string()])
        .output()
        .map_err(|e| Failure::Refused(format!("cannot run {}: {e}", python.display())))?;
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(Failure::Refused(format!(
            "DuckDB side failed:\n{text}\n{}",
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    let figures: serde_json::Value = serde_json::from_str(text.lines().last().unwrap_or(""))
        .map_err(|e| Failure::Refused(format!("DuckDB side printed no figures ({e}): {text}")))?;
    let duck = |key: &str| figures[key].as_f64().unwrap_or(f64::NAN);
    println!();
    println!(
        "DuckDB {} on {} raw order rows (evaluation) and {} intake rows (bulletin); results checked equal",
        figures["duckdb"].as_str().unwrap_or("?"),
        figures["order_rows"],
        figures["intake_rows"]
    );
    println!("| what | Whistle | DuckDB (raw rows, in memory) | Whistle / DuckDB |");
    println!("|---|---|---|---|");
    println!(
        "| monthly evaluation and ranking | {evaluation_ms:.2} ms | {:.2} ms | {:.2} |",
        duck("evaluation_ms"),
        evaluation_ms / duck("evaluation_ms")
    );
    println!(
        "| daily bulletin | {daily_ms:.2} ms | {:.2} ms | {:.2} |",
        duck("daily_ms"),
        daily_ms / duck("daily_ms")
    );
    Ok(())
}
