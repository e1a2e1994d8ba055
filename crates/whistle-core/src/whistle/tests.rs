//! Table tests of every whistle transition and refusal.

use super::*;
use crate::order::fixture::{actor, at, code, reference};
use crate::reference::Reference;
use crate::time::format_minutes;

struct Harness {
    reference: Reference,
    whistle: Whistle,
    records: Vec<WhistleRecord>,
    now: Timestamp,
}

const STREET: &str = "110105010";
const CHENGGUAN: &str = "110105.dept.urban-management";
const HOUSING: &str = "110105.dept.housing";
const POWER: &str = "11.ent.power";

fn emergency() -> Raise {
    Raise {
        kind: WhistleKind::Emergency,
        order: None,
        lead: Some(code(CHENGGUAN)),
        assisting: vec![code(HOUSING), code(POWER)],
        place: "惠新东街12号院".into(),
        needed: "地下管道破裂，需抢修并疏导交通".into(),
        list_item: Some("pipe-repair".into()),
        off_list_reason: None,
        override_reference: None,
    }
}

impl Harness {
    fn raise(raise: Raise, when: &str) -> Result<Harness, DomainError> {
        Harness::raise_as(raise, when, STREET, None)
    }

    fn raise_as(
        raise: Raise,
        when: &str,
        unit: &str,
        order_lead: Option<&str>,
    ) -> Result<Harness, DomainError> {
        let reference = reference();
        let now = at(when);
        let by = actor(unit);
        let context = WhistleContext {
            now,
            actor: &by,
            reference: &reference,
        };
        let lead = order_lead.map(code);
        let event = super::raise(&raise, "W20251009-000001".into(), lead.as_ref(), &context)?;
        let record = WhistleRecord {
            whistle_id: uuid::Uuid::from_u128(7),
            seq: 1,
            at: now,
            actor: by,
            event,
        };
        let whistle = Whistle::from_records([&record])?;
        Ok(Harness {
            reference,
            whistle,
            records: vec![record],
            now,
        })
    }

    fn run(
        &mut self,
        unit: &str,
        minutes: i64,
        command: WhistleCommand,
    ) -> Result<Vec<&'static str>, DomainError> {
        self.now += chrono::Duration::minutes(minutes);
        let by = actor(unit);
        let context = WhistleContext {
            now: self.now,
            actor: &by,
            reference: &self.reference,
        };
        let events = decide(&self.whistle, &command, &context)?;
        let mut names = Vec::new();
        for event in events {
            names.push(match &event {
                WhistleEvent::MarkedAbsent { .. } => "marked_absent",
                WhistleEvent::Escalated => "escalated",
                _ => command.name(),
            });
            let record = WhistleRecord {
                whistle_id: self.whistle.id,
                seq: self.whistle.version + 1,
                at: self.now,
                actor: by.clone(),
                event,
            };
            self.whistle.apply(&record).unwrap();
            self.records.push(record);
        }
        assert_eq!(
            Whistle::from_records(&self.records).unwrap(),
            self.whistle,
            "replay differs from the live projection"
        );
        Ok(names)
    }
}

fn key(result: Result<Vec<&'static str>, DomainError>) -> String {
    match result {
        Ok(names) => names.join("+"),
        Err(error) => format!("!{}", error.key()),
    }
}

