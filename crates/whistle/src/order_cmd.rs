//! Work-order commands. Each is one engine command through the Store, exactly what the HTTP API
//! will call; this is only a thin parsing and printing layer.

use clap::{Args, Subcommand};
use whistle_core::calendar::TimeLimit;
use whistle_core::catalogue::Territory;
use whistle_core::error::{DomainError, Lang};
use whistle_core::ids::{Actor, CategoryCode, OrderNo, UnitCode};
use whistle_core::order::{
    Channel, Command, EmergencyService, EscalationLevel, Event, EventPayload, Intake, Location,
    Order, OutsideParty, ReplyOutcome, RequestType, Satisfaction, Supervision, Triage, Urgency,
    VisitResult,
};
use whistle_core::time::{format_minutes, format_seconds, parse_beijing, Timestamp};
use whistle_store::{
    Envelope, OrderFilter, OrderRef, OrderSummary, PageRequest, Request, Requester, Store,
};

use crate::{command_failure, store_failure, Env, Failure};

#[derive(Args, Clone)]
pub struct Common {
    /// Act as USER@UNIT (default: the lead unit for a handling unit's command, else cli@11.center).
    #[arg(long = "as")]
    actor: Option<String>,
    /// Refuse with a conflict unless the order is still at this version.
    #[arg(long)]
    expect_version: Option<u64>,
    /// The command's time, Beijing "YYYY-MM-DD HH:MM" (default: now; never in the future).
    #[arg(long)]
    at: Option<String>,
}

#[derive(Args)]
pub struct ListArgs {
    #[arg(long)]
    pub unit: Option<String>,
    #[arg(long)]
    pub stage: Option<String>,
    #[arg(long)]
    pub district: Option<String>,
    #[arg(long)]
    pub street: Option<String>,
    #[arg(long)]
    pub category: Option<String>,
    #[arg(long)]
    pub from: Option<String>,
    #[arg(long)]
    pub before: Option<String>,
    /// A substring of the request text.
    #[arg(long)]
    pub text: Option<String>,
    #[arg(long, default_value_t = 50)]
    pub limit: u32,
    #[arg(long)]
    pub after: Option<String>,
}

#[derive(Args)]
pub struct NewArgs {
    /// consult, help, complaint, report, suggestion, praise
    #[arg(long = "type")]
    request_type: String,
    #[arg(long)]
    text: String,
    /// A leaf category code (see `whistle categories`).
    #[arg(long)]
    category: String,
    #[arg(long)]
    district: Option<String>,
    #[arg(long)]
    street: Option<String>,
    #[arg(long)]
    community: Option<String>,
    /// The public part of the address.
    #[arg(long)]
    address: Option<String>,
    #[arg(long, default_value = "phone")]
    channel: String,
    /// normal, urgent, emergency (default: the category's).
    #[arg(long)]
    urgency: Option<String>,
    /// When the call came in (default: the command time).
    #[arg(long)]
    received_at: Option<String>,
    /// Requester's name (personal data: stored apart, masked in output).
    #[arg(long)]
    name: Option<String>,
    #[arg(long)]
    phone: Option<String>,
    #[arg(long)]
    address_detail: Option<String>,
    /// The disposition, spelt as in the JSON API: dispatch (default), answer_now,
    /// transfer_emergency, proper_channel, repeat_no_new, secret_or_privacy, out_of_scope,
    /// illegal_demand
    #[arg(long, default_value = "dispatch")]
    triage: String,
    /// The answer, channel, explanation or referral that goes with a closing triage.
    #[arg(long, default_value = "")]
    detail: String,
    /// 110, 119, 120 or 122 for --triage transfer_emergency.
    #[arg(long)]
    service: Option<String>,
    /// The earlier order for --triage repeat_no_new.
    #[arg(long)]
    earlier: Option<String>,
    #[command(flatten)]
    common: Common,
}

