//! The vocabulary of the work order: its attributes, stages, commands and events.

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

use crate::calendar::TimeLimit;
use crate::catalogue::Territory;
use crate::ids::{Actor, CategoryCode, OrderNo, UnitCode};
use crate::taxonomy::str_enum;
pub use crate::taxonomy::Urgency;
use crate::time::Timestamp;

/// 诉求类型 (by law), plus praise.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum RequestType {
    /// 咨询
    Consult,
    /// 求助
    Help,
    /// 投诉
    Complaint,
    /// 举报
    Report,
    /// 建议
    Suggestion,
    /// 表扬
    Praise,
}
str_enum!(RequestType, "request type", Consult => "consult", Help => "help", Complaint => "complaint",
    Report => "report", Suggestion => "suggestion", Praise => "praise");

impl RequestType {
    /// Every type, complaint first (the default a citizen sees).
    pub const ALL: [RequestType; 6] = [
        RequestType::Complaint,
        RequestType::Help,
        RequestType::Report,
        RequestType::Suggestion,
        RequestType::Consult,
        RequestType::Praise,
    ];

    /// The (Chinese, English) names shown to users.
    pub fn labels(self) -> (&'static str, &'static str) {
        match self {
            RequestType::Consult => ("咨询", "consultation"),
            RequestType::Help => ("求助", "help"),
            RequestType::Complaint => ("投诉", "complaint"),
            RequestType::Report => ("举报", "report"),
            RequestType::Suggestion => ("建议", "suggestion"),
            RequestType::Praise => ("表扬", "praise"),
        }
    }
}

/// 渠道.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Phone,
    Web,
    App,
    Weibo,
    Wechat,
    Open311,
    /// 网格员/街巷长/小巷管家 discovery.
    GridPatrol,
    /// 街乡吹哨.
    Whistle,
}
str_enum!(Channel, "channel", Phone => "phone", Web => "web", App => "app", Weibo => "weibo", Wechat => "wechat",
    Open311 => "open311", GridPatrol => "grid_patrol", Whistle => "whistle");

impl Channel {
    pub const ALL: [Channel; 8] = [
        Channel::Phone,
        Channel::Web,
        Channel::App,
        Channel::Weibo,
        Channel::Wechat,
        Channel::Open311,
        Channel::GridPatrol,
        Channel::Whistle,
    ];

    /// The (Chinese, English) names shown to users.
    pub fn labels(self) -> (&'static str, &'static str) {
        match self {
            Channel::Phone => ("电话", "phone"),
            Channel::Web => ("网站", "web"),
            Channel::App => ("北京12345 App", "app"),
            Channel::Weibo => ("微博", "Weibo"),
            Channel::Wechat => ("微信", "WeChat"),
            Channel::Open311 => ("Open311 接口", "Open311"),
            Channel::GridPatrol => ("网格巡查", "grid patrol"),
            Channel::Whistle => ("街乡吹哨", "whistle"),
        }
    }
}

/// Where the request is. Territorial codes are checked and completed upwards at intake.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Location {
    #[serde(flatten)]
    pub territory: Territory,
    #[serde(default)]
    pub grid: Option<UnitCode>,
    /// The public part of the address (street and landmark; no door number of a requester).
    #[serde(default)]
    pub address: Option<String>,
    /// GCJ-02 coordinates as given by the caller's map.
    #[serde(default)]
    pub latitude: Option<f64>,
    #[serde(default)]
    pub longitude: Option<f64>,
}

/// The services an emergency is transferred to (Regulation art. 11 (1)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub enum EmergencyService {
    /// 110 police
    #[serde(rename = "110")]
    Police,
    /// 119 fire
    #[serde(rename = "119")]
    Fire,
    /// 120 ambulance
    #[serde(rename = "120")]
    Ambulance,
    /// 122 traffic accidents
    #[serde(rename = "122")]
    Traffic,
}

