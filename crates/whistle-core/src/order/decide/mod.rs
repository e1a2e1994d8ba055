//! Deciding commands: the rules of the order's life. Pure: the same order, command and context
//! always give the same events or the same refusal.

mod closing;
mod dispatching;
mod handling;
mod supervision;

use super::*;
use crate::catalogue::Route;
use crate::org::{UnitKind, UnitStatus};
use crate::reference::Reference;

/// What a command is decided against besides the order: who, when, and the reference data.
pub struct Context<'a> {
    pub now: Timestamp,
    pub actor: &'a Actor,
    pub reference: &'a Reference,
}

/// Decides the intake of a new order numbered `no`: validates and completes the request, then
/// either leaves it pending dispatch or closes it with its triage disposition.
pub fn intake(
    command: &Intake,
    no: OrderNo,
    context: &Context,
) -> Result<Vec<EventPayload>, DomainError> {
    let reference = context.reference;
    check_actor_exists(context)?;
    let bounds = &reference.policy.time;
    bounds.check("at", context.now)?;
    let received_at = bounds.check("received_at", command.received_at.unwrap_or(context.now))?;
    if received_at > context.now {
        return Err(DomainError::TimeInFuture);
    }
    let text = crate::text::required_within(&command.text, reference.policy.text_max_chars)?;
    let category = reference.taxonomy.require_leaf(&command.category)?;
    let location = complete_location(&command.location, reference)?;
    match &command.triage {
        Triage::Dispatch => {}
        Triage::TransferEmergency { .. } => {}
        // A closing disposition must say what the requester was told.
        Triage::AnswerNow { answer: text }
        | Triage::ProperChannel { channel: text }
        | Triage::SecretOrPrivacy { explanation: text }
        | Triage::OutOfScope { referred_to: text }
        | Triage::IllegalDemand { explanation: text } => {
            crate::text::required(text, reference)?;
        }
        Triage::RepeatNoNew { earlier } => {
            if earlier == &no {
                return Err(DomainError::SelfReference);
            }
        }
    }
    let mut events = vec![EventPayload::Received(Received {
        no,
        received_at,
        channel: command.channel,
        request_type: command.request_type,
        text,
        category: command.category.clone(),
        urgency: command.urgency.unwrap_or(category.urgency),
        location,
    })];
    if let Triage::RepeatNoNew { earlier } = &command.triage {
        events.push(EventPayload::Linked {
            earlier: earlier.clone(),
        });
    }
    if command.triage != Triage::Dispatch {
        events.push(EventPayload::TriageClosed {
            disposition: command.triage.clone(),
        });
    }
    Ok(events)
}

/// Decides a command on an existing order.
pub fn decide(
    order: &Order,
    command: &Command,
    context: &Context,
) -> Result<Vec<EventPayload>, DomainError> {
    check_actor_exists(context)?;
    context.reference.policy.time.check("at", context.now)?;
    if context.now < order.last_event_at {
        return Err(DomainError::TimeBeforeLastEvent);
    }
    match command {
        Command::Dispatch {
            unit,
            co_handlers,
            handle_by,
        } => dispatching::dispatch(order, command, context, unit, co_handlers, handle_by),
        Command::Forward { party, note } => {
            dispatching::forward(order, command, context, party, note)
        }
        Command::RecordForwardAnswer { answer } => {
            dispatching::record_forward_answer(order, command, context, answer)
        }
        Command::Accept => dispatching::accept(order, command, context),
        Command::Assign { to } => handling::assign(order, command, context, to),
        Command::Dispute { reason } => dispatching::dispute(order, command, context, reason),
        Command::ReviewDispute {
            upheld,
            redispatch_to,
            note,
        } => dispatching::review_dispute(order, command, context, upheld, redispatch_to, note),
        Command::ReportPart { text } => handling::report_part(order, command, context, text),
        Command::Contact { note } => handling::contact(order, command, context, note),
        Command::RequestExtension { extra, reason } => {
            handling::request_extension(order, command, context, extra, reason)
        }
        Command::DecideExtension { approved, note } => {
            handling::decide_extension(order, command, context, approved, note)
        }
        Command::Escalate { to, reason } => handling::escalate(order, command, context, to, reason),
        Command::Reply { outcome, actions } => {
            handling::reply(order, command, context, outcome, actions)
        }
        Command::ReturnVisit { result } => closing::return_visit(order, command, context, result),
        Command::Close { note } => closing::close(order, command, context, note),
        Command::Reopen { reason } => closing::reopen(order, command, context, reason),
        Command::RuleUnreasonable { reason } => {
            closing::rule_unreasonable(order, command, context, reason)
        }
        Command::Supervise { action, note } => {
            supervision::supervise(order, command, context, action, note)
        }
        Command::LinkRepeat { earlier } => supervision::link_repeat(order, context, earlier),
        Command::RecordWhistleOutcome {
            whistle,
            result,
            reasons,
        } => supervision::record_whistle_outcome(context, whistle, result, reasons),
        Command::RevealRequester { reason } => supervision::reveal_requester(context, reason),
        Command::Merge { into } => supervision::merge(order, command, context, into),
    }
}

/// The refusal of a command the order's stage does not allow.
fn illegal(order: &Order, command: &Command) -> DomainError {
    DomainError::IllegalTransition {
        stage: order.stage.name().into(),
        command: command.name().into(),
    }
}

fn action_name(overdue: bool) -> &'static str {
    if overdue {
        "overdue"
    } else {
        "due_soon"
    }
}