#[derive(Subcommand)]
pub enum OrderCommand {
    /// 受理: record a new request, with its triage.
    New(Box<NewArgs>),
    /// 派单: by the catalogue, or to --unit.
    Dispatch {
        no: String,
        #[arg(long)]
        unit: Option<String>,
        #[arg(long = "co")]
        co_handlers: Vec<String>,
        /// An explicit handling deadline for a hard case.
        #[arg(long)]
        handle_by: Option<String>,
        #[command(flatten)]
        common: Common,
    },
    /// 签收.
    Accept {
        no: String,
        #[command(flatten)]
        common: Common,
    },
    /// 派单异议.
    Dispute {
        no: String,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        common: Common,
    },
    /// Review a dispute: --upheld --to UNIT, or --rejected.
    ReviewDispute {
        no: String,
        #[arg(long, conflicts_with = "rejected")]
        upheld: bool,
        #[arg(long)]
        rejected: bool,
        #[arg(long)]
        to: Option<String>,
        #[arg(long, default_value = "")]
        note: String,
        #[command(flatten)]
        common: Common,
    },
    /// A co-handler reports its part back to the lead unit (run --as USER@CO-HANDLER).
    Part {
        no: String,
        #[arg(long)]
        text: String,
        #[command(flatten)]
        common: Common,
    },
    /// 联系诉求人: the response.
    Contact {
        no: String,
        #[arg(long, default_value = "")]
        note: String,
        #[command(flatten)]
        common: Common,
    },
    /// 延期申请: e.g. --extra 5wd.
    Extend {
        no: String,
        #[arg(long)]
        extra: String,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        common: Common,
    },
    /// Decide an extension: --approve or --refuse.
    DecideExtension {
        no: String,
        #[arg(long, conflicts_with = "refuse")]
        approve: bool,
        #[arg(long)]
        refuse: bool,
        #[arg(long, default_value = "")]
        note: String,
        #[command(flatten)]
        common: Common,
    },
    /// 提级: --to district|city.
    Escalate {
        no: String,
        #[arg(long)]
        to: String,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        common: Common,
    },
    /// 办结反馈: --outcome resolved|partly_resolved|explained.
    Reply {
        no: String,
        #[arg(long)]
        outcome: String,
        #[arg(long)]
        actions: String,
        #[command(flatten)]
        common: Common,
    },
    /// 回访: --contacted yes|no --resolved yes|no --satisfaction satisfied|basically_satisfied|dissatisfied, or --invalid REASON.
    Visit {
        no: String,
        #[arg(long)]
        contacted: Option<String>,
        #[arg(long)]
        resolved: Option<String>,
        #[arg(long)]
        satisfaction: Option<String>,
        #[arg(long)]
        invalid: Option<String>,
        #[command(flatten)]
        common: Common,
    },
    /// 结案.
    Close {
        no: String,
        #[arg(long, default_value = "")]
        note: String,
        #[command(flatten)]
        common: Common,
    },
    /// 重办.
    Reopen {
        no: String,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        common: Common,
    },
    /// 认定不合理诉求 (excluded from scores).
    Unreasonable {
        no: String,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        common: Common,
    },
    /// 督办: --flag or --urge.
    Supervise {
        no: String,
        #[arg(long, conflicts_with = "urge")]
        flag: bool,
        #[arg(long)]
        urge: bool,
        #[arg(long, default_value = "")]
        note: String,
        #[command(flatten)]
        common: Common,
    },
    /// Link a repeat to its earlier order.
    Link {
        no: String,
        #[arg(long)]
        earlier: String,
        #[command(flatten)]
        common: Common,
    },
    /// Merge a duplicate into another order.
    Merge {
        no: String,
        #[arg(long)]
        into: String,
        #[command(flatten)]
        common: Common,
    },
    /// Forward to an outside party: --central NAME (央地联动), --tianjin or --hebei.
    Forward {
        no: String,
        #[arg(long)]
        central: Option<String>,
        #[arg(long)]
        tianjin: bool,
        #[arg(long)]
        hebei: bool,
        #[arg(long, default_value = "")]
        note: String,
        #[command(flatten)]
        common: Common,
    },
    /// Record the outside party's answer.
    ForwardAnswer {
        no: String,
        #[arg(long)]
        answer: String,
        #[command(flatten)]
        common: Common,
    },
    /// The order and its full, attributed history (requester masked).
    Show {
        no: String,
        #[arg(long)]
        json: bool,
    },
    /// Orders by unit, stage, territory, category and time, newest first.
    List(ListArgs),
    /// Orders whose running deadline is due at --at (default now), earliest first.
    Due {
        #[arg(long)]
        at: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[arg(long)]
        after: Option<String>,
    },
}

