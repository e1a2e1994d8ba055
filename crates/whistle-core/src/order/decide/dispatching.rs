//! Dispatch (派单), forwarding outside the system, acceptance and disputes over it.

use super::*;

pub(super) fn dispatch(
    order: &Order,
    command: &Command,
    context: &Context,
    unit: &Option<UnitCode>,
    co_handlers: &[UnitCode],
    handle_by: &Option<Timestamp>,
) -> Result<Vec<EventPayload>, DomainError> {
    let reference = context.reference;
    let refuse = || illegal(order, command);
    let actor_unit = &context.actor.unit;
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
            co_handlers: co_handlers.to_vec(),
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
                co_handlers: co_handlers.to_vec(),
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

pub(super) fn forward(
    order: &Order,
    command: &Command,
    context: &Context,
    party: &OutsideParty,
    note: &str,
) -> Result<Vec<EventPayload>, DomainError> {
    let reference = context.reference;
    let refuse = || illegal(order, command);
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

pub(super) fn record_forward_answer(
    order: &Order,
    command: &Command,
    context: &Context,
    answer: &str,
) -> Result<Vec<EventPayload>, DomainError> {
    let reference = context.reference;
    let refuse = || illegal(order, command);
    require_center(context)?;
    if !matches!(order.stage, Stage::Forwarded { .. }) {
        return Err(refuse());
    }
    Ok(vec![EventPayload::ForwardAnswered {
        answer: crate::text::required(answer, reference)?,
    }])
}

pub(super) fn accept(
    order: &Order,
    command: &Command,
    context: &Context,
) -> Result<Vec<EventPayload>, DomainError> {
    let refuse = || illegal(order, command);
    let Stage::Dispatched(assignment) = &order.stage else {
        return Err(refuse());
    };
    require_lead(assignment, context)?;
    Ok(vec![EventPayload::Accepted])
}

pub(super) fn dispute(
    order: &Order,
    command: &Command,
    context: &Context,
    reason: &str,
) -> Result<Vec<EventPayload>, DomainError> {
    let reference = context.reference;
    let refuse = || illegal(order, command);
    let assignment = handling(order).ok_or_else(refuse)?;
    require_lead(assignment, context)?;
    if order.dispute.is_some() {
        return Err(DomainError::DisputePending);
    }
    Ok(vec![EventPayload::Disputed {
        reason: crate::text::required(reason, reference)?,
    }])
}

pub(super) fn review_dispute(
    order: &Order,
    command: &Command,
    context: &Context,
    upheld: &bool,
    redispatch_to: &Option<UnitCode>,
    note: &str,
) -> Result<Vec<EventPayload>, DomainError> {
    let reference = context.reference;
    let refuse = || illegal(order, command);
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
