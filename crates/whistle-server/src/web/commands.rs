//! The order commands as small forms: which the page offers a viewer (the role may give it, the
//! stage allows it, the viewer's unit is the one the engine will ask for — disabled actions are
//! not rendered), the fields each asks for, and how a submitted form becomes a [`Command`]. The
//! engine decides again, with the version the page showed.
//!
//! One table for every desk: the order page renders all of a viewer's actions, the dispatcher's,
//! visit and supervision desks render one or two of them beside their queues.

use std::collections::HashMap;
use whistle_core::calendar::TimeLimit;
use whistle_core::error::Lang;
use whistle_core::ids::{OrderNo, UnitCode};
use whistle_core::order::{
    Closure, Command, EscalationLevel, Order, OutsideParty, ReplyOutcome, Satisfaction, Stage,
    Supervision, VisitResult,
};
use whistle_core::org::UnitKind;
use whistle_core::reference::Reference;
use whistle_core::time::Timestamp;

use super::format::pick;
use super::Viewer;

/// One command's form.
pub struct Action {
    /// The command's path segment: `/ui/orders/{no}/act/{name}`.
    pub name: &'static str,
    pub title: String,
    pub primary: bool,
    pub fields: Vec<Field>,
    /// What the person should know before acting (the catalogue's suggestion and its rule).
    pub note: String,
    /// This rendered form's idempotency key: a double submit runs the command once.
    pub key: String,
    /// Why the last submit of this form was refused (the values typed are kept in the fields).
    pub error: Option<String>,
}

/// A form field. `kind` is `line`, `text`, `number`, `select`, `yesno` or `unit` (a unit by name
/// or code, with the datalist of units).
pub struct Field {
    pub name: &'static str,
    pub label: String,
    pub kind: &'static str,
    pub options: Vec<(String, String)>,
    pub value: String,
    pub required: bool,
    pub hint: String,
}

impl Action {
    fn new(name: &'static str, title: String) -> Self {
        Action {
            name,
            title,
            primary: false,
            fields: Vec::new(),
            note: String::new(),
            key: crate::auth::random_hex(12),
            error: None,
        }
    }

    fn primary(mut self) -> Self {
        self.primary = true;
        self
    }

    fn note(mut self, note: String) -> Self {
        self.note = note;
        self
    }

    fn field(mut self, field: Field) -> Self {
        self.fields.push(field);
        self
    }

    /// Puts back what was typed into a refused form, with the reason.
    pub fn refill(&mut self, values: &HashMap<String, String>, error: String) {
        for field in &mut self.fields {
            if let Some(value) = values.get(field.name) {
                field.value = value.clone();
            }
        }
        if let Some(key) = values.get("key").filter(|k| !k.is_empty()) {
            self.key = key.clone();
        }
        self.error = Some(error);
    }
}

fn field(name: &'static str, label: String, kind: &'static str) -> Field {
    Field {
        name,
        label,
        kind,
        options: Vec::new(),
        value: String::new(),
        required: false,
        hint: String::new(),
    }
}

impl Field {
    fn required(mut self) -> Self {
        self.required = true;
        self
    }

    fn options(mut self, options: Vec<(String, String)>) -> Self {
        self.options = options;
        self
    }

    fn value(mut self, value: impl Into<String>) -> Self {
        self.value = value.into();
        self
    }

    fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = hint.into();
        self
    }
}

/// What the viewer is to this order.
struct Standing {
    center: bool,
    supervising: bool,
    leads: bool,
    co_handles: bool,
}

fn standing(viewer: &Viewer, order: &Order, reference: &Reference) -> Standing {
    let unit = &viewer.principal.unit;
    let kind = reference.directory.get(unit).map(|u| u.kind);
    Standing {
        center: kind == Some(UnitKind::DispatchCenter),
        supervising: matches!(
            kind,
            Some(UnitKind::DispatchCenter | UnitKind::District | UnitKind::City)
        ),
        leads: order.lead() == Some(unit),
        co_handles: order
            .assignment()
            .is_some_and(|a| a.co_handlers.contains(unit)),
    }
}

/// Whether the viewer's unit may assign the order now: it leads or co-handles it while it is
/// being handled, and the viewer's role gives the command.
pub fn may_assign(viewer: &Viewer, order: &Order) -> bool {
    let unit = &viewer.principal.unit;
    matches!(order.stage, Stage::Dispatched(_) | Stage::Accepted(_))
        && order
            .assignment()
            .is_some_and(|a| a.lead == *unit || a.co_handlers.contains(unit))
        && viewer.role.may(&Command::Assign { to: String::new() })
}