pub(crate) fn d(lang: Lang) -> impl Fn(DomainError) -> Failure {
    move |e| Failure::Refused(format!("[{}] {}", e.key(), e.message(lang)))
}

fn parse_bool(text: Option<&str>, field: &str) -> Result<bool, DomainError> {
    match text {
        Some("yes" | "true" | "y" | "是") => Ok(true),
        Some("no" | "false" | "n" | "否") => Ok(false),
        other => Err(DomainError::InvalidValue {
            field: field.into(),
            value: other.unwrap_or_default().into(),
        }),
    }
}

pub(crate) fn parse_actor(text: &str) -> Result<Actor, DomainError> {
    let (user, unit) = text
        .split_once('@')
        .ok_or_else(|| DomainError::InvalidValue {
            field: "--as".into(),
            value: text.into(),
        })?;
    Ok(Actor {
        user: user.to_string(),
        unit: UnitCode::parse(unit)?,
    })
}

/// The actor `--as USER@UNIT` names, checked: an existing, enabled account of that unit whose
/// role may take the step (`allowed`). The audit trail names only people who exist.
pub(crate) async fn account_actor(
    store: &dyn Store,
    text: &str,
    lang: Lang,
    allowed: impl Fn(whistle_server::roles::Role) -> bool,
) -> Result<Actor, Failure> {
    let actor = parse_actor(text).map_err(d(lang))?;
    let say = |zh: &str, en: &str| {
        Failure::Refused(format!(
            "[invalid_actor] {}",
            if lang == Lang::En { en } else { zh }
        ))
    };
    let account = store
        .user(&actor.user)
        .await
        .map_err(|e| store_failure(e, lang))?
        .map(|(account, _)| account)
        .filter(|account| account.active)
        .ok_or_else(|| {
            say(
                "--as：没有该账号，或账号已停用（用 whistle user list 查看）",
                "--as: no such account, or it is disabled (see whistle user list)",
            )
        })?;
    if account.unit != actor.unit {
        return Err(say(
            &format!("--as：该账号属于 {}，不是所写的单位", account.unit),
            &format!(
                "--as: that account belongs to {}, not the unit given",
                account.unit
            ),
        ));
    }
    match whistle_server::roles::Role::parse(&account.role) {
        Some(role) if allowed(role) => Ok(actor),
        _ => Err(say(
            &format!("--as：角色「{}」无权执行此操作", account.role),
            &format!("--as: the role {} may not do this", account.role),
        )),
    }
}

pub(crate) fn command_time(common: &Common, lang: Lang) -> Result<Timestamp, Failure> {
    time_or_now(common.at.as_deref(), lang)
}

/// A command's time from `--at` (Beijing "YYYY-MM-DD HH:MM", never in the future), or now — at
/// the millisecond precision events keep.
pub(crate) fn time_or_now(at: Option<&str>, lang: Lang) -> Result<Timestamp, Failure> {
    let now = whistle_core::time::from_millis(whistle_core::time::to_millis(chrono::Utc::now()));
    match at {
        None => Ok(now),
        Some(text) => {
            let at = parse_beijing(text).map_err(d(lang))?;
            if at > now {
                return Err(d(lang)(DomainError::TimeInFuture));
            }
            Ok(at)
        }
    }
}

