//! Demo data for `whistle init --demo`: a few hundred sample orders over the last two weeks, in
//! every stage of the life, made through the engine like real ones. Deterministic. `whistle demo`
//! adds a simulated month before them (`simulate.rs`) for the evaluation and the bulletins.

use whistle_core::catalogue::Territory;
use whistle_core::ids::{Actor, CategoryCode, UnitCode};
use whistle_core::order::{
    Channel, Command, EventPayload, Intake, Location, ReplyOutcome, RequestType, Satisfaction,
    Triage, VisitResult,
};
use whistle_core::time::Timestamp;
use whistle_store::{Envelope, OrderRef, Request, Requester, Store};

use crate::{command_failure, Failure};

const SAMPLES: [(&str, &str, &str); 10] = [
    ("11.04.01", "110105010", "小区门口有商贩占道经营，影响通行"),
    ("04.01", "110105001", "物业长期不清理楼道杂物，存在消防隐患"),
    ("03.06", "110108001", "家中暖气不热，室温只有十五度"),
    ("07.01", "110102001", "路口长期有车辆违章停放，堵塞消防通道"),
    ("08.01", "110106001", "楼上住户夜间噪音扰民"),
    ("06.02", "110112001", "小区内有人私搭乱建，占用公共绿地"),
    ("02.02", "110101001", "健身房关门跑路，预付卡无法退费"),
    (
        "12.01.02",
        "110107001",
        "小区外道路路灯不亮，夜间出行不安全",
    ),
    ("09.01", "110114001", "公司拖欠三个月工资"),
    ("11.01.01", "110105003", "垃圾桶满溢无人清运，气味很大"),
];

fn code(text: &str) -> Result<UnitCode, Failure> {
    UnitCode::parse(text).map_err(|e| Failure::Failed(e.into()))
}

pub async fn load(store: &dyn Store, count: usize, now: Timestamp) -> Result<usize, Failure> {
    let lang = whistle_core::error::Lang::Zh;
    let center = Actor {
        user: "demo-operator".into(),
        unit: code("11.center")?,
    };
    let span = chrono::Duration::days(14);
    let mut created = 0;
    for i in 0..count {
        let (category, street, text) = SAMPLES[i % SAMPLES.len()];
        let received = now - span + span * (i as i32) / (count.max(1) as i32);
        let stage = (i * 7 + i / SAMPLES.len()) % 9;
        let consult = stage == 8;
        let intake = Intake {
            received_at: None,
            channel: if i % 10 == 9 {
                Channel::App
            } else {
                Channel::Phone
            },
            request_type: if consult {
                RequestType::Consult
            } else {
                RequestType::Complaint
            },
            text: text.into(),
            category: CategoryCode::parse(category).map_err(|e| Failure::Failed(e.into()))?,
            urgency: None,
            location: Location {
                territory: Territory {
                    district: None,
                    street: Some(code(street)?),
                    community: None,
                },
                ..Location::default()
            },
            triage: if consult {
                Triage::AnswerNow {
                    answer: "已依据知识库即时答复".into(),
                }
            } else {
                Triage::Dispatch
            },
        };
        let requester = Requester {
            name: Some(format!("{}先生", ["王", "李", "张", "刘", "陈"][i % 5])),
            phone: Some(format!("139{:08}", (i * 7_919) % 100_000_000)),
            address_detail: None,
        };
        let outcome = store
            .execute_one(Envelope {
                actor: center.clone(),
                at: received,
                request: Request::Intake {
                    intake: Box::new(intake),
                    requester: Some(requester),
                },
            })
            .await
            .map_err(|e| command_failure(e, lang))?;
        created += 1;
        let mut at = received;
        let mut lead: Option<UnitCode> = None;
        let steps = lifecycle_steps(i);
        let take = if consult { 0 } else { stage.min(steps.len()) };
        for (by_lead, command) in steps.into_iter().take(take) {
            at = (at + chrono::Duration::minutes(40 + (i as i64 * 13) % 600)).min(now);
            let actor = match (&lead, by_lead) {
                (Some(unit), true) => Actor {
                    user: "demo-handler".into(),
                    unit: unit.clone(),
                },
                _ => center.clone(),
            };
            let request = Request::Command {
                order: OrderRef::Id(outcome.order_id),
                expected_version: None,
                command,
            };
            let result = store
                .execute_one(Envelope { actor, at, request })
                .await
                .map_err(|e| command_failure(e, lang))?;
            if let Some(EventPayload::Dispatched(dispatched)) =
                result.events.first().map(|e| &e.payload)
            {
                lead = Some(dispatched.lead.clone());
            }
        }
    }
    Ok(created)
}

/// The commands of a complete life after intake, with whether the lead unit issues each; `variant`
/// varies the reply and the visit's answers.
pub fn lifecycle_steps(variant: usize) -> Vec<(bool, Command)> {
    let satisfaction = [
        Satisfaction::Satisfied,
        Satisfaction::BasicallySatisfied,
        Satisfaction::Dissatisfied,
    ][variant % 3];
    vec![
        (
            false,
            Command::Dispatch {
                unit: None,
                co_handlers: Vec::new(),
                handle_by: None,
            },
        ),
        (true, Command::Accept),
        (
            true,
            Command::Contact {
                note: "已电话联系诉求人".into(),
            },
        ),
        (
            true,
            Command::Reply {
                outcome: if variant.is_multiple_of(4) {
                    ReplyOutcome::PartlyResolved
                } else {
                    ReplyOutcome::Resolved
                },
                actions: "已现场核实并处理".into(),
            },
        ),
        (
            false,
            Command::ReturnVisit {
                result: VisitResult::Valid {
                    contacted: !variant.is_multiple_of(11),
                    resolved: !variant.is_multiple_of(4),
                    satisfaction,
                },
            },
        ),
        (
            false,
            Command::Close {
                note: String::new(),
            },
        ),
    ]
}
