//! The OpenAPI 3.1 document of `/api/v1`, built from code: the operation table below mirrors the
//! router (a test requests every documented operation and fails on one that is not routed), and
//! every command's example body is a serialized value of the engine's own `Command` type.

use axum::response::{Html, IntoResponse, Response};
use serde_json::{json, Map, Value};
use whistle_core::calendar::TimeLimit;
use whistle_core::ids::{OrderNo, UnitCode};
use whistle_core::order::{
    Command, DeadlineKind, EscalationLevel, OutsideParty, ReplyOutcome, Satisfaction, Supervision,
    VisitResult,
};

/// (method, path, tag, summary, who may call it).
pub const OPERATIONS: [(&str, &str, &str, &str, &str); 37] = [
    (
        "post",
        "/api/v1/login",
        "sessions",
        "登录，返回会话令牌并设置 HttpOnly 会话 Cookie · Log in",
        "anyone (rate-limited)",
    ),
    (
        "post",
        "/api/v1/logout",
        "sessions",
        "退出登录 · Log out",
        "anyone",
    ),
    (
        "get",
        "/api/v1/me",
        "sessions",
        "当前身份、角色与可见范围 · Who am I",
        "any principal",
    ),
    (
        "get",
        "/api/v1/orders",
        "orders",
        "工单列表（按权限范围过滤，游标分页）· List orders within your jurisdiction",
        "any role",
    ),
    (
        "post",
        "/api/v1/orders",
        "orders",
        "受理（含分诊，默认按派单目录自动派单；支持 Idempotency-Key）· Take in a request",
        "operator, admin",
    ),
    (
        "get",
        "/api/v1/orders/{no}",
        "orders",
        "工单详情（诉求人信息已脱敏）· One order, requester masked",
        "any role within jurisdiction",
    ),
    (
        "get",
        "/api/v1/orders/{no}/history",
        "orders",
        "工单完整履历 · Full attributed history",
        "any role within jurisdiction",
    ),
    (
        "post",
        "/api/v1/orders/{no}/requester/reveal",
        "orders",
        "查看诉求人信息（记录查看人和原因）· Reveal personal data, recorded",
        "operator, handler, visit_agent, admin",
    ),
    (
        "post",
        "/api/v1/orders/{no}/{command}",
        "commands",
        "执行工单命令（需携带 version）· Run a command on an order",
        "by command, see below",
    ),
    (
        "get",
        "/api/v1/due",
        "orders",
        "到期/超期工单（到期索引）· Orders due at a time",
        "centre roles",
    ),
    (
        "get",
        "/api/v1/units",
        "reference",
        "单位（区、街乡、部门、企业……）· Units",
        "any role",
    ),
    (
        "get",
        "/api/v1/categories",
        "reference",
        "诉求分类 · The taxonomy",
        "any role",
    ),
    (
        "get",
        "/api/v1/catalogue",
        "reference",
        "当前派单目录 · The current dispatch catalogue",
        "any role",
    ),
    (
        "get",
        "/api/v1/deadline",
        "reference",
        "时限预览：from + working_days 或 hours · Deadline preview",
        "anyone",
    ),
    (
        "get",
        "/api/v1/track/{no}",
        "citizens",
        "市民凭工单号与手机号后四位查询进度 · Citizen progress check",
        "anyone (rate-limited)",
    ),
    (
        "get",
        "/api/v1/openapi.json",
        "meta",
        "本文档 · This document",
        "anyone",
    ),
    ("post", "/api/v1/whistles", "whistles", "街乡吹哨（清单事项可省略牵头与协同单位）· Raise a whistle (a list item brings its default units)", "street_official or handler of a street/township"),
    ("get", "/api/v1/whistles/feed", "whistles", "吹哨实时推送（SSE，支持 Last-Event-ID 续传）· Live feed of whistle events (server-sent events)", "any role, within jurisdiction"),
    ("get", "/api/v1/whistle-list", "whistles", "吹哨事项清单（含默认牵头与协同单位）· The whistle list of a street with default units", "any role"),
    ("post", "/api/v1/grid-cases", "grid", "网格发现上报 · A grid worker, lane chief or steward reports", "grid_worker, lane_chief, lane_steward, street_official"),
    ("get", "/api/v1/grid-cases", "grid", "网格案件（街乡队列）· Grid cases: the street's queue", "within jurisdiction"),
    ("get", "/api/v1/grid-cases/{no}", "grid", "网格案件详情（含六个环节时间）· One case with its loop timestamps", "within jurisdiction"),
    ("post", "/api/v1/grid-cases/{no}/{command}", "grid", "派遣、吹哨、处理反馈、核查 · dispatch, whistle, handle, verify", "the street; the handler; a grid-level verifier other than the handler"),
    (
        "get",
        "/api/v1/reports/double-assessment",
        "reports",
        "双考核数据：月度部门报到与评价、街乡吹哨情况（month=YYYY-MM，format=json|csv）· Double-assessment figures",
        "any role, within jurisdiction",
    ),
    (
        "get",
        "/api/v1/reports/evaluation",
        "reports",
        "一张卷子：响应率、解决率、满意率与综合得分，分组排名（period=YYYY-MM，format=json|csv|xlsx|text）· The evaluation of a period",
        "any role",
    ),
    ("get", "/api/v1/export/orders", "reports", "原始工单导出：期内受理、派单或回访的每件工单一行，不含个人信息（period=YYYY-MM，CSV，与 whistle export orders 相同）· The raw orders of a period, as CSV", "admin, supervisor, and leaders whose jurisdiction is the whole city"),
    ("get", "/api/v1/reports/daily", "reports", "日通报（date=YYYY-MM-DD，format=json|csv|xlsx|text）· The daily bulletin", "any role"),
    ("get", "/api/v1/reports/weekly", "reports", "周汇总（week=YYYY-Www）· The weekly summary", "any role"),
    ("get", "/api/v1/reports/monthly", "reports", "月分析：环比、同比、类别变化、进退步单位（month=YYYY-MM）· The monthly analysis", "any role"),
    ("get", "/api/v1/reports/hotspots", "reports", "诉求热点（date=YYYY-MM-DD；泊松规则）· Hotspots of a day", "any role"),
    ("get", "/api/v1/reports/repeats", "reports", "重复诉求与高频地址（from=，to=，至多93天）· Repeat requests and high-frequency places", "any role"),
    ("get", "/api/v1/reports/governance-streets", "reports", "治理类街乡镇（month=YYYY-MM）· Governance-class streets", "any role"),
    ("get", "/api/v1/reports/topics", "reports", "每月一题候选与进展（month=YYYY-MM）· Topic-of-the-month candidates and tracking", "any role"),
    ("get", "/api/v1/whistles", "whistles", "吹哨列表（按范围）· Whistles within your jurisdiction", "any role"),
    ("get", "/api/v1/whistles/{no}", "whistles", "吹哨详情 · One whistle", "within jurisdiction"),
    ("get", "/api/v1/whistles/{no}/history", "whistles", "吹哨履历 · A whistle's history", "within jurisdiction"),
    (
        "post",
        "/api/v1/whistles/{no}/{command}",
        "whistles",
        "报到、任务、结案、评价等 · report_in, resolve_absence, assign_task, complete_task, hold_consultation, close, rate, object, decide_objection",
        "street_official: assign_task, hold_consultation, close, rate; department_liaison: report_in, complete_task, object; district_coordinator: resolve_absence, decide_objection, hold_consultation — each for the unit the command concerns",
    ),
];