/// Commands a handling unit issues default to acting as the order's lead unit.
fn by_handler(command: &Command) -> bool {
    matches!(
        command,
        Command::Accept
            | Command::Dispute { .. }
            | Command::Contact { .. }
            | Command::RequestExtension { .. }
            | Command::Escalate { .. }
            | Command::Reply { .. }
    )
}

pub async fn run(env: &Env, command: OrderCommand) -> Result<(), Failure> {
    let lang = env.lang;
    let store = env.open().await?;
    match command {
        OrderCommand::New(args) => intake(&*store, *args, lang).await,
        OrderCommand::Show { no, json } => show(&*store, &no, json, lang).await,
        OrderCommand::List(args) => list(&*store, args, lang).await,
        OrderCommand::Due { at, limit, after } => due(&*store, at, limit, after, lang).await,
        command => {
            let (no, command, common) = order_command(command, lang)?;
            execute(&*store, &no, command, common, lang).await
        }
    }
}

/// `order list`: a page of summaries under the filter given.
async fn list(store: &dyn Store, args: ListArgs, lang: Lang) -> Result<(), Failure> {
    let ListArgs {
        unit,
        stage,
        district,
        street,
        category,
        from,
        before,
        text,
        limit,
        after,
    } = args;
    let code = |c: Option<String>| c.map(|c| UnitCode::parse(&c)).transpose().map_err(d(lang));
    let time = |t: Option<String>| t.map(|t| parse_beijing(&t)).transpose().map_err(d(lang));
    let filter = OrderFilter {
        unit: code(unit)?,
        stage,
        district: code(district)?,
        street: code(street)?,
        category: category
            .map(|c| CategoryCode::parse(&c))
            .transpose()
            .map_err(d(lang))?,
        received_from: time(from)?,
        received_before: time(before)?,
        text,
        ..OrderFilter::default()
    };
    let page = store
        .list_orders(
            &whistle_store::Scope::All,
            &filter,
            &PageRequest { after, limit },
        )
        .await
        .map_err(|e| store_failure(e, lang))?;
    print_summaries(&page.items, page.next.as_deref());
    Ok(())
}

/// `order due`: the orders whose running deadline is due at `at`.
async fn due(
    store: &dyn Store,
    at: Option<String>,
    limit: u32,
    after: Option<String>,
    lang: Lang,
) -> Result<(), Failure> {
    let at = at
        .map(|t| parse_beijing(&t))
        .transpose()
        .map_err(d(lang))?
        .unwrap_or_else(chrono::Utc::now);
    let page = store
        .due(at, &PageRequest { after, limit })
        .await
        .map_err(|e| store_failure(e, lang))?;
    print_summaries(&page.items, page.next.as_deref());
    Ok(())
}

