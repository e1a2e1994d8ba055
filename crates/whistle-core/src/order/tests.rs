//! Table- and snapshot-driven tests of every transition and every refusal.

use super::fixture::*;
use super::*;
use crate::calendar::TimeLimit;
use crate::time::format_minutes;

const CO: &str = "110105.dept.urban-management";

fn dispatch() -> Command {
    Command::Dispatch {
        unit: None,
        co_handlers: Vec::new(),
        handle_by: None,
    }
}

fn visit(satisfaction: Satisfaction) -> Command {
    Command::ReturnVisit {
        result: VisitResult::Valid {
            contacted: true,
            resolved: true,
            satisfaction,
        },
    }
}

fn earlier() -> OrderNo {
    OrderNo::parse("20251001-000007").unwrap()
}

/// (who, command): `center`, `lead` or `co`.
fn commands() -> Vec<(&'static str, Command)> {
    vec![
        ("center", dispatch()),
        (
            "center",
            Command::Forward {
                party: OutsideParty::TianjinHotline,
                note: String::new(),
            },
        ),
        (
            "center",
            Command::RecordForwardAnswer {
                answer: "天津市已答复".into(),
            },
        ),
        ("lead", Command::Accept),
        (
            "lead",
            Command::Assign {
                to: "xiaowang".into(),
            },
        ),
        (
            "lead",
            Command::Dispute {
                reason: "不属于本街道辖区".into(),
            },
        ),
        (
            "center",
            Command::ReviewDispute {
                upheld: true,
                redispatch_to: Some(code("110105011")),
                note: String::new(),
            },
        ),
        (
            "co",
            Command::ReportPart {
                text: "已出动执法队员".into(),
            },
        ),
        (
            "lead",
            Command::Contact {
                note: String::new(),
            },
        ),
        (
            "lead",
            Command::RequestExtension {
                extra: TimeLimit::WorkingDays(3),
                reason: "需联合执法".into(),
            },
        ),
        (
            "center",
            Command::DecideExtension {
                approved: true,
                note: String::new(),
            },
        ),
        (
            "lead",
            Command::Escalate {
                to: EscalationLevel::District,
                reason: "需区级协调".into(),
            },
        ),
        (
            "lead",
            Command::Reply {
                outcome: ReplyOutcome::Resolved,
                actions: "已清理".into(),
            },
        ),
        ("center", visit(Satisfaction::Satisfied)),
        (
            "center",
            Command::Close {
                note: String::new(),
            },
        ),
        (
            "center",
            Command::Reopen {
                reason: "诉求人不满意".into(),
            },
        ),
        (
            "center",
            Command::RuleUnreasonable {
                reason: "诉求超出政策范围".into(),
            },
        ),
        (
            "center",
            Command::Supervise {
                action: Supervision::Urge,
                note: String::new(),
            },
        ),
        ("center", Command::LinkRepeat { earlier: earlier() }),
        ("center", Command::Merge { into: earlier() }),
        (
            "lead",
            Command::RevealRequester {
                reason: "需回电核实现场位置".into(),
            },
        ),
        (
            "lead",
            Command::RecordWhistleOutcome {
                whistle: "W20251009-000001".into(),
                result: crate::whistle::WhistleResult::Solved,
                reasons: "联合执法已拆除".into(),
            },
        ),
    ]
}

