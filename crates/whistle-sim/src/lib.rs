//! The simulator behind `whistle simulate` and `whistle demo`: days of Beijing's hotline through the real engine (every order a real
//! intake and real commands, decided by the core, committed by the store), deterministic by seed.
//!
//! Calibration (DOMAIN §1, §6): a daily volume (default 70,000, the 2025 scale), weekday and
//! seasonal shape (weekends lower, heating season and summer rain higher), ~58 % consultations of
//! which most are answered at once, ~90 % by phone, categories weighted by the 2020 top-ten
//! shares, territories weighted by their number of communities, and handling units of different
//! quality (a fixed draw per unit from the seed) so that the rates and rankings spread. Lives:
//! dispatch, accept, contact (in time with the unit's quality), occasional extensions, reply,
//! return visit (valid or not; resolved and satisfied with the unit's quality), close; a share
//! of dissatisfied orders is reopened and handled again, a small share ruled unreasonable.
//!
//! Places and people: most requests name a public place (a residential compound of the street,
//! some far more often than others, so high-frequency places appear) and carry a phone number (a
//! small pool of frequent callers makes repeat requests). A unit that contacts the requester late
//! is first noticed overdue by the supervision the worker would issue (督办).
//!
//! It streams one day at a time: memory holds one day's orders, not the period.

use std::collections::HashMap;
use std::time::Instant;
use whistle_core::catalogue::Territory;
use whistle_core::ids::{Actor, CategoryCode, OrderId, UnitCode};
use whistle_core::order::{
    Channel, Command, EventPayload, Intake, Location, ReplyOutcome, RequestType, Satisfaction,
    Triage, VisitResult,
};
use whistle_core::time::Timestamp;
use whistle_store::{Envelope, OrderRef, Request, Store};

/// SplitMix64: small, fast, and the same numbers on every platform and version.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// Picks from cumulative weights.
fn pick<'a, T>(rng: &mut Rng, items: &'a [(T, f64)], total: f64) -> &'a T {
    let mut x = rng.unit() * total;
    for (item, weight) in items {
        if x < *weight {
            return item;
        }
        x -= weight;
    }
    &items[items.len() - 1].0
}

/// The 2020 top-ten shares (DOMAIN §6), per top-level category of the shipped taxonomy; others
/// share the rest.
fn top_level_weight(code: &str) -> f64 {
    match code {
        "01" => 1.077,
        "02" => 0.980,
        "03" => 0.648,
        "04" => 0.612,
        "05" => 0.598,
        "06" => 0.548,
        "07" => 0.472,
        "08" => 0.465,
        "09" => 0.357,
        "10" => 0.351,
        _ => 0.35,
    }
}

pub struct Settings {
    pub days: u32,
    pub seed: u64,
    pub per_day: u32,
    pub start: chrono::NaiveDate,
}

#[derive(Default)]
pub struct Report {
    pub orders: u64,
    pub commands: u64,
    pub refused: u64,
    pub seconds: f64,
    /// Whistles blown (吹哨) and their commands.
    pub whistles: u64,
    pub whistle_commands: u64,
    /// The local incidents injected: (day, street, category, requests).
    pub incidents: Vec<(chrono::NaiveDate, UnitCode, CategoryCode, u64)>,
}

/// One order's remaining life: the commands to issue, each with who issues it.
struct Life {
    id: OrderId,
    at: Timestamp,
    lead: Option<UnitCode>,
    steps: Vec<(bool, i64, Command)>,
    /// The response deadline, until an overdue notice for it has been issued.
    respond_by: Option<Timestamp>,
}

/// The share of street-led requests for which the street blows the whistle.
const WHISTLE_SHARE: f64 = 0.02;

