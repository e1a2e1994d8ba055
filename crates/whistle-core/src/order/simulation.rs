//! A seeded simulation (a small VOPR): thousands of random valid and invalid commands against a
//! set of orders, checking the invariants after every step. A failure prints the seed; rerun
//! with `WHISTLE_SIM_SEED=<seed> cargo test -p whistle-core simulation`.

use super::fixture::*;
use super::*;
use crate::calendar::TimeLimit;

/// SplitMix64: tiny, deterministic, good enough to pick commands.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const UNITS: [&str; 8] = [
    "11.center",
    "110105",
    "110105010",
    "110105011",
    "110105.dept.urban-management",
    "110105.dept.housing",
    "11.ent.power",
    "110105010001",
];
const CATEGORIES: [&str; 5] = ["11.04.01", "11.04.02", "03.03", "04.02", "08.02"];

fn random_command(rng: &mut Rng, others: &[OrderNo]) -> Command {
    let unit = |rng: &mut Rng| {
        let name: &&str = rng.pick(&UNITS[1..]);
        code(name)
    };
    let text = |rng: &mut Rng| {
        if rng.below(20) == 0 {
            String::new()
        } else {
            "说明".to_string()
        }
    };
    match rng.below(20) {
        0 => Command::Dispatch {
            unit: if rng.below(3) == 0 {
                Some(unit(rng))
            } else {
                None
            },
            co_handlers: Vec::new(),
            handle_by: None,
        },
        1 => Command::Forward {
            party: OutsideParty::CentralUnit {
                name: "某央企".into(),
            },
            note: String::new(),
        },
        2 => Command::RecordForwardAnswer { answer: text(rng) },
        3 | 4 => Command::Accept,
        5 => Command::Dispute { reason: text(rng) },
        6 => Command::ReviewDispute {
            upheld: rng.below(2) == 0,
            redispatch_to: Some(unit(rng)),
            note: String::new(),
        },
        7 => Command::ReportPart { text: text(rng) },
        8 => Command::Contact {
            note: String::new(),
        },
        9 => Command::RequestExtension {
            extra: TimeLimit::WorkingDays(rng.below(6) as u32),
            reason: text(rng),
        },
        10 => Command::DecideExtension {
            approved: rng.below(2) == 0,
            note: String::new(),
        },
        11 => Command::Escalate {
            to: if rng.below(2) == 0 {
                EscalationLevel::District
            } else {
                EscalationLevel::City
            },
            reason: text(rng),
        },
        12 | 13 => Command::Reply {
            outcome: ReplyOutcome::Resolved,
            actions: text(rng),
        },
        14 => Command::ReturnVisit {
            result: if rng.below(5) == 0 {
                VisitResult::Invalid {
                    reason: "无人接听".into(),
                }
            } else {
                VisitResult::Valid {
                    contacted: true,
                    resolved: rng.below(2) == 0,
                    satisfaction: Satisfaction::Dissatisfied,
                }
            },
        },
        15 => Command::Close {
            note: String::new(),
        },
        16 => Command::Reopen { reason: text(rng) },
        17 => Command::RuleUnreasonable { reason: text(rng) },
        18 => Command::Supervise {
            action: if rng.below(2) == 0 {
                Supervision::Flag
            } else {
                Supervision::Urge
            },
            note: String::new(),
        },
        _ => {
            let other = rng.pick(others).clone();
            if rng.below(8) != 0 {
                Command::LinkRepeat { earlier: other }
            } else {
                Command::Merge { into: other }
            }
        }
    }
}

/// Which commands the life allows once an order is closed.
fn allowed_after_close(order: &Order, command: &Command) -> bool {
    matches!(
        (&order.stage, command),
        (_, Command::LinkRepeat { .. })
            | (
                Stage::Closed(Closure::Handled(_)),
                Command::Reopen { .. } | Command::RuleUnreasonable { .. }
            )
    )
}