fn setups() -> Vec<(&'static str, Vec<(&'static str, Command)>)> {
    let accepted = vec![("center", dispatch()), ("lead", Command::Accept)];
    let with = |mut base: Vec<(&'static str, Command)>, more: Vec<(&'static str, Command)>| {
        base.extend(more);
        base
    };
    let replied = with(
        accepted.clone(),
        vec![
            (
                "lead",
                Command::Contact {
                    note: String::new(),
                },
            ),
            (
                "lead",
                Command::Reply {
                    outcome: ReplyOutcome::PartlyResolved,
                    actions: "部分解决".into(),
                },
            ),
        ],
    );
    let visited = with(
        replied.clone(),
        vec![("center", visit(Satisfaction::Dissatisfied))],
    );
    let closed = with(
        visited.clone(),
        vec![(
            "center",
            Command::Close {
                note: String::new(),
            },
        )],
    );
    vec![
        ("pending_dispatch", vec![]),
        (
            "forwarded",
            vec![(
                "center",
                Command::Forward {
                    party: OutsideParty::HebeiHotline,
                    note: String::new(),
                },
            )],
        ),
        ("dispatched", vec![("center", dispatch())]),
        ("accepted", accepted.clone()),
        (
            "disputed",
            with(
                accepted.clone(),
                vec![(
                    "lead",
                    Command::Dispute {
                        reason: "非本辖区".into(),
                    },
                )],
            ),
        ),
        (
            "extending",
            with(
                accepted.clone(),
                vec![(
                    "lead",
                    Command::RequestExtension {
                        extra: TimeLimit::WorkingDays(5),
                        reason: "需协调".into(),
                    },
                )],
            ),
        ),
        ("replied", replied),
        ("visited", visited),
        ("closed", closed.clone()),
        (
            "excluded",
            with(
                closed,
                vec![(
                    "center",
                    Command::RuleUnreasonable {
                        reason: "不合理".into(),
                    },
                )],
            ),
        ),
        (
            "merged",
            vec![("center", Command::Merge { into: earlier() })],
        ),
    ]
}

fn unit_for(who: &str, harness: &Harness) -> String {
    match who {
        "center" => "11.center".into(),
        "co" => CO.into(),
        _ => harness.lead(),
    }
}

fn outcome(result: Result<Vec<&'static str>, DomainError>) -> String {
    match result {
        Ok(names) => names.join("+"),
        Err(error) => format!("!{}", error.key()),
    }
}

/// Every command from every stage: the events it yields or the refusal's key.
#[test]
fn transition_matrix() {
    let mut actual = String::new();
    for (name, setup) in setups() {
        actual.push_str(&format!("{name}:\n"));
        for (who, command) in commands() {
            let mut harness =
                Harness::intake(complaint("110105010", "11.04.01"), "2025-10-09 09:00").unwrap();
            for (setup_who, setup_command) in &setup {
                let unit = unit_for(setup_who, &harness);
                harness.run(&unit, 60, setup_command.clone()).unwrap();
            }
            let unit = unit_for(who, &harness);
            let result = harness.run(&unit, 60, command.clone());
            actual.push_str(&format!("  {:<22} {}\n", command.name(), outcome(result)));
        }
    }
    let expected = include_str!("transition_matrix.txt");
    if actual != expected {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src/order/transition_matrix.actual.txt"
        );
        std::fs::write(path, &actual).unwrap();
        panic!(
            "the transition matrix changed; compare {path} with transition_matrix.txt and review"
        );
    }
}

fn harness() -> Harness {
    Harness::intake(complaint("110105010", "11.04.01"), "2025-10-09 09:00").unwrap()
}

#[test]
fn actors_are_checked() {
    let mut h = harness();
    assert_eq!(
        h.run("110105010", 1, dispatch()).unwrap_err().key(),
        "not_dispatch_center"
    );
    h.run("11.center", 1, dispatch()).unwrap();
    assert_eq!(
        h.run("110105011", 1, Command::Accept).unwrap_err().key(),
        "not_lead_unit"
    );
    assert_eq!(
        h.run("11.center", 1, Command::Accept).unwrap_err().key(),
        "not_lead_unit"
    );
    h.run("110105010", 1, Command::Accept).unwrap();
    let part = Command::ReportPart { text: "x".into() };
    assert_eq!(
        h.run("110105.dept.housing", 1, part.clone())
            .unwrap_err()
            .key(),
        "not_co_handler"
    );
    h.run(CO, 1, part).unwrap();
    assert_eq!(h.order.parts.len(), 1);
    assert_eq!(
        h.run("110105010", 1, visit(Satisfaction::Satisfied))
            .unwrap_err()
            .key(),
        "not_dispatch_center"
    );
    assert_eq!(
        h.run("ghost.unit", 1, Command::Accept).unwrap_err().key(),
        "unknown_unit"
    );
}