/// The day's whistles (吹哨报到), from raise to rating: the street raises each for an item of
/// its whistle list; each summoned unit reports in before its deadline or — with its quality's
/// odds — is marked absent by the deadline worker; the street closes it hours later and rates
/// every unit that came, by its quality. The whistles move together, one command of each per
/// call to the store (first all raises, then every whistle's first answer, and so on), so the
/// store commits a round at once instead of one round trip per command. Each whistle's commands
/// stay in time order; a refusal is counted and ends that whistle.
#[allow(clippy::too_many_arguments)]
async fn blow_all(
    store: &dyn Store,
    rng: &mut Rng,
    seed: u64,
    reference: &whistle_core::reference::Reference,
    center: &Actor,
    whistles: &[(UnitCode, Timestamp)],
    report: &mut Report,
) {
    use whistle_core::whistle::{Raise, Scores, WhistleCommand, WhistleResult};
    use whistle_store::whistles::{WhistleEnvelope, WhistleRequest};
    let mut streets = Vec::new();
    let mut raises = Vec::new();
    for (street, at) in whistles {
        let items = reference
            .whistle_list
            .for_street(street, &reference.directory);
        if items.is_empty() {
            continue;
        }
        let item = items[rng.below(items.len() as u64) as usize];
        let street_actor = Actor {
            user: "sim-street".into(),
            unit: street.clone(),
        };
        raises.push(WhistleEnvelope {
            actor: street_actor.clone(),
            at: *at,
            request: WhistleRequest::Raise(Box::new(Raise {
                kind: item.kind,
                order: None,
                lead: None,
                assisting: Vec::new(),
                place: format!("{}辖区", street),
                needed: format!("{}，请相关部门到场联合处置", item.title),
                list_item: Some(item.code.clone()),
                off_list_reason: None,
                override_reference: None,
            })),
        });
        streets.push(street_actor);
    }
    report.whistle_commands += raises.len() as u64;
    let raised = store.execute_whistles(raises).await;
    // Each raised whistle's commands, in time order, drawn before any is issued (the draws do
    // not depend on the outcomes).
    let mut sequences = Vec::new();
    for (street_actor, raised) in streets.into_iter().zip(raised) {
        let Ok(raised) = raised else {
            report.refused += 1;
            continue;
        };
        report.whistles += 1;
        let no = raised.whistle.no.clone();
        let command = |actor: Actor, at: Timestamp, command: WhistleCommand| WhistleEnvelope {
            actor,
            at,
            request: WhistleRequest::Command {
                whistle: no.clone(),
                expected_version: None,
                command,
            },
        };
        let mut came = Vec::new();
        let mut steps = Vec::new();
        for summons in &raised.whistle.summons {
            let q = quality(&summons.unit, seed);
            let envelope = if rng.chance(0.6 + 0.4 * q) {
                let window = (summons.report_in_by - summons.summoned_at)
                    .num_minutes()
                    .max(2);
                let when = summons.summoned_at
                    + chrono::Duration::minutes(1 + rng.below(window as u64 - 1) as i64);
                came.push((summons.unit.clone(), q));
                command(
                    Actor {
                        user: "sim-liaison".into(),
                        unit: summons.unit.clone(),
                    },
                    when,
                    WhistleCommand::ReportIn {
                        people: 1 + rng.below(4) as u32,
                    },
                )
            } else {
                command(
                    center.clone(),
                    summons.report_in_by + chrono::Duration::minutes(1),
                    WhistleCommand::MarkAbsent {
                        unit: summons.unit.clone(),
                    },
                )
            };
            steps.push(envelope);
        }
        // In time order: the whistle's events never go back in time.
        steps.sort_by_key(|e| e.at);
        let last = steps
            .last()
            .map(|e| e.at)
            .unwrap_or(raised.whistle.raised_at);
        let closed_at = last + chrono::Duration::minutes(120 + rng.below(360) as i64);
        let mean = if came.is_empty() {
            0.0
        } else {
            came.iter().map(|(_, q)| q).sum::<f64>() / came.len() as f64
        };
        let result = if came.is_empty() {
            WhistleResult::NotSolvable
        } else if rng.chance(mean) {
            WhistleResult::Solved
        } else {
            WhistleResult::PartlySolved
        };
        steps.push(command(
            street_actor.clone(),
            closed_at,
            WhistleCommand::Close {
                result,
                reasons: "现场联合处置，部分事项转入日常管理".into(),
            },
        ));
        for (i, (unit, q)) in came.iter().enumerate() {
            let score = |rng: &mut Rng| (1.0 + 4.0 * (q * 0.7 + rng.unit() * 0.3)).round() as u8;
            steps.push(command(
                street_actor.clone(),
                closed_at + chrono::Duration::minutes(10 + i as i64),
                WhistleCommand::Rate {
                    unit: unit.clone(),
                    scores: Scores {
                        response: score(rng).clamp(1, 5),
                        cooperation: score(rng).clamp(1, 5),
                        result: score(rng).clamp(1, 5),
                    },
                    comment: String::new(),
                },
            ));
        }
        sequences.push(steps.into_iter());
    }
    loop {
        let mut owners = Vec::new();
        let mut round = Vec::new();
        for (index, sequence) in sequences.iter_mut().enumerate() {
            if let Some(envelope) = sequence.next() {
                owners.push(index);
                round.push(envelope);
            }
        }
        if round.is_empty() {
            break;
        }
        report.whistle_commands += round.len() as u64;
        for (owner, result) in owners.into_iter().zip(store.execute_whistles(round).await) {
            if result.is_err() {
                report.refused += 1;
                sequences[owner] = Vec::new().into_iter();
            }
        }
    }
}

