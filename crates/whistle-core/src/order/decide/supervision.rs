//! Supervision (督办), repeats, whistle outcomes, reveals and merges.

use super::*;

pub(super) fn supervise(
    order: &Order,
    command: &Command,
    context: &Context,
    action: &Supervision,
    note: &str,
) -> Result<Vec<EventPayload>, DomainError> {
    let reference = context.reference;
    let refuse = || illegal(order, command);
    let actor_unit = &context.actor.unit;
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
        Supervision::DueSoon { deadline, due_at } | Supervision::Overdue { deadline, due_at } => {
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
            let seen = order
                .notices
                .iter()
                .any(|n| n.deadline == *deadline && n.overdue == overdue && n.due_at == *due_at);
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

pub(super) fn link_repeat(
    order: &Order,
    context: &Context,
    earlier: &OrderNo,
) -> Result<Vec<EventPayload>, DomainError> {
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

pub(super) fn record_whistle_outcome(
    context: &Context,
    whistle: &str,
    result: &crate::whistle::WhistleResult,
    reasons: &str,
) -> Result<Vec<EventPayload>, DomainError> {
    let reference = context.reference;
    let actor_unit = &context.actor.unit;
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

pub(super) fn reveal_requester(
    context: &Context,
    reason: &str,
) -> Result<Vec<EventPayload>, DomainError> {
    let reference = context.reference;
    // Who may see personal data is the server's role check; the core insists on a reason
    // and records the reveal, so every access is in the order's history.
    Ok(vec![EventPayload::RequesterRevealed {
        reason: crate::text::required(reason, reference)?,
    }])
}

pub(super) fn merge(
    order: &Order,
    command: &Command,
    context: &Context,
    into: &OrderNo,
) -> Result<Vec<EventPayload>, DomainError> {
    let refuse = || illegal(order, command);
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
