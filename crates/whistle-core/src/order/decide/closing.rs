//! Closing the loop: the return visit (回访), close, reopen and the unreasonable-request ruling.

use super::*;

pub(super) fn return_visit(
    order: &Order,
    command: &Command,
    context: &Context,
    result: &VisitResult,
) -> Result<Vec<EventPayload>, DomainError> {
    let reference = context.reference;
    let refuse = || illegal(order, command);
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

pub(super) fn close(
    order: &Order,
    command: &Command,
    context: &Context,
    note: &str,
) -> Result<Vec<EventPayload>, DomainError> {
    let reference = context.reference;
    let refuse = || illegal(order, command);
    require_center(context)?;
    if !matches!(order.stage, Stage::Visited(_)) {
        return Err(refuse());
    }
    Ok(vec![EventPayload::Closed {
        note: crate::text::optional(note, reference)?,
    }])
}

pub(super) fn reopen(
    order: &Order,
    command: &Command,
    context: &Context,
    reason: &str,
) -> Result<Vec<EventPayload>, DomainError> {
    let reference = context.reference;
    let refuse = || illegal(order, command);
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
        co_handlers: assignment.co_handlers.to_vec(),
        coordination: assignment.coordination,
    };
    let dispatched = dispatch_event(order, route, order.catalogue_version, None, context)?;
    Ok(vec![
        EventPayload::Reopened { reason },
        EventPayload::Dispatched(dispatched),
    ])
}

pub(super) fn rule_unreasonable(
    order: &Order,
    command: &Command,
    context: &Context,
    reason: &str,
) -> Result<Vec<EventPayload>, DomainError> {
    let reference = context.reference;
    let refuse = || illegal(order, command);
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