fn no() -> OrderNo {
    OrderNo::parse("20251009-000001").unwrap_or_else(|_| OrderNo::new(chrono::NaiveDate::MIN, 1))
}

fn unit(code: &str) -> Option<UnitCode> {
    UnitCode::parse(code).ok()
}

/// One example of every command, with the roles that may issue it.
pub fn command_examples() -> Vec<(Command, &'static str)> {
    let due_at = chrono::DateTime::from_timestamp(1_760_000_000, 0).unwrap_or_default();
    vec![
        (
            Command::Dispatch {
                unit: None,
                co_handlers: Vec::new(),
                handle_by: None,
            },
            "dispatcher; a district handler passing on an order it coordinates",
        ),
        (
            Command::Forward {
                party: OutsideParty::CentralUnit {
                    name: "某中央单位".into(),
                },
                note: "央地联动".into(),
            },
            "operator, dispatcher",
        ),
        (
            Command::RecordForwardAnswer {
                answer: "已由该单位答复".into(),
            },
            "operator, dispatcher",
        ),
        (Command::Accept, "handler of the lead unit"),
        (
            Command::Assign {
                to: "xiaowang".into(),
            },
            "handler or street official of the lead or a co-handling unit, to an active handler of the same unit (422 `not_a_colleague` otherwise)",
        ),
        (
            Command::Dispute {
                reason: "该地址不属于本街道辖区".into(),
            },
            "handler of the lead unit",
        ),
        (
            Command::ReviewDispute {
                upheld: true,
                redispatch_to: unit("110105011"),
                note: "异议成立".into(),
            },
            "dispatcher",
        ),
        (
            Command::ReportPart {
                text: "已出动执法队员".into(),
            },
            "handler of a co-handling unit",
        ),
        (
            Command::Contact {
                note: "已电话联系诉求人".into(),
            },
            "handler of the lead unit",
        ),
        (
            Command::RequestExtension {
                extra: TimeLimit::WorkingDays(5),
                reason: "需联合执法".into(),
            },
            "handler of the lead unit",
        ),
        (
            Command::DecideExtension {
                approved: true,
                note: "同意延期".into(),
            },
            "dispatcher",
        ),
        (
            Command::Escalate {
                to: EscalationLevel::District,
                reason: "需区级协调".into(),
            },
            "handler of the lead unit",
        ),
        (
            Command::Reply {
                outcome: ReplyOutcome::Resolved,
                actions: "已清理占道摊点".into(),
            },
            "handler of the lead unit",
        ),
        (
            Command::ReturnVisit {
                result: VisitResult::Valid {
                    contacted: true,
                    resolved: true,
                    satisfaction: Satisfaction::Satisfied,
                },
            },
            "visit_agent",
        ),
        (
            Command::Close {
                note: String::new(),
            },
            "visit_agent",
        ),
        (
            Command::Reopen {
                reason: "诉求人反映问题仍未解决".into(),
            },
            "visit_agent, supervisor",
        ),
        (
            Command::RuleUnreasonable {
                reason: "诉求超出政策规定".into(),
            },
            "supervisor",
        ),
        (
            Command::Supervise {
                action: Supervision::Overdue {
                    deadline: DeadlineKind::Handle,
                    due_at,
                },
                note: "督办".into(),
            },
            "supervisor (the deadline worker records due-soon/overdue itself)",
        ),
        (
            Command::LinkRepeat { earlier: no() },
            "operator, dispatcher",
        ),
        (Command::Merge { into: no() }, "operator, dispatcher"),
    ]
}