/// An emergency whistle with three departments — one on time, one late, one absent and replaced —
/// through tasks, the outcome, the ratings and an objection.
#[test]
fn an_emergency_whistle_from_raise_to_final_ratings() {
    let mut h = Harness::raise(emergency(), "2025-10-09 09:00").unwrap();
    assert_eq!(h.whistle.summons.len(), 3);
    assert!(
        h.whistle
            .summons
            .iter()
            .all(|s| format_minutes(s.report_in_by) == "2025-10-09 09:30"),
        "30 minutes for an emergency"
    );
    assert_eq!(
        key(h.run(CHENGGUAN, 20, WhistleCommand::ReportIn { people: 6 })),
        "report_in"
    );
    assert!(
        h.whistle
            .summons_of(&code(CHENGGUAN))
            .unwrap()
            .report
            .as_ref()
            .unwrap()
            .on_time
    );
    // Before the deadline nobody is absent.
    assert_eq!(
        key(h.run(
            "11.center",
            5,
            WhistleCommand::MarkAbsent { unit: code(POWER) }
        )),
        "!invalid_value"
    );
    // Past it: the worker marks the power company absent and the whistle escalates, once.
    assert_eq!(
        h.whistle
            .absences_due(h.now + chrono::Duration::minutes(10)),
        vec![code(HOUSING), code(POWER)]
    );
    assert_eq!(
        key(h.run(HOUSING, 20, WhistleCommand::ReportIn { people: 2 })),
        "report_in"
    );
    assert!(
        !h.whistle
            .summons_of(&code(HOUSING))
            .unwrap()
            .report
            .as_ref()
            .unwrap()
            .on_time,
        "late"
    );
    assert_eq!(
        key(h.run(
            "11.center",
            1,
            WhistleCommand::MarkAbsent { unit: code(POWER) }
        )),
        "marked_absent+escalated"
    );
    assert_eq!(
        key(h.run(
            "11.center",
            1,
            WhistleCommand::MarkAbsent { unit: code(POWER) }
        )),
        "!invalid_value"
    );
    assert!(h.whistle.escalated_at.is_some());
    // The district replaces it with the city transport commission, who must report in anew.
    let replace = WhistleCommand::ResolveAbsence {
        unit: code(POWER),
        decision: AbsenceDecision::Replace {
            with: code("11.dept.transport"),
        },
    };
    assert_eq!(
        key(h.run(STREET, 5, replace.clone())),
        "!not_whistle_district"
    );
    assert_eq!(key(h.run("110105", 5, replace)), "resolve_absence");
    assert_eq!(
        key(h.run(POWER, 1, WhistleCommand::ReportIn { people: 1 })),
        "!not_summoned"
    );
    assert_eq!(
        key(h.run(
            "11.dept.transport",
            10,
            WhistleCommand::ReportIn { people: 3 }
        )),
        "report_in"
    );
    // Tasks under the street's command.
    let assign = |unit: &str| WhistleCommand::AssignTask {
        unit: code(unit),
        text: "封闭道路、抢修管线".into(),
    };
    assert_eq!(
        key(h.run(CHENGGUAN, 1, assign(HOUSING))),
        "!not_whistle_street"
    );
    assert_eq!(key(h.run(STREET, 1, assign(CHENGGUAN))), "assign_task");
    assert_eq!(key(h.run(STREET, 1, assign(POWER))), "!not_summoned");
    let done = WhistleCommand::CompleteTask {
        task: 1,
        note: "已完成抢修".into(),
        photos: vec!["https://photos.example.cn/a1.jpg".into()],
    };
    assert_eq!(key(h.run(HOUSING, 30, done.clone())), "!not_lead_unit");
    assert_eq!(key(h.run(CHENGGUAN, 30, done.clone())), "complete_task");
    assert_eq!(key(h.run(CHENGGUAN, 1, done)), "!illegal_transition");
    // Rating waits for the close.
    let rate = |unit: &str, score: u8| WhistleCommand::Rate {
        unit: code(unit),
        scores: Scores {
            response: score,
            cooperation: score,
            result: score,
        },
        comment: "评价".into(),
    };
    assert_eq!(
        key(h.run(STREET, 1, rate(CHENGGUAN, 5))),
        "!illegal_transition"
    );
    assert_eq!(
        key(h.run(
            STREET,
            1,
            WhistleCommand::Close {
                result: WhistleResult::PartlySolved,
                reasons: " ".into()
            }
        )),
        "!text_empty"
    );
    assert_eq!(
        key(h.run(
            STREET,
            1,
            WhistleCommand::Close {
                result: WhistleResult::Solved,
                reasons: String::new()
            }
        )),
        "close"
    );
    assert_eq!(
        key(h.run(
            STREET,
            1,
            WhistleCommand::Close {
                result: WhistleResult::Solved,
                reasons: String::new()
            }
        )),
        "!illegal_transition"
    );
    assert_eq!(key(h.run(STREET, 10, rate(CHENGGUAN, 5))), "rate");
    assert_eq!(key(h.run(STREET, 1, rate(CHENGGUAN, 4))), "!already_rated");
    assert_eq!(key(h.run(STREET, 1, rate(HOUSING, 6))), "!invalid_value");
    assert_eq!(key(h.run(STREET, 1, rate(HOUSING, 3))), "rate");
    assert_eq!(
        key(h.run(STREET, 1, rate(POWER, 1))),
        "rate",
        "an absent unit is rated too"
    );
    assert_eq!(key(h.run(STREET, 1, rate("110105011", 1))), "!not_summoned");
    // Objections: once, within the window, decided by the district.
    let object = WhistleCommand::Object {
        reason: "我单位已按时派员".into(),
    };
    assert_eq!(key(h.run(HOUSING, 60, object.clone())), "object");
    assert_eq!(
        key(h.run(HOUSING, 1, object.clone())),
        "!illegal_transition"
    );
    let decide_it = WhistleCommand::DecideObjection {
        unit: code(HOUSING),
        upheld: false,
        note: "异议不成立".into(),
    };
    assert_eq!(
        key(h.run(STREET, 1, decide_it.clone())),
        "!not_whistle_district"
    );
    assert_eq!(
        key(h.run("110105", 1, decide_it.clone())),
        "decide_objection"
    );
    assert_eq!(key(h.run("110105", 1, decide_it)), "!illegal_transition");
    let housing = h
        .whistle
        .ratings
        .iter()
        .find(|r| r.unit == code(HOUSING))
        .unwrap();
    assert!(
        housing.is_final(h.now),
        "a rejected objection makes the rating final"
    );
    let chengguan = h
        .whistle
        .ratings
        .iter()
        .find(|r| r.unit == code(CHENGGUAN))
        .unwrap();
    assert!(
        !chengguan.is_final(h.now),
        "still inside its objection window"
    );
    // Three working days (Fri 10-10, make-up Sat 10-11, Mon 10-13) and the window has closed.
    assert_eq!(
        format_minutes(chengguan.objection_until).get(..10),
        Some("2025-10-13")
    );
    assert_eq!(
        key(h.run(POWER, 60 * 24 * 6, object)),
        "!objection_window_closed"
    );
    assert!(h
        .whistle
        .ratings
        .iter()
        .find(|r| r.unit == code(CHENGGUAN))
        .unwrap()
        .is_final(h.now));
}