/// The order number, the command and its common flags, parsed from one of
/// the commands that change an order.
fn order_command(command: OrderCommand, lang: Lang) -> Result<(String, Command, Common), Failure> {
    Ok(match command {
        OrderCommand::Dispatch {
            no,
            unit,
            co_handlers,
            handle_by,
            common,
        } => {
            let unit = unit
                .map(|u| UnitCode::parse(&u))
                .transpose()
                .map_err(d(lang))?;
            let co_handlers = co_handlers
                .iter()
                .map(|u| UnitCode::parse(u))
                .collect::<Result<_, _>>()
                .map_err(d(lang))?;
            let handle_by = handle_by
                .map(|t| parse_beijing(&t))
                .transpose()
                .map_err(d(lang))?;
            (
                no,
                Command::Dispatch {
                    unit,
                    co_handlers,
                    handle_by,
                },
                common,
            )
        }
        OrderCommand::Accept { no, common } => (no, Command::Accept, common),
        OrderCommand::Dispute { no, reason, common } => (no, Command::Dispute { reason }, common),
        OrderCommand::ReviewDispute {
            no,
            upheld,
            rejected,
            to,
            note,
            common,
        } => {
            if upheld == rejected {
                return Err(Failure::Refused(
                    "give --upheld --to UNIT or --rejected".into(),
                ));
            }
            let redispatch_to = to
                .map(|u| UnitCode::parse(&u))
                .transpose()
                .map_err(d(lang))?;
            (
                no,
                Command::ReviewDispute {
                    upheld,
                    redispatch_to,
                    note,
                },
                common,
            )
        }
        OrderCommand::Part { no, text, common } => (no, Command::ReportPart { text }, common),
        OrderCommand::Contact { no, note, common } => (no, Command::Contact { note }, common),
        OrderCommand::Extend {
            no,
            extra,
            reason,
            common,
        } => (
            no,
            Command::RequestExtension {
                extra: TimeLimit::parse(&extra).map_err(d(lang))?,
                reason,
            },
            common,
        ),
        OrderCommand::DecideExtension {
            no,
            approve,
            refuse,
            note,
            common,
        } => {
            if approve == refuse {
                return Err(crate::refuse(
                    "请给出 --approve 或 --refuse 之一",
                    "give --approve or --refuse",
                ));
            }
            (
                no,
                Command::DecideExtension {
                    approved: approve,
                    note,
                },
                common,
            )
        }
        OrderCommand::Escalate {
            no,
            to,
            reason,
            common,
        } => (
            no,
            Command::Escalate {
                to: to.parse::<EscalationLevel>().map_err(d(lang))?,
                reason,
            },
            common,
        ),
        OrderCommand::Reply {
            no,
            outcome,
            actions,
            common,
        } => (
            no,
            Command::Reply {
                outcome: outcome.parse::<ReplyOutcome>().map_err(d(lang))?,
                actions,
            },
            common,
        ),
        OrderCommand::Visit {
            no,
            contacted,
            resolved,
            satisfaction,
            invalid,
            common,
        } => {
            let result = match invalid {
                Some(reason) => VisitResult::Invalid { reason },
                None => VisitResult::Valid {
                    contacted: parse_bool(contacted.as_deref(), "contacted").map_err(d(lang))?,
                    resolved: parse_bool(resolved.as_deref(), "resolved").map_err(d(lang))?,
                    satisfaction: satisfaction
                        .unwrap_or_default()
                        .parse::<Satisfaction>()
                        .map_err(d(lang))?,
                },
            };
            (no, Command::ReturnVisit { result }, common)
        }
        OrderCommand::Close { no, note, common } => (no, Command::Close { note }, common),
        OrderCommand::Reopen { no, reason, common } => (no, Command::Reopen { reason }, common),
        OrderCommand::Unreasonable { no, reason, common } => {
            (no, Command::RuleUnreasonable { reason }, common)
        }
        OrderCommand::Supervise {
            no,
            flag,
            urge,
            note,
            common,
        } => {
            let action = match (flag, urge) {
                (true, false) => Supervision::Flag,
                (false, true) => Supervision::Urge,
                _ => {
                    return Err(crate::refuse(
                        "请给出 --flag 或 --urge 之一",
                        "give --flag or --urge",
                    ))
                }
            };
            (no, Command::Supervise { action, note }, common)
        }
        OrderCommand::Link {
            no,
            earlier,
            common,
        } => (
            no,
            Command::LinkRepeat {
                earlier: OrderNo::parse(&earlier).map_err(d(lang))?,
            },
            common,
        ),
        OrderCommand::Merge { no, into, common } => (
            no,
            Command::Merge {
                into: OrderNo::parse(&into).map_err(d(lang))?,
            },
            common,
        ),
        OrderCommand::Forward {
            no,
            central,
            tianjin,
            hebei,
            note,
            common,
        } => {
            let party = match (central, tianjin, hebei) {
                (Some(name), false, false) => OutsideParty::CentralUnit { name },
                (None, true, false) => OutsideParty::TianjinHotline,
                (None, false, true) => OutsideParty::HebeiHotline,
                _ => {
                    return Err(Failure::Refused(
                        "give one of --central NAME, --tianjin, --hebei".into(),
                    ))
                }
            };
            (no, Command::Forward { party, note }, common)
        }
        OrderCommand::ForwardAnswer { no, answer, common } => {
            (no, Command::RecordForwardAnswer { answer }, common)
        }
        OrderCommand::New(_)
        | OrderCommand::Show { .. }
        | OrderCommand::List(_)
        | OrderCommand::Due { .. } => unreachable!("handled by run"),
    })
}

