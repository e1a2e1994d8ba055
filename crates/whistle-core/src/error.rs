//! Domain errors: a closed set whose variants are stable keys (`key()`) that user interfaces
//! translate. `message(Lang::Zh)` is the default wording shown to users; English is available.

use serde::Serialize;
use thiserror::Error;

/// The language of a user-facing message: Simplified Chinese by default, English available.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub enum Lang {
    #[default]
    Zh,
    En,
}

/// Why a period's edition is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EditionRefusal {
    NotOver,
    AlreadyClosed,
    NotClosed,
    NothingChanged,
    NoSuchEdition,
    NoteRequired,
    /// Another edition of the period was published at the same moment (another server).
    Concurrent,
}

impl EditionRefusal {
    pub fn chinese(self) -> &'static str {
        match self {
            EditionRefusal::NotOver => "考核期尚未结束，结束后方可结账发布",
            EditionRefusal::AlreadyClosed => "已结账发布，后续变化请发布修订版",
            EditionRefusal::NotClosed => "尚未结账发布，请先结账",
            EditionRefusal::NothingChanged => "自上一版发布以来数据无变化，无需修订",
            EditionRefusal::NoSuchEdition => "没有该版本",
            EditionRefusal::NoteRequired => "修订须说明理由",
            EditionRefusal::Concurrent => "同时已有另一版本发布，请重新查看",
        }
    }

    pub fn english(self) -> &'static str {
        match self {
            EditionRefusal::NotOver => {
                "the period is not over yet: it can be closed after its last day"
            }
            EditionRefusal::AlreadyClosed => "already closed: publish later changes as a revision",
            EditionRefusal::NotClosed => "not closed yet: close it first",
            EditionRefusal::NothingChanged => "nothing changed since the last edition",
            EditionRefusal::NoSuchEdition => "no such edition",
            EditionRefusal::NoteRequired => "a revision says why (--note)",
            EditionRefusal::Concurrent => {
                "another edition was published at the same moment: look again"
            }
        }
    }
}

