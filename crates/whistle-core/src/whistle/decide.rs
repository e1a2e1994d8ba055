//! Deciding whistle commands: who may do what, when. Pure.

use super::list::WhistleList;
use super::*;
use crate::org::UnitKind;
use crate::reference::Reference;

pub struct WhistleContext<'a> {
    pub now: Timestamp,
    pub actor: &'a Actor,
    pub reference: &'a Reference,
}

/// Units in the street's district, or city-level units (departments and enterprises serve every
/// district), may be summoned; others need the district's approval reference.
fn summonable(
    unit: &UnitCode,
    district: &UnitCode,
    override_reference: Option<&str>,
    reference: &Reference,
) -> Result<(), DomainError> {
    let directory = &reference.directory;
    let found = directory.check_handler(unit)?;
    let in_district = directory.district_of(unit).map(|d| &d.code) == Some(district);
    let city_level = found.parent.as_ref() == Some(&reference.city);
    if in_district || city_level || override_reference.is_some_and(|r| !r.trim().is_empty()) {
        Ok(())
    } else {
        Err(DomainError::OutOfDistrict(unit.to_string()))
    }
}

fn summons(
    unit: UnitCode,
    role: SummonsRole,
    kind: WhistleKind,
    now: Timestamp,
    reference: &Reference,
) -> Result<Summons, DomainError> {
    let limit = reference
        .policy
        .report_in
        .get(&kind)
        .copied()
        .unwrap_or(crate::calendar::TimeLimit::Hours(2));
    Ok(Summons {
        unit,
        role,
        summoned_at: now,
        report_in_by: reference.calendar.deadline(now, limit)?.at,
        report: None,
        absent_at: None,
        decision: None,
        released: false,
    })
}

/// Decides a raise by the street the actor acts for. `order_lead` is the lead unit of the work
/// order named in the raise, looked up by the caller: the street must hold it.
pub fn raise(
    raise: &Raise,
    no: String,
    order_lead: Option<&UnitCode>,
    context: &WhistleContext,
) -> Result<WhistleEvent, DomainError> {
    let reference = context.reference;
    let directory = &reference.directory;
    let street = directory.require(&context.actor.unit)?;
    if !street.kind.is_street_level() {
        return Err(DomainError::NotWhistleStreet);
    }
    let district = directory
        .district_of(&street.code)
        .map(|d| d.code.clone())
        .ok_or_else(|| DomainError::InvalidReference(format!("{} has no district", street.code)))?;
    if let Some(order) = &raise.order {
        if order_lead != Some(&street.code) {
            return Err(DomainError::NotLeadUnit {
                actor: street.code.to_string(),
                lead: order_lead
                    .map(|l| l.to_string())
                    .unwrap_or_else(|| order.to_string()),
            });
        }
    }
    // What is recorded is what was checked: trimmed texts.
    let mut checked = raise.clone();
    checked.place = crate::text::required(&raise.place, reference)?;
    checked.needed = crate::text::required(&raise.needed, reference)?;
    match &raise.list_item {
        Some(code) => {
            let item = reference
                .whistle_list
                .item_for(code, &street.code, directory)
                .ok_or_else(|| DomainError::UnknownWhistleListItem(code.clone()))?;
            if item.kind != raise.kind {
                return Err(DomainError::InvalidValue {
                    field: "kind".into(),
                    value: raise.kind.to_string(),
                });
            }
            // The list gives the defaults; the street may name other units.
            let (lead, assisting) =
                WhistleList::resolve(item, &street.code, directory, &reference.city)?;
            if checked.lead.is_none() {
                checked.lead = Some(lead);
            }
            if checked.assisting.is_empty() {
                checked.assisting = assisting;
            }
            checked.off_list_reason = None;
        }
        None => {
            checked.off_list_reason = Some(crate::text::required(
                raise.off_list_reason.as_deref().unwrap_or(""),
                reference,
            )?);
        }
    }
    let lead = checked
        .lead
        .clone()
        .ok_or(DomainError::WhistleLeadMissing)?;
    let mut units = vec![(lead, SummonsRole::Lead)];
    for unit in &checked.assisting {
        if units.iter().all(|(u, _)| u != unit) {
            units.push((unit.clone(), SummonsRole::Assist));
        }
    }
    let mut summoned = Vec::new();
    for (unit, role) in units {
        if unit == street.code {
            return Err(DomainError::SelfReference);
        }
        summonable(
            &unit,
            &district,
            raise.override_reference.as_deref(),
            reference,
        )?;
        summoned.push(summons(unit, role, raise.kind, context.now, reference)?);
    }
    Ok(WhistleEvent::Raised {
        no,
        district,
        raise: checked,
        summons: summoned,
    })
}