#[test]
fn intake_validates_and_completes() {
    let bad = |f: &dyn Fn(&mut Intake), key: &str| {
        let mut intake = complaint("110105010", "11.04.01");
        f(&mut intake);
        let error = Harness::intake(intake, "2025-10-09 09:00")
            .err()
            .map(|e| e.key())
            .unwrap_or("accepted");
        assert_eq!(error, key);
    };
    bad(&|i| i.text = "   ".into(), "text_empty");
    bad(&|i| i.text = "字".repeat(100_000), "text_too_long");
    bad(&|i| i.category = category("99.01"), "unknown_category");
    bad(&|i| i.category = category("11.04"), "category_not_leaf");
    bad(
        &|i| i.location.territory.street = Some(code("119999999")),
        "unknown_unit",
    );
    bad(
        &|i| i.location.territory.district = Some(code("110101")),
        "invalid_location",
    );
    bad(
        &|i| {
            i.location.territory.street = None;
            i.location.territory.district = Some(code("110199"));
        },
        "unknown_unit",
    );
    bad(
        &|i| i.location.territory.street = Some(code("110105.dept.housing")),
        "invalid_location",
    );
    bad(
        &|i| i.location.territory.community = Some(code("110105010001")),
        "accepted",
    );
    bad(
        &|i| {
            i.location.territory.street = Some(code("110105011"));
            i.location.territory.community = Some(code("110105010001"));
        },
        "invalid_location",
    );
    bad(
        &|i| i.received_at = Some(at("2025-10-10 09:00")),
        "time_in_future",
    );
    bad(&|i| i.location.latitude = Some(91.0), "invalid_location");
    bad(
        &|i| {
            i.triage = Triage::RepeatNoNew {
                earlier: OrderNo::parse("20251009-000001").unwrap(),
            }
        },
        "self_reference",
    );
    bad(
        &|i| {
            i.triage = Triage::ProperChannel {
                channel: String::new(),
            }
        },
        "text_empty",
    );
    let mut intake = complaint("110105010", "11.04.01");
    intake.location.territory.street = None;
    intake.location.territory.community = Some(code("110105010001"));
    let h = Harness::intake(intake, "2025-10-09 09:00").unwrap();
    assert_eq!(h.order.location.territory.district, Some(code("110105")));
    assert_eq!(h.order.location.territory.street, Some(code("110105010")));
}

#[test]
fn every_triage_disposition_closes_with_its_record() {
    let dispositions = vec![
        Triage::AnswerNow {
            answer: "办理居住证需携带身份证".into(),
        },
        Triage::TransferEmergency {
            service: EmergencyService::Fire,
        },
        Triage::ProperChannel {
            channel: "已告知通过诉讼途径解决".into(),
        },
        Triage::RepeatNoNew { earlier: earlier() },
        Triage::SecretOrPrivacy {
            explanation: "涉及他人隐私，不予提供".into(),
        },
        Triage::OutOfScope {
            referred_to: "物业合同纠纷，建议咨询律师".into(),
        },
        Triage::IllegalDemand {
            explanation: "要求不符合法律规定".into(),
        },
    ];
    for disposition in dispositions {
        let mut intake = complaint("110105010", "11.04.01");
        intake.request_type = RequestType::Consult;
        intake.triage = disposition.clone();
        let h = Harness::intake(intake, "2025-10-09 09:00").unwrap();
        assert_eq!(
            h.order.stage,
            Stage::Closed(Closure::Triage(disposition.clone())),
            "{}",
            disposition.name()
        );
        assert_eq!(
            h.order.linked_to.is_empty(),
            !matches!(disposition, Triage::RepeatNoNew { .. })
        );
        assert!(h.order.next_due_at().is_none());
    }
}

