//! What a requester may follow of their request (Regulation art. 8: the requester may follow the
//! handling; art. 15(2): the reason for an extension is explained to them): the stage, the
//! handling unit and its deadline, each approved extension with its reason, the disposition of
//! a request closed at intake, the reply with its text, reopenings — as steps in Beijing time, in
//! the reader's language. Written once for the API (`GET /api/v1/track/{no}`) and the citizen's
//! page (times leave as Beijing time through [`crate::views::Json`]). Nothing internal: no staff, no objections, no supervision, no notes between units.

use serde::Serialize;
use whistle_core::error::Lang;
use whistle_core::order::{Closure, EventPayload, Order, Triage};
use whistle_core::reference::Reference;
use whistle_core::time::Timestamp;

/// A request's progress as its requester sees it.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct Progress {
    pub no: String,
    /// The stage's code (`accepted`) and its name in the reader's language (办理中).
    pub stage: String,
    pub stage_name: String,
    pub category: Option<String>,
    pub received_at: Timestamp,
    /// The unit handling it now (承办单位), by name.
    pub handling_unit: Option<String>,
    /// The handling deadline in force (after any approved extension).
    pub handle_by: Option<Timestamp>,
    /// Each approved extension (延期) with its reason and the new deadline.
    pub extensions: Vec<Extension>,
    /// The reply (办理答复): its outcome and what was done, in the unit's words.
    pub reply: Option<ReplyShown>,
    /// How often it was sent back for rework (重办).
    pub reopened: u32,
    /// A request closed at intake: how it was disposed of and what the requester was told.
    pub disposition: Option<String>,
    pub closed_at: Option<Timestamp>,
    /// The handling as it happened, oldest first.
    pub steps: Vec<Step>,
}

#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct Extension {
    pub approved_at: Timestamp,
    pub until: Timestamp,
    pub reason: String,
}

#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct ReplyShown {
    pub at: Option<Timestamp>,
    pub outcome: String,
    pub outcome_name: String,
    pub actions: String,
}

/// One step of the handling: when, what (in the reader's language), and what it said.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct Step {
    pub at: Timestamp,
    pub what: String,
    pub text: String,
}

fn pick(lang: Lang, (zh, en): (&str, &str)) -> String {
    match lang {
        Lang::Zh => zh.to_string(),
        Lang::En => en.to_string(),
    }
}

/// What a disposition at intake told the requester.
fn disposition(triage: &Triage, lang: Lang) -> String {
    let (label, text) = match triage {
        Triage::Dispatch => (("派单办理", "dispatched"), String::new()),
        Triage::AnswerNow { answer } => (("即时答复", "answered at once"), answer.clone()),
        Triage::TransferEmergency { service } => (
            ("转紧急服务", "transferred to the emergency service"),
            serde_json::to_value(service)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
        ),
        Triage::ProperChannel { channel } => {
            (("告知依法途径", "told the proper channel"), channel.clone())
        }
        Triage::RepeatNoNew { earlier } => (
            (
                "重复诉求，告知前单办理进度",
                "a repeat: told the earlier order's progress",
            ),
            earlier.to_string(),
        ),
        Triage::SecretOrPrivacy { explanation } => (
            ("涉密或隐私，已解释", "secret or private: explained"),
            explanation.clone(),
        ),
        Triage::OutOfScope { referred_to } => (
            ("不属受理范围，已告知渠道", "out of scope: referred"),
            referred_to.clone(),
        ),
        Triage::IllegalDemand { explanation } => (
            ("诉求违法，已解释", "an illegal demand: explained"),
            explanation.clone(),
        ),
    };
    let label = pick(lang, label);
    if text.is_empty() {
        label
    } else {
        format!("{label}{}{text}", pick(lang, ("：", ": ")))
    }
}