fn run(seed: u64, steps: usize) {
    let mut rng = Rng(seed);
    let reference = reference();
    let mut now = at("2025-09-20 09:00");
    let mut orders: Vec<(Order, Vec<Event>)> = Vec::new();
    let count = 12 + steps / 40;
    let nos: Vec<OrderNo> = (1..=count)
        .map(|i| OrderNo::parse(&format!("20250920-{i:06}")).unwrap())
        .collect();
    let mut intakes = Vec::new();
    for (index, no) in nos.iter().enumerate() {
        let mut intake = complaint(
            if index % 2 == 0 {
                "110105010"
            } else {
                "110105011"
            },
            CATEGORIES[index % CATEGORIES.len()],
        );
        if index % 5 == 4 {
            intake.triage = Triage::AnswerNow {
                answer: "已答复".into(),
            };
        }
        intakes.push((index, no.clone(), intake));
    }
    // Orders arrive over time: 12 at the start, one more every 40 steps.
    let mut arrivals = intakes.into_iter();
    let mut admit = |orders: &mut Vec<(Order, Vec<Event>)>, now: Timestamp| {
        let Some((index, no, intake)) = arrivals.next() else {
            return;
        };
        let actor = actor("11.center");
        let context = Context {
            now,
            actor: &actor,
            reference: &reference,
        };
        let id = OrderId(uuid::Uuid::from_u128(index as u128 + 1));
        let events: Vec<Event> = super::intake(&intake, no.clone(), &context)
            .unwrap()
            .into_iter()
            .enumerate()
            .map(|(i, payload)| Event {
                order_id: id,
                seq: i as u64 + 1,
                at: now,
                actor: actor.clone(),
                payload,
            })
            .collect();
        orders.push((Order::from_events(&events).unwrap(), events));
    };
    for _ in 0..12 {
        admit(&mut orders, now);
    }
    let mut accepted = 0;
    for step in 0..steps {
        if step % 40 == 39 {
            admit(&mut orders, now);
        }
        let minutes = match rng.below(10) {
            0 => -30,
            1..=6 => rng.below(240) as i64,
            _ => rng.below(60 * 24 * 4) as i64,
        };
        now += chrono::Duration::minutes(minutes);
        // Mostly open orders, sometimes closed ones (to check what closing still allows).
        let open: Vec<usize> = (0..orders.len())
            .filter(|i| !orders[*i].0.is_closed())
            .collect();
        let index = if open.is_empty() || rng.below(5) == 0 {
            rng.below(orders.len())
        } else {
            *rng.pick(&open)
        };
        let command = random_command(&mut rng, &nos);
        let (order, events) = &mut orders[index];
        let lead = order.lead().map(|u| u.to_string());
        let unit = match rng.below(4) {
            0 | 1 => lead.unwrap_or_else(|| "11.center".into()),
            2 => "11.center".to_string(),
            _ => rng.pick(&UNITS).to_string(),
        };
        let actor = actor(&unit);
        let context = Context {
            now,
            actor: &actor,
            reference: &reference,
        };
        let was_closed = order.is_closed();
        let before = order.clone();
        match decide(order, &command, &context) {
            Err(_) => assert_eq!(
                *order, before,
                "seed {seed} step {step}: a refusal changed the order"
            ),
            Ok(payloads) => {
                assert!(
                    !was_closed || allowed_after_close(order, &command),
                    "seed {seed} step {step}: closed order accepted {}",
                    command.name()
                );
                accepted += 1;
                for payload in payloads {
                    let event = Event {
                        order_id: order.id,
                        seq: order.version + 1,
                        at: now,
                        actor: actor.clone(),
                        payload,
                    };
                    order
                        .apply(&event)
                        .unwrap_or_else(|e| panic!("seed {seed} step {step}: apply failed: {e}"));
                    events.push(event);
                }
            }
        }
        order
            .check_invariants()
            .unwrap_or_else(|e| panic!("seed {seed} step {step}: {e}"));
        if let Some(lead) = order.lead() {
            assert!(
                reference.directory.get(lead).is_some(),
                "seed {seed} step {step}: lead {lead} unknown"
            );
        }
        for deadline in [order.respond_by, order.handle_by].into_iter().flatten() {
            assert!(
                deadline >= order.received_at,
                "seed {seed} step {step}: deadline precedes intake"
            );
        }
        assert_eq!(
            order.version as usize,
            events.len(),
            "seed {seed} step {step}: version is not the event count"
        );
        let replayed = Order::from_events(events.iter()).unwrap();
        assert_eq!(
            &replayed, order,
            "seed {seed} step {step}: replay differs from the live projection"
        );
        // The figures follow the history: a command changes the evaluation only on its own day
        // — except a ruling (核减, the order's visits become exclusions wherever they fell) and
        // an upheld objection (the overturned dispatch becomes the dispatcher's misdispatch),
        // which a closed period records as adjustments.
        let today = crate::time::beijing_date(now);
        let basis = crate::evaluation::CountBasis::ReturnVisit;
        for (key, change) in crate::evaluation::delta(Some(&before), order, basis) {
            if key.day == today {
                continue;
            }
            let adjusts = match &command {
                Command::RuleUnreasonable { .. } => {
                    change.visits + change.invalid_visits + change.excluded == 0
                        && change.excluded > 0
                }
                Command::ReviewDispute { upheld: true, .. } => {
                    change
                        == crate::evaluation::Counts {
                            dispatched: -1,
                            ..Default::default()
                        }
                        || change
                            == crate::evaluation::Counts {
                                misdispatches: 1,
                                ..Default::default()
                            }
                }
                _ => false,
            };
            assert!(
                adjusts,
                "seed {seed} step {step}: {} changed {key:?} (not today, {today}) by {change:?}",
                command.name()
            );
        }
    }
    assert!(accepted > steps / 20, "seed {seed}: only {accepted} of {steps} commands were accepted; the simulation is not exploring");
}

