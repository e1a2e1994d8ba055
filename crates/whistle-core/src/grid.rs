//! Grid discovery (网格发现): a grid worker (网格员), lane chief (街巷长) or lane steward (小巷管家)
//! reports a problem; it enters the street's queue; the street handles it itself, dispatches it to
//! a department, or whistles; the handler reports back; someone other than the handler verifies
//! on site (核查) — verified closes it, rejected sends it back. The digital-urban-management loop
//! (CJ/T 315): found → filed → dispatched → handled → fed back → verified, each timestamped.

use serde::{Deserialize, Serialize};

use crate::error::DomainError;
use crate::ids::{Actor, CategoryCode, UnitCode};
use crate::org::UnitKind;
use crate::reference::Reference;
use crate::time::Timestamp;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReporterRole {
    /// 网格员
    GridWorker,
    /// 街巷长
    LaneChief,
    /// 小巷管家
    LaneSteward,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
/// The API refuses fields it does not know (`invalid_field`).
#[schemars(deny_unknown_fields)]
pub struct Report {
    pub role: ReporterRole,
    /// When it was found (before or at the report).
    pub found_at: Timestamp,
    pub category: CategoryCode,
    pub description: String,
    pub place: String,
    #[serde(default)]
    pub photos: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum GridStage {
    /// In the street's queue.
    Filed,
    /// With a handler (the street itself, a department, or a whistle's lead).
    Dispatched,
    /// Handled and reported back: awaiting on-site verification.
    FedBack,
    Verified,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "command", rename_all = "snake_case", deny_unknown_fields)]
pub enum GridCommand {
    /// The street sends it to a handler: itself or a department.
    Dispatch { to: UnitCode },
    /// The street takes it into a whistle it raised.
    Whistle { whistle: String, lead: UnitCode },
    /// The handler reports it handled (处理 + 反馈).
    Handle {
        handled_at: Timestamp,
        note: String,
        #[serde(default)]
        photos: Vec<String>,
    },
    /// On-site check by a grid-level person other than the handler.
    Verify { passed: bool, note: String },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum GridEvent {
    Filed {
        street: UnitCode,
        report: Report,
    },
    Dispatched {
        to: UnitCode,
        whistle: Option<String>,
    },
    Handled {
        handled_at: Timestamp,
        note: String,
        photos: Vec<String>,
    },
    Verified {
        passed: bool,
        note: String,
    },
}

/// An appended grid-case event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct GridRecord {
    pub case_id: uuid::Uuid,
    pub seq: u64,
    pub at: Timestamp,
    pub actor: Actor,
    pub event: GridEvent,
}

/// A grid case's projection with the loop's timestamps.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct GridCase {
    pub id: uuid::Uuid,
    /// `G20251009-000001`
    pub no: String,
    pub street: UnitCode,
    pub reporter: Actor,
    pub report: Report,
    pub stage: GridStage,
    pub handler: Option<UnitCode>,
    pub handled_by: Option<Actor>,
    pub whistle: Option<String>,
    pub filed_at: Timestamp,
    pub dispatched_at: Option<Timestamp>,
    pub handled_at: Option<Timestamp>,
    pub fed_back_at: Option<Timestamp>,
    pub verified_at: Option<Timestamp>,
    /// Times verification sent it back.
    pub rejections: u32,
    pub version: u64,
}

/// The street a grid-level unit (grid, lane, community/village) belongs to.
fn street_of<'a>(
    unit: &UnitCode,
    reference: &'a Reference,
) -> Result<&'a crate::org::Unit, DomainError> {
    let directory = &reference.directory;
    let found = directory.require(unit)?;
    if !matches!(found.kind, UnitKind::Grid | UnitKind::Lane) && !found.kind.is_community_level() {
        return Err(DomainError::InvalidValue {
            field: "reporter unit".into(),
            value: unit.to_string(),
        });
    }
    directory
        .enclosing(unit, |kind| kind.is_street_level())
        .ok_or_else(|| DomainError::InvalidLocation(format!("{unit} has no street")))
}

