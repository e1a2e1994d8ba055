//! Whistle (吹哨报到) and grid-case (网格发现) commands: the same engine requests the HTTP API
//! makes, for operators and scripts. A step's fields are given as JSON, exactly as the API's
//! command body (without the version): `--fields '{"people": 3}'`.

use clap::{Args, Subcommand};
use whistle_core::error::{DomainError, Lang};
use whistle_core::grid::{GridCase, GridCommand, Report};
use whistle_core::ids::{Actor, UnitCode};
use whistle_core::time::{format_minutes, parse_beijing, Timestamp};
use whistle_core::whistle::{Raise, Whistle, WhistleCommand, WhistleKind, WhistleList};
use whistle_store::grids::{GridEnvelope, GridRequest};
use whistle_store::whistles::{WhistleEnvelope, WhistleRequest};
use whistle_store::Scope;

use crate::order_cmd::{account_actor, d, time_or_now};
use crate::{command_failure, store_failure, Env, Failure};

#[derive(Args, Clone)]
pub struct Acting {
    /// Act as USER@UNIT (the street, the summoned unit, the district …).
    #[arg(long = "as")]
    actor: String,
    /// Refuse with a conflict unless the record is still at this version.
    #[arg(long)]
    expect_version: Option<u64>,
    /// The time, Beijing "YYYY-MM-DD HH:MM" (default: now; never in the future).
    #[arg(long)]
    at: Option<String>,
}

impl Acting {
    /// The checked actor (an enabled account whose role may take `step`) and the time.
    async fn resolve(
        &self,
        store: &dyn whistle_store::Store,
        step: Step<'_>,
        lang: Lang,
    ) -> Result<(Actor, Timestamp), Failure> {
        let actor = account_actor(store, &self.actor, lang, |role| match step {
            Step::Whistle(step) => role.may_whistle(step),
            Step::Grid(step) => role.may_grid(step),
        })
        .await?;
        Ok((actor, time_or_now(self.at.as_deref(), lang)?))
    }
}

