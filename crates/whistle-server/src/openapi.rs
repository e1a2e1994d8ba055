//! The OpenAPI 3.1 document of the service, generated from code so it cannot drift:
//!
//! - the request and response schemas are the Rust types' own (`schemars` reads the serde
//!   attributes and the doc comments), the command bodies cut from the engine's command enums;
//! - who may call an operation is computed from `roles.rs` (`x-roles`), the same predicates the
//!   handlers check;
//! - the paths are checked against the router's own list (`served_routes`), both ways, by the
//!   test `the_openapi_document_matches_the_router_and_the_engine`.

use axum::response::{Html, IntoResponse, Response};
use schemars::generate::{SchemaGenerator, SchemaSettings};
use schemars::JsonSchema;
use serde_json::{json, Map, Value};
use whistle_core::calendar::TimeLimit;
use whistle_core::ids::{OrderNo, UnitCode};
use whistle_core::order::{
    Command, DeadlineKind, EscalationLevel, OutsideParty, ReplyOutcome, Satisfaction, Supervision,
    VisitResult,
};

use crate::roles::Role;

/// Who may call an operation.
#[derive(Clone, Debug)]
pub enum Who {
    /// No credentials needed.
    Anyone(&'static str),
    /// A principal with one of these roles (within its jurisdiction, where the note says so).
    Roles(Vec<Role>, String),
}

impl Who {
    fn roles(predicate: impl Fn(Role) -> bool, note: &str) -> Who {
        Who::Roles(
            Role::ALL.into_iter().filter(|r| predicate(*r)).collect(),
            note.to_string(),
        )
    }

    fn any(note: &'static str) -> Who {
        Who::roles(|_| true, note)
    }

    fn describe(&self) -> (String, Value) {
        match self {
            Who::Anyone(note) => (format!("Who may call: anyone{note}."), json!([])),
            Who::Roles(roles, note) => {
                let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
                (
                    format!("Who may call: {}{note}.", names.join(", ")),
                    json!(names),
                )
            }
        }
    }
}

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

struct Doc {
    generator: SchemaGenerator,
    paths: Map<String, Value>,
}

fn error_responses() -> Value {
    let error = json!({"$ref": "#/components/schemas/Error"});
    let refusal = |text: &str| json!({"description": text, "content": {"application/json": {"schema": error}}});
    json!({
        "400": refusal("Malformed request (`invalid_json`, `invalid_field`, `invalid_query` …)"),
        "401": refusal("No or an unknown credential"),
        "403": refusal("The role may not do this"),
        "404": refusal("Not found, or outside the caller's jurisdiction"),
        "409": refusal("`conflict` (a stale version) or `illegal_transition`"),
        "413": refusal("The body is too large"),
        "422": refusal("Refused by the domain rules, with a stable code"),
        "429": refusal("Rate-limited"),
        "503": refusal("The store is not available"),
    })
}

impl Doc {
    fn schema<T: JsonSchema>(&mut self) -> Value {
        serde_json::to_value(self.generator.subschema_for::<T>()).unwrap_or(Value::Null)
    }