/// Runs one command on one order as the actor given (or the one the CLI
/// stands for) and prints what happened.
async fn execute(
    store: &dyn Store,
    no: &str,
    command: Command,
    common: Common,
    lang: Lang,
) -> Result<(), Failure> {
    let no = OrderNo::parse(no).map_err(d(lang))?;
    let at = command_time(&common, lang)?;
    let actor = match &common.actor {
        Some(text) => account_actor(store, text, lang, |role| role.may(&command)).await?,
        None if by_handler(&command) => {
            let order = store
                .order(&OrderRef::No(no.clone()))
                .await
                .map_err(|e| store_failure(e, lang))?
                .ok_or_else(|| {
                    command_failure(whistle_store::CommandError::NotFound(no.to_string()), lang)
                })?;
            match order.lead() {
                Some(lead) => Actor {
                    user: "cli".into(),
                    unit: lead.clone(),
                },
                None => center_actor(lang)?,
            }
        }
        None => center_actor(lang)?,
    };
    let envelope = Envelope {
        actor,
        at,
        request: Request::Command {
            order: OrderRef::No(no),
            expected_version: common.expect_version,
            command,
        },
    };
    let outcome = store
        .execute_one(envelope)
        .await
        .map_err(|e| command_failure(e, lang))?;
    out!(
        "{} v{}: {}",
        outcome.order_no,
        outcome.version,
        describe(&outcome.events, lang)
    );
    Ok(())
}

fn center_actor(lang: Lang) -> Result<Actor, Failure> {
    Ok(Actor {
        user: "cli".into(),
        unit: UnitCode::parse("11.center").map_err(d(lang))?,
    })
}

