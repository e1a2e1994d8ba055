//! Reference-data commands: init, units, categories, catalogue, deadline, import, export.

use clap::{Args, Subcommand, ValueEnum};
use std::path::PathBuf;
use whistle_core::calendar::{parse_workdays_json, TimeLimit, WorkCalendar};
use whistle_core::catalogue::Territory;
use whistle_core::error::Lang;
use whistle_core::ids::{Actor, CategoryCode, UnitCode};
use whistle_core::order::RequestType;
use whistle_core::org::{Unit, UnitChange, UnitKind, UnitStatus};
use whistle_core::taxonomy::Taxonomy;
use whistle_core::time::{format_minutes, parse_beijing};
use whistle_store::import::{self, FileKind};
use whistle_store::{seed, ReferenceImport};

use crate::{store_failure, Env, Failure};

/// The actor recorded for administrative changes: the OS user at the 12345 centre.
pub fn admin_actor() -> Result<Actor, Failure> {
    let user = std::env::var("USER")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "admin".into());
    let unit = UnitCode::parse("11.center").map_err(|e| Failure::Failed(e.into()))?;
    Ok(Actor { user, unit })
}

fn domain(error: whistle_core::error::DomainError, lang: Lang) -> Failure {
    Failure::Refused(format!("[{}] {}", error.key(), error.message(lang)))
}

/// Creates or updates the database with the shipped reference data (and `demo` sample orders
/// ending at `now`).
pub async fn init(
    env: &Env,
    demo: Option<usize>,
    now: whistle_core::time::Timestamp,
) -> Result<(), Failure> {
    let store = whistle_store::open(&env.url, whistle_store::Migrate::Apply)
        .await
        .map_err(|e| store_failure(e, env.lang))?;
    let actor = admin_actor()?;
    seed::install_defaults(&*store, &actor, now)
        .await
        .map_err(|e| store_failure(e, env.lang))?;
    let reference = store.reference();
    let count =
        |pred: &dyn Fn(&Unit) -> bool| reference.directory.units().filter(|u| pred(u)).count();
    out!(
        "数据库已就绪 database ready: {} ({:?}), schema v{}",
        whistle_store::redact_url(&env.url),
        store.backend(),
        whistle_store::SCHEMA_VERSION
    );
    out!(
        "  区 districts {} · 街乡 streets/townships {} (+{} statistical zones) · 社区/村 communities/villages {}",
        count(&|u| u.kind == UnitKind::District),
        count(&|u| u.kind.is_street_level()),
        count(&|u| u.kind == UnitKind::StatisticalZone),
        count(&|u| u.kind.is_community_level()),
    );
    out!(
        "  部门 departments {} · 企业 enterprises {} · 派单中心 dispatch centres {}",
        count(&|u| u.kind == UnitKind::Department),
        count(&|u| u.kind == UnitKind::Enterprise),
        count(&|u| u.kind == UnitKind::DispatchCenter),
    );
    let leaves = reference
        .taxonomy
        .iter()
        .filter(|c| reference.taxonomy.is_leaf(&c.code))
        .count();
    out!(
        "  诉求分类 categories {} ({} leaves) · 派单目录 catalogue v{} with {} entries · 节假日 calendar years {}",
        reference.taxonomy.len(),
        leaves,
        reference.catalogue.version,
        reference.catalogue.len(),
        reference.calendar.years().map(|y| y.year.to_string()).collect::<Vec<_>>().join(","),
    );
    if let Some(count) = demo {
        let (orders, _) = store
            .totals()
            .await
            .map_err(|e| store_failure(e, env.lang))?;
        if orders == 0 {
            crate::server_cmd::demo_people(&*store, env.lang).await?;
            out!("  示例账户 demo accounts: operator, dispatcher, official, liaison, gridworker … (password {})", crate::server_cmd::DEMO_PASSWORD);
            let created = crate::demo::load(&*store, count, now).await?;
            out!("  示例工单 demo orders {created} (try: whistle order list · whistle order due · whistle order show NO)");
        }
    }
    Ok(())
}

#[derive(Clone, Copy, Default, ValueEnum)]
pub enum Format {
    #[default]
    Table,
    Csv,
    Json,
}