#[test]
fn simulation() {
    let seeds: Vec<u64> = match std::env::var("WHISTLE_SIM_SEED") {
        Ok(seed) => vec![seed.parse().expect("WHISTLE_SIM_SEED must be a number")],
        Err(_) => (1..=8).collect(),
    };
    for seed in seeds {
        eprintln!("simulation seed {seed}");
        run(seed, 5_000);
    }
}

/// Instants at and around every edge: chrono's own limits, the policy's bounds, the years the
/// parser accepts, and ordinary times.
fn extreme_instant(rng: &mut Rng) -> Timestamp {
    let edges = [
        Timestamp::MIN_UTC,
        Timestamp::MAX_UTC,
        at("1970-01-01 00:00"),
        at("1999-12-31 23:59"),
        at("2000-01-01 00:00"),
        at("2025-09-20 09:00"),
        at("2100-12-31 23:59"),
        at("2101-01-01 00:00"),
        at("2200-12-31 23:59"),
    ];
    let base = *rng.pick(&edges);
    let jitter = chrono::Duration::minutes(rng.below(60 * 24 * 800) as i64 - 60 * 24 * 400);
    base.checked_add_signed(jitter).unwrap_or(base)
}

fn extreme_limit(rng: &mut Rng) -> TimeLimit {
    match rng.below(3) {
        0 => TimeLimit::Minutes(rng.below(1441) as u32),
        1 => TimeLimit::Hours(rng.below(721) as u32),
        _ => TimeLimit::WorkingDays(rng.below(251) as u32),
    }
}

/// A property over the whole core: commands with extreme dates and durations (every command
/// time, intake time, explicit deadline and extension) are decided or refused, never a panic.
/// A panic here is what once stopped the writer for every caller (issue: two legal commands).
#[test]
fn extreme_times_never_panic() {
    let seeds: Vec<u64> = match std::env::var("WHISTLE_SIM_SEED") {
        Ok(seed) => vec![seed.parse().expect("WHISTLE_SIM_SEED must be a number")],
        Err(_) => (1..=4).collect(),
    };
    let reference = reference();
    let calendar = &reference.calendar;
    let center = actor("11.center");
    for seed in seeds {
        let mut rng = Rng(seed);
        let mut refused = 0;
        for step in 0..3_000 {
            let now = extreme_instant(&mut rng);
            let _ = calendar.deadline(now, extreme_limit(&mut rng));
            let _ = calendar.working_days_between(now, now);
            let _ = crate::time::beijing_date(now);
            let mut intake = complaint("110105010", CATEGORIES[step % CATEGORIES.len()]);
            if rng.below(2) == 0 {
                intake.received_at = Some(extreme_instant(&mut rng));
            }
            let context = Context {
                now,
                actor: &center,
                reference: &reference,
            };
            let no = OrderNo::parse("20250920-000001").unwrap();
            let Ok(payloads) = super::intake(&intake, no, &context) else {
                refused += 1;
                continue;
            };
            let mut events: Vec<Event> = payloads
                .into_iter()
                .enumerate()
                .map(|(i, payload)| Event {
                    order_id: OrderId(uuid::Uuid::from_u128(1)),
                    seq: i as u64 + 1,
                    at: now,
                    actor: center.clone(),
                    payload,
                })
                .collect();
            let mut order = Order::from_events(&events).unwrap();
            let mut now = now;
            for _ in 0..12 {
                let mut command = random_command(&mut rng, &[order.no.clone()]);
                match &mut command {
                    Command::Dispatch { handle_by, .. } => {
                        *handle_by = Some(extreme_instant(&mut rng))
                    }
                    Command::RequestExtension { extra, .. } => *extra = extreme_limit(&mut rng),
                    _ => {}
                }
                let unit = match rng.below(2) {
                    0 => order
                        .lead()
                        .map(|u| u.to_string())
                        .unwrap_or_else(|| "11.center".into()),
                    _ => "11.center".to_string(),
                };
                let who = actor(&unit);
                if rng.below(3) == 0 {
                    now = extreme_instant(&mut rng);
                }
                let context = Context {
                    now,
                    actor: &who,
                    reference: &reference,
                };
                if let Ok(payloads) = decide(&order, &command, &context) {
                    for payload in payloads {
                        let event = Event {
                            order_id: order.id,
                            seq: order.version + 1,
                            at: now,
                            actor: who.clone(),
                            payload,
                        };
                        order.apply(&event).unwrap();
                        events.push(event);
                    }
                    order.check_invariants().unwrap();
                    let _ = order.notices_due(now, reference.policy.due_soon_minutes);
                    let _ = order.next_notice_at(reference.policy.due_soon_minutes);
                } else {
                    refused += 1;
                }
            }
        }
        assert!(
            refused > 0,
            "seed {seed}: nothing was refused; the bounds are not exercised"
        );
    }
}
