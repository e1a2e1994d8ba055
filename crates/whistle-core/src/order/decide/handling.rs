//! Handling (办理): parts, contact, extensions, escalation and the reply.

use super::*;
use crate::calendar::TimeLimit;

pub(super) fn report_part(
    order: &Order,
    command: &Command,
    context: &Context,
    text: &str,
) -> Result<Vec<EventPayload>, DomainError> {
    let reference = context.reference;
    let refuse = || illegal(order, command);
    let actor_unit = &context.actor.unit;
    let assignment = handling(order).ok_or_else(refuse)?;
    if !assignment.co_handlers.contains(actor_unit) {
        return Err(DomainError::NotCoHandler(actor_unit.to_string()));
    }
    Ok(vec![EventPayload::PartReported {
        unit: actor_unit.clone(),
        text: crate::text::required(text, reference)?,
    }])
}

/// 指派承办人: the lead or a co-handling unit names the person who handles it for the unit.
/// Whether that login is one of the unit's people is the account store's to say (the server
/// checks it); the core checks the stage, the unit and the login's form.
pub(super) fn assign(
    order: &Order,
    command: &Command,
    context: &Context,
    to: &str,
) -> Result<Vec<EventPayload>, DomainError> {
    let assignment = handling(order).ok_or_else(|| illegal(order, command))?;
    let unit = &context.actor.unit;
    if assignment.lead != *unit && !assignment.co_handlers.contains(unit) {
        return Err(DomainError::NotLeadUnit {
            actor: unit.to_string(),
            lead: assignment.lead.to_string(),
        });
    }
    let to = to.trim();
    let valid = !to.is_empty()
        && to.len() <= 64
        && to
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.@".contains(c));
    if !valid || order.assignee(unit) == Some(to) {
        return Err(DomainError::InvalidValue {
            field: "to".into(),
            value: to.chars().take(64).collect(),
        });
    }
    Ok(vec![EventPayload::Assigned {
        unit: unit.clone(),
        to: to.to_string(),
    }])
}

pub(super) fn contact(
    order: &Order,
    command: &Command,
    context: &Context,
    note: &str,
) -> Result<Vec<EventPayload>, DomainError> {
    let reference = context.reference;
    let refuse = || illegal(order, command);
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

pub(super) fn request_extension(
    order: &Order,
    command: &Command,
    context: &Context,
    extra: &TimeLimit,
    reason: &str,
) -> Result<Vec<EventPayload>, DomainError> {
    let reference = context.reference;
    let refuse = || illegal(order, command);
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

pub(super) fn decide_extension(
    order: &Order,
    command: &Command,
    context: &Context,
    approved: &bool,
    note: &str,
) -> Result<Vec<EventPayload>, DomainError> {
    let reference = context.reference;
    let refuse = || illegal(order, command);
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

pub(super) fn escalate(
    order: &Order,
    command: &Command,
    context: &Context,
    to: &EscalationLevel,
    reason: &str,
) -> Result<Vec<EventPayload>, DomainError> {
    let reference = context.reference;
    let refuse = || illegal(order, command);
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

pub(super) fn reply(
    order: &Order,
    command: &Command,
    context: &Context,
    outcome: &ReplyOutcome,
    actions: &str,
) -> Result<Vec<EventPayload>, DomainError> {
    let reference = context.reference;
    let refuse = || illegal(order, command);
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