#[derive(Args)]
pub struct FormatArgs {
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Args)]
pub struct UnitsArgs {
    /// A district code: its streets/townships, departments and sub-centre.
    #[arg(long)]
    district: Option<String>,
    /// The direct children of this unit.
    #[arg(long)]
    under: Option<String>,
    /// Only units of this kind (subdistrict, town, department, enterprise, community …).
    #[arg(long)]
    kind: Option<String>,
    /// Include retired units.
    #[arg(long)]
    all: bool,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

pub async fn units(env: &Env, args: UnitsArgs) -> Result<(), Failure> {
    let store = env.open().await?;
    let reference = store.reference();
    let directory = &reference.directory;
    let parent = args.district.as_deref().or(args.under.as_deref());
    let kind: Option<UnitKind> = args
        .kind
        .as_deref()
        .map(str::parse)
        .transpose()
        .map_err(|e| domain(e, env.lang))?;
    let mut units: Vec<&Unit> = match parent {
        Some(code) => {
            let code = UnitCode::parse(code).map_err(|e| domain(e, env.lang))?;
            let unit = directory.require(&code).map_err(|e| domain(e, env.lang))?;
            if args.district.is_some() && unit.kind != UnitKind::District {
                return Err(crate::refuse(
                    format!("{code} 是{}，不是区", unit.kind.label_zh()),
                    format!("{code} is a {}, not a district", unit.kind),
                ));
            }
            directory
                .children(&code)
                .iter()
                .filter_map(|c| directory.get(c))
                .collect()
        }
        None => directory.units().collect(),
    };
    units.retain(|u| {
        kind.is_none_or(|k| u.kind == k) && (args.all || u.status == UnitStatus::Active)
    });
    units.sort_by(|a, b| (kind_rank(a.kind), &a.code).cmp(&(kind_rank(b.kind), &b.code)));
    match args.format {
        Format::Csv => out!(
            "{}",
            import::units_to_csv(units.iter().copied()).map_err(|e| store_failure(e, env.lang))?
        ),
        Format::Json => out!(
            "{}",
            serde_json::to_string_pretty(&units).map_err(anyhow::Error::from)?
        ),
        Format::Table => {
            for unit in &units {
                let status = if unit.status == UnitStatus::Retired {
                    " (已撤销 retired)"
                } else {
                    ""
                };
                let line = unit
                    .line
                    .as_deref()
                    .map(|l| format!(" [{l}]"))
                    .unwrap_or_default();
                out!(
                    "{:<34} {:<8} {}{}{}",
                    unit.code,
                    unit.kind.label_zh(),
                    unit.name,
                    line,
                    status
                );
            }
            eprintln!("{} units", units.len());
        }
    }
    Ok(())
}

fn kind_rank(kind: UnitKind) -> usize {
    UnitKind::ALL.iter().position(|k| *k == kind).unwrap_or(99)
}

#[derive(Subcommand)]
pub enum UnitCommand {
    /// Add a unit (grid, lane, stationed unit, new department …).
    Add {
        #[arg(long)]
        code: String,
        #[arg(long)]
        kind: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        parent: String,
        /// The functional line of a department or enterprise.
        #[arg(long)]
        line: Option<String>,
    },
    /// Rename a unit; orders keep its code.
    Rename { code: String, name: String },
    /// Merge a unit into another: it is retired and points to its successor.
    Merge {
        code: String,
        #[arg(long)]
        into: String,
    },
    /// Retire a unit: no new dispatches to it.
    Retire { code: String },
    /// The recorded changes to units.
    History,
}

pub async fn unit(env: &Env, command: UnitCommand) -> Result<(), Failure> {
    let store = env.open().await?;
    let code = |text: &str| UnitCode::parse(text).map_err(|e| domain(e, env.lang));
    let change = match command {
        UnitCommand::History => {
            for (at, actor, change) in store
                .unit_changes()
                .await
                .map_err(|e| store_failure(e, env.lang))?
            {
                out!(
                    "{}  {actor}  {}",
                    format_minutes(at),
                    serde_json::to_string(&change).map_err(anyhow::Error::from)?
                );
            }
            return Ok(());
        }
        UnitCommand::Add {
            code: c,
            kind,
            name,
            parent,
            line,
        } => UnitChange::Added {
            unit: Unit {
                code: code(&c)?,
                kind: kind.parse().map_err(|e| domain(e, env.lang))?,
                name,
                parent: Some(code(&parent)?),
                line,
                status: UnitStatus::Active,
                merged_into: None,
            },
        },
        UnitCommand::Rename { code: c, name } => {
            let c = code(&c)?;
            let from = store
                .reference()
                .directory
                .require(&c)
                .map_err(|e| domain(e, env.lang))?
                .name
                .clone();
            UnitChange::Renamed {
                code: c,
                from,
                to: name,
            }
        }
        UnitCommand::Merge { code: c, into } => UnitChange::Merged {
            code: code(&c)?,
            into: code(&into)?,
        },
        UnitCommand::Retire { code: c } => UnitChange::Retired { code: code(&c)? },
    };
    store
        .change_unit(change, &admin_actor()?, chrono::Utc::now())
        .await
        .map_err(|e| store_failure(e, env.lang))?;
    out!("ok");
    Ok(())
}

pub async fn categories(env: &Env, args: FormatArgs) -> Result<(), Failure> {
    let store = env.open().await?;
    let reference = store.reference();
    let taxonomy = &reference.taxonomy;
    match args.format {
        Format::Csv => out!(
            "{}",
            import::categories_to_csv(taxonomy.iter()).map_err(|e| store_failure(e, env.lang))?
        ),
        Format::Json => out!(
            "{}",
            serde_json::to_string_pretty(&taxonomy.iter().collect::<Vec<_>>())
                .map_err(anyhow::Error::from)?
        ),
        Format::Table => {
            for category in taxonomy.iter() {
                let indent = "  ".repeat(Taxonomy::depth(&category.code) - 1);
                let name = if env.lang == Lang::En {
                    &category.name_en
                } else {
                    &category.name_zh
                };
                if taxonomy.is_leaf(&category.code) {
                    let limits = reference.policy.limits_for(
                        RequestType::Complaint,
                        &category.code,
                        category.urgency,
                        category.limit_class,
                    );
                    out!(
                        "{indent}{} {name}  → {}  [{} · {}: 响应 respond {} / 办理 handle {}]",
                        category.code,
                        category.handler,
                        category.urgency,
                        category.limit_class,
                        limits.respond,
                        limits.handle
                    );
                } else {
                    out!("{indent}{} {name}", category.code);
                }
            }
        }
    }
    Ok(())
}

#[derive(Subcommand)]
pub enum CatalogueCommand {
    /// Show a catalogue version (default: the current one).
    Show {
        #[arg(long)]
        version: Option<u32>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Preview where a request would be dispatched.
    Route {
        #[arg(long)]
        category: String,
        #[arg(long)]
        district: Option<String>,
        #[arg(long)]
        street: Option<String>,
        #[arg(long)]
        community: Option<String>,
    },
}

pub async fn catalogue(env: &Env, command: CatalogueCommand) -> Result<(), Failure> {
    let store = env.open().await?;
    let reference = store.reference();
    match command {
        CatalogueCommand::Show { version, format } => {
            let version = version.unwrap_or(reference.catalogue.version);
            let entries = store
                .catalogue_entries(version)
                .await
                .map_err(|e| store_failure(e, env.lang))?;
            if entries.is_empty() {
                return Err(crate::refuse(
                    format!("派单目录没有第 {version} 版"),
                    format!("catalogue version {version} does not exist"),
                ));
            }
            match format {
                Format::Json => out!(
                    "{}",
                    serde_json::to_string_pretty(&entries).map_err(anyhow::Error::from)?
                ),
                _ => out!(
                    "{}",
                    import::catalogue_to_csv(&entries).map_err(|e| store_failure(e, env.lang))?
                ),
            }
            eprintln!("catalogue v{version}: {} entries", entries.len());
        }
        CatalogueCommand::Route {
            category,
            district,
            street,
            community,
        } => {
            let parse = |c: Option<String>| {
                c.map(|c| UnitCode::parse(&c))
                    .transpose()
                    .map_err(|e| domain(e, env.lang))
            };
            let mut territory = Territory {
                district: parse(district)?,
                street: parse(street)?,
                community: parse(community)?,
            };
            let directory = &reference.directory;
            if let Some(community) = &territory.community {
                territory.street = directory
                    .require(community)
                    .map_err(|e| domain(e, env.lang))?
                    .parent
                    .clone();
            }
            if let Some(street) = &territory.street {
                territory.district = directory.district_of(street).map(|d| d.code.clone());
            }
            let category = CategoryCode::parse(&category).map_err(|e| domain(e, env.lang))?;
            reference
                .taxonomy
                .require_leaf(&category)
                .map_err(|e| domain(e, env.lang))?;
            let route = reference
                .catalogue
                .route(
                    &category,
                    &territory,
                    directory,
                    &reference.duties,
                    &reference.city,
                )
                .map_err(|e| domain(e, env.lang))?;
            let name = |code: &UnitCode| {
                directory
                    .get(code)
                    .map(|u| u.name.clone())
                    .unwrap_or_default()
            };
            out!(
                "主办 lead: {} {}{}",
                route.lead,
                name(&route.lead),
                if route.coordination {
                    " (区级统筹 coordination)"
                } else {
                    ""
                }
            );
            for co in &route.co_handlers {
                out!("协办 co-handler: {co} {}", name(co));
            }
            out!("catalogue v{}", reference.catalogue.version);
        }
    }
    Ok(())
}

#[derive(Args)]
pub struct DeadlineArgs {
    /// The start, Beijing time: "YYYY-MM-DD HH:MM".
    #[arg(long)]
    from: String,
    #[arg(long, conflicts_with = "hours", required_unless_present = "hours")]
    working_days: Option<u32>,
    #[arg(long)]
    hours: Option<u32>,
}

pub async fn deadline(env: &Env, args: DeadlineArgs) -> Result<(), Failure> {
    let from = parse_beijing(&args.from).map_err(|e| domain(e, env.lang))?;
    let limit = match (args.working_days, args.hours) {
        (Some(days), None) => TimeLimit::parse(&format!("{days}wd")),
        (None, Some(hours)) => TimeLimit::parse(&format!("{hours}h")),
        _ => {
            return Err(crate::refuse(
                "请只给出 --working-days 和 --hours 之一",
                "give exactly one of --working-days and --hours",
            ))
        }
    }
    .map_err(|e| domain(e, env.lang))?;
    // The database's calendar when there is one (it may hold newly loaded years), else the shipped one.
    let calendar = match whistle_store::open(&env.url, whistle_store::Migrate::Refuse).await {
        Ok(store) if store.reference().calendar.years().next().is_some() => {
            store.reference().calendar.clone()
        }
        _ => {
            let mut calendar = WorkCalendar::default();
            for year in parse_workdays_json(seed::WORKDAYS_JSON).map_err(|e| domain(e, env.lang))? {
                calendar.insert_year(year);
            }
            calendar
        }
    };
    let deadline = calendar
        .deadline(from, limit)
        .map_err(|e| domain(e, env.lang))?;
    out!("{}", format_minutes(deadline.at));
    for year in deadline.fallback_years {
        if env.lang == Lang::En {
            eprintln!("warning: holidays for {year} are not loaded; Monday–Friday were taken as working days (load them with `whistle import calendar FILE`)");
        } else {
            eprintln!("警告：{year} 年节假日数据未加载，已按周一至周五为工作日计算（用 `whistle import calendar 文件` 加载）");
        }
    }
    Ok(())
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Kind {
    Units,
    Categories,
    Catalogue,
    Duties,
    Calendar,
    Policy,
    Divisions,
    /// 吹哨事项清单 (CSV `code,kind,title,territory,lead,assisting`).
    WhistleList,
    /// Export only: one row per order dispatched or visited in `--period` (CSV, no personal data).
    Orders,
}

#[derive(Args)]
pub struct ImportArgs {
    #[arg(value_enum)]
    kind: Kind,
    file: PathBuf,
    /// A note recorded with a new catalogue version.
    #[arg(long, default_value = "")]
    note: String,
}

pub async fn import(env: &Env, args: ImportArgs) -> Result<(), Failure> {
    let store = env.open().await?;
    let bytes = std::fs::read(&args.file).map_err(|e| {
        crate::refuse(
            format!("无法读取 {}：{e}", args.file.display()),
            format!("cannot read {}: {e}", args.file.display()),
        )
    })?;
    let extension = args
        .file
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let kind = match args.kind {
        Kind::Units => FileKind::Units,
        Kind::Categories => FileKind::Categories,
        Kind::Catalogue => FileKind::Catalogue,
        Kind::Duties => FileKind::Duties,
        Kind::Calendar => FileKind::Calendar,
        Kind::Policy => FileKind::Policy,
        Kind::Divisions => FileKind::Divisions,
        Kind::WhistleList => FileKind::WhistleList,
        Kind::Orders => {
            return Err(crate::refuse(
                "工单不能导入：请用 `whistle order new` 受理",
                "orders are not imported: use `whistle order new`",
            ))
        }
    };
    let mut parsed =
        import::parse(kind, &bytes, extension == "json").map_err(|e| store_failure(e, env.lang))?;
    if let ReferenceImport::Catalogue { note, .. } = &mut parsed {
        *note = if args.note.is_empty() {
            format!("imported from {}", args.file.display())
        } else {
            args.note.clone()
        };
    }
    let report = store
        .import(parsed, &admin_actor()?, chrono::Utc::now())
        .await
        .map_err(|e| store_failure(e, env.lang))?;
    out!(
        "imported: {} added, {} updated{}",
        report.added,
        report.updated,
        report
            .catalogue_version
            .map(|v| format!(", catalogue version {v}"))
            .unwrap_or_default()
    );
    Ok(())
}

#[derive(Args)]
pub struct ExportArgs {
    #[arg(value_enum)]
    kind: Kind,
    /// Catalogue version (default: current).
    #[arg(long)]
    version: Option<u32>,
    /// For orders: the period, YYYY-MM.
    #[arg(long)]
    period: Option<String>,
    /// For orders: csv (the only format).
    #[arg(long, default_value = "csv")]
    format: String,
}

pub async fn export(env: &Env, args: ExportArgs) -> Result<(), Failure> {
    let store = env.open().await?;
    let reference = store.reference();
    let fail = |e| store_failure(e, env.lang);
    let text = match args.kind {
        Kind::Units | Kind::Divisions => {
            import::units_to_csv(reference.directory.units()).map_err(fail)?
        }
        Kind::Categories => import::categories_to_csv(reference.taxonomy.iter()).map_err(fail)?,
        Kind::Catalogue => {
            let version = args.version.unwrap_or(reference.catalogue.version);
            import::catalogue_to_csv(&store.catalogue_entries(version).await.map_err(fail)?)
                .map_err(fail)?
        }
        Kind::Duties => {
            let mut duties: Vec<_> = reference
                .duties
                .street
                .iter()
                .map(|c| (whistle_core::catalogue::DutyHolder::Street, c.clone()))
                .collect();
            duties.extend(
                reference
                    .duties
                    .community
                    .iter()
                    .map(|c| (whistle_core::catalogue::DutyHolder::Community, c.clone())),
            );
            import::duties_to_csv(&duties).map_err(fail)?
        }
        Kind::Calendar => import::calendar_to_json(&reference.calendar.years().collect::<Vec<_>>())
            .map_err(fail)?,
        Kind::Policy => toml::to_string_pretty(&reference.policy).map_err(anyhow::Error::from)?,
        Kind::WhistleList => {
            import::whistle_list_to_csv(reference.whistle_list.items()).map_err(fail)?
        }
        Kind::Orders => {
            if args.format != "csv" {
                return Err(crate::refuse(
                    "导出工单只支持 --format csv",
                    "export orders supports --format csv only",
                ));
            }
            let period = args.period.as_deref().ok_or_else(|| {
                crate::refuse(
                    "导出工单须给出 --period YYYY-MM",
                    "export orders needs --period YYYY-MM",
                )
            })?;
            whistle_reports::export::orders_csv(&*store, period)
                .await
                .map_err(fail)?
        }
    };
    out!("{}", text.trim_end_matches('\n'));
    Ok(())
}
