//! `whistle report …` and `whistle topic …`: the evaluation, the bulletins and the analyses, as
//! JSON, CSV, XLSX or text, in Chinese (default) or English.

use clap::{Args, Subcommand};
use std::io::Write as _;
use whistle_reports::{Format, Report, ReportKind, ReportParams};

use crate::{store_failure, Env, Failure};

#[derive(Args, Clone)]
pub struct Output {
    /// json, csv, xlsx or text
    #[arg(long, default_value = "text")]
    format: String,
    /// Write to this file instead of standard output (advised for xlsx).
    #[arg(long)]
    output: Option<std::path::PathBuf>,
}

#[derive(Subcommand)]
pub enum ReportCommand {
    /// Per department and per street, for whistles raised in a month (吹哨报到 双考核).
    DoubleAssessment {
        /// YYYY-MM (Beijing calendar month).
        #[arg(long)]
        month: String,
        /// json, csv, xlsx or text
        #[arg(long, default_value = "json")]
        format: String,
        /// For csv: departments or streets.
        #[arg(long, default_value = "departments")]
        table: String,
    },
    /// 一张卷子: the three rates and the composite of every unit for a period, ranked within its
    /// peer group (streets/townships, districts, city departments, district departments,
    /// enterprises), with the change from the previous period and each unit's weakest categories.
    Evaluation {
        /// YYYY-MM; with a policy start day such as 19, the period ending in that month.
        #[arg(long)]
        period: String,
        /// json, csv, xlsx or text
        #[arg(long, default_value = "json")]
        format: String,
        #[arg(long)]
        output: Option<std::path::PathBuf>,
        /// Only this unit's line (its rank is still among its whole peer group).
        #[arg(long)]
        unit: Option<String>,
        /// A closed period's edition as published (1 = as closed, 2 … revisions); without it, a
        /// closed period's latest edition with any pending adjustments.
        #[arg(long)]
        edition: Option<String>,
    },
    /// Closes an evaluation period after its last day: its figures now become edition 1, the
    /// published ones; later changes become adjustments.
    Close {
        #[arg(long)]
        period: String,
        /// What the publication is (e.g. the meeting it was published to).
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Publishes a closed period's pending adjustments as a revised edition, listing what
    /// changed and the rulings behind it.
    Revise {
        #[arg(long)]
        period: String,
        /// Why it is revised (required).
        #[arg(long)]
        note: String,
    },
    /// 日通报: volumes by type, channel, category and district, top streets, new overdue orders
    /// and emergencies of a day.
    Daily {
        /// YYYY-MM-DD (Beijing).
        #[arg(long)]
        date: String,
        #[command(flatten)]
        output: Output,
    },
    /// 周汇总: an ISO week against the week before.
    Weekly {
        /// YYYY-Www, e.g. 2026-W42.
        #[arg(long)]
        week: String,
        #[command(flatten)]
        output: Output,
    },
    /// 月分析: a month against the month before and the same month last year, with the units
    /// that improved and fell back most.
    Monthly {
        /// YYYY-MM
        #[arg(long)]
        month: String,
        #[command(flatten)]
        output: Output,
    },
    /// 热点: category × territory cells of a day unusually high against their own baseline.
    Hotspots {
        /// YYYY-MM-DD (Beijing).
        #[arg(long)]
        date: String,
        #[command(flatten)]
        output: Output,
    },
    /// 重复诉求与高频地址 for the days FROM to TO (inclusive, at most 93 days).
    Repeats {
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
        #[command(flatten)]
        output: Output,
    },
    /// 治理类街乡镇: streets in the monthly top list by volume often within recent months.
    GovernanceStreets {
        /// YYYY-MM: the last month of the window.
        #[arg(long)]
        month: String,
        #[command(flatten)]
        output: Output,
    },
    /// 每月一题: the month's candidate pain points and the progress of the chosen topics.
    Topics {
        /// YYYY-MM
        #[arg(long)]
        month: String,
        #[command(flatten)]
        output: Output,
    },
}

#[derive(Subcommand)]
pub enum TopicCommand {
    /// Choose a topic of the month (or replace the one with the same code).
    Add {
        #[arg(long)]
        code: String,
        #[arg(long)]
        title: String,
        /// The month it is chosen in (YYYY-MM): its volume is the baseline.
        #[arg(long)]
        chosen: String,
        /// Category codes, comma-separated (a top level covers its leaves).
        #[arg(long, value_delimiter = ',')]
        categories: Vec<String>,
        /// The lead unit (牵头单位).
        #[arg(long)]
        lead: String,
        /// Target: monthly volume at most this share of the baseline month's (0.7 = −30%).
        #[arg(long)]
        target_ratio: f64,
    },
    /// The chosen topics, as JSON.
    List,
    /// Remove a chosen topic.
    Remove {
        #[arg(long)]
        code: String,
    },
}

fn write(bytes: &[u8], output: Option<&std::path::Path>) -> Result<(), Failure> {
    match output {
        Some(path) => std::fs::write(path, bytes).map_err(|e| {
            crate::refuse(
                format!("无法写入 {}：{e}", path.display()),
                format!("cannot write {}: {e}", path.display()),
            )
        }),
        None => {
            let mut stdout = std::io::stdout();
            if stdout
                .write_all(bytes)
                .and_then(|_| stdout.flush())
                .is_err()
            {
                std::process::exit(0);
            }
            Ok(())
        }
    }
}

/// The subcommand as the report parser's parameters, with its format and output file.
#[allow(clippy::type_complexity)]
fn request(
    command: ReportCommand,
) -> Option<(ReportKind, ReportParams, String, Option<std::path::PathBuf>)> {
    let none = ReportParams::default();
    let (kind, params, format, output) = match command {
        // Not reports: they publish an edition (see `report`).
        ReportCommand::Close { .. } | ReportCommand::Revise { .. } => return None,
        ReportCommand::Evaluation {
            period,
            format,
            output,
            unit,
            edition,
        } => (
            ReportKind::Evaluation,
            ReportParams {
                period: Some(period),
                unit,
                edition,
                ..none
            },
            format,
            output,
        ),
        ReportCommand::DoubleAssessment {
            month,
            format,
            table,
        } => (
            ReportKind::DoubleAssessment,
            ReportParams {
                month: Some(month),
                table: Some(table),
                ..none
            },
            format,
            None,
        ),
        ReportCommand::Daily { date, output } => (
            ReportKind::Daily,
            ReportParams {
                date: Some(date),
                ..none
            },
            output.format,
            output.output,
        ),
        ReportCommand::Weekly { week, output } => (
            ReportKind::Weekly,
            ReportParams {
                week: Some(week),
                ..none
            },
            output.format,
            output.output,
        ),
        ReportCommand::Monthly { month, output } => (
            ReportKind::Monthly,
            ReportParams {
                month: Some(month),
                ..none
            },
            output.format,
            output.output,
        ),
        ReportCommand::Hotspots { date, output } => (
            ReportKind::Hotspots,
            ReportParams {
                date: Some(date),
                ..none
            },
            output.format,
            output.output,
        ),
        ReportCommand::Repeats { from, to, output } => (
            ReportKind::Repeats,
            ReportParams {
                from: Some(from),
                to: Some(to),
                ..none
            },
            output.format,
            output.output,
        ),
        ReportCommand::GovernanceStreets { month, output } => (
            ReportKind::GovernanceStreets,
            ReportParams {
                month: Some(month),
                ..none
            },
            output.format,
            output.output,
        ),
        ReportCommand::Topics { month, output } => (
            ReportKind::Topics,
            ReportParams {
                month: Some(month),
                ..none
            },
            output.format,
            output.output,
        ),
    };
    Some((kind, params, format, output))
}

pub async fn report(env: &Env, command: ReportCommand) -> Result<(), Failure> {
    let lang = env.lang;
    let (period, note, close) = match command {
        ReportCommand::Close { period, note } => (period, note, true),
        ReportCommand::Revise { period, note } => (period, note, false),
        command => return report_of(env, command).await,
    };
    let store = env.open().await?;
    let actor = crate::reference_cmd::admin_actor()?;
    let now = chrono::Utc::now();
    let report = if close {
        whistle_reports::editions::close(&*store, &period, now, &actor, &note).await
    } else {
        whistle_reports::editions::revise(&*store, &period, now, &actor, &note).await
    }
    .map_err(|e| store_failure(e, lang))?;
    let edition = report.edition.as_ref().map(|e| e.number).unwrap_or(0);
    let text = match lang {
        crate::Lang::Zh => format!(
            "{period} 第{edition}版已发布：{}个单位，{}项调整\n",
            report.units.len(),
            report.adjustments.len()
        ),
        crate::Lang::En => format!(
            "{period} edition {edition} published: {} units, {} adjustments\n",
            report.units.len(),
            report.adjustments.len()
        ),
    };
    write(text.as_bytes(), None)
}

async fn report_of(env: &Env, command: ReportCommand) -> Result<(), Failure> {
    let lang = env.lang;
    let Some((kind, params, format, output)) = request(command) else {
        return Ok(());
    };
    let format = Format::parse(&format).map_err(|e| store_failure(e, lang))?;
    let report = Report::parse(kind, &params)
        .map_err(|e| crate::refuse(e.message(true), e.message(false)))?;
    let store = env.open().await?;
    let published = whistle_reports::build(&*store, &report, chrono::Utc::now(), lang.into())
        .await
        .map_err(|e| store_failure(e, lang))?;
    if let Some(note) = published.empty_note() {
        eprintln!("{note}");
    }
    let rendered = published
        .render(format)
        .map_err(|e| store_failure(e, lang))?;
    write(&rendered.bytes, output.as_deref())
}

pub async fn topic(env: &Env, command: TopicCommand) -> Result<(), Failure> {
    let lang = env.lang;
    let store = env.open().await?;
    let fail = |e| store_failure(e, lang);
    use whistle_reports::analyses as analysis;
    match command {
        TopicCommand::Add {
            code,
            title,
            chosen,
            categories,
            lead,
            target_ratio,
        } => {
            analysis::put_topic(
                &*store,
                whistle_core::analysis::Topic {
                    code: code.clone(),
                    title,
                    chosen,
                    categories,
                    lead,
                    target_ratio,
                },
            )
            .await
            .map_err(fail)?;
            write(format!("topic {code} saved\n").as_bytes(), None)
        }
        TopicCommand::List => {
            let topics = analysis::topics_list(&*store).await.map_err(fail)?;
            let text = serde_json::to_string_pretty(&topics).map_err(anyhow::Error::from)?;
            write(format!("{text}\n").as_bytes(), None)
        }
        TopicCommand::Remove { code } => {
            if analysis::remove_topic(&*store, &code).await.map_err(fail)? {
                write(format!("topic {code} removed\n").as_bytes(), None)
            } else {
                Err(crate::refuse("没有该主题", "no such topic"))
            }
        }
    }
}