async fn intake(store: &dyn Store, args: NewArgs, lang: Lang) -> Result<(), Failure> {
    let e = d(lang);
    let at = command_time(&args.common, lang)?;
    let code = |c: &Option<String>| c.as_deref().map(UnitCode::parse).transpose();
    let triage = match args.triage.as_str() {
        "dispatch" => Triage::Dispatch,
        "answer_now" => Triage::AnswerNow {
            answer: args.detail.clone(),
        },
        "transfer_emergency" => Triage::TransferEmergency {
            service: match args.service.as_deref() {
                Some("110") => EmergencyService::Police,
                Some("119") => EmergencyService::Fire,
                Some("120") => EmergencyService::Ambulance,
                Some("122") => EmergencyService::Traffic,
                other => {
                    return Err(e(DomainError::InvalidValue {
                        field: "service".into(),
                        value: other.unwrap_or_default().into(),
                    }))
                }
            },
        },
        "proper_channel" => Triage::ProperChannel {
            channel: args.detail.clone(),
        },
        "repeat_no_new" => Triage::RepeatNoNew {
            earlier: OrderNo::parse(args.earlier.as_deref().unwrap_or_default()).map_err(&e)?,
        },
        "secret_or_privacy" => Triage::SecretOrPrivacy {
            explanation: args.detail.clone(),
        },
        "out_of_scope" => Triage::OutOfScope {
            referred_to: args.detail.clone(),
        },
        "illegal_demand" => Triage::IllegalDemand {
            explanation: args.detail.clone(),
        },
        other => {
            return Err(e(DomainError::InvalidValue {
                field: "triage".into(),
                value: other.into(),
            }))
        }
    };
    let intake = Intake {
        received_at: args
            .received_at
            .as_deref()
            .map(parse_beijing)
            .transpose()
            .map_err(&e)?,
        channel: args.channel.parse::<Channel>().map_err(&e)?,
        request_type: args.request_type.parse::<RequestType>().map_err(&e)?,
        text: args.text,
        category: CategoryCode::parse(&args.category).map_err(&e)?,
        urgency: args
            .urgency
            .as_deref()
            .map(str::parse::<Urgency>)
            .transpose()
            .map_err(&e)?,
        location: Location {
            territory: Territory {
                district: code(&args.district).map_err(&e)?,
                street: code(&args.street).map_err(&e)?,
                community: code(&args.community).map_err(&e)?,
            },
            grid: None,
            address: args.address,
            latitude: None,
            longitude: None,
        },
        triage,
    };
    let requester = (args.name.is_some() || args.phone.is_some() || args.address_detail.is_some())
        .then_some(Requester {
            name: args.name,
            phone: args.phone,
            address_detail: args.address_detail,
        });
    let actor = match &args.common.actor {
        Some(text) => account_actor(store, text, lang, |role| role.may_intake()).await?,
        None => center_actor(lang)?,
    };
    let outcome = store
        .execute_one(Envelope {
            actor,
            at,
            request: Request::Intake {
                intake: Box::new(intake),
                requester,
            },
        })
        .await
        .map_err(|error| command_failure(error, lang))?;
    out!("{}", outcome.order_no);
    eprintln!(
        "{} v{}: {}",
        outcome.order_no,
        outcome.version,
        describe(&outcome.events, lang)
    );
    Ok(())
}