#[test]
fn report_in_deadlines_follow_the_kind_and_the_calendar() {
    let cases = [
        (
            WhistleKind::Emergency,
            "2025-09-30 17:00",
            "2025-09-30 17:30",
        ),
        (
            WhistleKind::Enforcement,
            "2025-09-30 17:00",
            "2025-09-30 19:00",
        ),
        // One working day across the National Day break.
        (WhistleKind::KeyTask, "2025-09-30 17:00", "2025-10-09 17:00"),
        (WhistleKind::Request, "2025-10-10 10:00", "2025-10-11 10:00"),
        (WhistleKind::Request, "2025-10-12 10:00", "2025-10-14 00:00"),
    ];
    for (kind, raised, due) in cases {
        let h = Harness::raise(
            Raise {
                kind,
                list_item: None,
                off_list_reason: Some("清单未列".into()),
                ..emergency()
            },
            raised,
        )
        .unwrap();
        assert_eq!(
            format_minutes(h.whistle.summons[0].report_in_by),
            due,
            "{kind} raised {raised}"
        );
    }
}

#[test]
fn raising_is_refused_when_it_should_be() {
    let refuse = |raise: Raise, unit: &str, lead: Option<&str>| {
        Harness::raise_as(raise, "2025-10-09 09:00", unit, lead)
            .err()
            .map(|e| e.key())
    };
    assert_eq!(
        refuse(emergency(), CHENGGUAN, None),
        Some("not_whistle_street")
    );
    assert_eq!(
        refuse(emergency(), "110105", None),
        Some("not_whistle_street")
    );
    let on_order = Raise {
        order: Some(crate::ids::OrderNo::parse("20251009-000001").unwrap()),
        ..emergency()
    };
    assert_eq!(
        refuse(on_order.clone(), STREET, Some("110105011")),
        Some("not_lead_unit"),
        "the street must hold the order"
    );
    assert_eq!(
        refuse(on_order.clone(), STREET, None),
        Some("not_lead_unit")
    );
    assert_eq!(refuse(on_order, STREET, Some(STREET)), None);
    let far = Raise {
        assisting: vec![code("110101.dept.urban-management")],
        ..emergency()
    };
    assert_eq!(refuse(far.clone(), STREET, None), Some("out_of_district"));
    assert_eq!(
        refuse(
            Raise {
                override_reference: Some("朝阳区协调〔2025〕12号".into()),
                ..far
            },
            STREET,
            None
        ),
        None
    );
    assert_eq!(
        refuse(
            Raise {
                lead: Some(code("110105012")),
                ..emergency()
            },
            STREET,
            None
        ),
        Some("unit_retired")
    );
    assert_eq!(
        refuse(
            Raise {
                lead: Some(code("119999.dept.x")),
                ..emergency()
            },
            STREET,
            None
        ),
        Some("unknown_unit")
    );
    assert_eq!(
        refuse(
            Raise {
                lead: Some(code(STREET)),
                ..emergency()
            },
            STREET,
            None
        ),
        Some("self_reference")
    );
    assert_eq!(
        refuse(
            Raise {
                list_item: None,
                ..emergency()
            },
            STREET,
            None
        ),
        Some("text_empty"),
        "off the list needs a reason"
    );
    assert_eq!(
        refuse(
            Raise {
                list_item: None,
                off_list_reason: Some("新情况，清单未列".into()),
                ..emergency()
            },
            STREET,
            None
        ),
        None
    );
    assert_eq!(
        refuse(
            Raise {
                needed: "  ".into(),
                ..emergency()
            },
            STREET,
            None
        ),
        Some("text_empty")
    );
}

