//! Hand-computed cases for every rate, the composite, exclusions, periods, ties and units
//! without valid visits.

use super::*;
use crate::order::fixture::{category, code, complaint, reference, Harness};
use crate::order::{Command, ReplyOutcome};

fn counts(visits: i64, responded: i64, resolved: i64, sat: i64, basic: i64) -> Counts {
    Counts {
        visits,
        responded,
        resolved,
        satisfied: sat,
        basically_satisfied: basic,
        dissatisfied: visits - sat - basic,
        ..Counts::default()
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-12
}

#[test]
fn rates_and_composite_by_hand() {
    let policy = EvaluationPolicy::default();
    // 10 valid visits: 8 contacted in time, 6 resolved, 5 satisfied, 2 basically satisfied.
    let r = rates(&counts(10, 8, 6, 5, 2), &policy).unwrap();
    assert!(close(r.response, 0.8));
    assert!(close(r.resolution, 0.6));
    assert!(close(r.satisfaction, (5.0 + 0.9 * 2.0) / 10.0)); // 0.68
    assert!(close(r.composite, 0.1 * 0.8 + 0.5 * 0.6 + 0.4 * 0.68)); // 0.652
                                                                     // Other weights and factor are policy.
    let other = EvaluationPolicy {
        weight_response: 0.2,
        weight_resolution: 0.4,
        weight_satisfaction: 0.4,
        basically_satisfied_factor: 0.8,
        ..EvaluationPolicy::default()
    };
    let r = rates(&counts(10, 8, 6, 5, 2), &other).unwrap();
    assert!(close(r.satisfaction, 0.66));
    assert!(close(r.composite, 0.2 * 0.8 + 0.4 * 0.6 + 0.4 * 0.66));
    // No valid visit: no rate at all — neither 0 % nor 100 %.
    let only_invalid = Counts {
        invalid_visits: 3,
        excluded: 1,
        dispatched: 9,
        ..Counts::default()
    };
    assert_eq!(rates(&only_invalid, &policy), None);
}

#[test]
fn periods_calendar_months_and_the_19th_to_the_18th() {
    let date = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    let monthly = EvaluationPolicy::default();
    assert_eq!(
        monthly.period("2026-10").unwrap(),
        (date("2026-10-01"), date("2026-11-01"))
    );
    assert_eq!(
        monthly.period("2026-12").unwrap(),
        (date("2026-12-01"), date("2027-01-01"))
    );
    let nineteenth = EvaluationPolicy {
        period_start_day: 19,
        ..EvaluationPolicy::default()
    };
    assert_eq!(
        nineteenth.period("2026-10").unwrap(),
        (date("2026-09-19"), date("2026-10-19")),
        "October's period: 19 September to 18 October"
    );
    assert_eq!(
        nineteenth.period("2026-01").unwrap(),
        (date("2025-12-19"), date("2026-01-19"))
    );
    assert_eq!(nineteenth.period_of(date("2026-10-18")), "2026-10");
    assert_eq!(nineteenth.period_of(date("2026-10-19")), "2026-11");
    assert_eq!(nineteenth.period_of(date("2026-12-31")), "2027-01");
    assert_eq!(monthly.period_of(date("2026-12-31")), "2026-12");
    // Every day of two years lies in the period it is named to, for every start day.
    for start in 1..=28 {
        let policy = EvaluationPolicy {
            period_start_day: start,
            ..EvaluationPolicy::default()
        };
        let mut day = date("2025-01-01");
        while day < date("2027-01-01") {
            let (from, before) = policy.period(&policy.period_of(day)).unwrap();
            assert!(from <= day && day < before, "{start} {day}");
            day = day.succ_opt().unwrap();
        }
    }
    for bad in ["2026-13", "2026-1", "26-10", "2026/10", "", "2026-00"] {
        assert!(monthly.period(bad).is_err(), "{bad}");
    }
    assert_eq!(
        EvaluationPolicy::previous("2026-01").as_deref(),
        Some("2025-12")
    );
}

#[test]
fn policy_is_checked() {
    let bad = |policy: EvaluationPolicy| policy.validate().err().map(|e| e.key());
    assert_eq!(bad(EvaluationPolicy::default()), None);
    assert_eq!(
        bad(EvaluationPolicy {
            weight_response: 0.2,
            ..EvaluationPolicy::default()
        }),
        Some("invalid_value"),
        "weights summing to 1.1"
    );
    assert_eq!(
        bad(EvaluationPolicy {
            weight_response: -0.1,
            weight_resolution: 0.7,
            ..EvaluationPolicy::default()
        }),
        Some("invalid_value")
    );
    assert_eq!(
        bad(EvaluationPolicy {
            basically_satisfied_factor: 1.5,
            ..EvaluationPolicy::default()
        }),
        Some("invalid_value")
    );
    assert_eq!(
        bad(EvaluationPolicy {
            period_start_day: 30,
            ..EvaluationPolicy::default()
        }),
        Some("invalid_value")
    );
}

/// An order through dispatch, contact, reply and a valid visit; then ruled unreasonable.
#[test]
fn an_order_contributes_its_dispatch_and_its_visit_and_exclusion_moves_it() {
    let mut h = Harness::intake(complaint("110105010", "11.04.01"), "2025-10-09 09:00").unwrap();
    let empty = h.order.clone();
    for basis in CountBasis::ALL {
        assert!(
            contributions(&empty, basis).is_empty(),
            "not yet with a unit"
        );
    }
    h.run(
        "11.center",
        10,
        Command::Dispatch {
            unit: None,
            co_handlers: Vec::new(),
            handle_by: None,
        },
    )
    .unwrap();
    let street = h.lead();
    h.run(&street, 5, Command::Accept).unwrap();
    h.run(
        &street,
        25,
        Command::Contact {
            note: String::new(),
        },
    )
    .unwrap();
    h.run(
        &street,
        60,
        Command::Reply {
            outcome: ReplyOutcome::Resolved,
            actions: "已清理".into(),
        },
    )
    .unwrap();
    let replied = h.order.clone();
    h.run(
        "11.center",
        24 * 60,
        Command::ReturnVisit {
            result: VisitResult::Valid {
                contacted: true,
                resolved: false,
                satisfaction: Satisfaction::BasicallySatisfied,
            },
        },
    )
    .unwrap();
    let visited = h.order.clone();
    let cells = contributions(&visited, CountBasis::ReturnVisit);
    let dispatch_day = NaiveDate::from_ymd_opt(2025, 10, 9).unwrap();
    let visit_day = NaiveDate::from_ymd_opt(2025, 10, 10).unwrap();
    let cell = |day| CellKey {
        day,
        unit: code("110105010"),
        category: category("11.04.01"),
    };
    let centre = CellKey {
        day: dispatch_day,
        unit: code("11.center"),
        category: category("11.04.01"),
    };
    // The catalogue's co-handler never reported its part: owed, not in time, on the reply day.
    let co_handler = (
        CellKey {
            day: dispatch_day,
            unit: code("110105.dept.urban-management"),
            category: category("11.04.01"),
        },
        Counts {
            parts_owed: 1,
            ..Counts::default()
        },
    );
    assert_eq!(
        cells,
        vec![
            (
                centre.clone(),
                Counts {
                    dispatches_made: 1,
                    ..Counts::default()
                }
            ),
            (
                cell(dispatch_day),
                Counts {
                    dispatched: 1,
                    ..Counts::default()
                }
            ),
            co_handler.clone(),
            (
                cell(visit_day),
                Counts {
                    visits: 1,
                    responded: 1,
                    basically_satisfied: 1,
                    ..Counts::default()
                }
            ),
        ]
    );
    // The change from replied to visited is the visit alone.
    assert_eq!(
        delta(Some(&replied), &visited, CountBasis::ReturnVisit),
        vec![cells[3].clone()]
    );
    assert_eq!(
        delta(Some(&visited), &visited, CountBasis::ReturnVisit),
        vec![]
    );
    // By receipt, the dispatch and the visit both count on the day the request was received
    // (9 October), so the visit of the 10th lands in the 9th's cell.
    assert_eq!(
        contributions(&visited, CountBasis::Received),
        vec![
            (
                centre,
                Counts {
                    dispatches_made: 1,
                    ..Counts::default()
                }
            ),
            (
                cell(dispatch_day),
                Counts {
                    dispatched: 1,
                    visits: 1,
                    responded: 1,
                    basically_satisfied: 1,
                    ..Counts::default()
                }
            ),
            co_handler,
        ]
    );
    assert_eq!(
        delta(Some(&replied), &visited, CountBasis::Received),
        vec![(
            cell(dispatch_day),
            Counts {
                visits: 1,
                responded: 1,
                basically_satisfied: 1,
                ..Counts::default()
            }
        )]
    );
    // Ruled unreasonable: the visit leaves the rates and counts as an exclusion.
    h.run(
        "11.center",
        60,
        Command::RuleUnreasonable {
            reason: "诉求超出政策范围".into(),
        },
    )
    .unwrap();
    let change = delta(Some(&visited), &h.order, CountBasis::ReturnVisit);
    assert_eq!(
        change,
        vec![(
            cell(visit_day),
            Counts {
                visits: -1,
                responded: -1,
                basically_satisfied: -1,
                excluded: 1,
                ..Counts::default()
            }
        )]
    );
}

#[test]
fn ranking_within_peer_groups_with_ties_rollup_and_change() {
    let reference = reference();
    // Every unit with a valid visit is ranked here (the minimum is tested on its own).
    let policy = EvaluationPolicy {
        min_valid_visits: 1,
        ..EvaluationPolicy::default()
    };
    let c = |unit: &str, cat: &str, counts: Counts| (code(unit), category(cat), counts);
    let cells = vec![
        // Two streets tied at composite 1.0, one street with no valid visit.
        c("110105010", "11.04.01", counts(4, 4, 4, 4, 0)),
        c("110105011", "11.04.01", counts(2, 2, 2, 2, 0)),
        c(
            "110105012",
            "11.04.01",
            Counts {
                invalid_visits: 2,
                ..Counts::default()
            },
        ),
        // A district department: weak in one category, strong in another.
        c(
            "110105.dept.urban-management",
            "11.04.02",
            counts(2, 0, 0, 0, 0),
        ),
        c(
            "110105.dept.urban-management",
            "11.04.01",
            counts(2, 2, 2, 2, 0),
        ),
        c("110105.dept.housing", "04.02", counts(1, 1, 1, 0, 1)),
        c("11.ent.power", "03.03", counts(1, 0, 1, 1, 0)),
    ];
    let previous: BTreeMap<UnitCode, Counts> = [(code("110105010"), counts(2, 1, 1, 1, 0))]
        .into_iter()
        .collect();
    let lines = evaluate(
        &cells,
        &previous,
        &reference.directory,
        &reference.city,
        &policy,
    );
    let find = |unit: &str| lines.iter().find(|l| l.unit == code(unit)).unwrap();
    // Streets: the tie shares rank 1, ordered by code; no valid visit → unranked, last.
    let streets: Vec<(&str, Option<u32>)> = lines
        .iter()
        .filter(|l| l.group == PeerGroup::Streets)
        .map(|l| (l.unit.as_str(), l.rank))
        .collect();
    assert_eq!(
        streets,
        vec![
            ("110105010", Some(1)),
            ("110105011", Some(1)),
            ("110105012", None)
        ]
    );
    assert_eq!(find("110105012").rates, None);
    // Previous period 0.1×0.5 + 0.5×0.5 + 0.4×0.5 = 0.5 → change +0.5.
    assert!(close(find("110105010").previous_composite.unwrap(), 0.5));
    assert!(close(find("110105010").change.unwrap(), 0.5));
    assert_eq!(find("110105011").change, None);
    // District departments: 城管 (2 of 4 perfect: 0.5) vs 住建 (1 visit: 0.1+0.5+0.36=0.96).
    let chengguan = find("110105.dept.urban-management");
    assert!(close(chengguan.rates.unwrap().composite, 0.5));
    assert_eq!(chengguan.rank, Some(2));
    assert_eq!(find("110105.dept.housing").rank, Some(1));
    assert!(close(
        find("110105.dept.housing").rates.unwrap().composite,
        0.96
    ));
    assert_eq!(
        chengguan.weakest_categories[0],
        (category("11.04.02"), 0.0),
        "the weakest category first"
    );
    // Enterprises: power (0 + 0.5 + 0.4) = 0.9.
    assert!(close(find("11.ent.power").rates.unwrap().composite, 0.9));
    assert_eq!(find("11.ent.power").group, PeerGroup::Enterprises);
    // The district rolls up its streets and departments: 4+2+2+2+1 = 11 valid visits.
    let district = find("110105");
    assert_eq!(district.group, PeerGroup::Districts);
    assert_eq!(district.counts.visits, 11);
    assert_eq!(district.counts.invalid_visits, 2);
    assert_eq!(district.rank, Some(1));
    // Deterministic: the same input gives the same output.
    assert_eq!(
        lines,
        evaluate(
            &cells,
            &previous,
            &reference.directory,
            &reference.city,
            &policy
        )
    );
}

/// The cells of an order's contributions summed per (period, unit), by return visit.
fn by_period(order: &Order) -> BTreeMap<(String, String), Counts> {
    let policy = EvaluationPolicy::default();
    let mut sums: BTreeMap<(String, String), Counts> = BTreeMap::new();
    for (key, counts) in contributions(order, CountBasis::ReturnVisit) {
        sums.entry((policy.period_of(key.day), key.unit.to_string()))
            .or_default()
            .add(&counts);
    }
    sums
}

fn visit(resolved: bool, satisfaction: Satisfaction) -> Command {
    Command::ReturnVisit {
        result: VisitResult::Valid {
            contacted: true,
            resolved,
            satisfaction,
        },
    }
}

fn contact() -> Command {
    Command::Contact {
        note: String::new(),
    }
}

fn reply() -> Command {
    Command::Reply {
        outcome: ReplyOutcome::Resolved,
        actions: "已处理".into(),
    }
}

fn dispatch() -> Command {
    Command::Dispatch {
        unit: None,
        co_handlers: Vec::new(),
        handle_by: None,
    }
}

/// Issue: a reopening erased October. The October visit stays in October; the rework is no new
/// dispatch; the second visit counts in November.
#[test]
fn a_reopening_keeps_the_first_visit_in_its_month_and_counts_the_second_in_its_own() {
    let mut h = Harness::intake(complaint("110105010", "11.04.01"), "2025-10-30 09:00").unwrap();
    h.run("11.center", 10, dispatch()).unwrap();
    let street = h.lead();
    h.run(&street, 5, Command::Accept).unwrap();
    h.run(&street, 10, contact()).unwrap();
    h.run(&street, 60, reply()).unwrap();
    h.run(
        "11.center",
        24 * 60,
        visit(false, Satisfaction::Dissatisfied),
    )
    .unwrap();
    let october = by_period(&h.order)[&("2025-10".into(), street.clone())];
    // Reopened on 3 November.
    h.run(
        "11.center",
        3 * 24 * 60,
        Command::Reopen {
            reason: "诉求人不满意".into(),
        },
    )
    .unwrap();
    h.run(&street, 5, Command::Accept).unwrap();
    h.run(&street, 30, contact()).unwrap();
    h.run(&street, 60, reply()).unwrap();
    h.run("11.center", 60, visit(true, Satisfaction::Satisfied))
        .unwrap();
    let periods = by_period(&h.order);
    assert_eq!(
        periods[&("2025-10".into(), street.clone())],
        october,
        "October's dispatch and visit stay in October"
    );
    assert_eq!(
        october,
        Counts {
            dispatched: 1,
            visits: 1,
            responded: 1,
            dissatisfied: 1,
            ..Counts::default()
        }
    );
    assert_eq!(
        periods[&("2025-11".into(), street.clone())],
        Counts {
            visits: 1,
            responded: 1,
            resolved: 1,
            satisfied: 1,
            ..Counts::default()
        },
        "the rework's visit in November, no second dispatch"
    );
    assert_eq!(
        periods[&("2025-10".into(), "11.center".into())].dispatches_made,
        1
    );
    assert!(!periods.contains_key(&("2025-11".into(), "11.center".into())));
    // Ruled unreasonable afterwards: both visits become exclusions, each in its own month.
    h.run(
        "11.center",
        60,
        Command::RuleUnreasonable {
            reason: "超出政策范围".into(),
        },
    )
    .unwrap();
    let periods = by_period(&h.order);
    for month in ["2025-10", "2025-11"] {
        let c = periods[&(month.into(), street.clone())];
        assert_eq!((c.visits, c.excluded), (0, 1), "{month}");
    }
}

/// Issue: after an upheld objection the new unit inherited the first unit's contact. Each unit
/// is judged by its own dispatch and contact; the misdispatch is the dispatcher's.
#[test]
fn a_redispatched_unit_is_judged_by_its_own_contact_and_the_misdispatch_is_the_dispatchers() {
    // The first unit contacted in time; the new one never contacts.
    let mut h = Harness::intake(complaint("110105010", "11.04.01"), "2025-10-09 09:00").unwrap();
    h.run("11.center", 10, dispatch()).unwrap();
    let first = h.lead();
    h.run(&first, 1, Command::Accept).unwrap();
    h.run(&first, 5, contact()).unwrap();
    h.run(
        &first,
        5,
        Command::Dispute {
            reason: "不属本街道辖区".into(),
        },
    )
    .unwrap();
    h.run(
        "11.center",
        30,
        Command::ReviewDispute {
            upheld: true,
            redispatch_to: Some(code("110105011")),
            note: "改派".into(),
        },
    )
    .unwrap();
    assert_eq!(h.order.contacted_at, None, "the new unit has not contacted");
    h.run("110105011", 1, Command::Accept).unwrap();
    h.run("110105011", 60, reply()).unwrap();
    h.run("11.center", 60, visit(true, Satisfaction::Satisfied))
        .unwrap();
    let periods = by_period(&h.order);
    let new = periods[&("2025-10".into(), "110105011".into())];
    assert_eq!((new.dispatched, new.visits, new.responded), (1, 1, 0));
    assert!(
        !periods.contains_key(&("2025-10".into(), first.clone())),
        "the overturned dispatch is not the first unit's"
    );
    let centre = periods[&("2025-10".into(), "11.center".into())];
    assert_eq!((centre.dispatches_made, centre.misdispatches), (2, 1));

    // The first unit was late (over a day); the new one contacts within 20 minutes of its own
    // dispatch: responded.
    let mut h = Harness::intake(complaint("110105010", "11.04.01"), "2025-10-09 09:00").unwrap();
    h.run("11.center", 10, dispatch()).unwrap();
    h.run(&first, 3 * 24 * 60, Command::Accept).unwrap();
    h.run(&first, 5, contact()).unwrap();
    assert_eq!(h.order.contacted_in_time, Some(false));
    h.run(
        &first,
        5,
        Command::Dispute {
            reason: "不属本街道辖区".into(),
        },
    )
    .unwrap();
    h.run(
        "11.center",
        30,
        Command::ReviewDispute {
            upheld: true,
            redispatch_to: Some(code("110105011")),
            note: "改派".into(),
        },
    )
    .unwrap();
    h.run("110105011", 5, Command::Accept).unwrap();
    h.run("110105011", 15, contact()).unwrap();
    let round = h.order.record.current().unwrap();
    assert_eq!(round.contact.map(|c| c.in_time), Some(true));
    h.run("110105011", 60, reply()).unwrap();
    h.run("11.center", 60, visit(true, Satisfaction::Satisfied))
        .unwrap();
    let new = by_period(&h.order)[&("2025-10".into(), "110105011".into())];
    assert_eq!((new.visits, new.responded), (1, 1));
}

/// Co-handlers owe their part once per round the lead replies in; in time when reported before
/// the reply and the deadline.
#[test]
fn co_handlers_are_counted_for_their_parts() {
    let mut h = Harness::intake(complaint("110105010", "11.04.01"), "2025-10-09 09:00").unwrap();
    h.run("11.center", 10, dispatch()).unwrap();
    let street = h.lead();
    let co = "110105.dept.urban-management";
    assert_eq!(
        h.order.record.current().unwrap().co_handlers,
        vec![code(co)]
    );
    h.run(
        co,
        30,
        Command::ReportPart {
            text: "已配合清理".into(),
        },
    )
    .unwrap();
    h.run(&street, 5, Command::Accept).unwrap();
    h.run(&street, 10, contact()).unwrap();
    h.run(&street, 60, reply()).unwrap();
    let cell = by_period(&h.order)[&("2025-10".into(), co.into())];
    assert_eq!((cell.parts_owed, cell.parts_in_time), (1, 1));
    assert_eq!(
        cell.visits, 0,
        "a co-handler is not judged on the lead's visit"
    );
}

/// Ranks compare exact composites: two units 4e-10 apart are not tied (rounding to 1e-9 tied
/// them), two equal composites over different volumes are.
#[test]
fn ranks_compare_exact_composites_and_need_the_minimum_volume() {
    let reference = reference();
    let policy = EvaluationPolicy::default();
    let c = |unit: &str, counts: Counts| (code(unit), category("11.04.01"), counts);
    let n = 100_000_000;
    let cells = vec![
        c("110105010", counts(n, n, n, n, 0)),
        c("110105011", counts(n, n, n, n - 1, 1)),
    ];
    let lines = evaluate(
        &cells,
        &BTreeMap::new(),
        &reference.directory,
        &reference.city,
        &policy,
    );
    let rank = |lines: &[UnitEvaluation], unit: &str| {
        lines.iter().find(|l| l.unit == code(unit)).unwrap().rank
    };
    assert_eq!(rank(&lines, "110105010"), Some(1));
    assert_eq!(rank(&lines, "110105011"), Some(2));
    // Equal fractions over different volumes tie exactly: 0.1 + 0.5×½ + 0.4×½ = 0.55.
    let cells = vec![
        c("110105010", counts(10, 10, 5, 5, 0)),
        c("110105011", counts(20, 20, 10, 10, 0)),
    ];
    let lines = evaluate(
        &cells,
        &BTreeMap::new(),
        &reference.directory,
        &reference.city,
        &policy,
    );
    assert_eq!(rank(&lines, "110105010"), Some(1));
    assert_eq!(rank(&lines, "110105011"), Some(1));
    // Under the minimum (5 valid visits): shown with its counts and rates, marked, not ranked,
    // and no change stated; its categories are not named among the weakest.
    let cells = vec![
        c("110105010", counts(4, 4, 4, 4, 0)),
        c("110105011", counts(6, 3, 3, 3, 0)),
    ];
    let previous: BTreeMap<UnitCode, Counts> = [(code("110105010"), counts(9, 1, 1, 1, 0))]
        .into_iter()
        .collect();
    let lines = evaluate(
        &cells,
        &previous,
        &reference.directory,
        &reference.city,
        &policy,
    );
    let small = lines.iter().find(|l| l.unit == code("110105010")).unwrap();
    assert!(small.insufficient);
    assert_eq!((small.rank, small.change), (None, None));
    assert!(small.rates.is_some());
    assert!(small.weakest_categories.is_empty());
    assert_eq!(rank(&lines, "110105011"), Some(1));
    let ranked = lines.iter().find(|l| l.unit == code("110105011")).unwrap();
    assert_eq!(ranked.weakest_categories.len(), 1);
}

#[test]
fn weights_with_more_than_six_decimals_are_refused() {
    let policy = EvaluationPolicy {
        weight_response: 0.1000001,
        weight_resolution: 0.4999999,
        ..EvaluationPolicy::default()
    };
    assert!(policy.validate().is_err());
    let policy = EvaluationPolicy {
        min_valid_visits: 0,
        ..EvaluationPolicy::default()
    };
    assert!(policy.validate().is_err());
}

#[test]
fn a_period_is_due_to_close_on_its_policy_day() {
    let date = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    let policy = EvaluationPolicy::default();
    assert_eq!(policy.due_to_close(date("2025-11-04")), None);
    assert_eq!(
        policy.due_to_close(date("2025-11-05")),
        Some("2025-10".into())
    );
    assert_eq!(
        policy.due_to_close(date("2025-11-30")),
        Some("2025-10".into())
    );
    assert_eq!(
        policy.due_to_close(date("2026-01-05")),
        Some("2025-12".into())
    );
    let by_hand = EvaluationPolicy {
        close_days_after: 0,
        ..EvaluationPolicy::default()
    };
    assert_eq!(by_hand.due_to_close(date("2025-11-20")), None);
    // The 19th to the 18th: 2025-11 ends on 18 November, closes on the 23rd.
    let nineteenth = EvaluationPolicy {
        period_start_day: 19,
        ..EvaluationPolicy::default()
    };
    assert_eq!(nineteenth.due_to_close(date("2025-11-22")), None);
    assert_eq!(
        nineteenth.due_to_close(date("2025-11-23")),
        Some("2025-11".into())
    );
    assert!(EvaluationPolicy {
        close_days_after: 40,
        ..EvaluationPolicy::default()
    }
    .validate()
    .is_err());
}