fn describe(events: &[Event], lang: Lang) -> String {
    events
        .iter()
        .map(|event| {
            let label = if lang == Lang::En {
                event.payload.name().to_string()
            } else {
                event.payload.label_zh().to_string()
            };
            match &event.payload {
                EventPayload::Dispatched(d) => format!(
                    "{label} → {}{} (响应 respond by {}, 办理 handle by {})",
                    d.lead,
                    if d.co_handlers.is_empty() {
                        String::new()
                    } else {
                        format!(
                            " + {}",
                            d.co_handlers
                                .iter()
                                .map(|c| c.to_string())
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    },
                    format_minutes(d.respond_by),
                    format_minutes(d.handle_by)
                ),
                _ => label,
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

async fn show(store: &dyn Store, no: &str, json: bool, lang: Lang) -> Result<(), Failure> {
    let no = OrderNo::parse(no).map_err(d(lang))?;
    let order = store
        .order(&OrderRef::No(no.clone()))
        .await
        .map_err(|e| store_failure(e, lang))?
        .ok_or_else(|| {
            command_failure(whistle_store::CommandError::NotFound(no.to_string()), lang)
        })?;
    let history = store
        .history(order.id)
        .await
        .map_err(|e| store_failure(e, lang))?;
    let requester = store
        .requester(order.id)
        .await
        .map_err(|e| store_failure(e, lang))?
        .map(|r| r.masked());
    if json {
        // Every instant in Beijing time (RFC 3339, +08:00), as the header and the API show them.
        let value = serde_json::json!({
            "order": whistle_core::outside::to_value(&order),
            "requester": requester,
            "history": whistle_core::outside::to_value(&history),
        });
        out!(
            "{}",
            serde_json::to_string_pretty(&value).map_err(anyhow::Error::from)?
        );
        return Ok(());
    }
    print_order(store, &order, requester.as_ref(), &history);
    Ok(())
}

fn print_order(store: &dyn Store, order: &Order, requester: Option<&Requester>, history: &[Event]) {
    let reference = store.reference();
    let name = |code: &UnitCode| {
        reference
            .directory
            .get(code)
            .map(|u| u.name.clone())
            .unwrap_or_default()
    };
    let opt = |t: Option<Timestamp>| t.map(format_minutes).unwrap_or_else(|| "—".into());
    out!(
        "工单 {}  (v{}, {})",
        order.no,
        order.version,
        order.stage.name()
    );
    out!(
        "  受理时间 received   {}  渠道 {}  类型 {}  紧急程度 {}",
        format_minutes(order.received_at),
        order.channel,
        order.request_type,
        order.urgency
    );
    let category = reference
        .taxonomy
        .get(&order.category)
        .map(|c| c.name_zh.clone())
        .unwrap_or_default();
    out!("  分类 category       {} {}", order.category, category);
    let place = [
        &order.location.territory.district,
        &order.location.territory.street,
        &order.location.territory.community,
    ]
    .into_iter()
    .flatten()
    .map(|c| format!("{} {}", c, name(c)))
    .collect::<Vec<_>>()
    .join(" / ");
    out!(
        "  位置 location       {}{}",
        place,
        order
            .location
            .address
            .as_deref()
            .map(|a| format!(" · {a}"))
            .unwrap_or_default()
    );
    out!("  内容 text           {}", order.text);
    if let Some(r) = requester {
        out!(
            "  诉求人 requester    {} {} (masked)",
            r.name.as_deref().unwrap_or("—"),
            r.phone.as_deref().unwrap_or("—")
        );
    }
    if let Some(a) = order.assignment() {
        out!("  主办 lead           {} {}", a.lead, name(&a.lead));
        for co in &a.co_handlers {
            out!("  协办 co-handler     {} {}", co, name(co));
        }
        if let Some(district) = &a.copied_to {
            out!("  抄送 copied to      {} {}", district, name(district));
        }
    }
    if let Some(version) = order.catalogue_version {
        out!("  派单目录 catalogue  v{version}");
    }
    out!(
        "  响应时限 respond by {}  联系 contacted {}",
        opt(order.respond_by),
        opt(order.contacted_at)
    );
    out!(
        "  办理时限 handle by  {}  反馈 replied {}",
        opt(order.handle_by),
        opt(order.replied_at)
    );
    if let Some(visit) = &order.visit {
        out!(
            "  回访 visit          {}",
            serde_json::to_string(visit).unwrap_or_default()
        );
    }
    if let Some(ruling) = &order.unreasonable {
        out!(
            "  不合理诉求 excluded  {} ({}@{})",
            ruling.reason,
            ruling.by.user,
            ruling.by.unit
        );
    }
    out!("履历 history:");
    for event in history {
        let mut detail = serde_json::to_value(&event.payload).unwrap_or_default();
        if let Some(map) = detail.as_object_mut() {
            map.remove("event");
            if matches!(event.payload, EventPayload::Received(_)) {
                map.retain(|k, _| {
                    matches!(k.as_str(), "no" | "channel" | "request_type" | "category")
                });
            }
        }
        out!(
            "  {:>2} {} {}@{} {} {}",
            event.seq,
            format_seconds(event.at),
            event.actor.user,
            event.actor.unit,
            event.payload.label_zh(),
            detail
        );
    }
}

fn print_summaries(items: &[OrderSummary], next: Option<&str>) {
    for o in items {
        out!(
            "{}  {:<16} {:<9} {:<10} {:<30} received {}  due {}",
            o.no,
            o.stage,
            o.category,
            o.street.as_deref().or(o.district.as_deref()).unwrap_or("—"),
            o.lead_unit.as_deref().unwrap_or("—"),
            format_minutes(o.received_at),
            o.next_due_at
                .map(format_minutes)
                .unwrap_or_else(|| "—".into())
        );
    }
    eprintln!(
        "{} orders{}",
        items.len(),
        next.map(|n| format!("; next page: --after {n}"))
            .unwrap_or_default()
    );
}