/// 指派承办人, offered where [`may_assign`]: the unit's people (`colleagues`) but the one who
/// has it now.
pub fn assign_action(
    viewer: &Viewer,
    order: &Order,
    colleagues: &[whistle_store::Account],
    lang: Lang,
) -> Option<Action> {
    if !may_assign(viewer, order) {
        return None;
    }
    let current = order.assignee(&viewer.principal.unit);
    let options: Vec<(String, String)> = colleagues
        .iter()
        .map(|a| (&a.login, &a.display_name))
        .filter(|(login, _)| Some(login.as_str()) != current)
        .map(|(login, name)| {
            let me = *login == viewer.principal.name;
            let label = match (me, lang) {
                (true, Lang::Zh) => format!("{name}（{login}，我自己）"),
                (true, Lang::En) => format!("{name} ({login}, me)"),
                (false, _) => format!("{name}（{login}）"),
            };
            (login.clone(), label)
        })
        .collect();
    if options.is_empty() {
        return None;
    }
    let t = |zh: &str, en: &str| pick(lang, (zh, en)).to_string();
    Some(
        Action::new(
            "assign",
            if current.is_some() {
                t("转交同事", "Hand on to a colleague")
            } else {
                t("指派承办人", "Assign to a colleague")
            },
        )
        .field(field("to", t("承办人", "Colleague"), "select").options(options)),
    )
}