/// How intake disposes of a request (Regulation art. 11): dispatch, or one of the dispositions
/// that close it at once with a recorded answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "disposition", rename_all = "snake_case")]
pub enum Triage {
    /// → dispatch to a handling unit.
    Dispatch,
    /// 即时答复: a consultation answered now from the knowledge base.
    AnswerNow { answer: String },
    /// (1) emergencies transferred to 110/119/120/122.
    TransferEmergency { service: EmergencyService },
    /// (2) matters for litigation, arbitration, petition … told the proper channel.
    ProperChannel { channel: String },
    /// (3) a repeat with nothing new: told the earlier order's progress and linked to it.
    RepeatNoNew { earlier: OrderNo },
    /// (4) state secrets, trade secrets, privacy: explained.
    SecretOrPrivacy { explanation: String },
    /// (5) outside the hotline's scope: pointed to market or social channels.
    OutOfScope { referred_to: String },
    /// (6) an illegal demand: refused with an explanation.
    IllegalDemand { explanation: String },
}

impl Triage {
    pub fn name(&self) -> &'static str {
        match self {
            Triage::Dispatch => "dispatch",
            Triage::AnswerNow { .. } => "answer_now",
            Triage::TransferEmergency { .. } => "transfer_emergency",
            Triage::ProperChannel { .. } => "proper_channel",
            Triage::RepeatNoNew { .. } => "repeat_no_new",
            Triage::SecretOrPrivacy { .. } => "secret_or_privacy",
            Triage::OutOfScope { .. } => "out_of_scope",
            Triage::IllegalDemand { .. } => "illegal_demand",
        }
    }
}

/// An outside party an order is forwarded to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "party", rename_all = "snake_case")]
pub enum OutsideParty {
    /// 央地联动 (art. 22): a central or state unit in Beijing, through the coordination mechanism.
    CentralUnit {
        name: String,
    },
    /// 津冀 hotlines (art. 21).
    TianjinHotline,
    HebeiHotline,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Assignment {
    pub lead: UnitCode,
    pub co_handlers: Vec<UnitCode>,
    /// The district a street's order is copied to for supervision.
    pub copied_to: Option<UnitCode>,
    /// The district received it to coordinate because only the district was known.
    pub coordination: bool,
    pub dispatched_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "closure", rename_all = "snake_case")]
pub enum Closure {
    Triage(Triage),
    Handled(Assignment),
    ForwardAnswered { party: OutsideParty, answer: String },
    Merged { into: OrderNo },
}

/// Where an order is in its life. A stage with a unit carries its assignment, so a dispatched
/// order without a handling unit cannot be represented.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "stage", rename_all = "snake_case")]
pub enum Stage {
    PendingDispatch,
    Forwarded { party: OutsideParty },
    Dispatched(Assignment),
    Accepted(Assignment),
    Replied(Assignment),
    Visited(Assignment),
    Closed(Closure),
}

impl Stage {
    pub const NAMES: [&'static str; 7] = [
        "pending_dispatch",
        "forwarded",
        "dispatched",
        "accepted",
        "replied",
        "visited",
        "closed",
    ];

    /// The (Chinese, English) names shown to users.
    pub fn labels(&self) -> (&'static str, &'static str) {
        Stage::labels_of(self.name())
    }

    /// [`Stage::labels`] by the stage's stored name (as list rows carry it).
    pub fn labels_of(name: &str) -> (&'static str, &'static str) {
        match name {
            "pending_dispatch" => ("待派单", "waiting for dispatch"),
            "forwarded" => ("已转外部办理", "forwarded"),
            "dispatched" => ("待签收", "dispatched"),
            "accepted" => ("办理中", "being handled"),
            "replied" => ("已答复待回访", "replied"),
            "visited" => ("已回访", "visited"),
            _ => ("已办结", "closed"),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Stage::PendingDispatch => "pending_dispatch",
            Stage::Forwarded { .. } => "forwarded",
            Stage::Dispatched(_) => "dispatched",
            Stage::Accepted(_) => "accepted",
            Stage::Replied(_) => "replied",
            Stage::Visited(_) => "visited",
            Stage::Closed(_) => "closed",
        }
    }
}

/// 办结反馈 outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReplyOutcome {
    Resolved,
    PartlyResolved,
    /// Explained: not solvable, with reasons.
    Explained,
}
str_enum!(ReplyOutcome, "reply outcome", Resolved => "resolved", PartlyResolved => "partly_resolved", Explained => "explained");