    /// A query struct's fields as query parameters.
    fn query<T: JsonSchema>(&mut self) -> Vec<Value> {
        let schema =
            serde_json::to_value(self.generator.root_schema_for::<T>()).unwrap_or_default();
        let required: Vec<&str> = schema["required"]
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        schema["properties"]
            .as_object()
            .map(|properties| {
                properties
                    .iter()
                    .map(|(name, property)| {
                        let mut property = property.clone();
                        let description = property
                            .as_object_mut()
                            .and_then(|p| p.remove("description"))
                            .unwrap_or(json!(""));
                        // A query parameter is absent or a value: never `null`.
                        if let Some(types) = property["type"].as_array() {
                            let types: Vec<Value> =
                                types.iter().filter(|t| *t != "null").cloned().collect();
                            property["type"] = match types.as_slice() {
                                [one] => one.clone(),
                                _ => Value::Array(types),
                            };
                        }
                        if let Some(map) = property.as_object_mut() {
                            map.remove("default");
                        }
                        // A filter left empty (`at=`, `district=`, as a form sends it) is a
                        // filter not given.
                        let required = required.contains(&name.as_str());
                        if !required && property["type"] != "integer" {
                            property = json!({"anyOf": [property, {"const": ""}]});
                        }
                        json!({"name": name, "in": "query", "required": required,
                               "description": description, "schema": property})
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    #[allow(clippy::too_many_arguments)]
    fn op(
        &mut self,
        method: &str,
        path: &str,
        tag: &str,
        summary: &str,
        who: Who,
        mut parameters: Vec<Value>,
        body: Option<Value>,
        ok: (&str, Value),
    ) {
        let (described, roles) = who.describe();
        for name in path_parameters(path) {
            if parameters
                .iter()
                .any(|p| p["name"] == name.as_str() && p["in"] == "path")
            {
                continue;
            }
            parameters.push(
                json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}),
            );
        }
        let mut responses = error_responses();
        responses[ok.0] = ok.1;
        let mut operation = json!({
            "tags": [tag],
            "summary": summary,
            "description": described,
            "x-roles": roles,
            "parameters": parameters,
            "responses": responses,
        });
        if let Who::Anyone(_) = who {
            operation["security"] = json!([]);
        }
        if let Some(body) = body {
            operation["requestBody"] = body;
        }
        self.paths
            .entry(path.to_string())
            .or_insert_with(|| json!({}))[method] = operation;
    }
}

/// The `{name}` segments of a path.
fn path_parameters(path: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        let Some(end) = rest[start..].find('}') else {
            break;
        };
        names.push(rest[start + 1..start + end].to_string());
        rest = &rest[start + end + 1..];
    }
    names
}

fn json_body(schema: Value, example: Option<Value>) -> Value {
    let mut content = json!({"schema": schema});
    if let Some(example) = example {
        content["example"] = example;
    }
    json!({"required": true, "content": {"application/json": content}})
}

fn ok(description: &str, schema: Value) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": schema}}})
}

fn idempotency_key() -> Value {
    json!({"name": "Idempotency-Key", "in": "header", "required": false,
           "description": "A retry with the same key (by the same caller, within the retention) gets the first answer",
           "schema": {"type": "string", "minLength": 1, "maxLength": 200}})
}

/// The body of one command of a `command`-tagged enum: the variant's fields and the `version`
/// the caller saw (the command's name is in the path).
fn command_body(doc: &mut Doc, enum_schema: &Value, name: &str) -> Value {
    let name_of = |variant: &Value| {
        variant["properties"]["command"]["const"]
            .as_str()
            .map(str::to_string)
    };
    let definition = enum_schema["$ref"]
        .as_str()
        .and_then(|r| r.rsplit('/').next())
        .and_then(|key| doc.generator.definitions().get(key).cloned())
        .unwrap_or_default();
    let mut variant = definition["oneOf"]
        .as_array()
        .and_then(|variants| {
            variants
                .iter()
                .find(|v| name_of(v).as_deref() == Some(name))
                .cloned()
        })
        .unwrap_or_else(|| json!({"type": "object"}));
    if let Some(properties) = variant["properties"].as_object_mut() {
        properties.remove("command");
        properties.insert(
            "version".into(),
            json!({"type": "integer", "minimum": 0, "maximum": 9_007_199_254_740_991_u64, "description": "The version of the aggregate the caller saw; a stale one gets 409 `conflict`"}),
        );
    }
    let mut required: Vec<Value> = variant["required"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r != "command")
        .collect();
    required.push(json!("version"));
    variant["required"] = Value::Array(required);
    variant["type"] = json!("object");
    variant
}

pub fn document() -> Value {
    let mut settings = SchemaSettings::draft2020_12();
    settings.definitions_path = "/components/schemas".into();
    let mut doc = Doc {
        generator: settings.into_generator(),
        paths: Map::new(),
    };
    use crate::views::{History, OrderView};
    use whistle_core::grid::{GridCase, GridCommand, GridEvent, Report};
    use whistle_core::order::EventPayload;
    use whistle_core::whistle::{Raise, Whistle, WhistleCommand, WhistleEvent};
    let object = json!({"type": "object"});

    // Sessions.
    let body = json_body(doc.schema::<crate::api::LoginBody>(), None);
    let answer = doc.schema::<crate::api::LoginAnswer>();
    doc.op(
        "post",
        "/api/v1/login",
        "sessions",
        "登录，返回会话令牌并设置 HttpOnly 会话 Cookie · Log in",
        Who::Anyone(" (rate-limited)"),
        vec![],
        Some(body),
        ("200", ok("The session", answer)),
    );
    doc.op(
        "post",
        "/api/v1/logout",
        "sessions",
        "退出登录（无会话时亦然）· Log out (also without a session: nothing to end)",
        Who::Anyone(""),
        vec![],
        None,
        (
            "204",
            json!({"description": "Signed out; the cookie is cleared"}),
        ),
    );
    doc.op(
        "get",
        "/api/v1/me",
        "sessions",
        "当前身份、角色与可见范围 · Who am I",
        Who::any(""),
        vec![],
        None,
        ("200", ok("The principal", object.clone())),
    );

    // Orders.
    let params = doc.query::<crate::api::ListQuery>();
    let page = doc.schema::<crate::api::PageView>();
    doc.op(
        "get",
        "/api/v1/orders",
        "orders",
        "工单列表（按权限范围过滤，游标分页）· List orders within your jurisdiction",
        Who::any(", within jurisdiction"),
        params,
        None,
        ("200", ok("A page of orders", page.clone())),
    );
    let body = json_body(
        doc.schema::<crate::api::CreateOrder>(),
        Some(
            json!({"request_type": "complaint", "text": "小区门口占道经营", "category": "11.04.01",
                    "location": {"street": "110105010", "address": "惠新东街路口"},
                    "requester": {"name": "张三", "phone": "13800001234"},
                    "triage": {"disposition": "dispatch"}, "dispatch": true}),
        ),
    );
    let created = doc.schema::<crate::api::Created>();
    doc.op(
        "post",
        "/api/v1/orders",
        "orders",
        "受理（含分诊，默认按派单目录自动派单；支持 Idempotency-Key）· Take in a request",
        Who::roles(Role::may_intake, ""),
        vec![idempotency_key()],
        Some(body),
        (
            "201",
            ok(
                "The order taken in (200 with `Idempotent-Replayed: true` for a retry)",
                created,
            ),
        ),
    );
    let replayed = ok(
        "A retry with the same Idempotency-Key: the first answer, with `Idempotent-Replayed: true`",
        doc.schema::<crate::api::Created>(),
    );
    doc.paths["/api/v1/orders"]["post"]["responses"]["200"] = replayed;
    let order = doc.schema::<OrderView>();
    doc.op(
        "get",
        "/api/v1/orders/{no}",
        "orders",
        "工单详情（诉求人信息已脱敏）· One order, requester masked",
        Who::any(", within jurisdiction"),
        vec![],
        None,
        ("200", ok("The order", order)),
    );
    let history = doc.schema::<History<EventPayload>>();
    doc.op(
        "get",
        "/api/v1/orders/{no}/history",
        "orders",
        "工单完整履历 · Full attributed history",
        Who::any(", within jurisdiction"),
        vec![],
        None,
        ("200", ok("The history, oldest first", history)),
    );
    let body = json_body(
        doc.schema::<crate::api::RevealBody>(),
        Some(json!({"reason": "回访核实"})),
    );
    let requester = doc.schema::<whistle_store::Requester>();
    doc.op(
        "post",
        "/api/v1/orders/{no}/requester/reveal",
        "orders",
        "查看诉求人信息（记录查看人和原因）· Reveal personal data, recorded",
        Who::roles(Role::may_reveal, ", within jurisdiction"),
        vec![],
        Some(body),
        ("200", ok("The requester, unmasked", requester)),
    );
    let command_enum = doc.schema::<Command>();
    let result = doc.schema::<crate::api::CommandResult>();
    for (command, note) in command_examples() {
        let name = command.name();
        let schema = command_body(&mut doc, &command_enum, name);
        let body = json_body(schema, Some(example_body(&command)));
        let who = Who::Roles(
            Role::ALL.into_iter().filter(|r| r.may(&command)).collect(),
            format!(" — {note}"),
        );
        doc.op(
            "post",
            &format!("/api/v1/orders/{{no}}/{name}"),
            "commands",
            &format!("命令 {name} · The command {name}"),
            who,
            vec![idempotency_key()],
            Some(body),
            (
                "200",
                ok(
                    "The order after the command, and the events it appended",
                    result.clone(),
                ),
            ),
        );
    }
    let params = doc.query::<crate::api::DueQuery>();
    doc.op(
        "get",
        "/api/v1/due",
        "orders",
        "到期/超期工单（到期索引）· Orders due at a time",
        Who::any(", within jurisdiction"),
        params,
        None,
        ("200", ok("A page of orders", page)),
    );

    // Reference.
    let params = doc.query::<crate::api::UnitsQuery>();
    let units = doc.schema::<Vec<whistle_core::org::Unit>>();
    doc.op(
        "get",
        "/api/v1/units",
        "reference",
        "单位（区、街乡、部门、企业……）· Units",
        Who::any(""),
        params,
        None,
        ("200", ok("Units", units)),
    );
    let categories = doc.schema::<Vec<whistle_core::taxonomy::Category>>();
    doc.op(
        "get",
        "/api/v1/categories",
        "reference",
        "诉求分类 · The taxonomy",
        Who::any(""),
        vec![],
        None,
        ("200", ok("Categories", categories)),
    );
    doc.op(
        "get",
        "/api/v1/catalogue",
        "reference",
        "当前派单目录 · The current dispatch catalogue",
        Who::any(""),
        vec![],
        None,
        (
            "200",
            ok("The catalogue's version and entries", object.clone()),
        ),
    );
    let params = doc.query::<crate::api::DeadlineQuery>();
    doc.op(
        "get",
        "/api/v1/deadline",
        "reference",
        "时限预览：from + working_days 或 hours · Deadline preview",
        Who::Anyone(""),
        params,
        None,
        ("200", ok("The deadline", object.clone())),
    );
    let params = doc.query::<crate::api::TrackQuery>();
    let progress = doc.schema::<crate::progress::Progress>();
    doc.op(
        "get",
        "/api/v1/track/{no}",
        "citizens",
        "市民凭工单号与手机号后四位查询进度 · Citizen progress check",
        Who::Anyone(" (rate-limited; wrong digits and unknown numbers are the same 404)"),
        params,
        None,
        (
            "200",
            ok(
                "The progress, nothing personal: stage, unit, deadline, extensions with their reasons, the reply, the steps in Beijing time",
                progress,
            ),
        ),
    );
    doc.op(
        "get",
        "/api/v1/openapi.json",
        "meta",
        "本文档 · This document",
        Who::Anyone(""),
        vec![],
        None,
        ("200", ok("OpenAPI 3.1", object.clone())),
    );

    // Whistles.
    let body = json_body(
        doc.schema::<Raise>(),
        Some(
            json!({"kind": "emergency", "list_item": "pipe-burst", "place": "某路口", "needed": "联合处置"}),
        ),
    );
    let whistle = doc.schema::<Whistle>();
    doc.op("post", "/api/v1/whistles", "whistles", "街乡吹哨（清单事项可省略牵头与协同单位）· Raise a whistle (a list item brings its default units)", Who::roles(|r| r.may_whistle("raise"), ", of a street or township"), vec![], Some(body), ("201", ok("The whistle", whistle.clone())));
    let whistles = doc.schema::<Vec<Whistle>>();
    doc.op(
        "get",
        "/api/v1/whistles",
        "whistles",
        "吹哨列表（按范围）· Whistles within your jurisdiction",
        Who::any(", within jurisdiction"),
        vec![],
        None,
        ("200", ok("Whistles, newest first", whistles)),
    );
    let params = doc.query::<crate::whistles_api::FeedQuery>();
    doc.op("get", "/api/v1/whistles/feed", "whistles", "吹哨实时推送（SSE，支持 Last-Event-ID 续传）· Live feed of whistle events (server-sent events)", Who::any(", within jurisdiction"), params, None, ("200", json!({"description": "text/event-stream: events named `whistle`, id = the feed position, data = {position, no, at, actor, event, whistle}", "content": {"text/event-stream": {"schema": {"type": "string"}}}})));
    let params = doc.query::<crate::whistles_api::WhistleListQuery>();
    doc.op(
        "get",
        "/api/v1/whistle-list",
        "whistles",
        "吹哨事项清单（含默认牵头与协同单位）· The whistle list of a street with default units",
        Who::any(""),
        params,
        None,
        ("200", ok("The street and its list items", object.clone())),
    );
    doc.op(
        "get",
        "/api/v1/whistles/{no}",
        "whistles",
        "吹哨详情 · One whistle",
        Who::any(", within jurisdiction"),
        vec![],
        None,
        ("200", ok("The whistle", whistle.clone())),
    );
    let history = doc.schema::<History<WhistleEvent>>();
    doc.op(
        "get",
        "/api/v1/whistles/{no}/history",
        "whistles",
        "吹哨履历 · A whistle's history",
        Who::any(", within jurisdiction"),
        vec![],
        None,
        ("200", ok("The history, oldest first", history)),
    );
    let whistle_enum = doc.schema::<WhistleCommand>();
    for name in crate::whistles_api::COMMANDS {
        let body = json_body(command_body(&mut doc, &whistle_enum, name), None);
        doc.op(
            "post",
            &format!("/api/v1/whistles/{{no}}/{name}"),
            "whistles",
            &format!("吹哨命令 {name} · The whistle command {name}"),
            Who::roles(
                |r| r.may_whistle(name),
                ", for the unit the command concerns",
            ),
            vec![],
            Some(body),
            ("200", ok("The whistle after the command", whistle.clone())),
        );
    }

    // Grid cases.
    let body = json_body(
        doc.schema::<Report>(),
        Some(
            json!({"role": "grid_worker", "found_at": "2025-10-09T08:50:00+08:00", "category": "11.04.01", "description": "路口有商贩占道经营", "place": "惠新东街路口"}),
        ),
    );
    let case = doc.schema::<GridCase>();
    doc.op(
        "post",
        "/api/v1/grid-cases",
        "grid",
        "网格发现上报 · A grid worker, lane chief or steward reports",
        Who::roles(|r| r.may_grid("file"), ""),
        vec![],
        Some(body),
        ("201", ok("The case", case.clone())),
    );
    let cases = doc.schema::<Vec<GridCase>>();
    doc.op(
        "get",
        "/api/v1/grid-cases",
        "grid",
        "网格案件（街乡队列）· Grid cases: the street's queue",
        Who::any(", within jurisdiction"),
        vec![],
        None,
        ("200", ok("Cases", cases)),
    );
    doc.op(
        "get",
        "/api/v1/grid-cases/{no}",
        "grid",
        "网格案件详情（含六个环节时间）· One case with its loop timestamps",
        Who::any(", within jurisdiction"),
        vec![],
        None,
        ("200", ok("The case", case.clone())),
    );
    let history = doc.schema::<History<GridEvent>>();
    doc.op(
        "get",
        "/api/v1/grid-cases/{no}/history",
        "grid",
        "网格案件履历 · A grid case's history",
        Who::any(", within jurisdiction"),
        vec![],
        None,
        ("200", ok("The history, oldest first", history)),
    );
    let grid_enum = doc.schema::<GridCommand>();
    for name in crate::grid_api::COMMANDS {
        let body = json_body(command_body(&mut doc, &grid_enum, name), None);
        doc.op(
            "post",
            &format!("/api/v1/grid-cases/{{no}}/{name}"),
            "grid",
            &format!("网格命令 {name} · The grid command {name}"),
            Who::roles(
                |r| r.may_grid(name),
                ", within jurisdiction; a verifier other than the handler",
            ),
            vec![],
            Some(body),
            ("200", ok("The case after the command", case.clone())),
        );
    }

    // Reports and exports.
    for kind in whistle_reports::ReportKind::ALL {
        let (required, optional) = kind.takes();
        let shape = |name: &str| match name {
            "date" | "from" | "to" => json!({"type": "string", "format": "date"}),
            "week" => {
                json!({"type": "string", "pattern": "^(19[7-9][0-9]|2[01][0-9][0-9])-W(0[1-9]|[1-4][0-9]|5[0-2])$"})
            }
            "month" | "period" => {
                json!({"type": "string", "pattern": "^(19[7-9][0-9]|2[01][0-9][0-9])-(0[1-9]|1[0-2])$"})
            }
            "table" => json!({"enum": ["departments", "streets"]}),
            "unit" => json!({"$ref": "#/components/schemas/UnitCode"}),
            "edition" => json!({"type": "string", "pattern": "^[1-9][0-9]{0,5}$"}),
            _ => json!({"type": "string"}),
        };
        let mut parameters: Vec<Value> = required
            .iter()
            .map(|name| (name, true))
            .chain(optional.iter().map(|name| (name, false)))
            .map(|(name, required)| {
                // As for every other query: an optional parameter left empty is one not given.
                let schema = if required {
                    shape(name)
                } else {
                    json!({"anyOf": [shape(name), {"const": ""}]})
                };
                json!({"name": name, "in": "query", "required": required, "schema": schema})
            })
            .collect();
        parameters.push(json!({"name": "format", "in": "query", "required": false, "schema": {"anyOf": [{"enum": ["json", "csv", "xlsx", "text"]}, {"const": ""}], "default": "json"}}));
        let document = json!({"description": "The report: JSON (title, summary lines, tables whose rows are objects under the columns' keys), CSV, XLSX or text",
            "content": {"application/json": {"schema": {"type": "object"}}, "text/csv": {"schema": {"type": "string"}},
                        "text/plain": {"schema": {"type": "string"}},
                        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {"schema": {"type": "string", "format": "binary"}}}});
        doc.op(
            "get",
            &format!("/api/v1/reports/{}", kind.name()),
            "reports",
            &format!("报表 {} · The report {}", kind.name(), kind.name()),
            Who::any(", within jurisdiction where the report is cut to it"),
            parameters,
            None,
            ("200", document),
        );
    }
    let body = json_body(
        doc.schema::<crate::reports_api::EditionBody>(),
        Some(json!({"period": "2025-10", "action": "close", "note": "月度考核通报"})),
    );
    doc.op(
        "post",
        "/api/v1/evaluation/editions",
        "reports",
        "考核结账发布（第1版）或发布修订版（列明调整及原因）· Close an evaluation period (edition 1) or publish its adjustments as a revision",
        Who::roles(Role::may_publish_evaluation, ""),
        vec![],
        Some(body),
        (
            "201",
            ok(
                "The edition as published, with its adjustments and their reasons",
                object.clone(),
            ),
        ),
    );
    let params = doc.query::<crate::reports_api::ExportParams>();
    doc.op("get", "/api/v1/export/orders", "reports", "原始工单导出：期内受理、派单、答复或回访的每件工单的考核记录（每轮派单、协办、回访各一行），不含个人信息（流式 CSV，与 whistle export orders 相同）· Each history of the orders a period touches, as the evaluation counts it, streamed as CSV", Who::roles(|r| r.may_export_orders(), ", whose jurisdiction is the whole city"), params, None, ("200", json!({"description": "CSV", "content": {"text/csv": {"schema": {"type": "string"}}}})));

    // Open311 GeoReport v2.
    let open311 = |format_note: &str| json!({"description": format_note, "content": {"application/json": {"schema": {}}, "text/xml": {"schema": {}}}});
    let format = || {
        vec![
            json!({"name": "format", "in": "path", "required": true, "schema": {"enum": ["json", "xml"]}}),
        ]
    };
    doc.op(
        "get",
        "/open311/v2/discovery.{format}",
        "open311",
        "Open311 发现 · GeoReport v2 discovery (`json` or `xml`)",
        Who::Anyone(""),
        format(),
        None,
        ("200", open311("The endpoints")),
    );
    doc.op(
        "get",
        "/open311/v2/services.{format}",
        "open311",
        "Open311 服务列表 · Service list",
        Who::Anyone(""),
        format(),
        None,
        ("200", open311("The services (the leaf categories)")),
    );
    doc.op(
        "get",
        "/open311/v2/services/{service_code}.{format}",
        "open311",
        "Open311 服务定义 · Service definition",
        Who::Anyone(""),
        format(),
        None,
        ("200", open311("The service's attributes")),
    );
    doc.op(
        "get",
        "/open311/v2/requests.{format}",
        "open311",
        "Open311 查询诉求 · Requests (public fields only)",
        Who::Anyone(""),
        format(),
        None,
        ("200", open311("Requests")),
    );
    doc.op("post", "/open311/v2/requests.{format}", "open311", "Open311 提交诉求（api_key）· Post a request with an api_key", Who::roles(|r| r == Role::Admin, " — or an Open311 integration key (`api_key`)"), format(), Some(json!({"content": {"application/x-www-form-urlencoded": {"schema": {"type": "object"}}}})), ("200", open311("The request's id or token")));
    doc.op(
        "get",
        "/open311/v2/requests/{service_request_id}.{format}",
        "open311",
        "Open311 单个诉求 · One request",
        Who::Anyone(""),
        format(),
        None,
        ("200", open311("The request")),
    );
    doc.op(
        "get",
        "/open311/v2/tokens/{token}.{format}",
        "open311",
        "Open311 令牌换取工单号 · A token's request id",
        Who::Anyone(""),
        format(),
        None,
        ("200", open311("The request id")),
    );

    // Open311 answers its errors in the request's format (GeoReport v2 `errors`).
    for (path, item) in doc.paths.iter_mut() {
        if !path.starts_with("/open311/") {
            continue;
        }
        for operation in item
            .as_object_mut()
            .into_iter()
            .flat_map(|o| o.values_mut())
        {
            if let Some(responses) = operation["responses"].as_object_mut() {
                for (status, response) in responses.iter_mut() {
                    if status.starts_with('4') || status.starts_with('5') {
                        *response = open311("A GeoReport v2 error list, in the request's format");
                    }
                }
            }
        }
    }

    // The service.
    doc.op("get", "/api/docs", "meta", "API 文档页（离线）· This document as a page", Who::Anyone(""), vec![], None, ("200", json!({"description": "HTML", "content": {"text/html": {"schema": {"type": "string"}}}})));
    doc.op(
        "get",
        "/healthz",
        "meta",
        "存活 · Liveness",
        Who::Anyone(""),
        vec![],
        None,
        (
            "200",
            json!({"description": "ok", "content": {"text/plain": {"schema": {"type": "string"}}}}),
        ),
    );
    doc.op("get", "/readyz", "meta", "就绪（数据库与各后台部件）· Readiness: 503 with the parts that stopped", Who::Anyone(""), vec![], None, ("200", json!({"description": "ready", "content": {"text/plain": {"schema": {"type": "string"}}}})));
    doc.op("get", "/metrics", "meta", "Prometheus 指标 · Prometheus metrics", Who::Anyone(""), vec![], None, ("200", json!({"description": "Prometheus text", "content": {"text/plain": {"schema": {"type": "string"}}}})));

    // Every instant and date must fall in the policy's `[time]` span (by default 2000–2100,
    // checked with the field's name): the schemas say so for the years well inside it; and the
    // integer formats carry their ranges.
    fn bounded(value: &mut Value) {
        match value {
            Value::Object(map) => {
                match map.get("format").and_then(Value::as_str) {
                    Some("date-time") => {
                        map.insert("pattern".into(), json!("^20(0[1-9]|[1-9][0-9])-"));
                    }
                    Some("date") => {
                        map.insert(
                            "pattern".into(),
                            json!("^20(0[1-9]|[1-9][0-9])-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])$"),
                        );
                    }
                    // The integer formats' ranges, which serde enforces.
                    Some("uint8") => {
                        map.entry("maximum").or_insert(json!(u8::MAX));
                    }
                    Some("uint16") => {
                        map.entry("maximum").or_insert(json!(u16::MAX));
                    }
                    Some("uint32") => {
                        map.entry("maximum").or_insert(json!(u32::MAX));
                    }
                    Some("int32") => {
                        map.entry("minimum").or_insert(json!(i32::MIN));
                        map.entry("maximum").or_insert(json!(i32::MAX));
                    }
                    _ => {}
                }
                map.values_mut().for_each(bounded);
            }
            Value::Array(items) => items.iter_mut().for_each(bounded),
            _ => {}
        }
    }
    let mut schemas: Map<String, Value> =
        doc.generator.take_definitions(true).into_iter().collect();
    schemas.insert(
        "Error".into(),
        json!({"type": "object", "required": ["error", "message"], "properties": {"error": {"type": "string", "description": "stable machine-readable code"}, "message": {"type": "string"}}}),
    );
    let mut paths = Value::Object(doc.paths);
    bounded(&mut paths);
    let mut schemas = Value::Object(schemas);
    bounded(&mut schemas);
    json!({
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {"title": "Whistle 接诉即办 API", "version": env!("CARGO_PKG_VERSION"),
                 "description": "The JSON API of the work-order engine. Authenticate with `Authorization: Bearer <token>` (a login session or an integration token) or the session cookie. Messages are Simplified Chinese unless `Accept-Language: en`. Every instant is RFC 3339 in Beijing time (`+08:00`); input may use any offset. `x-roles` lists the roles that may call an operation (computed from the same rules the server applies)."},
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}, "cookie": {"type": "apiKey", "in": "cookie", "name": "whistle_session"}},
            "schemas": schemas,
        },
        "security": [{"bearer": []}, {"cookie": []}],
        "paths": paths,
    })
}

/// The document is the same for the life of the process: generated and serialized once.
static DOCUMENT: std::sync::LazyLock<Vec<u8>> =
    std::sync::LazyLock::new(|| serde_json::to_vec(&document()).unwrap_or_default());

pub async fn openapi_json() -> Response {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        DOCUMENT.as_slice(),
    )
        .into_response()
}

/// A self-contained page that renders the document: no CDN, nothing fetched but the document.
pub async fn docs_page() -> Html<&'static str> {
    Html(include_str!("docs.html"))
}