/// The commands the page offers `viewer` on `order`, in the order a person works through them.
pub fn offered(
    viewer: &Viewer,
    order: &Order,
    reference: &Reference,
    now: Timestamp,
    lang: Lang,
) -> Vec<Action> {
    let t = |zh: &str, en: &str| pick(lang, (zh, en)).to_string();
    let s = standing(viewer, order, reference);
    let may = |command: Command| viewer.role.may(&command);
    let text = String::new;
    let handling = matches!(order.stage, Stage::Dispatched(_) | Stage::Accepted(_));
    let coordinating = order.assignment().is_some_and(|a| a.coordination) && handling;
    let mut actions = Vec::new();
    let dispatch = Command::Dispatch {
        unit: None,
        co_handlers: Vec::new(),
        handle_by: None,
    };
    if may(dispatch)
        && ((order.stage == Stage::PendingDispatch && s.center)
            || (coordinating && (s.center || s.leads)))
    {
        actions.push(dispatch_action(order, reference, lang));
    }
    if order.stage == Stage::PendingDispatch
        && s.center
        && may(Command::Forward {
            party: OutsideParty::TianjinHotline,
            note: text(),
        })
    {
        actions.push(
            Action::new("forward", t("转外部办理", "Forward outside"))
                .field(field("party", t("转至", "To"), "select").options(vec![
                    (
                        "central".into(),
                        t("央地联动（中央在京单位）", "a central unit"),
                    ),
                    ("tianjin".into(), t("天津 12345", "Tianjin hotline")),
                    ("hebei".into(), t("河北 12345", "Hebei hotline")),
                ]))
                .field(field(
                    "unit_name",
                    t("单位名称（央地联动）", "Unit (central)"),
                    "line",
                ))
                .field(field("note", t("转办说明", "Note"), "line").required()),
        );
    }
    if matches!(order.stage, Stage::Forwarded { .. })
        && s.center
        && may(Command::RecordForwardAnswer { answer: text() })
    {
        actions.push(
            Action::new("forward_answer", t("记录外部答复", "Record the answer"))
                .field(field("answer", t("答复内容", "Answer"), "text").required()),
        );
    }
    if matches!(order.stage, Stage::Dispatched(_)) && s.leads && may(Command::Accept) {
        actions.push(Action::new("accept", t("签收", "Accept")).primary());
    }
    if handling && s.leads && may(Command::Contact { note: text() }) {
        actions.push(
            Action::new("contact", t("记录联系", "Record the contact")).field(
                field("note", t("联系诉求人", "Contacted the requester"), "line")
                    .required()
                    .hint(t(
                        "如：已电话联系，约定明早现场查看",
                        "e.g. called, will look tomorrow morning",
                    )),
            ),
        );
    }
    if matches!(order.stage, Stage::Accepted(_))
        && s.leads
        && may(Command::Reply {
            outcome: ReplyOutcome::Resolved,
            actions: text(),
        })
    {
        let outcomes = [
            ReplyOutcome::Resolved,
            ReplyOutcome::PartlyResolved,
            ReplyOutcome::Explained,
        ]
        .into_iter()
        .map(|o| (o.as_str().to_string(), pick(lang, o.labels()).to_string()))
        .collect();
        actions.push(
            Action::new("reply", t("办结反馈", "Reply"))
                .primary()
                .field(field("outcome", t("办理结果", "Outcome"), "select").options(outcomes))
                .field(
                    field(
                        "actions",
                        t(
                            "办理情况（答复诉求人）",
                            "What was done (the reply to the requester)",
                        ),
                        "text",
                    )
                    .required(),
                ),
        );
    }
    if s.co_handles && handling && may(Command::ReportPart { text: text() }) {
        actions.push(
            Action::new("part", t("反馈协办情况", "Report my part")).field(
                field(
                    "text",
                    t("协办情况（报主办单位）", "My part (to the lead unit)"),
                    "text",
                )
                .required(),
            ),
        );
    }
    if matches!(order.stage, Stage::Accepted(_))
        && s.leads
        && order.extension.is_none()
        && may(Command::RequestExtension {
            extra: TimeLimit::WorkingDays(1),
            reason: text(),
        })
    {
        actions.push(
            Action::new("extend", t("申请延期", "Ask for an extension"))
                .field(
                    field(
                        "days",
                        t("延期（工作日）", "Extension (working days)"),
                        "number",
                    )
                    .value("3")
                    .required(),
                )
                .field(
                    field(
                        "reason",
                        t("延期理由（将告知诉求人）", "Reason (the requester is told)"),
                        "line",
                    )
                    .required(),
                ),
        );
    }
    if handling && s.leads && order.dispute.is_none() && may(Command::Dispute { reason: text() }) {
        actions.push(
            Action::new("dispute", t("派单异议（退回）", "Dispute the dispatch")).field(
                field(
                    "reason",
                    t("异议理由（依据职责清单）", "Reason (by the duty list)"),
                    "line",
                )
                .required(),
            ),
        );
    }
    if handling
        && s.leads
        && order.escalation != Some(EscalationLevel::City)
        && may(Command::Escalate {
            to: EscalationLevel::District,
            reason: text(),
        })
    {
        let mut levels = Vec::new();
        if order.escalation.is_none() {
            levels.push(("district".to_string(), t("区级", "the district")));
        }
        levels.push(("city".to_string(), t("市级", "the city")));
        actions.push(
            Action::new("escalate", t("提级协调", "Escalate"))
                .field(field("to", t("提请", "To"), "select").options(levels))
                .field(field("reason", t("理由", "Reason"), "line").required()),
        );
    }
    if order.dispute.is_some()
        && s.center
        && may(Command::ReviewDispute {
            upheld: false,
            redispatch_to: None,
            note: text(),
        })
    {
        actions.push(review_dispute_action(order, reference, lang));
    }
    if order.extension.is_some()
        && s.center
        && may(Command::DecideExtension {
            approved: true,
            note: text(),
        })
    {
        actions.push(decide_extension_action(order, lang));
    }
    // A visit follows the reply, or the handling deadline when no reply came (the engine's rule).
    let visit_due = matches!(order.stage, Stage::Replied(_))
        || (handling && order.handle_by.is_some_and(|due| now > due));
    if visit_due
        && s.center
        && may(Command::ReturnVisit {
            result: VisitResult::Invalid { reason: text() },
        })
    {
        actions.push(visit_action(lang));
    }
    if matches!(order.stage, Stage::Visited(_)) && s.center && may(Command::Close { note: text() })
    {
        actions.push(
            Action::new("close", t("办结归档", "Close"))
                .primary()
                .field(field("note", t("说明", "Note"), "line")),
        );
    }
    if matches!(
        order.stage,
        Stage::Visited(_) | Stage::Closed(Closure::Handled(_))
    ) && order.unreasonable.is_none()
        && s.center
        && may(Command::Reopen { reason: text() })
    {
        actions.push(
            Action::new("reopen", t("重办", "Reopen"))
                .field(field("reason", t("重办理由", "Reason"), "line").required()),
        );
    }
    if matches!(
        order.stage,
        Stage::Replied(_) | Stage::Visited(_) | Stage::Closed(Closure::Handled(_))
    ) && order.unreasonable.is_none()
        && s.center
        && may(Command::RuleUnreasonable { reason: text() })
    {
        actions.push(
            Action::new(
                "unreasonable",
                t("认定不合理诉求（核减）", "Rule unreasonable"),
            )
            .field(field("reason", t("认定理由", "Reason"), "line").required()),
        );
    }
    if !order.is_closed()
        && s.supervising
        && may(Command::Supervise {
            action: Supervision::Urge,
            note: text(),
        })
    {
        actions.push(
            Action::new("supervise", t("督办", "Supervise"))
                .field(field("action", t("方式", "How"), "select").options(vec![
                    ("urge".into(), t("催办", "urge")),
                    ("flag".into(), t("列入督办", "put on the list")),
                ]))
                .field(field("note", t("督办意见", "Note"), "line")),
        );
    }
    if s.center
        && may(Command::LinkRepeat {
            earlier: order.no.clone(),
        })
    {
        actions.push(
            Action::new("link", t("关联重复诉求", "Link a repeat")).field(
                field("earlier", t("先前工单号", "Earlier order"), "line")
                    .required()
                    .hint("20261201-000001"),
            ),
        );
    }
    let unanswered = handling
        || matches!(
            order.stage,
            Stage::PendingDispatch | Stage::Forwarded { .. }
        );
    if unanswered
        && s.center
        && may(Command::Merge {
            into: order.no.clone(),
        })
    {
        actions.push(
            Action::new("merge", t("合并到", "Merge into")).field(
                field("into", t("合并到工单号", "Order to merge into"), "line")
                    .required()
                    .hint("20261201-000001"),
            ),
        );
    }
    actions
}