#[test]
fn dispatch_routes_by_catalogue_and_territory() {
    // 属地: the street leads, its district is copied, the department assists.
    let mut h = harness();
    h.run("11.center", 60, dispatch()).unwrap();
    let a = h.order.assignment().unwrap();
    assert_eq!(
        (a.lead.as_str(), a.copied_to.as_ref().map(|c| c.as_str())),
        ("110105010", Some("110105"))
    );
    assert_eq!(a.co_handlers, vec![code(CO)]);
    assert_eq!(h.order.catalogue_version, Some(3));
    // 7 working days from Thu 2025-10-09 10:00 (make-up Sat 10-11 counts).
    assert_eq!(
        format_minutes(h.order.handle_by.unwrap()),
        "2025-10-17 10:00"
    );
    assert_eq!(
        format_minutes(h.order.respond_by.unwrap()),
        "2025-10-10 10:00"
    );
    // 职权法定: a line matter goes to the district department; a street override wins there.
    let mut h = Harness::intake(complaint("110105010", "11.04.02"), "2025-10-09 09:00").unwrap();
    h.run("11.center", 60, dispatch()).unwrap();
    assert_eq!(h.order.lead().unwrap().as_str(), CO);
    assert_eq!(h.order.assignment().unwrap().copied_to, None);
    assert_eq!(
        format_minutes(h.order.handle_by.unwrap()),
        "2025-10-29 10:00",
        "complex: 15 working days"
    );
    let mut h = Harness::intake(complaint("110105011", "11.04.02"), "2025-10-09 09:00").unwrap();
    h.run("11.center", 60, dispatch()).unwrap();
    assert_eq!(h.order.lead().unwrap().as_str(), "110105011");
    // Utilities go to the enterprise with a 24-hour clock.
    let mut h = Harness::intake(complaint("110105010", "03.03"), "2025-10-09 09:00").unwrap();
    h.run("11.center", 60, dispatch()).unwrap();
    assert_eq!(h.order.lead().unwrap().as_str(), "11.ent.power");
    assert_eq!(
        format_minutes(h.order.handle_by.unwrap()),
        "2025-10-10 10:00"
    );
    // Only the district known: the district receives it to coordinate, and passes it on.
    let mut intake = complaint("110105010", "11.04.01");
    intake.location.territory = crate::catalogue::Territory {
        district: Some(code("110105")),
        street: None,
        community: None,
    };
    let mut h = Harness::intake(intake, "2025-10-09 09:00").unwrap();
    h.run("11.center", 60, dispatch()).unwrap();
    assert!(h.order.assignment().unwrap().coordination);
    let handle_by = h.order.handle_by;
    let pass_on = Command::Dispatch {
        unit: Some(code("110105011")),
        co_handlers: vec![],
        handle_by: None,
    };
    assert_eq!(
        h.run("110105011", 60, pass_on.clone()).unwrap_err().key(),
        "not_dispatch_center"
    );
    h.run("110105", 60, pass_on).unwrap();
    assert_eq!(h.order.lead().unwrap().as_str(), "110105011");
    assert_eq!(h.order.handle_by, handle_by, "coordination keeps the clock");
    // A statistical zone is a territory, never a handler: the district coordinates.
    let mut h = Harness::intake(complaint("110105400", "11.04.01"), "2025-10-09 09:00").unwrap();
    h.run("11.center", 60, dispatch()).unwrap();
    assert_eq!(h.order.lead().unwrap().as_str(), "110105");
}