/// Invariant: no message (Chinese or English, `Display` included) repeats a value the caller
/// submitted that has not been found in the reference data: a phone number typed into the wrong
/// field must never come back in an error or a log line. Codes that name existing units and
/// categories (a retired unit, a category that is not a leaf) may be named.
#[derive(Clone, Debug, Error, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(tag = "error", content = "detail", rename_all = "snake_case")]
pub enum DomainError {
    #[error("command `{command}` is not allowed when the order is `{stage}`")]
    IllegalTransition { stage: String, command: String },
    #[error("no such unit")]
    UnknownUnit(String),
    #[error("no such category")]
    UnknownCategory(String),
    #[error("category `{0}` is not a leaf of the taxonomy")]
    CategoryNotLeaf(String),
    #[error("unit `{0}` is retired")]
    UnitRetired(String),
    #[error("unit `{0}` cannot handle work orders")]
    NotAHandlingUnit(String),
    #[error("`{category}` is outside the duty list of `{unit}`")]
    OutsideDutyList { unit: String, category: String },
    #[error("no dispatch catalogue entry for `{category}` in `{territory}`")]
    NoRoute { category: String, territory: String },
    #[error("unit `{actor}` is not the lead handling unit `{lead}`")]
    NotLeadUnit { actor: String, lead: String },
    #[error("unit `{0}` is not a co-handler of this order")]
    NotCoHandler(String),
    #[error("unit `{0}` is not a dispatch centre")]
    NotDispatchCenter(String),
    #[error("the request text is empty")]
    TextEmpty,
    #[error("the text has {length} characters, more than the {max} allowed")]
    TextTooLong { length: usize, max: usize },
    #[error("invalid location: {0}")]
    InvalidLocation(String),
    #[error("a deadline may not precede intake")]
    DeadlineBeforeIntake,
    #[error("the time lies in the future")]
    TimeInFuture,
    #[error("the time precedes the order's last event")]
    TimeBeforeLastEvent,
    #[error("there is no pending dispute")]
    NoPendingDispute,
    #[error("a dispute is already pending")]
    DisputePending,
    #[error("there is no pending extension request")]
    NoPendingExtension,
    #[error("an extension request is already pending")]
    ExtensionPending,
    #[error("the return visit is too early: no reply yet and the deadline has not expired")]
    VisitTooEarly,
    #[error("the demand was already ruled unreasonable")]
    AlreadyRuledUnreasonable,
    #[error("this deadline notice was already recorded")]
    AlreadyNotified,
    #[error("an order cannot be linked to or merged into itself")]
    SelfReference,
    #[error("the order cannot be reopened: {0}")]
    ReopenRefused(String),
    /// A period's edition cannot be published or shown as asked (一张卷子's editions).
    #[error("evaluation period {period}: {}", .why.english())]
    EditionRefused { period: String, why: EditionRefusal },
    #[error("the redispatch target must differ from the current lead unit")]
    SameUnit,
    #[error("invalid order number: use YYYYMMDD-NNNNNN")]
    InvalidOrderNo(String),
    #[error("invalid unit code")]
    InvalidUnitCode(String),
    #[error("invalid category code: use e.g. 11.04.01")]
    InvalidCategoryCode(String),
    #[error("invalid time: use YYYY-MM-DD HH:MM (Beijing) or RFC 3339, years 1970–2200")]
    InvalidTime,
    #[error("{field}: the time must fall between {earliest} and {latest}")]
    TimeOutOfRange {
        field: String,
        earliest: String,
        latest: String,
    },
    #[error("{field}: at most {days} days ahead")]
    SpanTooLong { field: String, days: u32 },
    #[error("invalid time limit: use e.g. 30m, 2h or 7wd (at most 1440m, 720h, 250wd)")]
    InvalidTimeLimit(String),
    #[error("invalid calendar data: {0}")]
    InvalidCalendar(String),
    #[error("invalid value for {field}")]
    InvalidValue { field: String, value: String },
    #[error("invalid reference data: {0}")]
    InvalidReference(String),
    #[error("that unit is not summoned by this whistle")]
    NotSummoned(String),
    #[error("unit `{0}` has already reported in")]
    AlreadyReportedIn(String),
    #[error("unit `{0}` lies outside the street's district; a district override is required")]
    OutOfDistrict(String),
    #[error("unit `{0}` was already rated")]
    AlreadyRated(String),
    #[error("the objection window has closed")]
    ObjectionWindowClosed,
    #[error("only the street that raised the whistle may do this")]
    NotWhistleStreet,
    #[error("only the street's district may decide this")]
    NotWhistleDistrict,
    #[error("no such item on this street's whistle list")]
    UnknownWhistleListItem(String),
    #[error("a whistle outside the list must name its lead unit")]
    WhistleLeadMissing,
}