/// Puts the standard reply texts for the order's category into its reply form, first: choosing
/// one fills the outcome and the text (a `fill` field: each option `outcome|text`).
pub fn offer_reply_texts(actions: &mut [Action], texts: &[&super::replies::ReplyText], lang: Lang) {
    let Some(reply) = actions.iter_mut().find(|a| a.name == "reply") else {
        return;
    };
    if texts.is_empty() {
        return;
    }
    let mut options = vec![(
        String::new(),
        pick(
            lang,
            (
                "（选择标准答复用语，可再修改）",
                "(choose a standard text, then edit it)",
            ),
        )
        .to_string(),
    )];
    options.extend(texts.iter().map(|t| {
        let label: String = t.text.chars().take(40).collect();
        (
            format!("{}|{}", t.outcome.as_str(), t.text),
            format!("{}：{label}", pick(lang, t.outcome.labels())),
        )
    }));
    reply.fields.insert(
        0,
        field(
            "template",
            pick(lang, ("标准答复", "Standard text")).to_string(),
            "fill",
        )
        .options(options),
    );
}

/// 派单: to the catalogue's unit (left empty) or one the dispatcher names.
pub fn dispatch_action(order: &Order, reference: &Reference, lang: Lang) -> Action {
    let t = |zh: &str, en: &str| pick(lang, (zh, en)).to_string();
    let suggestion = Suggestion::of(order, reference, lang);
    let note = suggestion
        .as_ref()
        .map(|s| {
            format!(
                "{}{}（{}）",
                t("目录建议：", "The catalogue suggests: "),
                s.units,
                s.rule
            )
        })
        .unwrap_or_else(|| {
            t(
                "目录无匹配，请指定承办单位。",
                "No catalogue rule matches: name the unit.",
            )
        });
    let hint = t("名称或代码，如：小关", "name or code, e.g. 小关");
    Action::new("dispatch", t("派单", "Dispatch"))
        .primary()
        .note(note)
        .field(
            field(
                "unit",
                t("承办单位（空为按目录）", "Unit (empty: by the catalogue)"),
                "unit",
            )
            .hint(hint),
        )
        .field(
            field(
                "co_handlers",
                t(
                    "协办单位（可选，逗号分隔）",
                    "Co-handlers (optional, comma separated)",
                ),
                "line",
            )
            .hint(t("名称或代码", "names or codes")),
        )
}

