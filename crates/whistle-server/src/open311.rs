//! Open311 GeoReport v2 at `/open311/v2`: discovery, services and their definitions, POST and
//! GET requests, tokens — every resource as `.json` and `.xml`, errors as the spec's error list.
//!
//! A request posted here becomes a normal work order at intake (channel `open311`). Only orders
//! that came in through Open311 are listed here: the hotline's other orders are not published.
//! No personal data is ever returned: no name, phone, e-mail or address detail.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;
use whistle_core::catalogue::Territory;
use whistle_core::error::Lang;
use whistle_core::ids::{CategoryCode, OrderNo, UnitCode};
use whistle_core::order::{Channel, Intake, Location, Order, RequestType, Stage, Triage};
use whistle_core::time::{beijing, Timestamp};
use whistle_store::{Envelope, OrderFilter, OrderRef, PageRequest, Request, Requester, Scope};

use crate::auth::{self, SCOPE_OPEN311};
use crate::AppState;

/// The jurisdiction this endpoint serves; any other non-empty `jurisdiction_id` is not found.
pub const JURISDICTION: &str = "beijing.gov.cn";
const DESCRIPTION_MAX: usize = 4000;
const PAGE_SIZE_MAX: u32 = 1000;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Xml,
}

/// A tiny value model that renders both as JSON and as schemaless XML (the Spark convention).
enum Node {
    Text(String),
    Null,
    List(&'static str, Vec<Node>),
    Record(Vec<(&'static str, Node)>),
}

fn text(value: impl Into<String>) -> Node {
    Node::Text(value.into())
}

fn opt(value: Option<String>) -> Node {
    value.map(Node::Text).unwrap_or(Node::Null)
}

fn to_json(node: &Node) -> Value {
    match node {
        Node::Text(text) => Value::String(text.clone()),
        Node::Null => Value::Null,
        Node::List(_, items) => Value::Array(items.iter().map(to_json).collect()),
        Node::Record(fields) => Value::Object(
            fields
                .iter()
                .map(|(k, v)| (k.to_string(), to_json(v)))
                .collect(),
        ),
    }
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot carry are dropped.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

fn to_xml(name: &str, node: &Node, out: &mut String) {
    match node {
        Node::Text(text) => out.push_str(&format!("<{name}>{}</{name}>", escape(text))),
        Node::Null => out.push_str(&format!("<{name}/>")),
        Node::List(item, items) => {
            out.push_str(&format!("<{name}>"));
            for child in items {
                to_xml(item, child, out);
            }
            out.push_str(&format!("</{name}>"));
        }
        Node::Record(fields) => {
            out.push_str(&format!("<{name}>"));
            for (key, value) in fields {
                to_xml(key, value, out);
            }
            out.push_str(&format!("</{name}>"));
        }
    }
}

fn render(format: Format, status: StatusCode, root: &str, node: Node) -> Response {
    match format {
        Format::Json => (
            status,
            [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
            to_json(&node).to_string(),
        )
            .into_response(),
        Format::Xml => {
            let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
            to_xml(root, &node, &mut out);
            (
                status,
                [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
                out,
            )
                .into_response()
        }
    }
}

fn error(format: Format, status: StatusCode, description: &str) -> Response {
    let errors = Node::List(
        "error",
        vec![Node::Record(vec![
            ("code", text(status.as_u16().to_string())),
            ("description", text(description)),
        ])],
    );
    let mut response = render(format, status, "errors", errors);
    if status == StatusCode::TOO_MANY_REQUESTS {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from_static("60"));
    }
    response
}

/// Splits `requests.json` into (`requests`, format).
fn split(file: &str) -> Option<(&str, Format)> {
    let (stem, extension) = file.rsplit_once('.')?;
    let format = match extension {
        "json" => Format::Json,
        "xml" => Format::Xml,
        _ => return None,
    };
    Some((stem, format))
}

/// Query or form parameters; repeated keys keep the first value. Empty values count as absent.
fn params(raw: Option<&str>, body: Option<&[u8]>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for source in [raw.map(str::as_bytes), body].into_iter().flatten() {
        for (key, value) in form_urlencoded::parse(source) {
            if !value.trim().is_empty() {
                out.entry(key.into_owned())
                    .or_insert_with(|| value.into_owned());
            }
        }
    }
    out
}

fn datetime(at: Timestamp) -> String {
    at.with_timezone(&beijing())
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

/// The error for a `jurisdiction_id` this endpoint does not serve, if one was given.
fn foreign_jurisdiction(params: &BTreeMap<String, String>, format: Format) -> Option<Response> {
    match params.get("jurisdiction_id") {
        Some(id) if id != JURISDICTION => Some(error(
            format,
            StatusCode::NOT_FOUND,
            "jurisdiction_id not found: this endpoint serves beijing.gov.cn",
        )),
        _ => None,
    }
}

fn limit(state: &AppState, ip: &IpAddr, key: Option<&str>) -> Result<(), u64> {
    use crate::limits::{OPEN311_PER_IP, OPEN311_PER_TOKEN};
    let now = state.clock.now().timestamp();
    state.limiter.check(
        OPEN311_PER_IP,
        &ip.to_string(),
        state.settings.public_per_ip_per_minute,
        now,
    )?;
    if let Some(key) = key {
        state.limiter.check(
            OPEN311_PER_TOKEN,
            key,
            state.settings.public_per_token_per_minute,
            now,
        )?;
    }
    Ok(())
}

pub async fn root(
    State(state): State<Arc<AppState>>,
    crate::limits::ClientIp(addr): crate::limits::ClientIp,
    Path(file): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    handle(&state, addr, &file, raw.as_deref(), &headers, None).await
}

pub async fn post_requests(
    State(state): State<Arc<AppState>>,
    crate::limits::ClientIp(addr): crate::limits::ClientIp,
    Path(file): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    handle(&state, addr, &file, raw.as_deref(), &headers, Some(&body)).await
}

async fn handle(
    state: &AppState,
    addr: IpAddr,
    file: &str,
    raw: Option<&str>,
    headers: &HeaderMap,
    body: Option<&[u8]>,
) -> Response {
    let Some((resource, format)) = split(file) else {
        return error(
            Format::Xml,
            StatusCode::NOT_FOUND,
            "unknown resource: use .json or .xml",
        );
    };
    if body.is_some_and(|b| std::str::from_utf8(b).is_err()) {
        return error(format, StatusCode::BAD_REQUEST, "the body must be UTF-8");
    }
    let params = params(raw, body);
    if limit(state, &addr, params.get("api_key").map(String::as_str)).is_err() {
        return error(
            format,
            StatusCode::TOO_MANY_REQUESTS,
            "rate limit exceeded; retry later",
        );
    }
    if let Some(response) = foreign_jurisdiction(&params, format) {
        return response;
    }
    match (resource, body.is_some()) {
        ("discovery", false) => discovery(headers, format),
        ("services", false) => services(state, format),
        ("requests", true) => post_request(state, &params, format).await,
        ("requests", false) => get_requests(state, &params, format).await,
        _ => error(format, StatusCode::NOT_FOUND, "unknown resource"),
    }
}

pub async fn nested(
    State(state): State<Arc<AppState>>,
    crate::limits::ClientIp(addr): crate::limits::ClientIp,
    Path((collection, file)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Response {
    let Some((id, format)) = split(&file) else {
        return error(
            Format::Xml,
            StatusCode::NOT_FOUND,
            "unknown resource: use .json or .xml",
        );
    };
    let params = params(raw.as_deref(), None);
    if limit(&state, &addr, None).is_err() {
        return error(
            format,
            StatusCode::TOO_MANY_REQUESTS,
            "rate limit exceeded; retry later",
        );
    }
    if let Some(response) = foreign_jurisdiction(&params, format) {
        return response;
    }
    match collection.as_str() {
        "services" => service_definition(&state, id, format),
        "requests" => match find(&state, id).await {
            Some(order) => render(
                format,
                StatusCode::OK,
                "service_requests",
                Node::List("request", vec![request_node(&state, &order)]),
            ),
            None => error(
                format,
                StatusCode::NOT_FOUND,
                "service_request_id not found",
            ),
        },
        "tokens" => match find(&state, id).await {
            // Requests are `realtime`: the token of a request is its id.
            Some(order) => render(
                format,
                StatusCode::OK,
                "service_requests",
                Node::List(
                    "request",
                    vec![Node::Record(vec![
                        ("service_request_id", text(order.no.to_string())),
                        ("token", text(id)),
                    ])],
                ),
            ),
            None => error(format, StatusCode::NOT_FOUND, "token not found"),
        },
        _ => error(format, StatusCode::NOT_FOUND, "unknown resource"),
    }
}

fn discovery(headers: &HeaderMap, format: Format) -> Response {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let node = Node::Record(vec![
        ("changeset", text("2026-11-22T00:00:00+08:00")),
        ("contact", text("北京市12345市民服务热线 · 12345")),
        (
            "key_service",
            text("API keys are issued by the 12345 centre (whistle token create --scope open311)"),
        ),
        (
            "endpoints",
            Node::List(
                "endpoint",
                vec![Node::Record(vec![
                    (
                        "specification",
                        text("http://wiki.open311.org/GeoReport_v2"),
                    ),
                    ("url", text(format!("http://{host}/open311/v2"))),
                    ("changeset", text("2026-11-22T00:00:00+08:00")),
                    ("type", text("production")),
                    (
                        "formats",
                        Node::List("format", vec![text("text/xml"), text("application/json")]),
                    ),
                ])],
            ),
        ),
    ]);
    render(format, StatusCode::OK, "discovery", node)
}

fn public_leaves(state: &AppState) -> Vec<whistle_core::taxonomy::Category> {
    let reference = state.store.reference();
    reference
        .taxonomy
        .iter()
        .filter(|c| c.public && reference.taxonomy.is_leaf(&c.code))
        .cloned()
        .collect()
}

fn services(state: &AppState, format: Format) -> Response {
    let reference = state.store.reference();
    let items = public_leaves(state)
        .into_iter()
        .map(|category| {
            let group = category
                .code
                .lineage()
                .last()
                .and_then(|top| reference.taxonomy.get_str(top))
                .map(|c| c.name_zh.clone())
                .unwrap_or_default();
            Node::Record(vec![
                ("service_code", text(category.code.to_string())),
                ("service_name", text(category.name_zh.clone())),
                (
                    "description",
                    text(format!("{} ({})", category.name_zh, category.name_en)),
                ),
                ("metadata", text("true")),
                ("type", text("realtime")),
                ("keywords", text(category.name_en.clone())),
                ("group", text(group)),
            ])
        })
        .collect();
    render(
        format,
        StatusCode::OK,
        "services",
        Node::List("service", items),
    )
}

fn service_definition(state: &AppState, code: &str, format: Format) -> Response {
    if !public_leaves(state).iter().any(|c| c.code.as_str() == code) {
        return error(
            format,
            StatusCode::NOT_FOUND,
            "service_code not found: see services.json",
        );
    }
    let values = whistle_core::order::RequestType::ALL
        .iter()
        .map(|t| {
            Node::Record(vec![
                ("key", text(t.as_str())),
                ("name", text(t.labels().0)),
            ])
        })
        .collect();
    let attributes = vec![
        Node::Record(vec![
            ("variable", text("true")),
            ("code", text("request_type")),
            ("datatype", text("singlevaluelist")),
            ("required", text("false")),
            ("datatype_description", text("诉求类型，默认为投诉")),
            ("order", text("1")),
            ("description", text("诉求类型 Request type")),
            ("values", Node::List("value", values)),
        ]),
        Node::Record(vec![
            ("variable", text("true")),
            ("code", text("street")),
            ("datatype", text("string")),
            ("required", text("false")),
            (
                "datatype_description",
                text("9位街道（乡镇）区划代码，如 110105010"),
            ),
            ("order", text("2")),
            (
                "description",
                text("所在街道（乡镇）Street or township code, for direct routing"),
            ),
        ]),
    ];
    let node = Node::Record(vec![
        ("service_code", text(code)),
        ("attributes", Node::List("attribute", attributes)),
    ]);
    render(format, StatusCode::OK, "service_definition", node)
}

async fn find(state: &AppState, id: &str) -> Option<Order> {
    let no = OrderNo::parse(id).ok()?;
    let order = state.store.order(&OrderRef::No(no)).await.ok()??;
    (order.channel == Channel::Open311).then_some(order)
}

fn request_node(state: &AppState, order: &Order) -> Node {
    let reference = state.store.reference();
    let category = reference.taxonomy.get(&order.category);
    let agency = order
        .lead()
        .and_then(|l| reference.directory.get(l))
        .map(|u| u.name.clone());
    let closed = order.is_closed();
    let updated = order.closed_at.unwrap_or(order.last_event_at);
    let notice = order
        .handle_by
        .map(|at| format!("办理时限 {}", whistle_core::time::format_minutes(at)));
    Node::Record(vec![
        ("service_request_id", text(order.no.to_string())),
        ("status", text(if closed { "closed" } else { "open" })),
        ("status_notes", text(stage_note(&order.stage))),
        ("service_name", opt(category.map(|c| c.name_zh.clone()))),
        ("service_code", text(order.category.to_string())),
        ("description", text(order.text.clone())),
        ("agency_responsible", opt(agency)),
        ("service_notice", opt(notice)),
        ("requested_datetime", text(datetime(order.received_at))),
        ("updated_datetime", text(datetime(updated))),
        ("expected_datetime", opt(order.handle_by.map(datetime))),
        ("address", opt(order.location.address.clone())),
        ("address_id", Node::Null),
        ("zipcode", Node::Null),
        ("lat", opt(order.location.latitude.map(|v| v.to_string()))),
        ("long", opt(order.location.longitude.map(|v| v.to_string()))),
        ("media_url", Node::Null),
    ])
}

fn stage_note(stage: &Stage) -> String {
    match stage {
        Stage::PendingDispatch => "已受理，待派单",
        Stage::Forwarded { .. } => "已转有关方面办理",
        Stage::Dispatched(_) => "已派单",
        Stage::Accepted(_) => "承办单位办理中",
        Stage::Replied(_) => "承办单位已反馈",
        Stage::Visited(_) => "已回访",
        Stage::Closed(_) => "已办结",
    }
    .to_string()
}

async fn post_request(
    state: &AppState,
    params: &BTreeMap<String, String>,
    format: Format,
) -> Response {
    let Some(key) = params.get("api_key") else {
        return error(format, StatusCode::FORBIDDEN, "api_key missing");
    };
    let principal = match auth::authenticate(state, key).await {
        Ok(Some(principal)) if principal.token_scope.as_deref() == Some(SCOPE_OPEN311) => principal,
        Ok(_) => return error(format, StatusCode::FORBIDDEN, "invalid api_key"),
        Err(_) => {
            return error(
                format,
                StatusCode::BAD_REQUEST,
                "service unavailable; try again",
            )
        }
    };
    let Some(service_code) = params.get("service_code") else {
        return error(
            format,
            StatusCode::BAD_REQUEST,
            "service_code was not provided",
        );
    };
    let Some(category) = public_leaves(state)
        .into_iter()
        .find(|c| c.code.as_str() == service_code.as_str())
    else {
        return error(
            format,
            StatusCode::NOT_FOUND,
            "service_code not found: see services.json",
        );
    };
    let number = |name: &str| params.get(name).map(|v| v.trim().parse::<f64>());
    let (latitude, longitude) = match (number("lat"), number("long")) {
        (Some(Ok(lat)), Some(Ok(long))) => (Some(lat), Some(long)),
        (None, None) => (None, None),
        _ => {
            return error(
                format,
                StatusCode::BAD_REQUEST,
                "lat and long must both be numbers",
            )
        }
    };
    let address = params.get("address_string").cloned();
    if latitude.is_none() && address.is_none() {
        return error(
            format,
            StatusCode::BAD_REQUEST,
            "a location is required: lat and long, or address_string",
        );
    }
    let description = params.get("description").cloned().unwrap_or_default();
    if description.chars().count() > DESCRIPTION_MAX {
        return error(
            format,
            StatusCode::BAD_REQUEST,
            "description is limited to 4,000 characters",
        );
    }
    let request_type = match params.get("attribute[request_type]").map(String::as_str) {
        None => RequestType::Complaint,
        Some(value) => match value.parse::<RequestType>() {
            Ok(kind) => kind,
            Err(_) => {
                return error(
                    format,
                    StatusCode::BAD_REQUEST,
                    "attribute[request_type] is not one of the listed values",
                )
            }
        },
    };
    let street = match params.get("attribute[street]").map(|s| UnitCode::parse(s)) {
        None => None,
        Some(Ok(code)) => Some(code),
        Some(Err(_)) => {
            return error(
                format,
                StatusCode::BAD_REQUEST,
                "attribute[street] is not a unit code",
            )
        }
    };
    let name = [params.get("last_name"), params.get("first_name")]
        .into_iter()
        .flatten()
        .cloned()
        .collect::<Vec<_>>()
        .join("");
    let requester = Requester {
        name: Some(name).filter(|n| !n.is_empty()),
        phone: params.get("phone").cloned(),
        address_detail: None,
    };
    let text_body = if description.trim().is_empty() {
        category.name_zh.clone()
    } else {
        description
    };
    let intake = Intake {
        received_at: None,
        channel: Channel::Open311,
        request_type,
        text: text_body,
        category: CategoryCode::parse(service_code).unwrap_or(category.code.clone()),
        urgency: None,
        location: Location {
            territory: Territory {
                district: None,
                street: street.clone(),
                community: None,
            },
            grid: None,
            address,
            latitude,
            longitude,
        },
        triage: Triage::Dispatch,
    };
    let requester = (requester.name.is_some() || requester.phone.is_some()).then_some(requester);
    // With a known street the catalogue routes it in the same step; otherwise the centre dispatches it.
    let request = if street.is_some() {
        Request::IntakeAndDispatch {
            intake: Box::new(intake),
            requester,
        }
    } else {
        Request::Intake {
            intake: Box::new(intake),
            requester,
        }
    };
    let envelope = Envelope {
        actor: principal.actor(),
        at: state.clock.now(),
        request,
    };
    let outcome = match state.store.execute_one(envelope).await {
        Ok(outcome) => outcome,
        // Domain refusals say what was wrong — never the personal data submitted.
        Err(whistle_store::CommandError::Domain(e)) => {
            return error(format, StatusCode::BAD_REQUEST, &e.message(Lang::En))
        }
        Err(_) => {
            return error(
                format,
                StatusCode::BAD_REQUEST,
                "the request could not be stored; try again",
            )
        }
    };
    let notice = "已受理，将按接诉即办时限办理。Received; it will be handled within the hotline's time limits.";
    let node = Node::List(
        "request",
        vec![Node::Record(vec![
            ("service_request_id", text(outcome.order_no.to_string())),
            ("service_notice", text(notice)),
            ("account_id", Node::Null),
        ])],
    );
    render(format, StatusCode::CREATED, "service_requests", node)
}

async fn get_requests(
    state: &AppState,
    params: &BTreeMap<String, String>,
    format: Format,
) -> Response {
    if let Some(ids) = params.get("service_request_id") {
        let mut items = Vec::new();
        for id in ids
            .split(',')
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .take(PAGE_SIZE_MAX as usize)
        {
            if let Some(order) = find(state, id).await {
                items.push(request_node(state, &order));
            }
        }
        return render(
            format,
            StatusCode::OK,
            "service_requests",
            Node::List("request", items),
        );
    }
    let bounds = state.store.reference().policy.time;
    let parse_time = |name: &str| -> Result<Option<Timestamp>, String> {
        match params.get(name) {
            None => Ok(None),
            Some(value) => chrono::DateTime::parse_from_rfc3339(value)
                .map(|at| at.with_timezone(&chrono::Utc))
                .map_err(|_| format!("{name} must be a w3 datetime with an offset"))
                .and_then(|at| {
                    bounds.check(name, at).map(Some).map_err(|_| {
                        format!(
                            "{name} must fall between {} and {}",
                            bounds.earliest, bounds.latest
                        )
                    })
                }),
        }
    };
    let (start, end) = match (parse_time("start_date"), parse_time("end_date")) {
        (Ok(start), Ok(end)) => (start, end),
        (Err(message), _) | (_, Err(message)) => {
            return error(format, StatusCode::BAD_REQUEST, &message)
        }
    };
    let span = chrono::Duration::days(90);
    let (start, end) = match (start, end) {
        (Some(s), Some(e)) if e - s > span => {
            return error(
                format,
                StatusCode::BAD_REQUEST,
                "start_date to end_date may not span more than 90 days",
            )
        }
        (Some(s), Some(e)) => (s, e),
        (Some(s), None) => (s, s + span),
        (None, Some(e)) => (e - span, e),
        (None, None) => (
            state.clock.now() - span,
            state.clock.now() + chrono::Duration::minutes(1),
        ),
    };
    let statuses: Vec<&str> = params
        .get("status")
        .map(|s| s.split(',').map(str::trim).collect())
        .unwrap_or_default();
    if statuses.iter().any(|s| !matches!(*s, "open" | "closed")) {
        return error(
            format,
            StatusCode::BAD_REQUEST,
            "status must be open or closed",
        );
    }
    let codes: Vec<&str> = params
        .get("service_code")
        .map(|s| s.split(',').map(str::trim).collect())
        .unwrap_or_default();
    let page_size = match params.get("page_size").map(|v| v.parse::<u32>()) {
        None => PAGE_SIZE_MAX,
        Some(Ok(n)) if (1..=PAGE_SIZE_MAX).contains(&n) => n,
        _ => return error(format, StatusCode::BAD_REQUEST, "page_size must be 1–1000"),
    };
    let page = match params.get("page").map(|v| v.parse::<u32>()) {
        None => 1,
        Some(Ok(n)) if (1..=100).contains(&n) => n,
        _ => return error(format, StatusCode::BAD_REQUEST, "page must be 1–100"),
    };
    let single_code = if codes.len() == 1 {
        CategoryCode::parse(codes[0]).ok()
    } else {
        None
    };
    let filter = OrderFilter {
        channel: Some("open311".into()),
        category: single_code,
        received_from: Some(start),
        received_before: Some(end),
        ..OrderFilter::default()
    };
    // Pages are walked with the store's stable cursor.
    let mut cursor: Option<String> = None;
    let mut items = Vec::new();
    for current in 1..=page {
        let result = match state
            .store
            .list_orders(
                &Scope::All,
                &filter,
                &PageRequest {
                    after: cursor.clone(),
                    limit: page_size,
                },
            )
            .await
        {
            Ok(result) => result,
            Err(_) => {
                return error(
                    format,
                    StatusCode::BAD_REQUEST,
                    "the query could not be run; try again",
                )
            }
        };
        if current == page {
            items = result.items;
            break;
        }
        match result.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let mut nodes = Vec::new();
    for summary in items {
        if !codes.is_empty() && !codes.contains(&summary.category.as_str()) {
            continue;
        }
        let closed = summary.stage == "closed";
        if !statuses.is_empty() && !statuses.contains(&if closed { "closed" } else { "open" }) {
            continue;
        }
        if let Ok(Some(order)) = state.store.order(&OrderRef::Id(summary.id)).await {
            nodes.push(request_node(state, &order));
        }
    }
    render(
        format,
        StatusCode::OK,
        "service_requests",
        Node::List("request", nodes),
    )
}