impl ReplyOutcome {
    /// The (Chinese, English) names shown to users.
    pub fn labels(self) -> (&'static str, &'static str) {
        match self {
            ReplyOutcome::Resolved => ("已解决", "resolved"),
            ReplyOutcome::PartlyResolved => ("部分解决", "partly resolved"),
            ReplyOutcome::Explained => ("已解释说明", "explained"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Reply {
    pub outcome: ReplyOutcome,
    pub actions: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Satisfaction {
    Satisfied,
    BasicallySatisfied,
    Dissatisfied,
}
str_enum!(Satisfaction, "satisfaction", Satisfied => "satisfied", BasicallySatisfied => "basically_satisfied",
    Dissatisfied => "dissatisfied");

impl Satisfaction {
    /// The (Chinese, English) names shown to users.
    pub fn labels(self) -> (&'static str, &'static str) {
        match self {
            Satisfaction::Satisfied => ("满意", "satisfied"),
            Satisfaction::BasicallySatisfied => ("基本满意", "basically satisfied"),
            Satisfaction::Dissatisfied => ("不满意", "dissatisfied"),
        }
    }
}

/// 回访 result: the three questions of the exam paper, or an invalid visit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "visit", rename_all = "snake_case")]
pub enum VisitResult {
    Valid {
        contacted: bool,
        resolved: bool,
        satisfaction: Satisfaction,
    },
    /// Unreachable, refused to answer …
    Invalid { reason: String },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PendingDispute {
    pub unit: UnitCode,
    pub reason: String,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PendingExtension {
    pub until: Timestamp,
    pub reason: String,
    pub at: Timestamp,
}

/// Escalation to a higher government (art. 20).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum EscalationLevel {
    District,
    City,
}
str_enum!(EscalationLevel, "escalation level", District => "district", City => "city");

/// 不合理诉求 ruling: excluded from the unit's scores.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Ruling {
    pub reason: String,
    pub by: Actor,
    pub at: Timestamp,
}

#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum DeadlineKind {
    /// Contact the requester.
    Respond,
    /// Reply with the result.
    Handle,
}
str_enum!(DeadlineKind, "deadline kind", Respond => "respond", Handle => "handle");

/// A deadline notice recorded once per deadline value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Notice {
    pub deadline: DeadlineKind,
    pub overdue: bool,
    pub due_at: Timestamp,
}

/// 督办 actions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Supervision {
    /// Put on the supervision list.
    Flag,
    /// 催办.
    Urge,
    /// The deadline is near (recorded once per deadline value).
    DueSoon {
        deadline: DeadlineKind,
        due_at: Timestamp,
    },
    /// The deadline has passed (recorded once per deadline value).
    Overdue {
        deadline: DeadlineKind,
        due_at: Timestamp,
    },
}

/// A co-handler's part reported back to the lead unit (首接负责制).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Part {
    pub unit: UnitCode,
    pub text: String,
    pub at: Timestamp,
}

/// The intake command's content.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Intake {
    /// When the call came in; defaults to the command time.
    #[serde(default)]
    pub received_at: Option<Timestamp>,
    pub channel: Channel,
    pub request_type: RequestType,
    pub text: String,
    pub category: CategoryCode,
    /// Defaults to the category's urgency.
    #[serde(default)]
    pub urgency: Option<Urgency>,
    pub location: Location,
    pub triage: Triage,
}