pub fn review_dispute_action(order: &Order, reference: &Reference, lang: Lang) -> Action {
    let t = |zh: &str, en: &str| pick(lang, (zh, en)).to_string();
    let reason = order
        .dispute
        .as_ref()
        .map(|d| d.reason.clone())
        .unwrap_or_default();
    let rule = Suggestion::of(order, reference, lang)
        .map(|s| s.rule)
        .unwrap_or_default();
    Action::new("review_dispute", t("审核异议", "Review the dispute"))
        .primary()
        .field(
            field(
                "upheld",
                format!("{}{reason}　{rule}", t("单位理由：", "the unit says: ")),
                "yesno",
            )
            .required()
            .options(vec![
                ("yes".into(), t("异议成立，改派", "upheld: redispatch")),
                ("no".into(), t("异议不成立", "not upheld")),
            ]),
        )
        .field(
            field(
                "redispatch_to",
                t("改派单位（异议成立时）", "Redispatch to (when upheld)"),
                "unit",
            )
            .hint(t("名称或代码", "name or code")),
        )
        .field(field("note", t("审核意见", "Note"), "line"))
}

/// 延期审核: the request (until when, why) and the decision.
pub fn decide_extension_action(order: &Order, lang: Lang) -> Action {
    let t = |zh: &str, en: &str| pick(lang, (zh, en)).to_string();
    let asked = order
        .extension
        .as_ref()
        .map(|e| {
            format!(
                "{} {}：{}",
                t("申请延至", "asked until"),
                super::format::time(e.until),
                e.reason
            )
        })
        .unwrap_or_default();
    Action::new("decide_extension", t("审核延期", "Decide the extension"))
        .primary()
        .field(field("approved", asked, "yesno").required().options(vec![
            ("yes".into(), t("同意", "approve")),
            ("no".into(), t("不同意", "refuse")),
        ]))
        .field(field("note", t("意见", "Note"), "line"))
}

/// 回访: the three questions, or why the visit was invalid; then what follows (close, reopen,
/// or the supervisor's ruling).
pub fn visit_action(lang: Lang) -> Action {
    let t = |zh: &str, en: &str| pick(lang, (zh, en)).to_string();
    let yes_no = || {
        vec![
            ("yes".to_string(), t("是", "yes")),
            ("no".to_string(), t("否", "no")),
        ]
    };
    let satisfaction = [
        Satisfaction::Satisfied,
        Satisfaction::BasicallySatisfied,
        Satisfaction::Dissatisfied,
    ]
    .into_iter()
    .enumerate()
    .map(|(i, s)| {
        (
            s.as_str().to_string(),
            format!("{} {}", i + 1, pick(lang, s.labels())),
        )
    })
    .collect();
    Action::new("visit", t("保存回访", "Save the visit"))
        .primary()
        .field(
            field(
                "satisfaction",
                t("满意度（1/2/3）", "Satisfaction (1/2/3)"),
                "select",
            )
            .options(satisfaction),
        )
        .field(
            field(
                "contacted",
                t("承办单位联系了吗（Y/N）", "Were you contacted (Y/N)"),
                "yesno",
            )
            .options(yes_no())
            .value("yes"),
        )
        .field(
            field(
                "resolved",
                t("问题解决了吗（Y/N）", "Was it resolved (Y/N)"),
                "yesno",
            )
            .options(yes_no())
            .value("yes"),
        )
        .field(
            field(
                "invalid",
                t(
                    "无效回访原因（接通回访则留空）",
                    "Invalid visit: why (empty when answered)",
                ),
                "select",
            )
            .options(vec![
                (String::new(), t("—", "—")),
                ("无法接通".into(), t("无法接通", "unreachable")),
                ("拒绝回答".into(), t("拒绝回答", "refused to answer")),
                ("号码错误".into(), t("号码错误", "wrong number")),
            ]),
        )
        .field(field("then", t("然后", "Then"), "select").options(vec![
            (
                "auto".into(),
                t(
                    "满意则办结，不满意则重办",
                    "close if satisfied, reopen if not",
                ),
            ),
            (
                "ruling".into(),
                t(
                    "诉求不合理，提请督办裁定",
                    "unreasonable: to the supervisor's ruling",
                ),
            ),
            ("keep".into(), t("暂不处理", "leave it visited")),
        ]))
}

/// The catalogue's route for an order, and the rule that gave it.
pub struct Suggestion {
    /// Lead and co-handlers by name.
    pub units: String,
    /// "目录 v3：占道经营 @ 朝阳区 → street".
    pub rule: String,
}