fn example_body(command: &Command) -> Value {
    let mut value = whistle_core::outside::to_value(command);
    if let Some(map) = value.as_object_mut() {
        map.remove("command");
        map.insert("version".into(), json!(3));
    }
    value
}

pub fn document() -> Value {
    let mut paths: Map<String, Value> = Map::new();
    let error = json!({"$ref": "#/components/schemas/Error"});
    for (method, path, tag, summary, who) in OPERATIONS {
        if path.ends_with("{command}") {
            continue;
        }
        let mut operation = json!({
            "tags": [tag],
            "summary": summary,
            "description": format!("Who may call: {who}."),
            "responses": {"200": {"description": "OK"}, "4XX": {"description": "A refusal with a stable code", "content": {"application/json": {"schema": error}}}},
        });
        if path.contains("{no}") {
            operation["parameters"] = json!([{"name": "no", "in": "path", "required": true, "schema": {"type": "string", "example": "20251009-000001"}}]);
        }
        if path == "/api/v1/orders" && method == "post" {
            operation["requestBody"] = json!({"content": {"application/json": {"example": {
                "request_type": "complaint", "text": "小区门口占道经营", "category": "11.04.01",
                "location": {"street": "110105010", "address": "惠新东街路口"},
                "requester": {"name": "张三", "phone": "13800001234"},
                "triage": {"disposition": "dispatch"}, "dispatch": true}}}});
            operation["parameters"] =
                json!([{"name": "Idempotency-Key", "in": "header", "schema": {"type": "string"}}]);
        }
        paths.entry(path.to_string()).or_insert_with(|| json!({}))[method] = operation;
    }
    for (command, who) in command_examples() {
        let name = command.name();
        paths.insert(
            format!("/api/v1/orders/{{no}}/{name}"),
            json!({"post": {
                "tags": ["commands"],
                "summary": format!("命令 {name}"),
                "description": format!("Who may issue it: {who}. The body carries the order version you saw; a stale version gets 409 `conflict`."),
                "parameters": [
                    {"name": "no", "in": "path", "required": true, "schema": {"type": "string"}},
                    {"name": "Idempotency-Key", "in": "header", "schema": {"type": "string"}}
                ],
                "requestBody": {"content": {"application/json": {"example": example_body(&command)}}},
                "responses": {"200": {"description": "The order after the command, and the events it appended"},
                              "409": {"description": "illegal_transition or conflict", "content": {"application/json": {"schema": error}}}}
            }}),
        );
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Whistle 接诉即办 API", "version": env!("CARGO_PKG_VERSION"),
                 "description": "The JSON API of the work-order engine. Authenticate with `Authorization: Bearer <token>` (a login session or an integration token) or the session cookie. Messages are Simplified Chinese unless `Accept-Language: en`. Every instant is RFC 3339 in Beijing time (`+08:00`); input may use any offset."},
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}, "cookie": {"type": "apiKey", "in": "cookie", "name": "whistle_session"}},
            "schemas": {"Error": {"type": "object", "required": ["error", "message"], "properties": {"error": {"type": "string", "description": "stable machine-readable code"}, "message": {"type": "string"}}}}
        },
        "security": [{"bearer": []}, {"cookie": []}],
        "paths": paths,
    })
}

pub async fn openapi_json() -> Response {
    axum::Json(document()).into_response()
}

/// A self-contained page that renders the document: no CDN, nothing fetched but the document.
pub async fn docs_page() -> Html<&'static str> {
    Html(include_str!("docs.html"))
}