impl DomainError {
    /// A stable machine-readable key, e.g. `illegal_transition`.
    pub fn key(&self) -> &'static str {
        use DomainError::*;
        match self {
            IllegalTransition { .. } => "illegal_transition",
            UnknownUnit(_) => "unknown_unit",
            UnknownCategory(_) => "unknown_category",
            CategoryNotLeaf(_) => "category_not_leaf",
            UnitRetired(_) => "unit_retired",
            NotAHandlingUnit(_) => "not_a_handling_unit",
            OutsideDutyList { .. } => "outside_duty_list",
            NoRoute { .. } => "no_route",
            NotLeadUnit { .. } => "not_lead_unit",
            NotCoHandler(_) => "not_co_handler",
            NotDispatchCenter(_) => "not_dispatch_center",
            TextEmpty => "text_empty",
            TextTooLong { .. } => "text_too_long",
            InvalidLocation(_) => "invalid_location",
            DeadlineBeforeIntake => "deadline_before_intake",
            TimeInFuture => "time_in_future",
            TimeBeforeLastEvent => "time_before_last_event",
            NoPendingDispute => "no_pending_dispute",
            DisputePending => "dispute_pending",
            NoPendingExtension => "no_pending_extension",
            ExtensionPending => "extension_pending",
            VisitTooEarly => "visit_too_early",
            AlreadyRuledUnreasonable => "already_ruled_unreasonable",
            AlreadyNotified => "already_notified",
            SelfReference => "self_reference",
            ReopenRefused(_) => "reopen_refused",
            EditionRefused { .. } => "edition_refused",
            SameUnit => "same_unit",
            InvalidOrderNo(_) => "invalid_order_no",
            InvalidUnitCode(_) => "invalid_unit_code",
            InvalidCategoryCode(_) => "invalid_category_code",
            InvalidTime => "invalid_time",
            TimeOutOfRange { .. } => "time_out_of_range",
            SpanTooLong { .. } => "span_too_long",
            InvalidTimeLimit(_) => "invalid_time_limit",
            InvalidCalendar(_) => "invalid_calendar",
            InvalidValue { .. } => "invalid_value",
            InvalidReference(_) => "invalid_reference",
            NotSummoned(_) => "not_summoned",
            AlreadyReportedIn(_) => "already_reported_in",
            OutOfDistrict(_) => "out_of_district",
            AlreadyRated(_) => "already_rated",
            ObjectionWindowClosed => "objection_window_closed",
            NotWhistleStreet => "not_whistle_street",
            NotWhistleDistrict => "not_whistle_district",
            UnknownWhistleListItem(_) => "unknown_whistle_list_item",
            WhistleLeadMissing => "whistle_lead_missing",
        }
    }

    /// The user-facing message in `lang`.
    pub fn message(&self, lang: Lang) -> String {
        if lang == Lang::En {
            return self.to_string();
        }
        use DomainError::*;
        match self {
            IllegalTransition { stage, command } => {
                format!(
                    "工单当前状态为「{}」，不能执行「{}」",
                    stage_zh(stage),
                    command_zh(command)
                )
            }
            UnknownUnit(_) => "单位编码不存在".to_string(),
            UnknownCategory(_) => "诉求分类不存在".to_string(),
            CategoryNotLeaf(code) => format!("诉求分类 {code} 不是末级分类"),
            UnitRetired(code) => format!("单位 {code} 已撤销，不能派单"),
            NotAHandlingUnit(code) => format!("单位 {code} 不是承办单位"),
            OutsideDutyList { unit, category } => {
                format!("分类 {category} 不在 {unit} 的职责清单内，不能作为主办单位")
            }
            NoRoute {
                category,
                territory,
            } => format!("派单目录中没有 {territory} 的 {category} 类诉求的承办单位"),
            NotLeadUnit { actor, lead } => {
                format!("{actor} 不是本工单的主办单位（主办单位为 {lead}）")
            }
            NotCoHandler(code) => format!("{code} 不是本工单的协办单位"),
            NotDispatchCenter(code) => format!("{code} 不是热线派单中心，无权执行此操作"),
            TextEmpty => "诉求内容不能为空".to_string(),
            TextTooLong { length, max } => format!("内容长度 {length} 字，超过上限 {max} 字"),
            InvalidLocation(reason) => format!("位置信息有误：{reason}"),
            DeadlineBeforeIntake => "办理时限不能早于受理时间".to_string(),
            TimeInFuture => "时间不能晚于当前时间".to_string(),
            TimeBeforeLastEvent => "时间不能早于工单的上一条记录".to_string(),
            NoPendingDispute => "没有待审核的派单异议".to_string(),
            DisputePending => "已有待审核的派单异议".to_string(),
            NoPendingExtension => "没有待审批的延期申请".to_string(),
            ExtensionPending => "已有待审批的延期申请".to_string(),
            VisitTooEarly => "尚未反馈且办理时限未到，不能回访".to_string(),
            AlreadyRuledUnreasonable => "该诉求已被认定为不合理诉求".to_string(),
            AlreadyNotified => "该时限提醒已记录".to_string(),
            SelfReference => "工单不能关联或合并到自身".to_string(),
            ReopenRefused(reason) => format!("不能重办：{reason}"),
            EditionRefused { period, why } => format!("考核期{period}：{}", why.chinese()),
            SameUnit => "改派单位不能与原主办单位相同".to_string(),
            InvalidOrderNo(_) => "工单编号格式有误，应为 YYYYMMDD-NNNNNN".to_string(),
            InvalidUnitCode(_) => "单位编码格式有误".to_string(),
            InvalidCategoryCode(_) => "分类编码格式有误，应如 11.04.01".to_string(),
            InvalidTime => {
                "时间格式有误，应为 YYYY-MM-DD HH:MM（北京时间）或 RFC 3339，年份在 1970–2200 之间"
                    .to_string()
            }
            TimeOutOfRange {
                field,
                earliest,
                latest,
            } => format!("{field}：时间须在 {earliest} 至 {latest} 之间"),
            SpanTooLong { field, days } => format!("{field}：最多只能在 {days} 天之后"),
            InvalidTimeLimit(_) => {
                "时限格式有误，应为如 30m、2h 或 7wd（最多 1440m、720h、250wd）".to_string()
            }
            InvalidCalendar(reason) => format!("节假日数据有误：{reason}"),
            InvalidValue { field, .. } => format!("{field} 的取值无效"),
            InvalidReference(reason) => format!("基础数据有误：{reason}"),
            NotSummoned(_) => "该单位不在本次吹哨的报到单位之列".to_string(),
            AlreadyReportedIn(code) => format!("{code} 已经报到"),
            OutOfDistrict(code) => format!("{code} 不在本区范围内，需区级同意方可召集"),
            AlreadyRated(code) => format!("已对 {code} 作出评价"),
            ObjectionWindowClosed => "异议期已过".to_string(),
            NotWhistleStreet => "只有吹哨的街乡可以执行此操作".to_string(),
            NotWhistleDistrict => "只有该街乡所在的区可以作出此决定".to_string(),
            UnknownWhistleListItem(_) => "本街乡的吹哨事项清单内没有该事项".to_string(),
            WhistleLeadMissing => "清单外吹哨须指定牵头单位".to_string(),
        }
    }
}