#[test]
fn absences_can_be_ordered_or_released_and_consultations_recorded() {
    let mut h = Harness::raise(emergency(), "2025-10-09 09:00").unwrap();
    h.run(CHENGGUAN, 10, WhistleCommand::ReportIn { people: 2 })
        .unwrap();
    h.run(HOUSING, 10, WhistleCommand::ReportIn { people: 2 })
        .unwrap();
    h.run(
        "110105",
        20,
        WhistleCommand::MarkAbsent { unit: code(POWER) },
    )
    .unwrap();
    // Ordered to come: a fresh deadline, and absent again if it still does not.
    h.run(
        "110105",
        5,
        WhistleCommand::ResolveAbsence {
            unit: code(POWER),
            decision: AbsenceDecision::Order,
        },
    )
    .unwrap();
    assert!(h.whistle.absences_due(h.now).is_empty());
    assert_eq!(
        key(h.run(
            "11.center",
            31,
            WhistleCommand::MarkAbsent { unit: code(POWER) }
        )),
        "marked_absent",
        "no second escalation"
    );
    h.run(
        "110105",
        5,
        WhistleCommand::ResolveAbsence {
            unit: code(POWER),
            decision: AbsenceDecision::NotDuty,
        },
    )
    .unwrap();
    assert!(h
        .whistle
        .absences_due(h.now + chrono::Duration::hours(5))
        .is_empty());
    let consult = WhistleCommand::HoldConsultation {
        participants: vec![code(STREET), code(CHENGGUAN), code("110105")],
        decisions: vec![Decision {
            text: "由城管执法局牵头拆除".into(),
            binds: code(CHENGGUAN),
            follow_up_on: chrono::NaiveDate::from_ymd_opt(2025, 10, 20),
        }],
    };
    assert_eq!(
        key(h.run(CHENGGUAN, 1, consult.clone())),
        "!not_whistle_street"
    );
    assert_eq!(key(h.run("110105", 1, consult)), "hold_consultation");
    assert_eq!(
        h.whistle.consultations[0].decisions[0].binds,
        code(CHENGGUAN)
    );
    // Released units cannot be rated; the whistle closed, nobody reports in any more.
    h.run(
        STREET,
        1,
        WhistleCommand::Close {
            result: WhistleResult::NotSolvable,
            reasons: "需区级统筹".into(),
        },
    )
    .unwrap();
    assert_eq!(
        key(h.run(CHENGGUAN, 1, WhistleCommand::ReportIn { people: 1 })),
        "!illegal_transition"
    );
    let rate = WhistleCommand::Rate {
        unit: code(POWER),
        scores: Scores {
            response: 1,
            cooperation: 1,
            result: 1,
        },
        comment: String::new(),
    };
    assert_eq!(key(h.run(STREET, 1, rate)), "!not_summoned");
}