pub fn decide(
    whistle: &Whistle,
    command: &WhistleCommand,
    context: &WhistleContext,
) -> Result<Vec<WhistleEvent>, DomainError> {
    let reference = context.reference;
    let now = context.now;
    let actor = &context.actor.unit;
    reference.policy.time.check("at", now)?;
    if now < whistle.last_event_at {
        return Err(DomainError::TimeBeforeLastEvent);
    }
    let refuse = || DomainError::IllegalTransition {
        stage: match whistle.stage {
            WhistleStage::Open => "open".into(),
            WhistleStage::Closed => "closed".into(),
        },
        command: command.name().into(),
    };
    let open = whistle.stage == WhistleStage::Open;
    let by_street = || {
        if actor == &whistle.street {
            Ok(())
        } else {
            Err(DomainError::NotWhistleStreet)
        }
    };
    let by_district = || {
        if actor == &whistle.district {
            Ok(())
        } else {
            Err(DomainError::NotWhistleDistrict)
        }
    };
    let expected = |unit: &UnitCode| {
        whistle
            .summons_of(unit)
            .filter(|s| s.expected())
            .ok_or_else(|| DomainError::NotSummoned(unit.to_string()))
    };
    match command {
        WhistleCommand::ReportIn { people } => {
            if !open {
                return Err(refuse());
            }
            let summons = expected(actor)?;
            if summons.report.is_some() {
                return Err(DomainError::AlreadyReportedIn(actor.to_string()));
            }
            if *people == 0 || *people > 10_000 {
                return Err(DomainError::InvalidValue {
                    field: "people".into(),
                    value: people.to_string(),
                });
            }
            Ok(vec![WhistleEvent::ReportedIn {
                unit: actor.clone(),
                people: *people,
                on_time: now <= summons.report_in_by,
            }])
        }
        WhistleCommand::MarkAbsent { unit } => {
            let kind = reference.directory.require(actor)?.kind;
            if !matches!(kind, UnitKind::DispatchCenter | UnitKind::District) {
                return Err(DomainError::NotDispatchCenter(actor.to_string()));
            }
            if !whistle.absences_due(now).contains(unit) {
                return Err(DomainError::InvalidValue {
                    field: "unit".into(),
                    value: unit.to_string(),
                });
            }
            let mut events = vec![WhistleEvent::MarkedAbsent { unit: unit.clone() }];
            if whistle.escalated_at.is_none() {
                events.push(WhistleEvent::Escalated);
            }
            Ok(events)
        }
        WhistleCommand::ResolveAbsence { unit, decision } => {
            by_district()?;
            if !open {
                return Err(refuse());
            }
            let summons = expected(unit)?;
            if summons.absent_at.is_none() {
                return Err(DomainError::InvalidValue {
                    field: "unit".into(),
                    value: unit.to_string(),
                });
            }
            let new_summons = match decision {
                AbsenceDecision::Order => Some(self::summons(
                    unit.clone(),
                    summons.role,
                    whistle.kind,
                    now,
                    reference,
                )?),
                AbsenceDecision::Replace { with } => {
                    if with == unit || whistle.summons_of(with).is_some_and(|s| s.expected()) {
                        return Err(DomainError::SameUnit);
                    }
                    summonable(
                        with,
                        &whistle.district,
                        Some("district decision"),
                        reference,
                    )?;
                    Some(self::summons(
                        with.clone(),
                        summons.role,
                        whistle.kind,
                        now,
                        reference,
                    )?)
                }
                AbsenceDecision::NotDuty => None,
            };
            Ok(vec![WhistleEvent::AbsenceResolved {
                unit: unit.clone(),
                decision: decision.clone(),
                new_summons,
            }])
        }
        WhistleCommand::AssignTask { unit, text: task } => {
            by_street()?;
            if !open {
                return Err(refuse());
            }
            expected(unit)?;
            let id = whistle.tasks.iter().map(|t| t.id).max().unwrap_or(0) + 1;
            Ok(vec![WhistleEvent::TaskAssigned {
                task: id,
                unit: unit.clone(),
                text: crate::text::required(task, reference)?,
            }])
        }
        WhistleCommand::CompleteTask { task, note, photos } => {
            if !open {
                return Err(refuse());
            }
            let found = whistle
                .tasks
                .iter()
                .find(|t| t.id == *task)
                .ok_or_else(|| DomainError::InvalidValue {
                    field: "task".into(),
                    value: task.to_string(),
                })?;
            if &found.unit != actor {
                return Err(DomainError::NotLeadUnit {
                    actor: actor.to_string(),
                    lead: found.unit.to_string(),
                });
            }
            if found.done.is_some() {
                return Err(refuse());
            }
            crate::text::photos(photos)?;
            Ok(vec![WhistleEvent::TaskCompleted {
                task: *task,
                note: crate::text::required(note, reference)?,
                photos: photos.clone(),
            }])
        }
        WhistleCommand::HoldConsultation {
            participants,
            decisions,
        } => {
            if actor != &whistle.street && actor != &whistle.district {
                return Err(DomainError::NotWhistleStreet);
            }
            if participants.is_empty() || decisions.is_empty() {
                return Err(DomainError::InvalidValue {
                    field: "decisions".into(),
                    value: String::new(),
                });
            }
            for unit in participants
                .iter()
                .chain(decisions.iter().map(|d| &d.binds))
            {
                reference.directory.require(unit)?;
            }
            for decision in decisions {
                crate::text::required(&decision.text, reference)?;
            }
            Ok(vec![WhistleEvent::ConsultationHeld {
                participants: participants.clone(),
                decisions: decisions.clone(),
            }])
        }
        WhistleCommand::Close { result, reasons } => {
            by_street()?;
            if !open {
                return Err(refuse());
            }
            let reasons = match result {
                WhistleResult::Solved => reasons.trim().to_string(),
                _ => crate::text::required(reasons, reference)?,
            };
            Ok(vec![WhistleEvent::Closed {
                result: *result,
                reasons,
            }])
        }
        WhistleCommand::Rate {
            unit,
            scores,
            comment,
        } => {
            by_street()?;
            if open {
                return Err(refuse());
            }
            let summons = whistle
                .summons_of(unit)
                .ok_or_else(|| DomainError::NotSummoned(unit.to_string()))?;
            if summons.decision == Some(AbsenceDecision::NotDuty) {
                return Err(DomainError::NotSummoned(unit.to_string()));
            }
            if whistle.ratings.iter().any(|r| &r.unit == unit) {
                return Err(DomainError::AlreadyRated(unit.to_string()));
            }
            for score in [scores.response, scores.cooperation, scores.result] {
                if !(1..=5).contains(&score) {
                    return Err(DomainError::InvalidValue {
                        field: "score".into(),
                        value: score.to_string(),
                    });
                }
            }
            let objection_until = reference
                .calendar
                .deadline(now, reference.policy.rating_objection_window)?
                .at;
            Ok(vec![WhistleEvent::Rated {
                unit: unit.clone(),
                scores: *scores,
                comment: comment.trim().to_string(),
                objection_until,
            }])
        }
        WhistleCommand::Object { reason } => {
            let rating = whistle
                .ratings
                .iter()
                .find(|r| &r.unit == actor)
                .ok_or_else(|| DomainError::NotSummoned(actor.to_string()))?;
            if rating.objection.is_some() {
                return Err(refuse());
            }
            if now > rating.objection_until {
                return Err(DomainError::ObjectionWindowClosed);
            }
            Ok(vec![WhistleEvent::Objected {
                unit: actor.clone(),
                reason: crate::text::required(reason, reference)?,
            }])
        }
        WhistleCommand::DecideObjection { unit, upheld, note } => {
            by_district()?;
            let pending = whistle
                .ratings
                .iter()
                .find(|r| &r.unit == unit)
                .and_then(|r| r.objection.as_ref())
                .is_some_and(|o| o.upheld.is_none());
            if !pending {
                return Err(refuse());
            }
            Ok(vec![WhistleEvent::ObjectionDecided {
                unit: unit.clone(),
                upheld: *upheld,
                note: note.trim().to_string(),
            }])
        }
    }
}