/// The assignment while the order is being handled (dispatched or accepted).
fn handling(order: &Order) -> Option<&Assignment> {
    match &order.stage {
        Stage::Dispatched(a) | Stage::Accepted(a) => Some(a),
        _ => None,
    }
}

fn dispatch_event(
    order: &Order,
    route: Route,
    catalogue_version: Option<u32>,
    handle_by: Option<Timestamp>,
    context: &Context,
) -> Result<Dispatched, DomainError> {
    let reference = context.reference;
    let directory = &reference.directory;
    let lead = directory.check_handler(&route.lead)?;
    let mut co_handlers = Vec::new();
    for code in route.co_handlers {
        directory.check_handler(&code)?;
        if code != route.lead && !co_handlers.contains(&code) {
            co_handlers.push(code);
        }
    }
    let copied_to = if lead.kind.is_street_level() || lead.kind.is_community_level() {
        directory
            .district_of(&lead.code)
            .map(|district| district.code.clone())
    } else {
        None
    };
    let category_class = reference
        .taxonomy
        .require_leaf(&order.category)?
        .limit_class;
    let limits = reference.policy.limits_for(
        order.request_type,
        &order.category,
        order.urgency,
        category_class,
    );
    let respond = reference.calendar.deadline(context.now, limits.respond)?;
    let handle = reference.calendar.deadline(context.now, limits.handle)?;
    let mut fallback_years = respond.fallback_years;
    fallback_years.extend(handle.fallback_years);
    let handle_by = match handle_by {
        Some(at) if at < order.received_at => return Err(DomainError::DeadlineBeforeIntake),
        Some(at) if at <= context.now => {
            return Err(DomainError::InvalidValue {
                field: "handle_by".into(),
                value: at.to_rfc3339(),
            })
        }
        Some(at) => reference
            .policy
            .time
            .check_span("handle_by", context.now, at)?,
        None => handle.at,
    };
    Ok(Dispatched {
        lead: route.lead,
        co_handlers,
        copied_to,
        coordination: route.coordination || lead.kind == UnitKind::District,
        catalogue_version,
        respond_by: respond.at.min(handle_by),
        handle_by,
        respond_limit: limits.respond,
        handle_limit: limits.handle,
        fallback_years,
    })
}

/// Checks the codes given and fills in the levels above the most specific one.
fn complete_location(location: &Location, reference: &Reference) -> Result<Location, DomainError> {
    let directory = &reference.directory;
    let mut completed = location.clone();
    let territory = &mut completed.territory;
    let invalid = |why: String| DomainError::InvalidLocation(why);
    if let Some(code) = &territory.community {
        let unit = directory.require(code)?;
        if !unit.kind.is_community_level() {
            return Err(invalid(format!("{code} is not a community or village")));
        }
        let street = unit
            .parent
            .clone()
            .ok_or_else(|| invalid(format!("{code} has no street")))?;
        if territory
            .street
            .as_ref()
            .is_some_and(|given| given != &street)
        {
            return Err(invalid(format!("{code} is not in {street}")));
        }
        territory.street = Some(street);
    }
    if let Some(code) = &territory.street {
        let unit = directory.require(code)?;
        if !(unit.kind.is_street_level() || unit.kind == UnitKind::StatisticalZone) {
            return Err(invalid(format!("{code} is not a street or township")));
        }
        let district = directory
            .district_of(code)
            .map(|d| d.code.clone())
            .ok_or_else(|| invalid(format!("{code}")))?;
        if territory
            .district
            .as_ref()
            .is_some_and(|given| given != &district)
        {
            return Err(invalid(format!("{code} is not in {district}")));
        }
        territory.district = Some(district);
    }
    if let Some(code) = &territory.district {
        if directory.require(code)?.kind != UnitKind::District {
            return Err(invalid(format!("{code} is not a district")));
        }
    }
    if let Some(grid) = &completed.grid {
        directory.require(grid)?;
    }
    if let Some(address) = &completed.address {
        if address.chars().count() > 500 {
            return Err(DomainError::TextTooLong {
                length: address.chars().count(),
                max: 500,
            });
        }
    }
    for (name, value, range) in [
        ("latitude", completed.latitude, 3.0..=54.0),
        ("longitude", completed.longitude, 73.0..=136.0),
    ] {
        if let Some(value) = value {
            if !range.contains(&value) {
                return Err(invalid(format!("{name} {value} is outside China")));
            }
        }
    }
    Ok(completed)
}

fn check_actor_exists(context: &Context) -> Result<(), DomainError> {
    if context.actor.user.trim().is_empty() || context.actor.user.chars().count() > 100 {
        return Err(DomainError::InvalidValue {
            field: "actor".into(),
            value: context.actor.user.clone(),
        });
    }
    context
        .reference
        .directory
        .require(&context.actor.unit)
        .map(|_| ())
}

fn require_center(context: &Context) -> Result<(), DomainError> {
    let unit = context.reference.directory.require(&context.actor.unit)?;
    if unit.kind == UnitKind::DispatchCenter {
        Ok(())
    } else {
        Err(DomainError::NotDispatchCenter(unit.code.to_string()))
    }
}

fn require_lead(assignment: &Assignment, context: &Context) -> Result<(), DomainError> {
    if assignment.lead == context.actor.unit {
        Ok(())
    } else {
        Err(DomainError::NotLeadUnit {
            actor: context.actor.unit.to_string(),
            lead: assignment.lead.to_string(),
        })
    }
}

fn missing(field: &str) -> DomainError {
    DomainError::InvalidValue {
        field: field.into(),
        value: String::new(),
    }
}