#[test]
fn dispatch_refusals() {
    let to = |unit: &str| Command::Dispatch {
        unit: Some(code(unit)),
        co_handlers: vec![],
        handle_by: None,
    };
    let mut h = harness();
    assert_eq!(
        h.run("11.center", 1, to("110105012")).unwrap_err().key(),
        "unit_retired"
    );
    assert_eq!(
        h.run("11.center", 1, to("110105400")).unwrap_err().key(),
        "not_a_handling_unit"
    );
    assert_eq!(
        h.run("11.center", 1, to("119999")).unwrap_err().key(),
        "unknown_unit"
    );
    // A community may not lead a matter outside its duty list (art. 17)…
    assert_eq!(
        h.run("11.center", 1, to("110105010001")).unwrap_err().key(),
        "outside_duty_list"
    );
    let early = Command::Dispatch {
        unit: None,
        co_handlers: vec![],
        handle_by: Some(at("2025-10-08 09:00")),
    };
    assert_eq!(
        h.run("11.center", 1, early).unwrap_err().key(),
        "deadline_before_intake"
    );
    assert_eq!(h.order.version, 1, "refusals append nothing");
    // …but may lead one inside it.
    let mut h = Harness::intake(complaint("110105010", "08.02"), "2025-10-09 09:00").unwrap();
    let mut intake_with_community = complaint("110105010", "08.02");
    intake_with_community.location.territory.community = Some(code("110105010001"));
    h.run("11.center", 1, to("110105010001")).unwrap();
    let mut h = Harness::intake(intake_with_community, "2025-10-09 09:00").unwrap();
    h.run("11.center", 1, dispatch()).unwrap();
    assert_eq!(h.order.lead().unwrap().as_str(), "110105010001");
    // No catalogue entry: a clear refusal.
    let mut h = Harness::intake(complaint("110105010", "11.04.01"), "2025-10-09 09:00").unwrap();
    h.reference.catalogue = crate::catalogue::Catalogue::default();
    assert_eq!(
        h.run("11.center", 1, dispatch()).unwrap_err().key(),
        "no_route"
    );
}

#[test]
fn disputes_extensions_visits_and_reopen() {
    let mut h = harness();
    h.run("11.center", 60, dispatch()).unwrap();
    h.run(
        "110105010",
        60,
        Command::Dispute {
            reason: "非本辖区".into(),
        },
    )
    .unwrap();
    assert_eq!(
        h.run(
            "110105010",
            1,
            Command::Dispute {
                reason: "again".into()
            }
        )
        .unwrap_err()
        .key(),
        "dispute_pending"
    );
    let rejected = Command::ReviewDispute {
        upheld: false,
        redispatch_to: None,
        note: "属本街道".into(),
    };
    h.run("11.center", 60, rejected).unwrap();
    assert_eq!(h.order.lead().unwrap().as_str(), "110105010");
    h.run(
        "110105010",
        60,
        Command::Dispute {
            reason: "确非本辖区".into(),
        },
    )
    .unwrap();
    let same = Command::ReviewDispute {
        upheld: true,
        redispatch_to: Some(code("110105010")),
        note: String::new(),
    };
    assert_eq!(h.run("11.center", 1, same).unwrap_err().key(), "same_unit");
    let before = h.order.handle_by.unwrap();
    let upheld = Command::ReviewDispute {
        upheld: true,
        redispatch_to: Some(code("110105011")),
        note: String::new(),
    };
    assert_eq!(
        h.run("11.center", 60 * 24, upheld).unwrap(),
        vec!["dispute_reviewed", "dispatched"]
    );
    assert_eq!(h.order.lead().unwrap().as_str(), "110105011");
    assert!(
        h.order.handle_by.unwrap() > before,
        "an upheld dispute restarts the clock"
    );
    assert_eq!(h.order.disputes_upheld, 1);
    h.run("110105011", 10, Command::Accept).unwrap();
    // Extension: refused keeps the deadline, approved moves it.
    let ask = Command::RequestExtension {
        extra: TimeLimit::WorkingDays(5),
        reason: "需协调".into(),
    };
    h.run("110105011", 10, ask.clone()).unwrap();
    assert_eq!(
        h.run("110105011", 10, ask.clone()).unwrap_err().key(),
        "extension_pending"
    );
    let deadline = h.order.handle_by;
    h.run(
        "11.center",
        10,
        Command::DecideExtension {
            approved: false,
            note: String::new(),
        },
    )
    .unwrap();
    assert_eq!(h.order.handle_by, deadline);
    h.run("110105011", 10, ask).unwrap();
    h.run(
        "11.center",
        10,
        Command::DecideExtension {
            approved: true,
            note: String::new(),
        },
    )
    .unwrap();
    assert!(h.order.handle_by > deadline);
    // A visit before reply waits for the deadline to expire.
    assert_eq!(
        h.run("11.center", 10, visit(Satisfaction::Satisfied))
            .unwrap_err()
            .key(),
        "visit_too_early"
    );
    h.run(
        "11.center",
        60 * 24 * 30,
        Command::ReturnVisit {
            result: VisitResult::Invalid {
                reason: "无人接听".into(),
            },
        },
    )
    .unwrap();
    assert_eq!(h.order.stage.name(), "visited");
    // Reopen: back to the same unit with fresh deadlines, earlier progress cleared.
    let reopened_at = h.now + chrono::Duration::minutes(10);
    assert_eq!(
        h.run(
            "11.center",
            10,
            Command::Reopen {
                reason: "诉求人不满意".into()
            }
        )
        .unwrap(),
        vec!["reopened", "dispatched"]
    );
    assert_eq!(
        (h.order.stage.name(), h.order.reopen_count),
        ("dispatched", 1)
    );
    assert!(
        h.order.visit.is_none()
            && h.order.contacted_at.is_none()
            && h.order.handle_by.unwrap() > reopened_at
    );
}