impl Progress {
    /// The progress of `order` from its history `events` (oldest first).
    pub fn of(
        order: &Order,
        events: &[whistle_core::order::Event],
        reference: &Reference,
        lang: Lang,
    ) -> Progress {
        let unit_name = |code: &whistle_core::ids::UnitCode| {
            reference
                .directory
                .get(code)
                .map(|u| u.name.clone())
                .unwrap_or_else(|| code.to_string())
        };
        let mut extensions = Vec::new();
        let mut steps = Vec::new();
        let mut requested: Option<String> = None;
        for event in events {
            let (what, text): ((&str, &str), String) = match &event.payload {
                EventPayload::Received(_) => (("受理", "received"), String::new()),
                EventPayload::TriageClosed { disposition: d } => {
                    (("办结", "closed"), disposition(d, lang))
                }
                EventPayload::Dispatched(d) => (
                    ("派单", "dispatched"),
                    match lang {
                        Lang::Zh => format!("交{}办理", unit_name(&d.lead)),
                        Lang::En => format!("to {}", unit_name(&d.lead)),
                    },
                ),
                EventPayload::Forwarded { .. } => (("转外部单位办理", "forwarded"), String::new()),
                EventPayload::ForwardAnswered { answer } => (
                    ("外部单位答复", "answered by the outside unit"),
                    answer.clone(),
                ),
                EventPayload::Accepted => (("签收办理", "accepted"), String::new()),
                EventPayload::Contacted { .. } => (("联系诉求人", "contacted you"), String::new()),
                EventPayload::ExtensionRequested { reason, .. } => {
                    requested = Some(reason.clone());
                    continue;
                }
                EventPayload::ExtensionDecided {
                    approved: true,
                    until,
                    ..
                } => {
                    let reason = requested.take().unwrap_or_default();
                    extensions.push(Extension {
                        approved_at: event.at,
                        until: *until,
                        reason: reason.clone(),
                    });
                    (
                        ("延期", "extended"),
                        match lang {
                            Lang::Zh => format!(
                                "办理期限延至{}，原因：{reason}",
                                whistle_core::time::format_minutes(*until)
                            ),
                            Lang::En => format!(
                                "the deadline is now {}; reason: {reason}",
                                whistle_core::time::format_minutes(*until)
                            ),
                        },
                    )
                }
                EventPayload::ExtensionDecided { .. } => {
                    requested = None;
                    continue;
                }
                EventPayload::Replied {
                    outcome, actions, ..
                } => (
                    ("办理答复", "replied"),
                    format!(
                        "{}{}{actions}",
                        pick(lang, outcome.labels()),
                        pick(lang, ("：", ": "))
                    ),
                ),
                EventPayload::Visited { .. } => (("回访", "return visit"), String::new()),
                EventPayload::Closed { .. } => (("结案", "closed"), String::new()),
                EventPayload::Reopened { .. } => (("重办", "reopened for rework"), String::new()),
                EventPayload::Merged { into } => (("并入其他工单", "merged"), into.to_string()),
                _ => continue,
            };
            steps.push(Step {
                at: event.at,
                what: pick(lang, what),
                text,
            });
        }
        let category = reference.taxonomy.get(&order.category).map(|c| match lang {
            Lang::Zh => c.name_zh.clone(),
            Lang::En => c.name_en.clone(),
        });
        let disposition = match &order.stage {
            whistle_core::order::Stage::Closed(Closure::Triage(t)) => Some(disposition(t, lang)),
            _ => None,
        };
        Progress {
            no: order.no.to_string(),
            stage: order.stage.name().to_string(),
            stage_name: pick(lang, order.stage.labels()),
            category,
            received_at: order.received_at,
            handling_unit: order.lead().map(unit_name),
            handle_by: order.handle_by,
            extensions,
            reply: order.reply.as_ref().map(|r| ReplyShown {
                at: order.replied_at,
                outcome: r.outcome.to_string(),
                outcome_name: pick(lang, r.outcome.labels()),
                actions: r.actions.clone(),
            }),
            reopened: order.reopen_count,
            disposition,
            closed_at: order.closed_at,
            steps,
        }
    }
}