/// Files a report made by `actor` (whose unit is their grid, lane or community) at `now`.
pub fn file(
    report: &Report,
    actor: &Actor,
    now: Timestamp,
    reference: &Reference,
) -> Result<GridEvent, DomainError> {
    let street = street_of(&actor.unit, reference)?.code.clone();
    reference.policy.time.check("at", now)?;
    reference.policy.time.check("found_at", report.found_at)?;
    if report.found_at > now {
        return Err(DomainError::TimeInFuture);
    }
    reference.taxonomy.require_leaf(&report.category)?;
    crate::text::photos(&report.photos)?;
    let mut checked = report.clone();
    checked.description = crate::text::required(&report.description, reference)?;
    checked.place = crate::text::required(&report.place, reference)?;
    Ok(GridEvent::Filed {
        street,
        report: checked,
    })
}

impl GridCase {
    /// Folds a complete history; the first record must be the filing.
    pub fn from_records<'a>(
        id: uuid::Uuid,
        no: &str,
        records: impl IntoIterator<Item = &'a GridRecord>,
    ) -> Result<GridCase, DomainError> {
        let mut records = records.into_iter();
        let first = records
            .next()
            .ok_or_else(|| DomainError::InvalidReference("corrupt grid case: no events".into()))?;
        let mut case = GridCase::filed(id, no, &first.event, &first.actor, first.at)?;
        for record in records {
            if record.seq != case.version + 1 {
                return Err(DomainError::InvalidReference(
                    "corrupt grid case: event out of sequence".into(),
                ));
            }
            case.apply(&record.event, &record.actor, record.at)?;
        }
        Ok(case)
    }

    pub fn filed(
        id: uuid::Uuid,
        no: &str,
        event: &GridEvent,
        reporter: &Actor,
        at: Timestamp,
    ) -> Result<GridCase, DomainError> {
        let GridEvent::Filed { street, report } = event else {
            return Err(DomainError::InvalidReference(
                "corrupt grid case: the first event is not the filing".into(),
            ));
        };
        Ok(GridCase {
            id,
            no: no.to_string(),
            street: street.clone(),
            reporter: reporter.clone(),
            report: report.clone(),
            stage: GridStage::Filed,
            handler: None,
            handled_by: None,
            whistle: None,
            filed_at: at,
            dispatched_at: None,
            handled_at: None,
            fed_back_at: None,
            verified_at: None,
            rejections: 0,
            version: 1,
        })
    }

    pub fn apply(
        &mut self,
        event: &GridEvent,
        actor: &Actor,
        at: Timestamp,
    ) -> Result<(), DomainError> {
        match event {
            GridEvent::Filed { .. } => {
                return Err(DomainError::InvalidReference(
                    "corrupt grid case: a second filing".into(),
                ))
            }
            GridEvent::Dispatched { to, whistle } => {
                self.stage = GridStage::Dispatched;
                self.handler = Some(to.clone());
                self.whistle = whistle.clone().or(self.whistle.take());
                self.dispatched_at.get_or_insert(at);
            }
            GridEvent::Handled { handled_at, .. } => {
                self.stage = GridStage::FedBack;
                self.handled_at = Some(*handled_at);
                self.fed_back_at = Some(at);
                self.handled_by = Some(actor.clone());
            }
            GridEvent::Verified { passed, .. } => {
                if *passed {
                    self.stage = GridStage::Verified;
                    self.verified_at = Some(at);
                } else {
                    self.stage = GridStage::Dispatched;
                    self.rejections += 1;
                }
            }
        }
        self.version += 1;
        Ok(())
    }

    pub fn decide(
        &self,
        command: &GridCommand,
        actor: &Actor,
        now: Timestamp,
        reference: &Reference,
    ) -> Result<GridEvent, DomainError> {
        reference.policy.time.check("at", now)?;
        let refuse = || DomainError::IllegalTransition {
            stage: format!("{:?}", self.stage).to_lowercase(),
            command: match command {
                GridCommand::Dispatch { .. } => "dispatch",
                GridCommand::Whistle { .. } => "whistle",
                GridCommand::Handle { .. } => "handle",
                GridCommand::Verify { .. } => "verify",
            }
            .into(),
        };
        match command {
            GridCommand::Dispatch { to } | GridCommand::Whistle { lead: to, .. } => {
                if actor.unit != self.street {
                    return Err(DomainError::NotWhistleStreet);
                }
                if self.stage != GridStage::Filed {
                    return Err(refuse());
                }
                reference.directory.check_handler(to)?;
                let whistle = match command {
                    GridCommand::Whistle { whistle, .. } => {
                        Some(crate::text::required(whistle, reference)?)
                    }
                    _ => None,
                };
                Ok(GridEvent::Dispatched {
                    to: to.clone(),
                    whistle,
                })
            }
            GridCommand::Handle {
                handled_at,
                note,
                photos: pictures,
            } => {
                if self.stage != GridStage::Dispatched {
                    return Err(refuse());
                }
                reference.policy.time.check("handled_at", *handled_at)?;
                let handler = self.handler.as_ref().ok_or_else(refuse)?;
                if &actor.unit != handler {
                    return Err(DomainError::NotLeadUnit {
                        actor: actor.unit.to_string(),
                        lead: handler.to_string(),
                    });
                }
                if *handled_at > now || *handled_at < self.filed_at {
                    return Err(DomainError::InvalidValue {
                        field: "handled_at".into(),
                        value: handled_at.to_rfc3339(),
                    });
                }
                crate::text::photos(pictures)?;
                Ok(GridEvent::Handled {
                    handled_at: *handled_at,
                    note: crate::text::required(note, reference)?,
                    photos: pictures.clone(),
                })
            }
            GridCommand::Verify { passed, note } => {
                if self.stage != GridStage::FedBack {
                    return Err(refuse());
                }
                // The one who handled it may not check it: neither the same person nor the handling unit.
                let handled_by = self.handled_by.as_ref().ok_or_else(refuse)?;
                if actor.user == handled_by.user || Some(&actor.unit) == self.handler.as_ref() {
                    return Err(DomainError::InvalidValue {
                        field: "verifier".into(),
                        value: actor.user.clone(),
                    });
                }
                let street = street_of(&actor.unit, reference)
                    .map(|u| u.code.clone())
                    .unwrap_or_else(|_| actor.unit.clone());
                if street != self.street {
                    return Err(DomainError::NotWhistleStreet);
                }
                Ok(GridEvent::Verified {
                    passed: *passed,
                    note: note.trim().to_string(),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order::fixture::{at, category, code, reference};
    use crate::org::{Unit, UnitStatus};

    fn with_grid() -> Reference {
        let mut reference = reference();
        for (unit, kind) in [
            ("110105010.grid.1", UnitKind::Grid),
            ("110105010.lane.1", UnitKind::Lane),
        ] {
            let change = crate::org::UnitChange::Added {
                unit: Unit {
                    code: code(unit),
                    kind,
                    name: unit.into(),
                    parent: Some(code("110105010")),
                    line: None,
                    status: UnitStatus::Active,
                    merged_into: None,
                },
            };
            reference.directory.apply_change(&change).unwrap();
        }
        reference
    }

    fn person(user: &str, unit: &str) -> Actor {
        Actor {
            user: user.into(),
            unit: code(unit),
        }
    }

    fn report() -> Report {
        Report {
            role: ReporterRole::GridWorker,
            found_at: at("2025-10-09 08:50"),
            category: category("11.04.01"),
            description: "路口有商贩占道经营".into(),
            place: "惠新东街路口".into(),
            photos: vec!["https://photos.example.cn/g1.jpg".into()],
        }
    }

    #[test]
    fn the_closed_loop_with_its_timestamps_and_a_rejection() {
        let reference = with_grid();
        let worker = person("grid-wang", "110105010.grid.1");
        let event = file(&report(), &worker, at("2025-10-09 09:00"), &reference).unwrap();
        let mut case = GridCase::filed(
            uuid::Uuid::nil(),
            "G20251009-000001",
            &event,
            &worker,
            at("2025-10-09 09:00"),
        )
        .unwrap();
        assert_eq!(case.street, code("110105010"));
        let street = person("street-li", "110105010");
        let dispatch = GridCommand::Dispatch {
            to: code("110105.dept.urban-management"),
        };
        assert_eq!(
            case.decide(&dispatch, &worker, at("2025-10-09 09:10"), &reference)
                .unwrap_err()
                .key(),
            "not_whistle_street"
        );
        let step = |case: &mut GridCase,
                    command: &GridCommand,
                    who: &Actor,
                    when: &str|
         -> Result<(), DomainError> {
            let event = case.decide(command, who, at(when), &reference)?;
            case.apply(&event, who, at(when))
        };
        step(&mut case, &dispatch, &street, "2025-10-09 09:10").unwrap();
        let handler = person("cg-zhao", "110105.dept.urban-management");
        let handle = GridCommand::Handle {
            handled_at: at("2025-10-09 11:00"),
            note: "已劝离".into(),
            photos: vec![],
        };
        assert_eq!(
            step(&mut case, &handle, &street, "2025-10-09 11:10")
                .unwrap_err()
                .key(),
            "not_lead_unit"
        );
        step(&mut case, &handle, &handler, "2025-10-09 11:10").unwrap();
        // The handler may not verify; a grid worker of the same street may, and rejects it.
        let verify = |passed| GridCommand::Verify {
            passed,
            note: "现场核查".into(),
        };
        assert_eq!(
            step(&mut case, &verify(true), &handler, "2025-10-09 12:00")
                .unwrap_err()
                .key(),
            "invalid_value"
        );
        step(&mut case, &verify(false), &worker, "2025-10-09 12:00").unwrap();
        assert_eq!((case.stage, case.rejections), (GridStage::Dispatched, 1));
        step(
            &mut case,
            &GridCommand::Handle {
                handled_at: at("2025-10-10 09:00"),
                note: "已清理".into(),
                photos: vec![],
            },
            &handler,
            "2025-10-10 09:05",
        )
        .unwrap();
        let steward = person("steward-chen", "110105010.lane.1");
        step(&mut case, &verify(true), &steward, "2025-10-10 10:00").unwrap();
        assert_eq!(case.stage, GridStage::Verified);
        let times = [
            Some(case.report.found_at),
            Some(case.filed_at),
            case.dispatched_at,
            case.handled_at,
            case.fed_back_at,
            case.verified_at,
        ];
        let shown: Vec<String> = times
            .iter()
            .map(|t| crate::time::format_minutes(t.unwrap()))
            .collect();
        assert_eq!(
            shown,
            [
                "2025-10-09 08:50",
                "2025-10-09 09:00",
                "2025-10-09 09:10",
                "2025-10-10 09:00",
                "2025-10-10 09:05",
                "2025-10-10 10:00"
            ]
        );
        assert_eq!(
            step(&mut case, &verify(true), &worker, "2025-10-10 11:00")
                .unwrap_err()
                .key(),
            "illegal_transition"
        );
    }

    #[test]
    fn bad_reports_and_steps_are_refused() {
        let reference = with_grid();
        let worker = person("grid-wang", "110105010.grid.1");
        let now = at("2025-10-09 09:00");
        let refuse =
            |report: Report, who: &Actor| file(&report, who, now, &reference).unwrap_err().key();
        assert_eq!(
            refuse(
                Report {
                    found_at: at("2025-10-09 10:00"),
                    ..report()
                },
                &worker
            ),
            "time_in_future"
        );
        assert_eq!(
            refuse(
                Report {
                    description: " ".into(),
                    ..report()
                },
                &worker
            ),
            "text_empty"
        );
        assert_eq!(
            refuse(
                Report {
                    category: category("11.04"),
                    ..report()
                },
                &worker
            ),
            "category_not_leaf"
        );
        assert_eq!(
            refuse(
                Report {
                    photos: vec![String::new()],
                    ..report()
                },
                &worker
            ),
            "invalid_value"
        );
        assert_eq!(
            refuse(report(), &person("x", "110105.dept.housing")),
            "invalid_value",
            "a department is not a grid reporter"
        );
        let event = file(&report(), &worker, now, &reference).unwrap();
        let case =
            GridCase::filed(uuid::Uuid::nil(), "G20251009-000001", &event, &worker, now).unwrap();
        let street = person("street-li", "110105010");
        let retired = GridCommand::Dispatch {
            to: code("110105012"),
        };
        assert_eq!(
            case.decide(&retired, &street, now, &reference)
                .unwrap_err()
                .key(),
            "unit_retired"
        );
        let handle = GridCommand::Handle {
            handled_at: now,
            note: "x".into(),
            photos: vec![],
        };
        assert_eq!(
            case.decide(&handle, &street, now, &reference)
                .unwrap_err()
                .key(),
            "illegal_transition"
        );
        let whistle = GridCommand::Whistle {
            whistle: "W20251009-000001".into(),
            lead: code("110105.dept.urban-management"),
        };
        let event = case.decide(&whistle, &street, now, &reference).unwrap();
        assert_eq!(
            event,
            GridEvent::Dispatched {
                to: code("110105.dept.urban-management"),
                whistle: Some("W20251009-000001".into())
            }
        );
    }
}