impl Suggestion {
    pub fn of(order: &Order, reference: &Reference, lang: Lang) -> Option<Suggestion> {
        let catalogue = &reference.catalogue;
        let territory = &order.location.territory;
        let route = catalogue
            .route(
                &order.category,
                territory,
                &reference.directory,
                &reference.duties,
                &reference.city,
            )
            .ok()?;
        let entry = catalogue.entry_for(&order.category, territory, &reference.city)?;
        let names = super::format::Names { reference, lang };
        let mut units = vec![names.unit(&route.lead)];
        units.extend(route.co_handlers.iter().map(|u| names.unit(u)));
        let rule = format!(
            "{} v{}：{} @ {} → {}",
            pick(lang, ("目录", "catalogue")),
            catalogue.version,
            names.category(&entry.category),
            names.unit(&entry.territory),
            entry.lead
        );
        Some(Suggestion {
            units: units.join("、"),
            rule,
        })
    }
}

/// The actions a form may name (`/ui/orders/{no}/act/{name}`); any other is not found.
pub const ACTIONS: [&str; 21] = [
    "dispatch",
    "forward",
    "forward_answer",
    "accept",
    "assign",
    "contact",
    "reply",
    "part",
    "extend",
    "dispute",
    "escalate",
    "review_dispute",
    "decide_extension",
    "visit",
    "close",
    "reopen",
    "unreasonable",
    "supervise",
    "link",
    "merge",
    "reveal",
];

/// A refused form: the message the person reads, in their language.
pub type Refusal = String;