#[test]
fn supervision_notices_are_recorded_once_per_deadline() {
    let mut h = harness();
    h.run("11.center", 60, dispatch()).unwrap();
    let due_at = h.order.respond_by.unwrap();
    let soon = Command::Supervise {
        action: Supervision::DueSoon {
            deadline: DeadlineKind::Respond,
            due_at,
        },
        note: String::new(),
    };
    h.run("11.center", 60, soon.clone()).unwrap();
    assert_eq!(
        h.run("11.center", 1, soon).unwrap_err().key(),
        "already_notified"
    );
    let overdue = Command::Supervise {
        action: Supervision::Overdue {
            deadline: DeadlineKind::Respond,
            due_at,
        },
        note: String::new(),
    };
    assert_eq!(
        h.run("11.center", 1, overdue.clone()).unwrap_err().key(),
        "invalid_value",
        "not yet overdue"
    );
    h.run("11.center", 60 * 24, overdue.clone()).unwrap();
    assert_eq!(
        h.run("11.center", 1, overdue).unwrap_err().key(),
        "already_notified"
    );
    let wrong = Command::Supervise {
        action: Supervision::Overdue {
            deadline: DeadlineKind::Handle,
            due_at,
        },
        note: String::new(),
    };
    assert_eq!(
        h.run("11.center", 1, wrong).unwrap_err().key(),
        "invalid_value",
        "must name the running deadline"
    );
    // The district may supervise too; a street may not.
    h.run(
        "110105",
        1,
        Command::Supervise {
            action: Supervision::Flag,
            note: String::new(),
        },
    )
    .unwrap();
    let urge = Command::Supervise {
        action: Supervision::Urge,
        note: String::new(),
    };
    assert_eq!(
        h.run("110105010", 1, urge).unwrap_err().key(),
        "not_dispatch_center"
    );
    assert!(h.order.flagged);
}

#[test]
fn due_index_follows_the_running_deadlines() {
    let mut h = harness();
    assert_eq!(h.order.next_due_at(), None);
    h.run("11.center", 60, dispatch()).unwrap();
    assert_eq!(h.order.next_due_at(), h.order.respond_by);
    h.run("110105010", 1, Command::Accept).unwrap();
    h.run(
        "110105010",
        1,
        Command::Contact {
            note: String::new(),
        },
    )
    .unwrap();
    assert_eq!(h.order.next_due_at(), h.order.handle_by);
    assert_eq!(h.order.contacted_in_time, Some(true));
    h.run(
        "110105010",
        1,
        Command::Reply {
            outcome: ReplyOutcome::Explained,
            actions: "已解释".into(),
        },
    )
    .unwrap();
    assert_eq!(h.order.next_due_at(), None);
}