/// A command on an existing order. The intake of a new order is [`Intake`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "command", rename_all = "snake_case", deny_unknown_fields)]
pub enum Command {
    /// 派单: to `unit`, or by the dispatch catalogue when absent.
    Dispatch {
        #[serde(default)]
        unit: Option<UnitCode>,
        #[serde(default)]
        co_handlers: Vec<UnitCode>,
        /// An explicit handling deadline for a hard case (instead of the policy's).
        #[serde(default)]
        handle_by: Option<Timestamp>,
    },
    Forward {
        party: OutsideParty,
        note: String,
    },
    RecordForwardAnswer {
        answer: String,
    },
    /// 签收
    Accept,
    /// 指派承办人: the handling unit gives the order to one of its people (`to`, a login) —
    /// the lead or a co-handler, each for its own part; again to hand it on.
    Assign {
        to: String,
    },
    /// 派单异议
    Dispute {
        reason: String,
    },
    ReviewDispute {
        upheld: bool,
        #[serde(default)]
        redispatch_to: Option<UnitCode>,
        note: String,
    },
    ReportPart {
        text: String,
    },
    /// 联系诉求人: the response.
    Contact {
        note: String,
    },
    /// 延期申请 by so much more time.
    RequestExtension {
        extra: TimeLimit,
        reason: String,
    },
    DecideExtension {
        approved: bool,
        note: String,
    },
    Escalate {
        to: EscalationLevel,
        reason: String,
    },
    /// 办结反馈
    Reply {
        outcome: ReplyOutcome,
        actions: String,
    },
    ReturnVisit {
        result: VisitResult,
    },
    Close {
        note: String,
    },
    /// 重办
    Reopen {
        reason: String,
    },
    /// 核减: rule the demand unreasonable.
    RuleUnreasonable {
        reason: String,
    },
    Supervise {
        action: Supervision,
        note: String,
    },
    LinkRepeat {
        earlier: OrderNo,
    },
    Merge {
        into: OrderNo,
    },
    /// Reveal the requester's personal data to the actor; recorded with the reason (art. 8, 28).
    RevealRequester {
        reason: String,
    },
    /// The outcome of a whistle raised on this order, as a handling record (办理记录). The store
    /// issues it in the transaction that closes the whistle; no person sends it.
    RecordWhistleOutcome {
        whistle: String,
        result: crate::whistle::WhistleResult,
        reasons: String,
    },
}