#[test]
fn two_units_reporting_at_the_same_instant_are_both_recorded() {
    let mut h = Harness::raise(emergency(), "2025-10-09 09:00").unwrap();
    h.run(CHENGGUAN, 10, WhistleCommand::ReportIn { people: 1 })
        .unwrap();
    h.run(HOUSING, 0, WhistleCommand::ReportIn { people: 1 })
        .unwrap();
    let reported: Vec<_> = h
        .whistle
        .summons
        .iter()
        .filter(|s| s.report.is_some())
        .map(|s| s.report.as_ref().unwrap().at)
        .collect();
    assert_eq!(reported.len(), 2);
    assert_eq!(reported[0], reported[1]);
    assert_eq!(
        key(h.run(CHENGGUAN, 0, WhistleCommand::ReportIn { people: 1 })),
        "!already_reported_in"
    );
    assert_eq!(
        key(h.run(POWER, 0, WhistleCommand::ReportIn { people: 0 })),
        "!invalid_value"
    );
}

#[test]
fn the_whistle_list_gives_default_units_and_marks_off_list_whistles() {
    let summoned = |h: &Harness| {
        h.whistle
            .summons
            .iter()
            .map(|s| (s.unit.to_string(), s.role))
            .collect::<Vec<_>>()
    };
    // An item with no units named: the list's lead and assisting units, resolved in the district.
    let by_list = Raise {
        lead: None,
        assisting: Vec::new(),
        ..emergency()
    };
    let h = Harness::raise(by_list.clone(), "2025-10-09 09:00").unwrap();
    assert_eq!(
        summoned(&h),
        vec![
            (CHENGGUAN.to_string(), SummonsRole::Lead),
            (HOUSING.to_string(), SummonsRole::Assist),
            (POWER.to_string(), SummonsRole::Assist),
        ]
    );
    assert_eq!(h.whistle.list_item.as_deref(), Some("pipe-repair"));
    assert_eq!(h.whistle.off_list_reason, None);
    let Some(WhistleEvent::Raised { raise, .. }) = h.records.first().map(|r| &r.event) else {
        panic!("no raise");
    };
    assert_eq!(
        raise.lead,
        Some(code(CHENGGUAN)),
        "the recorded raise names its lead"
    );
    // The street may name other units than the list's defaults.
    let chosen = Raise {
        lead: Some(code(HOUSING)),
        assisting: vec![code(CHENGGUAN)],
        ..emergency()
    };
    let h = Harness::raise(chosen, "2025-10-09 09:00").unwrap();
    assert_eq!(
        summoned(&h),
        vec![
            (HOUSING.to_string(), SummonsRole::Lead),
            (CHENGGUAN.to_string(), SummonsRole::Assist),
        ]
    );
    // A street's own item beats the city's: 110105011 lists housing as the lead.
    let enforcement = Raise {
        kind: WhistleKind::Enforcement,
        list_item: Some("illegal-building".into()),
        ..by_list.clone()
    };
    let city = Harness::raise(enforcement.clone(), "2025-10-09 09:00").unwrap();
    assert_eq!(
        summoned(&city),
        vec![(CHENGGUAN.to_string(), SummonsRole::Lead)]
    );
    let own = Harness::raise_as(enforcement, "2025-10-09 09:00", "110105011", None).unwrap();
    assert_eq!(
        summoned(&own),
        vec![
            (HOUSING.to_string(), SummonsRole::Lead),
            (CHENGGUAN.to_string(), SummonsRole::Assist),
        ]
    );
    // Refusals: an item not on the list, an item of another kind, off the list without a lead.
    let refuse = |raise: Raise| {
        Harness::raise(raise, "2025-10-09 09:00")
            .err()
            .map(|e| e.key())
    };
    assert_eq!(
        refuse(Raise {
            list_item: Some("no-such-item".into()),
            ..by_list.clone()
        }),
        Some("unknown_whistle_list_item")
    );
    assert_eq!(
        refuse(Raise {
            kind: WhistleKind::KeyTask,
            ..by_list.clone()
        }),
        Some("invalid_value")
    );
    assert_eq!(
        refuse(Raise {
            list_item: None,
            off_list_reason: Some("清单未列的新问题".into()),
            ..by_list.clone()
        }),
        Some("whistle_lead_missing")
    );
    let off = Harness::raise(
        Raise {
            list_item: None,
            off_list_reason: Some("  清单未列的新问题 ".into()),
            ..emergency()
        },
        "2025-10-09 09:00",
    )
    .unwrap();
    assert_eq!(
        off.whistle.off_list_reason.as_deref(),
        Some("清单未列的新问题")
    );
}