#[test]
fn time_never_runs_backwards() {
    let mut h = harness();
    assert_eq!(
        h.run("11.center", -5, dispatch()).unwrap_err().key(),
        "time_before_last_event"
    );
}

#[test]
fn the_worker_queue_gives_each_notice_once() {
    let mut h = harness();
    h.run("11.center", 60, dispatch()).unwrap();
    let respond_by = h.order.respond_by.unwrap();
    let soon = 120;
    assert_eq!(
        h.order.next_notice_at(soon),
        Some(respond_by - chrono::Duration::minutes(soon))
    );
    assert!(h
        .order
        .notices_due(respond_by - chrono::Duration::minutes(121), soon)
        .is_empty());
    // Within the window: a due-soon notice for the response deadline.
    let now = respond_by - chrono::Duration::minutes(30);
    let notices = h.order.notices_due(now, soon);
    assert_eq!(
        notices,
        vec![Supervision::DueSoon {
            deadline: DeadlineKind::Respond,
            due_at: respond_by
        }]
    );
    let minutes = (now - h.now).num_minutes();
    h.run(
        "11.center",
        minutes,
        Command::Supervise {
            action: notices[0].clone(),
            note: String::new(),
        },
    )
    .unwrap();
    assert!(h.order.notices_due(now, soon).is_empty());
    assert_eq!(
        h.order.next_notice_at(soon),
        Some(respond_by + chrono::Duration::milliseconds(1))
    );
    // Missed entirely (worker down): only the overdue notice, and then nothing more.
    let later = h.order.handle_by.unwrap() + chrono::Duration::hours(1);
    let notices = h.order.notices_due(later, soon);
    assert_eq!(notices.len(), 2, "{notices:?}");
    let minutes = (later - h.now).num_minutes();
    h.run(
        "11.center",
        minutes,
        Command::Supervise {
            action: notices[0].clone(),
            note: String::new(),
        },
    )
    .unwrap();
    h.run(
        "11.center",
        0,
        Command::Supervise {
            action: notices[1].clone(),
            note: String::new(),
        },
    )
    .unwrap();
    assert!(h.order.notices_due(later, soon).is_empty());
    assert_eq!(h.order.next_notice_at(soon), None);
}

#[test]
fn a_unit_assigns_its_person_and_hands_the_order_on() {
    let mut h = harness();
    h.run("11.center", 1, dispatch()).unwrap();
    let lead = h.lead();
    let assign = |to: &str| Command::Assign { to: to.into() };
    // Not the lead or a co-handler; a login that is not one; empty.
    assert_eq!(
        outcome(h.run("110105011", 1, assign("xiaowang"))),
        "!not_lead_unit"
    );
    for bad in ["", "  ", "王 五", "a/b", &"x".repeat(65)] {
        assert_eq!(
            outcome(h.run(&lead, 1, assign(bad))),
            "!invalid_value",
            "{bad:?}"
        );
    }
    assert_eq!(outcome(h.run(&lead, 1, assign(" xiaowang "))), "assigned");
    assert_eq!(h.order.assignee(&code(&lead)), Some("xiaowang"));
    // The same person again changes nothing and is refused; another takes it on.
    assert_eq!(
        outcome(h.run(&lead, 1, assign("xiaowang"))),
        "!invalid_value"
    );
    h.run(&lead, 1, Command::Accept).unwrap();
    assert_eq!(outcome(h.run(&lead, 1, assign("laoli"))), "assigned");
    assert_eq!(h.order.assignee(&code(&lead)), Some("laoli"));
    assert_eq!(h.order.assignees.len(), 1, "the latest per unit");
}