impl Command {
    pub fn name(&self) -> &'static str {
        match self {
            Command::Dispatch { .. } => "dispatch",
            Command::Forward { .. } => "forward",
            Command::RecordForwardAnswer { .. } => "record_forward_answer",
            Command::Accept => "accept",
            Command::Assign { .. } => "assign",
            Command::Dispute { .. } => "dispute",
            Command::ReviewDispute { .. } => "review_dispute",
            Command::ReportPart { .. } => "report_part",
            Command::Contact { .. } => "contact",
            Command::RequestExtension { .. } => "request_extension",
            Command::DecideExtension { .. } => "decide_extension",
            Command::Escalate { .. } => "escalate",
            Command::Reply { .. } => "reply",
            Command::ReturnVisit { .. } => "return_visit",
            Command::Close { .. } => "close",
            Command::Reopen { .. } => "reopen",
            Command::RuleUnreasonable { .. } => "rule_unreasonable",
            Command::Supervise { .. } => "supervise",
            Command::LinkRepeat { .. } => "link_repeat",
            Command::Merge { .. } => "merge",
            Command::RevealRequester { .. } => "reveal_requester",
            Command::RecordWhistleOutcome { .. } => "record_whistle_outcome",
        }
    }

    /// Another order this command names, which must exist.
    pub fn referenced_order(&self) -> Option<&OrderNo> {
        match self {
            Command::LinkRepeat { earlier } => Some(earlier),
            Command::Merge { into } => Some(into),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Received {
    pub no: OrderNo,
    pub received_at: Timestamp,
    pub channel: Channel,
    pub request_type: RequestType,
    pub text: String,
    pub category: CategoryCode,
    pub urgency: Urgency,
    pub location: Location,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Dispatched {
    pub lead: UnitCode,
    pub co_handlers: Vec<UnitCode>,
    pub copied_to: Option<UnitCode>,
    pub coordination: bool,
    /// The catalogue version that routed it; `None` when the dispatcher chose the unit.
    pub catalogue_version: Option<u32>,
    pub respond_by: Timestamp,
    pub handle_by: Timestamp,
    pub respond_limit: TimeLimit,
    pub handle_limit: TimeLimit,
    /// Years whose holidays were not loaded, so the weekday rule was used: shown as a warning.
    pub fallback_years: BTreeSet<i32>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EventPayload {
    Received(Received),
    TriageClosed {
        disposition: Triage,
    },
    Dispatched(Dispatched),
    Forwarded {
        party: OutsideParty,
        note: String,
    },
    ForwardAnswered {
        answer: String,
    },
    Accepted,
    /// A handling unit's person (a login) is now the one handling it for the unit.
    Assigned {
        unit: UnitCode,
        to: String,
    },
    Disputed {
        reason: String,
    },
    DisputeReviewed {
        upheld: bool,
        note: String,
    },
    PartReported {
        unit: UnitCode,
        text: String,
    },
    Contacted {
        note: String,
        in_time: bool,
    },
    ExtensionRequested {
        until: Timestamp,
        reason: String,
    },
    ExtensionDecided {
        approved: bool,
        until: Timestamp,
        note: String,
    },
    Escalated {
        to: EscalationLevel,
        reason: String,
    },
    Replied {
        outcome: ReplyOutcome,
        actions: String,
        in_time: bool,
    },
    Visited {
        result: VisitResult,
    },
    Closed {
        note: String,
    },
    Reopened {
        reason: String,
    },
    RuledUnreasonable {
        reason: String,
    },
    Supervised {
        action: Supervision,
        note: String,
    },
    Linked {
        earlier: OrderNo,
    },
    Merged {
        into: OrderNo,
    },
    RequesterRevealed {
        reason: String,
    },
    WhistleOutcomeRecorded {
        whistle: String,
        result: crate::whistle::WhistleResult,
        reasons: String,
    },
}

impl EventPayload {
    pub fn name(&self) -> &'static str {
        match self {
            EventPayload::Received(_) => "received",
            EventPayload::TriageClosed { .. } => "triage_closed",
            EventPayload::Dispatched(_) => "dispatched",
            EventPayload::Forwarded { .. } => "forwarded",
            EventPayload::ForwardAnswered { .. } => "forward_answered",
            EventPayload::Accepted => "accepted",
            EventPayload::Assigned { .. } => "assigned",
            EventPayload::Disputed { .. } => "disputed",
            EventPayload::DisputeReviewed { .. } => "dispute_reviewed",
            EventPayload::PartReported { .. } => "part_reported",
            EventPayload::Contacted { .. } => "contacted",
            EventPayload::ExtensionRequested { .. } => "extension_requested",
            EventPayload::ExtensionDecided { .. } => "extension_decided",
            EventPayload::Escalated { .. } => "escalated",
            EventPayload::Replied { .. } => "replied",
            EventPayload::Visited { .. } => "visited",
            EventPayload::Closed { .. } => "closed",
            EventPayload::Reopened { .. } => "reopened",
            EventPayload::RuledUnreasonable { .. } => "ruled_unreasonable",
            EventPayload::Supervised { .. } => "supervised",
            EventPayload::Linked { .. } => "linked",
            EventPayload::Merged { .. } => "merged",
            EventPayload::RequesterRevealed { .. } => "requester_revealed",
            EventPayload::WhistleOutcomeRecorded { .. } => "whistle_outcome_recorded",
        }
    }

    /// A short Chinese label for histories.
    pub fn label_zh(&self) -> &'static str {
        match self {
            EventPayload::Received(_) => "受理",
            EventPayload::TriageClosed { .. } => "受理即办结",
            EventPayload::Dispatched(_) => "派单",
            EventPayload::Forwarded { .. } => "转外部办理",
            EventPayload::ForwardAnswered { .. } => "外部答复",
            EventPayload::Accepted => "签收",
            EventPayload::Assigned { .. } => "指派承办人",
            EventPayload::Disputed { .. } => "派单异议",
            EventPayload::DisputeReviewed { .. } => "异议审核",
            EventPayload::PartReported { .. } => "协办反馈",
            EventPayload::Contacted { .. } => "联系诉求人",
            EventPayload::ExtensionRequested { .. } => "申请延期",
            EventPayload::ExtensionDecided { .. } => "延期审批",
            EventPayload::Escalated { .. } => "提级协调",
            EventPayload::Replied { .. } => "办结反馈",
            EventPayload::Visited { .. } => "回访",
            EventPayload::Closed { .. } => "结案",
            EventPayload::Reopened { .. } => "重办",
            EventPayload::RuledUnreasonable { .. } => "认定不合理诉求",
            EventPayload::Supervised { .. } => "督办",
            EventPayload::Linked { .. } => "关联重复件",
            EventPayload::Merged { .. } => "合并",
            EventPayload::RequesterRevealed { .. } => "查看诉求人信息",
            EventPayload::WhistleOutcomeRecorded { .. } => "吹哨办理结果",
        }
    }
}