/// A whistle step (`raise` or a command) or a grid-case step (`file` or a command).
#[derive(Clone, Copy)]
enum Step<'a> {
    Whistle(&'a str),
    Grid(&'a str),
}

/// Scope of a list: everything, or what one unit sees.
#[derive(Args, Clone)]
pub struct ListArgs {
    /// Only what this unit raised, was summoned to or coordinates.
    #[arg(long)]
    unit: Option<String>,
    #[arg(long, default_value_t = 50)]
    limit: u32,
}

impl ListArgs {
    fn scope(&self, lang: Lang) -> Result<Scope, Failure> {
        Ok(match &self.unit {
            None => Scope::All,
            Some(unit) => Scope::Units(vec![UnitCode::parse(unit).map_err(d(lang))?]),
        })
    }
}

#[derive(Subcommand)]
pub enum WhistleCmd {
    /// 吹哨: raise a whistle as a street/township (a list item brings its default units).
    Raise {
        #[command(flatten)]
        acting: Acting,
        /// enforcement, key_task, emergency, request
        #[arg(long)]
        kind: String,
        /// The whistle-list item (see `whistle whistle-list`).
        #[arg(long)]
        item: Option<String>,
        /// The lead unit (default: the item's).
        #[arg(long)]
        lead: Option<String>,
        /// Assisting units (default: the item's).
        #[arg(long = "assist")]
        assisting: Vec<String>,
        #[arg(long)]
        place: String,
        #[arg(long)]
        needed: String,
        /// The work order the street holds, if the whistle is for one.
        #[arg(long)]
        order: Option<String>,
        /// Required off the list.
        #[arg(long)]
        off_list_reason: Option<String>,
        /// The district's approval, to summon a unit outside the district.
        #[arg(long = "override")]
        override_reference: Option<String>,
    },
    /// A step: report_in, mark_absent, resolve_absence, assign_task, complete_task,
    /// hold_consultation, close, rate, object, decide_objection.
    Act {
        no: String,
        command: String,
        /// The step's fields as a JSON object, e.g. '{"people": 3}'.
        #[arg(long, default_value = "{}")]
        fields: String,
        #[command(flatten)]
        acting: Acting,
    },
    /// One whistle in full, as JSON.
    Show { no: String },
    /// Whistles, newest first.
    List(ListArgs),
}

#[derive(Subcommand)]
pub enum GridCmd {
    /// 上报: a grid worker, lane chief or lane steward reports a problem.
    File {
        #[command(flatten)]
        acting: Acting,
        /// grid_worker, lane_chief, lane_steward
        #[arg(long)]
        role: String,
        #[arg(long)]
        category: String,
        #[arg(long)]
        description: String,
        #[arg(long)]
        place: String,
        /// When it was found (default: the report's time).
        #[arg(long)]
        found_at: Option<String>,
        #[arg(long = "photo")]
        photos: Vec<String>,
    },
    /// A step: dispatch, whistle, handle, verify.
    Act {
        no: String,
        command: String,
        #[arg(long, default_value = "{}")]
        fields: String,
        #[command(flatten)]
        acting: Acting,
    },
    /// One case with its loop timestamps, as JSON.
    Show { no: String },
    /// Grid cases, newest first.
    List(ListArgs),
}

/// `{"command": NAME, …fields}` parsed as the engine's command type.
fn command_from<T: serde::de::DeserializeOwned>(name: &str, fields: &str) -> Result<T, Failure> {
    let mut value: serde_json::Value = serde_json::from_str(fields)
        .map_err(|_| crate::refuse("--fields 不是有效的 JSON", "--fields is not JSON"))?;
    let object = value.as_object_mut().ok_or_else(|| {
        crate::refuse("--fields 须为 JSON 对象", "--fields must be a JSON object")
    })?;
    object.insert("command".into(), serde_json::Value::String(name.into()));
    serde_json::from_value(value).map_err(|e| {
        let detail = whistle_server::input::describe_value_error(&e, crate::process_lang());
        Failure::Refused(format!("[invalid_command] {name}: {detail}"))
    })
}

fn json<T: serde::Serialize>(value: &T) -> Result<String, Failure> {
    serde_json::to_string_pretty(&whistle_core::outside::InBeijing(value))
        .map_err(|e| Failure::Failed(e.into()))
}

fn whistle_line(whistle: &Whistle) -> String {
    let reported = whistle
        .summons
        .iter()
        .filter(|s| s.report.is_some())
        .count();
    format!(
        "{}  {:<11} {:<10} {:<7} 报到 {}/{}  {}  {}",
        whistle.no,
        whistle.kind.as_str(),
        whistle.street,
        match whistle.stage {
            whistle_core::whistle::WhistleStage::Open => "open",
            whistle_core::whistle::WhistleStage::Closed => "closed",
        },
        reported,
        whistle.summons.iter().filter(|s| s.expected()).count(),
        format_minutes(whistle.raised_at),
        whistle.place
    )
}

pub async fn whistle(env: &Env, command: WhistleCmd) -> Result<(), Failure> {
    let lang = env.lang;
    let store = env.open().await?;
    let unit = |text: &str| UnitCode::parse(text).map_err(d(lang));
    match command {
        WhistleCmd::Raise {
            acting,
            kind,
            item,
            lead,
            assisting,
            place,
            needed,
            order,
            off_list_reason,
            override_reference,
        } => {
            let (actor, at) = acting
                .resolve(&*store, Step::Whistle("raise"), lang)
                .await?;
            let raise = Raise {
                kind: kind.parse::<WhistleKind>().map_err(d(lang))?,
                order: order
                    .as_deref()
                    .map(whistle_core::ids::OrderNo::parse)
                    .transpose()
                    .map_err(d(lang))?,
                lead: lead.as_deref().map(unit).transpose()?,
                assisting: assisting
                    .iter()
                    .map(|u| unit(u))
                    .collect::<Result<_, _>>()?,
                place,
                needed,
                list_item: item,
                off_list_reason,
                override_reference,
            };
            let outcome = store
                .execute_whistle(WhistleEnvelope {
                    actor,
                    at,
                    request: WhistleRequest::Raise(Box::new(raise)),
                })
                .await
                .map_err(|e| command_failure(e, lang))?;
            // The number alone on standard output (W=$(whistle whistle raise …)), the rest for
            // the person on standard error.
            out!("{}", outcome.whistle.no);
            eprintln!("{}", whistle_line(&outcome.whistle));
            for summons in &outcome.whistle.summons {
                eprintln!(
                    "  {:?} {} 报到时限 {}",
                    summons.role,
                    summons.unit,
                    format_minutes(summons.report_in_by)
                );
            }
        }
        WhistleCmd::Act {
            no,
            command,
            fields,
            acting,
        } => {
            let (actor, at) = acting
                .resolve(&*store, Step::Whistle(&command), lang)
                .await?;
            let command: WhistleCommand = command_from(&command, &fields)?;
            let outcome = store
                .execute_whistle(WhistleEnvelope {
                    actor,
                    at,
                    request: WhistleRequest::Command {
                        whistle: no,
                        expected_version: acting.expect_version,
                        command,
                    },
                })
                .await
                .map_err(|e| command_failure(e, lang))?;
            out!(
                "{} (version {})",
                whistle_line(&outcome.whistle),
                outcome.whistle.version
            );
        }
        WhistleCmd::Show { no } => {
            let found = store
                .whistle(&no)
                .await
                .map_err(|e| store_failure(e, lang))?
                .ok_or_else(|| Failure::Refused(format!("[not_found] {no}")))?;
            out!("{}", json(&found)?);
        }
        WhistleCmd::List(args) => {
            let whistles = store
                .list_whistles(&args.scope(lang)?, args.limit)
                .await
                .map_err(|e| store_failure(e, lang))?;
            for whistle in &whistles {
                out!("{}", whistle_line(whistle));
            }
        }
    }
    Ok(())
}

/// `whistle whistle-list --street CODE`: the list as the street sees it, with default units.
pub async fn whistle_list(env: &Env, street: &str) -> Result<(), Failure> {
    let lang = env.lang;
    let store = env.open().await?;
    let reference = store.reference();
    let street = UnitCode::parse(street).map_err(d(lang))?;
    let found = reference.directory.require(&street).map_err(d(lang))?;
    if !found.kind.is_street_level() {
        return Err(d(lang)(DomainError::NotWhistleStreet));
    }
    for item in reference
        .whistle_list
        .for_street(&street, &reference.directory)
    {
        let units = WhistleList::resolve(item, &street, &reference.directory, &reference.city)
            .map(|(lead, assisting)| {
                let assisting: Vec<String> = assisting.iter().map(|u| u.to_string()).collect();
                format!("牵头 {lead}  协同 {}", assisting.join(" "))
            })
            .unwrap_or_else(|e| format!("[{}]", e.key()));
        out!(
            "{:<11} {:<24} {}  {}",
            item.kind.as_str(),
            item.code,
            item.title,
            units
        );
    }
    Ok(())
}

fn case_line(case: &GridCase) -> String {
    format!(
        "{}  {:?}  {:<10} {:<9} {}",
        case.no,
        case.stage,
        case.street,
        case.report.category,
        case.handler
            .as_ref()
            .map(|h| h.to_string())
            .unwrap_or_default()
    )
}

pub async fn grid(env: &Env, command: GridCmd) -> Result<(), Failure> {
    let lang = env.lang;
    let store = env.open().await?;
    match command {
        GridCmd::File {
            acting,
            role,
            category,
            description,
            place,
            found_at,
            photos,
        } => {
            let (actor, at) = acting.resolve(&*store, Step::Grid("file"), lang).await?;
            let report: Report = serde_json::from_value(serde_json::json!({
                "role": role,
                "found_at": match &found_at {
                    Some(text) => parse_beijing(text).map_err(d(lang))?,
                    None => at,
                },
                "category": category,
                "description": description,
                "place": place,
                "photos": photos,
            }))
            .map_err(|e| Failure::Refused(format!("[invalid_value] {e}")))?;
            let case = store
                .execute_grid(GridEnvelope {
                    actor,
                    at,
                    request: GridRequest::File(Box::new(report)),
                })
                .await
                .map_err(|e| command_failure(e, lang))?;
            out!("{}", case.no);
            eprintln!("{}", case_line(&case));
        }
        GridCmd::Act {
            no,
            command,
            fields,
            acting,
        } => {
            let (actor, at) = acting.resolve(&*store, Step::Grid(&command), lang).await?;
            let command: GridCommand = command_from(&command, &fields)?;
            let case = store
                .execute_grid(GridEnvelope {
                    actor,
                    at,
                    request: GridRequest::Command {
                        case: no,
                        expected_version: acting.expect_version,
                        command,
                    },
                })
                .await
                .map_err(|e| command_failure(e, lang))?;
            out!("{} (version {})", case_line(&case), case.version);
        }
        GridCmd::Show { no } => {
            let found = store
                .grid_case(&no)
                .await
                .map_err(|e| store_failure(e, lang))?
                .ok_or_else(|| Failure::Refused(format!("[not_found] {no}")))?;
            out!("{}", json(&found)?);
        }
        GridCmd::List(args) => {
            let cases = store
                .list_grid_cases(&args.scope(lang)?, args.limit)
                .await
                .map_err(|e| store_failure(e, lang))?;
            for case in &cases {
                out!("{}", case_line(case));
            }
        }
    }
    Ok(())
}