fn stage_zh(stage: &str) -> &str {
    match stage {
        "new" => "新建",
        "pending_dispatch" => "待派单",
        "forwarded" => "已转外部",
        "dispatched" => "已派单",
        "accepted" => "办理中",
        "replied" => "已反馈",
        "visited" => "已回访",
        "closed" => "已结案",
        other => other,
    }
}

fn command_zh(command: &str) -> &str {
    match command {
        "intake" => "受理",
        "dispatch" => "派单",
        "forward" => "转外部办理",
        "record_forward_answer" => "登记外部答复",
        "accept" => "签收",
        "dispute" => "派单异议",
        "review_dispute" => "审核异议",
        "report_part" => "协办反馈",
        "contact" => "联系诉求人",
        "request_extension" => "申请延期",
        "decide_extension" => "审批延期",
        "escalate" => "提级协调",
        "reply" => "办结反馈",
        "return_visit" => "回访",
        "close" => "结案",
        "reopen" => "重办",
        "rule_unreasonable" => "认定不合理诉求",
        "supervise" => "督办",
        "link_repeat" => "关联重复件",
        "merge" => "合并",
        "reveal_requester" => "查看诉求人信息",
        "record_whistle_outcome" => "登记吹哨结果",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn submitted_values_are_never_echoed() {
        let phone = "13912345678";
        let errors = [
            DomainError::UnknownUnit(phone.into()),
            DomainError::UnknownCategory(phone.into()),
            DomainError::InvalidOrderNo(phone.into()),
            DomainError::InvalidUnitCode(phone.into()),
            DomainError::InvalidCategoryCode(phone.into()),
            DomainError::InvalidTimeLimit(phone.into()),
            DomainError::InvalidValue {
                field: "stage".into(),
                value: phone.into(),
            },
            DomainError::NotSummoned(phone.into()),
            DomainError::UnknownWhistleListItem(phone.into()),
        ];
        for error in errors {
            for lang in [Lang::Zh, Lang::En] {
                assert!(!error.message(lang).contains(phone), "{error:?}");
            }
            assert!(!error.to_string().contains(phone), "{error:?}");
        }
    }
}