/// Commands per call to the store.
const CHUNK: usize = 2048;

/// Residential compounds per street in the simulation.
const PLACES_PER_STREET: u64 = 1_500;
/// Frequent callers: a small pool that makes a share of the calls.
const FREQUENT_CALLERS: u64 = 5_000;

/// A public place of a street: low numbers much more often (u³ skew).
fn place(rng: &mut Rng, street_name: &str) -> String {
    let u = rng.unit();
    let n = (u * u * u * PLACES_PER_STREET as f64) as u64 + 1;
    format!("{street_name}第{n}小区")
}

/// A caller's phone: 6 % from the frequent pool, the rest from a large population.
fn phone(rng: &mut Rng) -> String {
    if rng.chance(0.06) {
        format!("139{:08}", rng.below(FREQUENT_CALLERS))
    } else {
        format!("13{:09}", 100_000_000 + rng.below(800_000_000))
    }
}

fn quality(unit: &UnitCode, seed: u64) -> f64 {
    let mut hash = seed;
    for byte in unit.as_str().bytes() {
        hash = hash.wrapping_mul(0x100_0000_01B3) ^ u64::from(byte);
    }
    let mut rng = Rng::new(hash);
    0.62 + 0.36 * rng.unit()
}

pub async fn run(store: &dyn Store, settings: &Settings) -> anyhow::Result<Report> {
    let reference = store.reference();
    let started = Instant::now();
    let mut rng = Rng::new(settings.seed);
    // Territories weighted by their communities; leaves weighted by their top level's share.
    // Sorted: the directory's iteration order is not stable between processes.
    let mut streets: Vec<(UnitCode, f64)> = reference
        .directory
        .units()
        .filter(|u| u.kind.is_street_level() && u.status == whistle_core::org::UnitStatus::Active)
        .map(|u| {
            let communities = reference
                .directory
                .children(&u.code)
                .iter()
                .filter(|c| {
                    reference
                        .directory
                        .get(c)
                        .is_some_and(|c| c.kind.is_community_level())
                })
                .count();
            (u.code.clone(), communities.max(1) as f64)
        })
        .collect();
    streets.sort_by(|a, b| a.0.cmp(&b.0));
    let street_total: f64 = streets.iter().map(|(_, w)| w).sum();
    let mut leaves_per_top: HashMap<String, usize> = HashMap::new();
    for category in reference.taxonomy.iter() {
        if reference.taxonomy.is_leaf(&category.code) {
            let top = category
                .code
                .as_str()
                .split('.')
                .next()
                .unwrap_or("")
                .to_string();
            *leaves_per_top.entry(top).or_default() += 1;
        }
    }
    let leaves: Vec<(CategoryCode, f64)> = reference
        .taxonomy
        .iter()
        .filter(|c| reference.taxonomy.is_leaf(&c.code) && c.public)
        .map(|c| {
            let top = c.code.as_str().split('.').next().unwrap_or("");
            let share =
                top_level_weight(top) / leaves_per_top.get(top).copied().unwrap_or(1) as f64;
            (c.code.clone(), share)
        })
        .collect();
    let leaf_total: f64 = leaves.iter().map(|(_, w)| w).sum();
    let center = Actor {
        user: "sim-operator".into(),
        unit: UnitCode::parse("11.center")?,
    };
    let mut report = Report::default();
    for day_index in 0..settings.days {
        let day = settings.start + chrono::Days::new(u64::from(day_index));
        let weekday = chrono::Datelike::weekday(&day).num_days_from_monday();
        let month = chrono::Datelike::month(&day);
        let shape = match weekday {
            5 => 0.82,
            6 => 0.76,
            _ => 1.04,
        } * match month {
            11 | 12 | 1 | 2 | 3 => 1.10,
            7 | 8 => 1.15,
            _ => 1.0,
        };
        // Day-to-day noise of ±6 %.
        let noise = 0.94 + 0.12 * rng.unit();
        let volume = (f64::from(settings.per_day) * shape * noise).round() as u64;
        // Local incidents (a burst pipe, a power cut, a noisy site): a few (street, category)
        // cells a day receive a burst of requests — what the hotspot rule should find.
        let incidents: Vec<(UnitCode, CategoryCode, u64)> = (0..3)
            .map(|_| {
                let street = pick(&mut rng, &streets, street_total).clone();
                let category = pick(&mut rng, &leaves, leaf_total).clone();
                // 8–25 requests, fewer on a small simulated day.
                let size = (8 + rng.below(18)).min((volume / 30).max(5));
                (street, category, size)
            })
            .collect();
        let burst: u64 = incidents.iter().map(|(_, _, n)| n).sum();
        report.incidents.extend(
            incidents
                .iter()
                .map(|(street, category, n)| (day, street.clone(), category.clone(), *n)),
        );
        let midnight = whistle_core::time::from_beijing(day.and_time(chrono::NaiveTime::MIN));
        // Intakes of the day, in time order.
        let mut arrivals: Vec<i64> = (0..volume + burst)
            .map(|_| 7 * 3600 + rng.below(16 * 3600) as i64)
            .collect();
        arrivals.sort_unstable();
        let mut envelopes = Vec::with_capacity(arrivals.len());
        let mut plans = Vec::with_capacity(arrivals.len());
        let mut incident_slots: Vec<Option<(UnitCode, CategoryCode)>> = Vec::new();
        for (street, category, n) in &incidents {
            for _ in 0..*n {
                incident_slots.push(Some((street.clone(), category.clone())));
            }
        }
        incident_slots.resize(arrivals.len(), None);
        // Spread the incident requests over the day deterministically.
        for i in (1..incident_slots.len()).rev() {
            let j = rng.below(i as u64 + 1) as usize;
            incident_slots.swap(i, j);
        }
        for (second, incident) in arrivals.into_iter().zip(incident_slots) {
            let at = midnight + chrono::Duration::seconds(second);
            let (street, category) = match incident {
                Some(cell) => cell,
                None => (
                    pick(&mut rng, &streets, street_total).clone(),
                    pick(&mut rng, &leaves, leaf_total).clone(),
                ),
            };
            let street_name = reference
                .directory
                .get(&street)
                .map(|u| u.name.clone())
                .unwrap_or_default();
            let consult = rng.chance(0.58);
            let address = (!consult || rng.chance(0.3)).then(|| place(&mut rng, &street_name));
            let requester = rng.chance(0.85).then(|| whistle_store::Requester {
                name: Some("模拟市民".into()),
                phone: Some(phone(&mut rng)),
                address_detail: None,
            });
            let answered = consult && rng.chance(0.7);
            let request_type = if consult {
                RequestType::Consult
            } else {
                [
                    RequestType::Complaint,
                    RequestType::Complaint,
                    RequestType::Help,
                    RequestType::Report,
                    RequestType::Suggestion,
                ][rng.below(5) as usize]
            };
            let channel = if rng.chance(0.9) {
                Channel::Phone
            } else {
                [Channel::App, Channel::Web, Channel::Wechat, Channel::Weibo][rng.below(4) as usize]
            };
            let intake = Intake {
                received_at: None,
                channel,
                request_type,
                text: format!("模拟诉求 {}", category),
                category,
                urgency: None,
                location: Location {
                    territory: Territory {
                        district: None,
                        street: Some(street),
                        community: None,
                    },
                    address,
                    ..Location::default()
                },
                triage: if answered {
                    Triage::AnswerNow {
                        answer: "已依据政策知识库即时解答".into(),
                    }
                } else {
                    Triage::Dispatch
                },
            };
            envelopes.push(Envelope {
                actor: center.clone(),
                at,
                request: Request::IntakeAndDispatch {
                    intake: Box::new(intake),
                    requester,
                },
            });
            plans.push((at, answered));
        }
        let mut lives = Vec::new();
        let mut whistles: Vec<(UnitCode, Timestamp)> = Vec::new();
        // All chunks submitted at once: the store's writer takes the next while this side
        // generates and reads results, and may merge queued chunks into one transaction.
        let submitted = futures_util::future::join_all(
            envelopes
                .chunks(CHUNK)
                .map(|chunk| store.execute(chunk.to_vec())),
        )
        .await;
        for (results, plan_chunk) in submitted.into_iter().zip(plans.chunks(CHUNK)) {
            report.commands += plan_chunk.len() as u64;
            for (result, (at, answered)) in results.into_iter().zip(plan_chunk) {
                let Ok(outcome) = result else {
                    report.refused += 1;
                    continue;
                };
                report.orders += 1;
                if *answered {
                    continue;
                }
                let dispatched = outcome.events.iter().find_map(|e| match &e.payload {
                    EventPayload::Dispatched(d) => Some((d.lead.clone(), d.respond_by)),
                    _ => None,
                });
                let Some((lead, respond_by)) = dispatched else {
                    continue;
                };
                let q = quality(&lead, settings.seed);
                // A share of the problems a street leads are beyond it: it blows the whistle.
                let street_led = reference
                    .directory
                    .get(&lead)
                    .is_some_and(|u| u.kind.is_street_level());
                if street_led && rng.chance(WHISTLE_SHARE) {
                    whistles.push((lead.clone(), *at + chrono::Duration::hours(2)));
                }
                lives.push(Life {
                    id: outcome.order_id,
                    at: *at,
                    steps: life(&mut rng, q),
                    lead: Some(lead),
                    respond_by: Some(respond_by),
                });
            }
        }
        live(store, &mut lives, &center, &mut report).await;
        blow_all(
            store,
            &mut rng,
            settings.seed,
            &reference,
            &center,
            &whistles,
            &mut report,
        )
        .await;
    }
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// Cohorts a day's lives are split into; their waves overlap in the store.
const COHORTS: usize = 4;

/// The day's lives, one wave per step, in cohorts whose waves overlap: a cohort's next wave is
/// submitted as soon as its previous one has come back, while the other cohorts' waves are still
/// being planned and written, so the store's pipeline does not drain between waves. Waves are
/// submitted in program order (a wave's chunks are queued when it is first polled, and
/// `FuturesOrdered` first polls in push order), so a seed still gives the same commands in the
/// same order.
async fn live(store: &dyn Store, lives: &mut [Life], center: &Actor, report: &mut Report) {
    use futures_util::stream::{FuturesOrdered, StreamExt};
    let size = lives.len().div_ceil(COHORTS).max(1);
    let mut cohorts: Vec<&mut [Life]> = lives.chunks_mut(size).collect();
    let submit = |cohort: usize, wave: Vec<Envelope>, owners: Vec<usize>| {
        let chunks: Vec<_> = wave
            .chunks(CHUNK)
            .map(|chunk| store.execute(chunk.to_vec()))
            .collect();
        async move {
            let results = futures_util::future::join_all(chunks).await;
            (cohort, owners, results)
        }
    };
    let mut pending = FuturesOrdered::new();
    for (index, cohort) in cohorts.iter_mut().enumerate() {
        let (wave, owners) = next_wave(cohort, center);
        if !wave.is_empty() {
            pending.push_back(submit(index, wave, owners));
        }
    }
    while let Some((index, owners, submitted)) = pending.next().await {
        let cohort = &mut cohorts[index];
        for (results, owner_chunk) in submitted.into_iter().zip(owners.chunks(CHUNK)) {
            report.commands += owner_chunk.len() as u64;
            for (result, owner) in results.into_iter().zip(owner_chunk) {
                if result.is_err() {
                    // A refused step ends that life (e.g. a reopen the rules do not allow).
                    report.refused += 1;
                    cohort[*owner].steps.clear();
                }
            }
        }
        let (wave, owners) = next_wave(cohort, center);
        if !wave.is_empty() {
            pending.push_back(submit(index, wave, owners));
        }
    }
}

/// The next step of every life that has one left, and the index of the life each is for.
fn next_wave(lives: &mut [Life], center: &Actor) -> (Vec<Envelope>, Vec<usize>) {
    let mut wave = Vec::new();
    let mut owners = Vec::new();
    for (index, life) in lives.iter_mut().enumerate() {
        if life.steps.is_empty() {
            continue;
        }
        let (by_lead, minutes, command) = life.steps.remove(0);
        let previous_at = life.at;
        life.at += chrono::Duration::minutes(minutes);
        // A late contact: the supervision notices the overdue response first, then the
        // contact follows in the next wave.
        if let (Command::Contact { .. }, Some(due_at)) = (&command, life.respond_by) {
            if life.at > due_at + chrono::Duration::minutes(1) {
                life.respond_by = None;
                let notice_at = (due_at + chrono::Duration::minutes(1)).max(previous_at);
                life.steps.insert(0, (by_lead, 0, command));
                wave.push(Envelope {
                    actor: center.clone(),
                    at: notice_at,
                    request: Request::Command {
                        order: OrderRef::Id(life.id),
                        expected_version: None,
                        command: Command::Supervise {
                            action: whistle_core::order::Supervision::Overdue {
                                deadline: whistle_core::order::DeadlineKind::Respond,
                                due_at,
                            },
                            note: String::new(),
                        },
                    },
                });
                owners.push(index);
                continue;
            }
        }
        let actor = match (&life.lead, by_lead) {
            (Some(unit), true) => Actor {
                user: "sim-handler".into(),
                unit: unit.clone(),
            },
            _ => center.clone(),
        };
        wave.push(Envelope {
            actor,
            at: life.at,
            request: Request::Command {
                order: OrderRef::Id(life.id),
                expected_version: None,
                command,
            },
        });
        owners.push(index);
    }
    (wave, owners)
}

/// The commands after dispatch for a unit of quality `q`: (issued by the lead, minutes after
/// the previous step, command).
fn life(rng: &mut Rng, q: f64) -> Vec<(bool, i64, Command)> {
    let mut steps = vec![(true, 20 + rng.below(240) as i64, Command::Accept)];
    let in_time = rng.chance(q);
    steps.push((
        true,
        if in_time {
            10 + rng.below(60) as i64
        } else {
            24 * 60 + rng.below(48 * 60) as i64
        },
        Command::Contact {
            note: "已电话联系诉求人".into(),
        },
    ));
    if rng.chance(0.03) {
        steps.push((
            true,
            60,
            Command::RequestExtension {
                extra: whistle_core::calendar::TimeLimit::WorkingDays(5),
                reason: "需多部门协调".into(),
            },
        ));
        steps.push((
            false,
            60,
            Command::DecideExtension {
                approved: rng.chance(0.7),
                note: String::new(),
            },
        ));
    }
    let resolved = rng.chance(q);
    steps.push((
        true,
        4 * 60 + rng.below(5 * 24 * 60) as i64,
        Command::Reply {
            outcome: if resolved {
                ReplyOutcome::Resolved
            } else {
                ReplyOutcome::PartlyResolved
            },
            actions: "已现场核实并处理".into(),
        },
    ));
    let valid = rng.chance(0.92);
    let x = rng.unit();
    let satisfaction = if x < q * 0.85 {
        Satisfaction::Satisfied
    } else if x < q * 0.85 + (1.0 - q * 0.85) * 0.45 {
        Satisfaction::BasicallySatisfied
    } else {
        Satisfaction::Dissatisfied
    };
    steps.push((
        false,
        12 * 60 + rng.below(24 * 60) as i64,
        Command::ReturnVisit {
            result: if valid {
                VisitResult::Valid {
                    contacted: rng.chance(0.5 + q / 2.0),
                    resolved: resolved && rng.chance(0.95),
                    satisfaction,
                }
            } else {
                VisitResult::Invalid {
                    reason: "无人接听".into(),
                }
            },
        },
    ));
    if valid && rng.chance(0.01) {
        steps.push((
            false,
            60,
            Command::RuleUnreasonable {
                reason: "诉求超出政策规定".into(),
            },
        ));
    }
    steps.push((
        false,
        30,
        Command::Close {
            note: String::new(),
        },
    ));
    if valid && satisfaction == Satisfaction::Dissatisfied && rng.chance(0.2) {
        steps.push((
            false,
            24 * 60,
            Command::Reopen {
                reason: "诉求人对办理结果不满意".into(),
            },
        ));
        steps.push((true, 60, Command::Accept));
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generator_is_deterministic_and_uniform_enough() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        let xs: Vec<u64> = (0..100).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..100).map(|_| b.next_u64()).collect();
        assert_eq!(xs, ys);
        let mut r = Rng::new(1);
        let mean = (0..100_000).map(|_| r.unit()).sum::<f64>() / 100_000.0;
        assert!((mean - 0.5).abs() < 0.01, "{mean}");
        assert_ne!(Rng::new(8).next_u64(), Rng::new(7).next_u64());
    }

    /// The hotspot rule finds the local incidents the simulator injects on a day, against a
    /// month of ordinary days.
    #[tokio::test]
    async fn hotspots_find_the_injected_incidents() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("sim.db").display());
        let store = whistle_store::open(&url, whistle_store::Migrate::Apply)
            .await
            .unwrap();
        whistle_store::seed::install_defaults(
            &*store,
            &Actor {
                user: "admin".into(),
                unit: UnitCode::parse("11.center").unwrap(),
            },
            chrono::Utc::now(),
        )
        .await
        .unwrap();
        let start = chrono::NaiveDate::from_ymd_opt(2026, 9, 1).unwrap();
        let report = run(
            &*store,
            &Settings {
                days: 31,
                seed: 11,
                per_day: 150,
                start,
            },
        )
        .await
        .ok()
        .unwrap();
        // Streets blew whistles through the whistle engine, and departments answered them.
        assert!(report.whistles > 0, "no whistle");
        assert!(
            report.refused * 100 < report.commands,
            "{} refused",
            report.refused
        );
        let raised = store
            .whistles_raised(
                &whistle_store::Scope::All,
                whistle_reports::bulletins::midnight(start),
                whistle_reports::bulletins::midnight(start + chrono::Days::new(40)),
            )
            .await
            .unwrap();
        assert_eq!(raised.len() as u64, report.whistles);
        assert!(raised.iter().any(|w| !w.ratings.is_empty()), "no rating");
        let last = start + chrono::Days::new(30);
        let document = whistle_reports::analyses::hotspots(
            &*store,
            &last.to_string(),
            chrono::Utc::now(),
            whistle_reports::document::Lang::En,
        )
        .await
        .unwrap();
        let found: Vec<(String, String)> = document.tables[0]
            .rows
            .iter()
            .map(|row| match (&row[0], &row[3]) {
                (
                    whistle_reports::document::Cell::Text(t),
                    whistle_reports::document::Cell::Text(c),
                ) => (t.clone(), c.clone()),
                _ => panic!("{row:?}"),
            })
            .collect();
        let injected: Vec<(String, String)> = report
            .incidents
            .iter()
            .filter(|(day, ..)| *day == last)
            .map(|(_, street, category, _)| (street.to_string(), category.to_string()))
            .collect();
        assert_eq!(injected.len(), 3);
        for cell in &injected {
            assert!(found.contains(cell), "{cell:?} not in {found:?}");
        }
        // At this volume ordinary cells are not flagged.
        assert!(found.len() <= injected.len() + 1, "{found:?}");
    }

    #[test]
    fn units_differ_in_quality_but_each_keeps_its_own() {
        let a = UnitCode::parse("110105010").unwrap();
        let b = UnitCode::parse("110105011").unwrap();
        assert_eq!(quality(&a, 7), quality(&a, 7));
        assert_ne!(quality(&a, 7), quality(&b, 7));
        assert!((0.62..=0.98).contains(&quality(&a, 7)));
    }
}