#[test]
fn a_whistle_list_with_bad_items_is_refused_whole() {
    use crate::catalogue::HandlerRule;
    let reference = reference();
    let item = |item: &str, territory: &str, lead: &str| WhistleListItem {
        code: item.into(),
        kind: WhistleKind::Enforcement,
        title: "违法建设".into(),
        territory: code(territory),
        lead: HandlerRule::parse(lead).unwrap(),
        assisting: Vec::new(),
    };
    let build = |items: Vec<WhistleListItem>| {
        WhistleList::build(items, &reference.directory, &reference.city)
            .err()
            .map(|e| e.key())
    };
    assert_eq!(build(vec![item("ok", "11", "district:housing")]), None);
    assert_eq!(
        build(vec![item("Bad Code", "11", "district:housing")]),
        Some("invalid_value")
    );
    assert_eq!(
        build(vec![item("x", "11", "street")]),
        Some("invalid_value")
    );
    assert_eq!(
        build(vec![item("x", "11", "district:nothing")]),
        Some("invalid_reference")
    );
    assert_eq!(
        build(vec![item("x", "110105010001", "district:housing")]),
        Some("invalid_value")
    );
    assert_eq!(
        build(vec![item("x", "119999", "district:housing")]),
        Some("unknown_unit")
    );
    assert_eq!(
        build(vec![
            item("x", "11", "district:housing"),
            item("x", "11", "district:housing")
        ]),
        Some("invalid_reference")
    );
    let mut other_kind = item("x", "110105", "district:housing");
    other_kind.kind = WhistleKind::KeyTask;
    assert_eq!(
        build(vec![item("x", "11", "district:housing"), other_kind]),
        Some("invalid_value")
    );
}
