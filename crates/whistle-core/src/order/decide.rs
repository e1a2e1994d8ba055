//! Deciding commands: the rules of the order's life. Pure: the same order, command and context
//! always give the same events or the same refusal.

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
    let reference = context.reference;
    let refuse = || DomainError::IllegalTransition {
        stage: order.stage.name().into(),
        command: command.name().into(),
    };
    let actor_unit = &context.actor.unit;
    match command {
        Command::Dispatch {
            unit,
            co_handlers,
            handle_by,
        } => {
            let coordinating = match &order.stage {
                Stage::PendingDispatch => false,
                Stage::Dispatched(a) | Stage::Accepted(a) if a.coordination => true,
                _ => return Err(refuse()),
            };
            if coordinating {
                // The district passes a coordinated order on; the clock keeps running.
                let lead = order.lead().ok_or_else(refuse)?;
                if actor_unit != lead {
                    require_center(context)?;
                }
                let unit = unit.clone().ok_or_else(|| missing("unit"))?;
                let route = Route {
                    lead: unit,
                    co_handlers: co_handlers.clone(),
                    coordination: false,
                };
                let mut dispatched = dispatch_event(order, route, None, None, context)?;
                dispatched.respond_by = order.respond_by.unwrap_or(dispatched.respond_by);
                dispatched.handle_by = order.handle_by.unwrap_or(dispatched.handle_by);
                return Ok(vec![EventPayload::Dispatched(dispatched)]);
            }
            require_center(context)?;
            let (route, version) = match unit {
                Some(unit) => {
                    let kind = reference.directory.check_handler(unit)?.kind;
                    if kind.is_community_level() {
                        reference.duties.check_lead(kind, unit, &order.category)?;
                    }
                    let route = Route {
                        lead: unit.clone(),
                        co_handlers: co_handlers.clone(),
                        coordination: kind == UnitKind::District,
                    };
                    (route, None)
                }
                None => {
                    let mut route = reference.catalogue.route(
                        &order.category,
                        &order.location.territory,
                        &reference.directory,
                        &reference.duties,
                        &reference.city,
                    )?;
                    for extra in co_handlers {
                        if !route.co_handlers.contains(extra) && extra != &route.lead {
                            route.co_handlers.push(extra.clone());
                        }
                    }
                    (route, Some(reference.catalogue.version))
                }
            };
            Ok(vec![EventPayload::Dispatched(dispatch_event(
                order, route, version, *handle_by, context,
            )?)])
        }
        Command::Forward { party, note } => {
            require_center(context)?;
            if order.stage != Stage::PendingDispatch {
                return Err(refuse());
            }
            if let OutsideParty::CentralUnit { name } = party {
                crate::text::required(name, reference)?;
            }
            Ok(vec![EventPayload::Forwarded {
                party: party.clone(),
                note: crate::text::optional(note, reference)?,
            }])
        }
        Command::RecordForwardAnswer { answer } => {
            require_center(context)?;
            if !matches!(order.stage, Stage::Forwarded { .. }) {
                return Err(refuse());
            }
            Ok(vec![EventPayload::ForwardAnswered {
                answer: crate::text::required(answer, reference)?,
            }])
        }
        Command::Accept => {
            let Stage::Dispatched(assignment) = &order.stage else {
                return Err(refuse());
            };
            require_lead(assignment, context)?;
            Ok(vec![EventPayload::Accepted])
        }
        Command::Dispute { reason } => {
            let assignment = handling(order).ok_or_else(refuse)?;
            require_lead(assignment, context)?;
            if order.dispute.is_some() {
                return Err(DomainError::DisputePending);
            }
            Ok(vec![EventPayload::Disputed {
                reason: crate::text::required(reason, reference)?,
            }])
        }
        Command::ReviewDispute {
            upheld,
            redispatch_to,
            note,
        } => {
            require_center(context)?;
            handling(order).ok_or_else(refuse)?;
            if order.dispute.is_none() {
                return Err(DomainError::NoPendingDispute);
            }
            let note = crate::text::optional(note, reference)?;
            let mut events = vec![EventPayload::DisputeReviewed {
                upheld: *upheld,
                note,
            }];
            if *upheld {
                let target = redispatch_to
                    .clone()
                    .ok_or_else(|| missing("redispatch_to"))?;
                if Some(&target) == order.lead() {
                    return Err(DomainError::SameUnit);
                }
                let kind = reference.directory.check_handler(&target)?.kind;
                if kind.is_community_level() {
                    reference
                        .duties
                        .check_lead(kind, &target, &order.category)?;
                }
                let route = Route {
                    lead: target,
                    co_handlers: Vec::new(),
                    coordination: kind == UnitKind::District,
                };
                events.push(EventPayload::Dispatched(dispatch_event(
                    order, route, None, None, context,
                )?));
            }
            Ok(events)
        }
        Command::ReportPart { text } => {
            let assignment = handling(order).ok_or_else(refuse)?;
            if !assignment.co_handlers.contains(actor_unit) {
                return Err(DomainError::NotCoHandler(actor_unit.to_string()));
            }
            Ok(vec![EventPayload::PartReported {
                unit: actor_unit.clone(),
                text: crate::text::required(text, reference)?,
            }])
        }
        Command::Contact { note } => {
            let Stage::Accepted(assignment) = &order.stage else {
                return Err(refuse());
            };
            require_lead(assignment, context)?;
            let in_time = order.respond_by.is_none_or(|due| context.now <= due);
            Ok(vec![EventPayload::Contacted {
                note: crate::text::optional(note, reference)?,
                in_time,
            }])
        }
        Command::RequestExtension { extra, reason } => {
            let Stage::Accepted(assignment) = &order.stage else {
                return Err(refuse());
            };
            require_lead(assignment, context)?;
            if order.extension.is_some() {
                return Err(DomainError::ExtensionPending);
            }
            let current = order.handle_by.ok_or_else(refuse)?;
            let until = reference.calendar.deadline(current, *extra)?.at;
            reference
                .policy
                .time
                .check_span("extra", context.now, until)?;
            if until <= current {
                return Err(DomainError::InvalidValue {
                    field: "extra".into(),
                    value: extra.to_string(),
                });
            }
            Ok(vec![EventPayload::ExtensionRequested {
                until,
                reason: crate::text::required(reason, reference)?,
            }])
        }
        Command::DecideExtension { approved, note } => {
            require_center(context)?;
            handling(order).ok_or_else(refuse)?;
            let pending = order
                .extension
                .as_ref()
                .ok_or(DomainError::NoPendingExtension)?;
            Ok(vec![EventPayload::ExtensionDecided {
                approved: *approved,
                until: pending.until,
                note: crate::text::optional(note, reference)?,
            }])
        }
        Command::Escalate { to, reason } => {
            let assignment = handling(order).ok_or_else(refuse)?;
            require_lead(assignment, context)?;
            if order.escalation.is_some_and(|level| level >= *to) {
                return Err(DomainError::InvalidValue {
                    field: "to".into(),
                    value: to.to_string(),
                });
            }
            Ok(vec![EventPayload::Escalated {
                to: *to,
                reason: crate::text::required(reason, reference)?,
            }])
        }
        Command::Reply { outcome, actions } => {
            let Stage::Accepted(assignment) = &order.stage else {
                return Err(refuse());
            };
            require_lead(assignment, context)?;
            let in_time = order.handle_by.is_none_or(|due| context.now <= due);
            Ok(vec![EventPayload::Replied {
                outcome: *outcome,
                actions: crate::text::required(actions, reference)?,
                in_time,
            }])
        }
        Command::ReturnVisit { result } => {
            require_center(context)?;
            match &order.stage {
                Stage::Replied(_) => {}
                Stage::Dispatched(_) | Stage::Accepted(_) => {
                    if order.handle_by.is_none_or(|due| context.now <= due) {
                        return Err(DomainError::VisitTooEarly);
                    }
                }
                _ => return Err(refuse()),
            }
            if let VisitResult::Invalid { reason } = result {
                crate::text::required(reason, reference)?;
            }
            Ok(vec![EventPayload::Visited {
                result: result.clone(),
            }])
        }
        Command::Close { note } => {
            require_center(context)?;
            if !matches!(order.stage, Stage::Visited(_)) {
                return Err(refuse());
            }
            Ok(vec![EventPayload::Closed {
                note: crate::text::optional(note, reference)?,
            }])
        }
        Command::Reopen { reason } => {
            require_center(context)?;
            let assignment = match &order.stage {
                Stage::Visited(a) | Stage::Closed(Closure::Handled(a)) => a,
                _ => return Err(refuse()),
            };
            if order.unreasonable.is_some() {
                return Err(DomainError::ReopenRefused(
                    "the demand was ruled unreasonable".into(),
                ));
            }
            let reason = crate::text::required(reason, reference)?;
            let lead = reference.directory.require(&assignment.lead)?;
            if lead.status == UnitStatus::Retired {
                return Err(DomainError::UnitRetired(lead.code.to_string()));
            }
            let route = Route {
                lead: assignment.lead.clone(),
                co_handlers: assignment.co_handlers.clone(),
                coordination: assignment.coordination,
            };
            let dispatched = dispatch_event(order, route, order.catalogue_version, None, context)?;
            Ok(vec![
                EventPayload::Reopened { reason },
                EventPayload::Dispatched(dispatched),
            ])
        }
        Command::RuleUnreasonable { reason } => {
            require_center(context)?;
            if !matches!(
                order.stage,
                Stage::Replied(_) | Stage::Visited(_) | Stage::Closed(Closure::Handled(_))
            ) {
                return Err(refuse());
            }
            if order.unreasonable.is_some() {
                return Err(DomainError::AlreadyRuledUnreasonable);
            }
            Ok(vec![EventPayload::RuledUnreasonable {
                reason: crate::text::required(reason, reference)?,
            }])
        }
        Command::Supervise { action, note } => {
            let unit = reference.directory.require(actor_unit)?;
            if !matches!(
                unit.kind,
                UnitKind::DispatchCenter | UnitKind::District | UnitKind::City
            ) {
                return Err(DomainError::NotDispatchCenter(actor_unit.to_string()));
            }
            if order.is_closed() {
                return Err(refuse());
            }
            match action {
                Supervision::Flag | Supervision::Urge => {}
                Supervision::DueSoon { deadline, due_at }
                | Supervision::Overdue { deadline, due_at } => {
                    let overdue = matches!(action, Supervision::Overdue { .. });
                    if order.running_deadline(*deadline) != Some(*due_at) {
                        return Err(DomainError::InvalidValue {
                            field: "due_at".into(),
                            value: due_at.to_rfc3339(),
                        });
                    }
                    if overdue != (context.now > *due_at) {
                        return Err(DomainError::InvalidValue {
                            field: "action".into(),
                            value: action_name(overdue).into(),
                        });
                    }
                    let seen = order.notices.iter().any(|n| {
                        n.deadline == *deadline && n.overdue == overdue && n.due_at == *due_at
                    });
                    if seen {
                        return Err(DomainError::AlreadyNotified);
                    }
                }
            }
            Ok(vec![EventPayload::Supervised {
                action: action.clone(),
                note: crate::text::optional(note, reference)?,
            }])
        }
        Command::LinkRepeat { earlier } => {
            require_center(context)?;
            if earlier == &order.no {
                return Err(DomainError::SelfReference);
            }
            if order.linked_to.contains(earlier) {
                return Err(DomainError::InvalidValue {
                    field: "earlier".into(),
                    value: earlier.to_string(),
                });
            }
            Ok(vec![EventPayload::Linked {
                earlier: earlier.clone(),
            }])
        }
        Command::RecordWhistleOutcome {
            whistle,
            result,
            reasons,
        } => {
            // Recorded in any stage: the joint action may end after the order was answered.
            let kind = reference.directory.require(actor_unit)?.kind;
            if !kind.is_street_level() {
                return Err(DomainError::NotWhistleStreet);
            }
            if whistle.trim().is_empty() {
                return Err(missing("whistle"));
            }
            Ok(vec![EventPayload::WhistleOutcomeRecorded {
                whistle: whistle.trim().to_string(),
                result: *result,
                reasons: crate::text::optional(reasons, reference)?,
            }])
        }
        Command::RevealRequester { reason } => {
            // Who may see personal data is the server's role check; the core insists on a reason
            // and records the reveal, so every access is in the order's history.
            Ok(vec![EventPayload::RequesterRevealed {
                reason: crate::text::required(reason, reference)?,
            }])
        }
        Command::Merge { into } => {
            require_center(context)?;
            if into == &order.no {
                return Err(DomainError::SelfReference);
            }
            // A duplicate is merged before anyone has answered it; after a reply it has a life of its own.
            if !matches!(
                order.stage,
                Stage::PendingDispatch
                    | Stage::Forwarded { .. }
                    | Stage::Dispatched(_)
                    | Stage::Accepted(_)
            ) {
                return Err(refuse());
            }
            Ok(vec![EventPayload::Merged { into: into.clone() }])
        }
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
