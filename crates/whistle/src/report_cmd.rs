//! `whistle report …` and `whistle topic …`: the evaluation, the bulletins and the analyses, as
//! JSON, CSV, XLSX or text, in Chinese (default) or English.

use clap::{Args, Subcommand};
use std::io::Write as _;
use whistle_core::error::Lang;
use whistle_store::document::{Document, Format, Lang as DocLang};

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
        /// json or csv
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

fn doc_lang(lang: Lang) -> DocLang {
    match lang {
        Lang::Zh => DocLang::Zh,
        Lang::En => DocLang::En,
    }
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

fn publish(document: Document, output: &Output, lang: Lang) -> Result<(), Failure> {
    let format = Format::parse(&output.format).map_err(|e| store_failure(e, lang))?;
    if document.empty {
        if let Some(line) = document.summary.first() {
            eprintln!("{}: {line}", lang_note(lang));
        }
    }
    let bytes = document
        .render(format)
        .map_err(|e| store_failure(e, lang))?;
    write(&bytes, output.output.as_deref())
}

fn lang_note(lang: Lang) -> &'static str {
    match lang {
        Lang::Zh => "提示",
        Lang::En => "note",
    }
}

pub async fn report(env: &Env, command: ReportCommand) -> Result<(), Failure> {
    let lang = env.lang;
    let store = env.open().await?;
    let now = chrono::Utc::now();
    let dl = doc_lang(lang);
    let fail = |e| store_failure(e, lang);
    use whistle_store::{analysis, bulletins};
    match command {
        ReportCommand::Evaluation {
            period,
            format,
            output,
            unit,
        } => {
            let mut report = whistle_store::reports::evaluation(&*store, &period, now)
                .await
                .map_err(fail)?;
            if let Some(unit) = unit {
                whistle_store::reports::only_unit(&mut report, &unit, &store.reference())
                    .map_err(fail)?;
            }
            if report.empty {
                eprintln!(
                    "{}",
                    match lang {
                        Lang::Zh => format!(
                            "提示 note: {} 至 {} 没有派单或回访数据",
                            report.first_day, report.last_day
                        ),
                        Lang::En => format!(
                            "note: no dispatch or return visit from {} to {}",
                            report.first_day, report.last_day
                        ),
                    }
                );
            }
            let bytes = match format.as_str() {
                "json" => {
                    let mut text =
                        serde_json::to_string_pretty(&report).map_err(anyhow::Error::from)?;
                    text.push('\n');
                    text.into_bytes()
                }
                "csv" => whistle_store::reports::evaluation_csv(&report).into_bytes(),
                "xlsx" | "text" => analysis::evaluation_document(&report, dl)
                    .render(Format::parse(&format).map_err(fail)?)
                    .map_err(fail)?,
                _ => {
                    return Err(crate::refuse(
                        "--format 只能是 json、csv、xlsx 或 text",
                        "--format must be json, csv, xlsx or text",
                    ))
                }
            };
            write(&bytes, output.as_deref())
        }
        ReportCommand::DoubleAssessment {
            month,
            format,
            table,
        } => {
            let (from, before) = whistle_store::whistles::month_range(&month)
                .map_err(|e| Failure::Refused(format!("[{}] {}", e.key(), e.message(lang))))?;
            let whistles = store
                .whistles_raised(&whistle_store::Scope::All, from, before)
                .await
                .map_err(fail)?;
            let grid = store
                .grid_counts(&whistle_store::Scope::All, from, before)
                .await
                .map_err(fail)?;
            let (departments, streets) =
                whistle_core::whistle::double_assessment(&whistles, &grid, now);
            let text = match (format.as_str(), table.as_str()) {
                ("json", _) => serde_json::to_string_pretty(&serde_json::json!({"month": month, "whistles": whistles.len(), "departments": departments, "streets": streets}))
                    .map_err(anyhow::Error::from)?,
                ("csv", "departments") => whistle_store::whistles::assessment_csv(&departments, &streets).0.trim_end().to_string(),
                ("csv", "streets") => whistle_store::whistles::assessment_csv(&departments, &streets).1.trim_end().to_string(),
                _ => {
                    return Err(crate::refuse(
                        "请用 --format json|csv 和 --table departments|streets",
                        "use --format json|csv and --table departments|streets",
                    ))
                }
            };
            write(format!("{text}\n").as_bytes(), None)
        }
        ReportCommand::Daily { date, output } => publish(
            bulletins::daily(&*store, &date, now, dl)
                .await
                .map_err(fail)?,
            &output,
            lang,
        ),
        ReportCommand::Weekly { week, output } => publish(
            bulletins::weekly(&*store, &week, now, dl)
                .await
                .map_err(fail)?,
            &output,
            lang,
        ),
        ReportCommand::Monthly { month, output } => publish(
            bulletins::monthly(&*store, &month, now, dl)
                .await
                .map_err(fail)?,
            &output,
            lang,
        ),
        ReportCommand::Hotspots { date, output } => publish(
            analysis::hotspots(&*store, &date, now, dl)
                .await
                .map_err(fail)?,
            &output,
            lang,
        ),
        ReportCommand::Repeats { from, to, output } => publish(
            analysis::repeats(&*store, &from, &to, now, dl)
                .await
                .map_err(fail)?,
            &output,
            lang,
        ),
        ReportCommand::GovernanceStreets { month, output } => publish(
            analysis::governance_streets(&*store, &month, now, dl)
                .await
                .map_err(fail)?,
            &output,
            lang,
        ),
        ReportCommand::Topics { month, output } => publish(
            analysis::topics(&*store, &month, now, dl)
                .await
                .map_err(fail)?,
            &output,
            lang,
        ),
    }
}

pub async fn topic(env: &Env, command: TopicCommand) -> Result<(), Failure> {
    let lang = env.lang;
    let store = env.open().await?;
    let fail = |e| store_failure(e, lang);
    use whistle_store::analysis;
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