/// Reads a submitted form as the command `name`.
pub fn parse(
    name: &str,
    form: &HashMap<String, String>,
    reference: &Reference,
    lang: Lang,
) -> Result<Command, Refusal> {
    let t = |zh: &str, en: &str| pick(lang, (zh, en)).to_string();
    let value = |key: &str| form.get(key).map(|v| v.trim()).unwrap_or("");
    let required = |key: &str, what: (&str, &str)| {
        let text = value(key);
        if text.is_empty() {
            Err(pick(lang, what).to_string())
        } else {
            Ok(text.to_string())
        }
    };
    let yes = |key: &str| match value(key) {
        "yes" | "y" | "true" | "1" => Ok(true),
        "no" | "n" | "false" | "0" => Ok(false),
        _ => Err(t("请选择是或否", "choose yes or no")),
    };
    let order_no = |key: &str| {
        OrderNo::parse(value(key)).map_err(|_| {
            t(
                "工单号格式应为 20261201-000001",
                "an order number looks like 20261201-000001",
            )
        })
    };
    let unit = |key: &str| resolve_unit(value(key), reference, lang);
    Ok(match name {
        "dispatch" => Command::Dispatch {
            unit: unit("unit")?,
            co_handlers: value("co_handlers")
                .split([',', '，', '、'])
                .map(str::trim)
                .filter(|u| !u.is_empty())
                .map(|u| resolve_unit(u, reference, lang).map(Option::unwrap))
                .collect::<Result<_, _>>()?,
            handle_by: None,
        },
        "forward" => {
            let party = match value("party") {
                "central" => OutsideParty::CentralUnit {
                    name: required(
                        "unit_name",
                        ("请写明中央在京单位名称", "name the central unit"),
                    )?,
                },
                "tianjin" => OutsideParty::TianjinHotline,
                "hebei" => OutsideParty::HebeiHotline,
                _ => return Err(t("请选择转至何处", "choose where to forward")),
            };
            Command::Forward {
                party,
                note: required("note", ("请写明转办说明", "add a note"))?,
            }
        }
        "forward_answer" => Command::RecordForwardAnswer {
            answer: required("answer", ("请写明答复内容", "give the answer"))?,
        },
        "accept" => Command::Accept,
        "assign" => Command::Assign {
            to: required("to", ("请选择承办人", "choose the colleague"))?,
        },
        "contact" => Command::Contact {
            note: required(
                "note",
                ("请写明联系情况", "say how the requester was contacted"),
            )?,
        },
        "reply" => Command::Reply {
            outcome: value("outcome")
                .parse::<ReplyOutcome>()
                .map_err(|_| t("请选择办理结果", "choose the outcome"))?,
            actions: required("actions", ("请写明办理情况", "say what was done"))?,
        },
        "part" => Command::ReportPart {
            text: required("text", ("请写明协办情况", "say what your unit did"))?,
        },
        "extend" => {
            let days = value("days")
                .parse::<u32>()
                .ok()
                .filter(|d| (1..=60).contains(d))
                .ok_or_else(|| t("延期天数应为 1–60 个工作日", "ask for 1–60 working days"))?;
            Command::RequestExtension {
                extra: TimeLimit::WorkingDays(days),
                reason: required(
                    "reason",
                    ("请写明延期理由", "give the reason for the extension"),
                )?,
            }
        }
        "dispute" => Command::Dispute {
            reason: required("reason", ("请写明异议理由", "give the reason"))?,
        },
        "escalate" => Command::Escalate {
            to: value("to")
                .parse::<EscalationLevel>()
                .map_err(|_| t("请选择提级层级", "choose the level"))?,
            reason: required("reason", ("请写明理由", "give the reason"))?,
        },
        "review_dispute" => {
            let upheld = yes("upheld")?;
            let redispatch_to = unit("redispatch_to")?;
            if upheld && redispatch_to.is_none() {
                return Err(t(
                    "异议成立时请指定改派单位",
                    "name the unit to redispatch to",
                ));
            }
            Command::ReviewDispute {
                upheld,
                redispatch_to: redispatch_to.filter(|_| upheld),
                note: value("note").to_string(),
            }
        }
        "decide_extension" => Command::DecideExtension {
            approved: yes("approved")?,
            note: value("note").to_string(),
        },
        "visit" => {
            let result = match value("invalid") {
                "" => VisitResult::Valid {
                    contacted: yes("contacted")?,
                    resolved: yes("resolved")?,
                    satisfaction: value("satisfaction")
                        .parse::<Satisfaction>()
                        .map_err(|_| t("请选择满意度", "choose the satisfaction"))?,
                },
                reason => VisitResult::Invalid {
                    reason: reason.to_string(),
                },
            };
            Command::ReturnVisit { result }
        }
        "close" => Command::Close {
            note: value("note").to_string(),
        },
        "reopen" => Command::Reopen {
            reason: required("reason", ("请写明重办理由", "give the reason"))?,
        },
        "unreasonable" => Command::RuleUnreasonable {
            reason: required("reason", ("请写明认定理由", "give the reason"))?,
        },
        "supervise" => Command::Supervise {
            action: match value("action") {
                "flag" => Supervision::Flag,
                "urge" | "" => Supervision::Urge,
                _ => return Err(t("请选择督办方式", "choose how to supervise")),
            },
            note: value("note").to_string(),
        },
        "link" => Command::LinkRepeat {
            earlier: order_no("earlier")?,
        },
        "merge" => Command::Merge {
            into: order_no("into")?,
        },
        "reveal" => Command::RevealRequester {
            reason: required(
                "reason",
                (
                    "请写明查看理由（将被记录）",
                    "give the reason (it is recorded)",
                ),
            )?,
        },
        _ => return Err(t("没有这个操作", "no such action")),
    })
}

/// A unit typed by code (`110105010`) or by its exact name (`小关街道`); empty is none. A name
/// several units share is refused with their codes, never guessed.
pub fn resolve_unit(
    text: &str,
    reference: &Reference,
    lang: Lang,
) -> Result<Option<UnitCode>, Refusal> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    // "小关街道 110105010" (as the datalist fills it) or the bare code.
    let code_part = text.rsplit(' ').next().unwrap_or(text);
    if let Ok(code) = UnitCode::parse(code_part) {
        if reference.directory.get(&code).is_some() {
            return Ok(Some(code));
        }
    }
    let named: Vec<&UnitCode> = reference
        .directory
        .units()
        .filter(|u| u.name == text && u.kind.can_handle())
        .map(|u| &u.code)
        .collect();
    match named.as_slice() {
        [one] => Ok(Some((*one).clone())),
        [] => Err(match lang {
            Lang::Zh => format!("没有名为「{text}」的承办单位"),
            Lang::En => format!("no handling unit is called “{text}”"),
        }),
        many => {
            let mut codes: Vec<String> = many.iter().map(|c| c.to_string()).collect();
            codes.sort();
            Err(match lang {
                Lang::Zh => format!("「{text}」有多个单位，请用代码：{}", codes.join("、")),
                Lang::En => format!(
                    "several units are called “{text}”; use a code: {}",
                    codes.join(", ")
                ),
            })
        }
    }
}
