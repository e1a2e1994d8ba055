//! The JSON API `/api/v1`: orders (intake, commands, lists, history, the reveal of personal data),
//! reference data, deadline preview, citizen tracking, login. Every handler: parse → role and
//! scope → one engine call → render; errors are `ApiError`s with stable codes.

use crate::views::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use whistle_core::calendar::TimeLimit;
use whistle_core::catalogue::Territory;
use whistle_core::error::Lang;
use whistle_core::ids::{CategoryCode, OrderNo, UnitCode};
use whistle_core::order::{
    Channel, Command, Intake, Location, Order, RequestType, Triage, Urgency,
};
use whistle_core::org::UnitKind;
use whistle_core::time::{parse_beijing, Timestamp};
use whistle_store::{
    Awaiting, Envelope, Idempotency, OrderFilter, OrderRef, OrderSummary, Outcome, Owed,
    PageRequest, Request, Requester, Scope,
};

use crate::auth::{self, Language, Principal, SESSION_COOKIE};
use crate::error::{ApiError, ApiResult};
use crate::limits::ClientIp;
pub use crate::views::OrderView;
use crate::AppState;

type AppStateRef = State<Arc<AppState>>;

pub use crate::input::{parse_json, parse_known, Params};

fn idempotency(
    headers: &HeaderMap,
    principal: &Principal,
    scope: &str,
    body: &[u8],
    lang: Lang,
) -> ApiResult<Option<Idempotency>> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .filter(|k| !k.is_empty() && k.len() <= 200)
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid_idempotency_key",
                "Idempotency-Key must be 1–200 visible characters",
                lang,
            )
        })?;
    let mut hasher = Sha256::new();
    hasher.update(scope.as_bytes());
    hasher.update([0]);
    hasher.update(body);
    Ok(Some(Idempotency {
        principal: principal.name.clone(),
        key: key.to_string(),
        request_hash: hex::encode(hasher.finalize()),
    }))
}

async fn run(
    state: &AppState,
    envelope: Envelope,
    key: Option<Idempotency>,
    lang: Lang,
) -> ApiResult<Outcome> {
    let result = state.store.execute_items(vec![(envelope, key)]).await.pop();
    result
        .unwrap_or_else(|| {
            Err(whistle_store::CommandError::Store(
                whistle_store::StoreFailure::msg("no result"),
            ))
        })
        .map_err(|e| ApiError::command(e, lang))
}

pub(crate) async fn view(state: &AppState, order: Order, lang: Lang) -> ApiResult<OrderView> {
    let requester = state
        .store
        .requester(order.id)
        .await
        .map_err(|e| ApiError::store(e, lang))?
        .map(|r| r.masked());
    Ok(OrderView::new(order, requester))
}

pub(crate) async fn visible_order(
    state: &AppState,
    principal: &Principal,
    no: &str,
    lang: Lang,
) -> ApiResult<Order> {
    let no = OrderNo::parse(no).map_err(|_| ApiError::not_found(lang))?;
    let order = state
        .store
        .order(&OrderRef::No(no))
        .await
        .map_err(|e| ApiError::store(e, lang))?
        .ok_or_else(|| ApiError::not_found(lang))?;
    // Outside the caller's jurisdiction an order does not exist.
    if !state
        .store
        .visible(&principal.scope, &order)
        .await
        .map_err(|e| ApiError::store(e, lang))?
    {
        return Err(ApiError::not_found(lang));
    }
    Ok(order)
}

/// Counts a request against a budget; 429 with `Retry-After` when spent.
fn limit(
    state: &AppState,
    class: crate::limits::Class,
    key: &str,
    budget: u32,
    lang: Lang,
) -> ApiResult<()> {
    let now = state.clock.now().timestamp();
    state
        .limiter
        .check(class, key, budget, now)
        .map_err(|wait| too_many(wait, lang))
}

/// 429 when a budget that only failures spend is spent already (nothing is counted).
fn held(
    state: &AppState,
    class: crate::limits::Class,
    key: &str,
    budget: u32,
    lang: Lang,
) -> ApiResult<()> {
    let now = state.clock.now().timestamp();
    state
        .limiter
        .allows(class, key, budget, now)
        .map_err(|wait| too_many(wait, lang))
}

pub fn too_many(wait: u64, lang: Lang) -> ApiError {
    let mut error = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        "请求过于频繁，请稍后再试",
        "too many requests; retry later",
        lang,
    );
    error.retry_after = Some(wait);
    error
}

// ----- health -----

/// Unknown API paths get a JSON 404 like every other refusal.
pub async fn no_route(Language(lang): Language) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "no_route",
        "没有这个接口",
        "no such endpoint",
        lang,
    )
}

pub async fn healthz() -> &'static str {
    "ok"
}

/// Ready when the database answers and every long-running part runs (the store's writer, its
/// planner, the deadline worker): a load balancer takes a server whose writer has stopped out.
pub async fn readyz(State(state): AppStateRef) -> Response {
    let stopped: Vec<&str> = crate::components(&state)
        .into_iter()
        .filter(|(_, running)| !running)
        .map(|(name, _)| name)
        .collect();
    if !stopped.is_empty() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not running: {}", stopped.join(", ")),
        )
            .into_response();
    }
    match state.store.totals().await {
        Ok(_) => (StatusCode::OK, "ready").into_response(),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response(),
    }
}

// ----- sessions -----

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    login: String,
    password: String,
}

/// What a login answers: the session's token (also set as the HttpOnly cookie) and its expiry.
#[derive(Serialize, schemars::JsonSchema)]
pub struct LoginAnswer {
    pub token: String,
    pub login: String,
    pub role: String,
    pub unit: UnitCode,
    pub expires_at: Timestamp,
}

pub async fn login(
    State(state): AppStateRef,
    ClientIp(ip): ClientIp,
    Language(lang): Language,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    let body = body.map_err(|e| ApiError::body(e, lang))?;
    let body: LoginBody = parse_json(&body, lang)?;
    let signed = sign_in(&state, &ip.to_string(), &body.login, &body.password, lang).await?;
    let mut response = Json(LoginAnswer {
        token: signed.session,
        login: signed.account.login,
        role: signed.account.role,
        unit: signed.account.unit,
        expires_at: signed.expires_at,
    })
    .into_response();
    if let Ok(value) = HeaderValue::from_str(&signed.cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}

/// A session opened by [`sign_in`]: its secret, the account, when it ends, and the cookie that
/// carries it.
pub struct SignedIn {
    pub session: String,
    pub account: whistle_store::Account,
    pub expires_at: whistle_core::time::Timestamp,
    pub cookie: String,
}

/// Checks a login and password and opens a session — for the JSON API's login and the login
/// page alike. Failed attempts are held per address, per address and account, and per account.
pub async fn sign_in(
    state: &AppState,
    ip: &str,
    login: &str,
    password: &str,
    lang: Lang,
) -> ApiResult<SignedIn> {
    use crate::limits::{
        LOGIN_FAILURES_PER_ACCOUNT, LOGIN_FAILURES_PER_IP, LOGIN_FAILURES_PER_IP_ACCOUNT,
    };
    let settings = &state.settings;
    let ip_account = format!("{ip} {login}");
    // Only failures spend these, so a shift of operators logging in behind one office address is
    // never held: a guesser behind one address holds that address's attempts at this account
    // (and, spraying many accounts, the address), a guesser anywhere the account — never another
    // address's right password unless the account-wide budget is spent.
    held(
        state,
        LOGIN_FAILURES_PER_IP,
        ip,
        settings.login_failures_per_ip,
        lang,
    )?;
    held(
        state,
        LOGIN_FAILURES_PER_IP_ACCOUNT,
        &ip_account,
        settings.login_failures_per_ip_account,
        lang,
    )?;
    held(
        state,
        LOGIN_FAILURES_PER_ACCOUNT,
        login,
        settings.login_failures_per_account,
        lang,
    )?;
    let invalid = || {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
            "用户名或密码错误",
            "wrong login or password",
            lang,
        )
    };
    let found = state
        .store
        .user(login)
        .await
        .map_err(|e| ApiError::store(e, lang))?;
    // The same argon2 work whether or not the account exists, so the time tells nothing.
    let verified =
        auth::verify_password_or_dummy(password, found.as_ref().map(|(_, hash)| hash.as_str()));
    let account = match found {
        Some((account, _)) if verified && account.active => account,
        _ => {
            let now = state.clock.now().timestamp();
            let _ = state.limiter.check(
                LOGIN_FAILURES_PER_IP,
                ip,
                settings.login_failures_per_ip,
                now,
            );
            let _ = state.limiter.check(
                LOGIN_FAILURES_PER_IP_ACCOUNT,
                &ip_account,
                settings.login_failures_per_ip_account,
                now,
            );
            let _ = state.limiter.check(
                LOGIN_FAILURES_PER_ACCOUNT,
                login,
                settings.login_failures_per_account,
                now,
            );
            return Err(invalid());
        }
    };
    let session = auth::random_hex(16);
    let now = state.clock.now();
    let expires_at = now + chrono::Duration::hours(state.settings.session_hours);
    state
        .store
        .put_session(
            &auth::hash_secret(&session),
            &account.login,
            expires_at,
            now,
        )
        .await
        .map_err(|e| ApiError::store(e, lang))?;
    let cookie = format!(
        "{SESSION_COOKIE}={session}; HttpOnly; SameSite=Lax; Path=/; Max-Age={}{}",
        state.settings.session_hours * 3600,
        if state.settings.cookie_secure() {
            "; Secure"
        } else {
            ""
        }
    );
    Ok(SignedIn {
        session,
        account,
        expires_at,
        cookie,
    })
}

/// Ends the session presented, by bearer token or by cookie, and clears the cookie.
pub async fn logout(
    State(state): AppStateRef,
    Language(lang): Language,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let clear = sign_out(&state, &headers, lang).await?;
    Ok(([(header::SET_COOKIE, clear)], StatusCode::NO_CONTENT).into_response())
}

/// Ends the session the request presents (if any); the `Set-Cookie` value that clears it.
pub async fn sign_out(state: &AppState, headers: &HeaderMap, lang: Lang) -> ApiResult<String> {
    if let Some(token) = auth::presented_session(headers) {
        state
            .store
            .delete_session(&auth::hash_secret(&token))
            .await
            .map_err(|e| ApiError::store(e, lang))?;
    }
    Ok(format!(
        "{SESSION_COOKIE}=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0{}",
        if state.settings.cookie_secure() {
            "; Secure"
        } else {
            ""
        }
    ))
}

pub async fn me(principal: Principal) -> Json<serde_json::Value> {
    Json(serde_json::json!({
        "name": principal.name,
        "role": principal.role,
        "unit": principal.unit,
        "scope": principal.scope,
        // Every role the person holds when there are several (the pages switch between them).
        "roles": principal
            .grants
            .iter()
            .map(|(role, unit)| serde_json::json!({"role": role, "unit": unit}))
            .collect::<Vec<_>>(),
    }))
}

// ----- orders -----

#[derive(Deserialize, Default, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LocationInput {
    #[serde(default)]
    district: Option<UnitCode>,
    #[serde(default)]
    street: Option<UnitCode>,
    #[serde(default)]
    community: Option<UnitCode>,
    #[serde(default)]
    grid: Option<UnitCode>,
    #[serde(default)]
    address: Option<String>,
    #[serde(default)]
    latitude: Option<f64>,
    #[serde(default)]
    longitude: Option<f64>,
}

fn dispatch_triage() -> Triage {
    Triage::Dispatch
}

fn yes() -> bool {
    true
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateOrder {
    #[serde(default = "phone")]
    channel: Channel,
    request_type: RequestType,
    text: String,
    category: CategoryCode,
    #[serde(default)]
    urgency: Option<Urgency>,
    #[serde(default)]
    received_at: Option<Timestamp>,
    #[serde(default)]
    location: LocationInput,
    #[serde(default = "dispatch_triage")]
    triage: Triage,
    #[serde(default)]
    requester: Option<Requester>,
    /// Dispatch by the catalogue right after intake (when the triage is `dispatch`).
    #[serde(default = "yes")]
    dispatch: bool,
}

fn phone() -> Channel {
    Channel::Phone
}

#[derive(Serialize, schemars::JsonSchema)]
pub(crate) struct Created {
    #[serde(flatten)]
    order: OrderView,
    /// Why the automatic dispatch did not happen, when it did not; the order waits for a dispatcher.
    #[serde(skip_serializing_if = "Option::is_none")]
    dispatch_error: Option<serde_json::Value>,
}

pub async fn create_order(
    State(state): AppStateRef,
    Language(lang): Language,
    principal: Principal,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    let body = body.map_err(|e| ApiError::body(e, lang))?;
    if !principal.role(lang)?.may_intake() {
        return Err(ApiError::forbidden(lang));
    }
    let key = idempotency(&headers, &principal, "POST /orders", &body, lang)?;
    let input: CreateOrder = parse_json(&body, lang)?;
    let location = input.location;
    let intake = Intake {
        received_at: input.received_at,
        channel: input.channel,
        request_type: input.request_type,
        text: input.text,
        category: input.category,
        urgency: input.urgency,
        location: Location {
            territory: Territory {
                district: location.district,
                street: location.street,
                community: location.community,
            },
            grid: location.grid,
            address: location.address,
            latitude: location.latitude,
            longitude: location.longitude,
        },
        triage: input.triage,
    };
    let auto_dispatch = input.dispatch && intake.triage == Triage::Dispatch;
    let masked = input.requester.as_ref().map(|r| r.masked());
    let request = if auto_dispatch {
        Request::IntakeAndDispatch {
            intake: Box::new(intake),
            requester: input.requester,
        }
    } else {
        Request::Intake {
            intake: Box::new(intake),
            requester: input.requester,
        }
    };
    let envelope = Envelope {
        actor: principal.actor(),
        at: state.clock.now(),
        request,
    };
    let outcome = run(&state, envelope, key, lang).await?;
    let dispatch_error = outcome
        .dispatch_error
        .as_ref()
        .map(|error| serde_json::json!({"error": error.key(), "message": error.message(lang)}));
    let view = match outcome.order {
        // A fresh create: the engine returned the projection; nothing to read back.
        Some(order) => OrderView::new(*order, masked),
        // A replay: show the order as it is now.
        None => {
            let order = state
                .store
                .order(&OrderRef::Id(outcome.order_id))
                .await
                .map_err(|e| ApiError::store(e, lang))?
                .ok_or_else(|| ApiError::not_found(lang))?;
            view(&state, order, lang).await?
        }
    };
    let location = format!("/api/v1/orders/{}", view.no);
    let body = Created {
        order: view,
        dispatch_error,
    };
    let status = if outcome.replayed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let mut response = (status, Json(body)).into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    if outcome.replayed {
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    #[schemars(with = "Option<UnitCode>")]
    unit: Option<String>,
    #[schemars(extend("enum" = ["pending_dispatch", "forwarded", "dispatched", "accepted", "replied", "visited", "closed"]))]
    stage: Option<String>,
    #[schemars(with = "Option<UnitCode>")]
    district: Option<String>,
    #[schemars(with = "Option<UnitCode>")]
    street: Option<String>,
    #[schemars(with = "Option<CategoryCode>")]
    category: Option<String>,
    #[schemars(with = "Option<Timestamp>")]
    from: Option<String>,
    #[schemars(with = "Option<Timestamp>")]
    before: Option<String>,
    /// A substring of the request text.
    q: Option<String>,
    /// `dispute` or `extension`: the orders waiting for the centre's decision.
    #[schemars(extend("enum" = ["dispute", "extension"]))]
    awaiting: Option<String>,
    /// `normal`, `urgent` or `emergency`.
    #[schemars(extend("enum" = ["normal", "urgent", "emergency"]))]
    urgency: Option<String>,
    /// `rework` or `part`: what a handling unit owes (with `unit`, what that unit owes).
    #[schemars(extend("enum" = ["rework", "part"]))]
    owed: Option<String>,
    /// Open orders whose running deadline falls at or before this time.
    #[schemars(with = "Option<Timestamp>")]
    due_before: Option<String>,
    /// Open orders whose running deadline falls after this time.
    #[schemars(with = "Option<Timestamp>")]
    due_after: Option<String>,
    /// Open orders late by three times the time allowed or more at this time (三倍超期).
    #[schemars(with = "Option<Timestamp>")]
    thrice_late_at: Option<String>,
    /// The lead unit's person: a login, or `none` for orders not yet assigned.
    assignee: Option<String>,
    /// The `next` of the page before.
    #[schemars(regex(
        pattern = "^-?[0-9]{1,19}_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
    ))]
    after: Option<String>,
    #[schemars(range(min = 1, max = 200))]
    limit: Option<u32>,
}

fn code<T>(
    text: Option<String>,
    parse: impl Fn(&str) -> Result<T, whistle_core::error::DomainError>,
    lang: Lang,
) -> ApiResult<Option<T>> {
    text.filter(|t| !t.is_empty())
        .map(|t| parse(&t))
        .transpose()
        .map_err(|e| ApiError::domain(&e, lang))
}

/// A time in a query: Beijing time or RFC 3339, inside the policy's time bounds; refused with
/// 400 naming the parameter.
pub(crate) fn time_param(
    state: &AppState,
    name: &str,
    text: Option<String>,
    lang: Lang,
) -> ApiResult<Option<Timestamp>> {
    let Some(text) = text.filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    parse_beijing(&text)
        .map_err(|_| state.store.reference().policy.time.out_of_range(name))
        .and_then(|at| state.store.reference().policy.time.check(name, at))
        .map(Some)
        .map_err(|e| ApiError::domain(&e, lang).status(StatusCode::BAD_REQUEST))
}

fn page(
    state: &AppState,
    after: Option<String>,
    limit: Option<u32>,
    lang: Lang,
) -> ApiResult<PageRequest> {
    let limit = limit.unwrap_or(50);
    if limit == 0 || limit > state.settings.page_limit_max {
        return Err(ApiError::bad_request(
            "invalid_page_size",
            &format!("limit must be 1–{}", state.settings.page_limit_max),
            lang,
        ));
    }
    Ok(PageRequest { after, limit })
}

#[derive(Serialize, schemars::JsonSchema)]
pub struct PageView {
    items: Vec<OrderSummary>,
    next: Option<String>,
}

pub async fn list_orders(
    State(state): AppStateRef,
    Language(lang): Language,
    principal: Principal,
    Params(params): Params<ListQuery>,
) -> ApiResult<Json<PageView>> {
    let filter = OrderFilter {
        unit: code(params.unit, UnitCode::parse, lang)?,
        stage: params.stage,
        district: code(params.district, UnitCode::parse, lang)?,
        street: code(params.street, UnitCode::parse, lang)?,
        category: code(params.category, CategoryCode::parse, lang)?,
        received_from: time_param(&state, "from", params.from, lang)?,
        received_before: time_param(&state, "before", params.before, lang)?,
        text: params.q.filter(|q| !q.trim().is_empty()),
        channel: None,
        urgency: params
            .urgency
            .filter(|u| !u.is_empty())
            .map(|u| u.parse())
            .transpose()
            .map_err(|_| {
                ApiError::bad_request(
                    "invalid_urgency",
                    "urgency must be normal, urgent or emergency",
                    lang,
                )
            })?,
        awaiting: match params.awaiting.as_deref() {
            None => None,
            Some("dispute") => Some(Awaiting::Dispute),
            Some("extension") => Some(Awaiting::Extension),
            Some(_) => {
                return Err(ApiError::bad_request(
                    "invalid_awaiting",
                    "awaiting must be dispute or extension",
                    lang,
                ))
            }
        },
        owed: match params.owed.as_deref() {
            None => None,
            Some("rework") => Some(Owed::Rework),
            Some("part") => Some(Owed::Part),
            Some(_) => {
                return Err(ApiError::bad_request(
                    "invalid_owed",
                    "owed must be rework or part",
                    lang,
                ))
            }
        },
        due_before: time_param(&state, "due_before", params.due_before, lang)?,
        due_after: time_param(&state, "due_after", params.due_after, lang)?,
        thrice_late_at: time_param(&state, "thrice_late_at", params.thrice_late_at, lang)?,
        lead_units: None,
        assignee: params
            .assignee
            .map(|a| a.trim().to_string())
            .filter(|a| !a.is_empty())
            .map(|a| match a.as_str() {
                "none" => whistle_store::AssignedTo::Nobody,
                _ => whistle_store::AssignedTo::Person(a),
            }),
        oldest_first: false,
        by_deadline: false,
    };
    let page = page(&state, params.after, params.limit, lang)?;
    let result = state
        .store
        .list_orders(&principal.scope, &filter, &page)
        .await
        .map_err(|e| ApiError::store(e, lang))?;
    Ok(Json(PageView {
        items: result.items,
        next: result.next,
    }))
}

pub async fn get_order(
    State(state): AppStateRef,
    Language(lang): Language,
    principal: Principal,
    Path(no): Path<String>,
) -> ApiResult<Json<OrderView>> {
    let order = visible_order(&state, &principal, &no, lang).await?;
    Ok(Json(view(&state, order, lang).await?))
}

pub async fn history(
    State(state): AppStateRef,
    Language(lang): Language,
    principal: Principal,
    Path(no): Path<String>,
) -> ApiResult<Json<crate::views::History<whistle_core::order::EventPayload>>> {
    let order = visible_order(&state, &principal, &no, lang).await?;
    let events = state
        .store
        .history(order.id)
        .await
        .map_err(|e| ApiError::store(e, lang))?;
    Ok(Json(crate::views::History {
        no: order.no.to_string(),
        events: events
            .into_iter()
            .map(crate::views::HistoryEntry::of_order)
            .collect(),
    }))
}

pub const COMMANDS: [&str; 20] = [
    "dispatch",
    "forward",
    "record_forward_answer",
    "accept",
    "assign",
    "dispute",
    "review_dispute",
    "report_part",
    "contact",
    "request_extension",
    "decide_extension",
    "escalate",
    "reply",
    "return_visit",
    "close",
    "reopen",
    "rule_unreasonable",
    "supervise",
    "link_repeat",
    "merge",
];

#[derive(Serialize, schemars::JsonSchema)]
pub struct CommandResult {
    #[serde(flatten)]
    order: OrderView,
    /// The events the command appended, in the history's shape.
    events: Vec<crate::views::HistoryEntry<whistle_core::order::EventPayload>>,
    replayed: bool,
}

/// Deserializes an object into `T`, refusing any field `T` does not have. (Serde ignores extra
/// fields on some shapes — field-less enum variants, structs without `deny_unknown_fields` — so
/// the check compares what was sent with `T`'s own serialization.) Messages never echo values.
/// Parses `{"version": N, …fields}` as the command `name` (a serde-tagged enum), refusing a
/// missing version and any field the command does not have (serde ignores extra fields on
/// field-less variants, so the check compares with the command's own serialization).
pub fn parse_command_body<T: serde::de::DeserializeOwned + Serialize>(
    body: &[u8],
    name: &str,
    lang: Lang,
) -> ApiResult<(T, u64)> {
    let mut fields: serde_json::Map<String, serde_json::Value> = if body.is_empty() {
        serde_json::Map::new()
    } else {
        parse_json(body, lang)?
    };
    // (`parse_json` has made an integral `3.0` the integer 3.)
    let version = fields
        .remove("version")
        .and_then(|v| v.as_u64())
        .ok_or_else(|| {
            ApiError::bad_request(
                "version_required",
                "give the version you saw as \"version\"",
                lang,
            )
        })?;
    fields.insert(
        "command".into(),
        serde_json::Value::String(name.to_string()),
    );
    let command = parse_known(fields, lang)?;
    Ok((command, version))
}

/// `POST /api/v1/orders/{no}/{command}` with `{"version": N, …the command's fields}`.
pub async fn command(
    State(state): AppStateRef,
    Language(lang): Language,
    principal: Principal,
    headers: HeaderMap,
    Path((no, name)): Path<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<CommandResult>> {
    let body = body.map_err(|e| ApiError::body(e, lang))?;
    if !COMMANDS.contains(&name.as_str()) {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_command",
            "没有这个命令",
            "no such command",
            lang,
        ));
    }
    principal.role(lang)?;
    let key = idempotency(
        &headers,
        &principal,
        &format!("POST /orders/{no}/{name}"),
        &body,
        lang,
    )?;
    let (command, version): (Command, u64) = parse_command_body(&body, &name, lang)?;
    let (outcome, current) =
        run_command(&state, &principal, &no, command, Some(version), key, lang).await?;
    Ok(Json(CommandResult {
        order: view(&state, current, lang).await?,
        events: outcome
            .events
            .into_iter()
            .map(crate::views::HistoryEntry::of_order)
            .collect(),
        replayed: outcome.replayed,
    }))
}

/// Runs one command on an order the principal can see and whose role may give it — for the
/// JSON API and the pages alike; the outcome and the order as it stands after it.
pub(crate) async fn run_command(
    state: &AppState,
    principal: &Principal,
    no: &str,
    command: Command,
    expected_version: Option<u64>,
    key: Option<Idempotency>,
    lang: Lang,
) -> ApiResult<(Outcome, Order)> {
    let role = principal.role(lang)?;
    let order = visible_order(state, principal, no, lang).await?;
    if !role.may(&command) {
        return Err(ApiError::forbidden(lang));
    }
    // An order is assigned only to one of the unit's people who handle orders (the core checks
    // the stage and the unit; the accounts are the server's).
    if let Command::Assign { to } = &command {
        let colleague = state
            .store
            .user(to.trim())
            .await
            .map_err(|e| ApiError::store(e, lang))?
            .filter(|(account, _)| {
                account.active && crate::roles::handles_orders_at(account, &principal.unit)
            });
        if colleague.is_none() {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "not_a_colleague",
                "只能指派给本单位在岗的承办人",
                "an order is assigned only to an active handler of your unit",
                lang,
            ));
        }
    }
    let envelope = Envelope {
        actor: principal.actor(),
        at: state.clock.now(),
        request: Request::Command {
            order: OrderRef::Id(order.id),
            expected_version,
            command,
        },
    };
    let outcome = run(state, envelope, key, lang).await?;
    let current = state
        .store
        .order(&OrderRef::Id(order.id))
        .await
        .map_err(|e| ApiError::store(e, lang))?
        .ok_or_else(|| ApiError::not_found(lang))?;
    Ok((outcome, current))
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RevealBody {
    reason: String,
}

/// Shows the requester's personal data to an entitled role, recording who and why first.
pub async fn reveal(
    State(state): AppStateRef,
    Language(lang): Language,
    principal: Principal,
    Path(no): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<Requester>> {
    let body = body.map_err(|e| ApiError::body(e, lang))?;
    let body: RevealBody = parse_json(&body, lang)?;
    let order = visible_order(&state, &principal, &no, lang).await?;
    if !principal.role(lang)?.may_reveal() {
        return Err(ApiError::forbidden(lang));
    }
    let envelope = Envelope {
        actor: principal.actor(),
        at: state.clock.now(),
        request: Request::Command {
            order: OrderRef::Id(order.id),
            expected_version: None,
            command: Command::RevealRequester {
                reason: body.reason,
            },
        },
    };
    run(&state, envelope, None, lang).await?;
    let requester = state
        .store
        .requester(order.id)
        .await
        .map_err(|e| ApiError::store(e, lang))?
        .unwrap_or_default();
    Ok(Json(requester))
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DueQuery {
    #[schemars(with = "Option<Timestamp>")]
    at: Option<String>,
    /// The `next` of the page before.
    #[schemars(regex(
        pattern = "^-?[0-9]{1,19}_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
    ))]
    after: Option<String>,
    #[schemars(range(min = 1, max = 200))]
    limit: Option<u32>,
}

/// Orders whose running deadline is due (centre roles: the due index is city-wide).
pub async fn due(
    State(state): AppStateRef,
    Language(lang): Language,
    principal: Principal,
    Params(params): Params<DueQuery>,
) -> ApiResult<Json<PageView>> {
    if principal.scope != Scope::All {
        return Err(ApiError::forbidden(lang));
    }
    let at = time_param(&state, "at", params.at, lang)?.unwrap_or_else(|| state.clock.now());
    let page = page(&state, params.after, params.limit, lang)?;
    let result = state
        .store
        .due(at, &page)
        .await
        .map_err(|e| ApiError::store(e, lang))?;
    Ok(Json(PageView {
        items: result.items,
        next: result.next,
    }))
}

// ----- reference data -----

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UnitsQuery {
    #[schemars(with = "Option<UnitCode>")]
    district: Option<String>,
    #[schemars(with = "Option<UnitCode>")]
    under: Option<String>,
    kind: Option<String>,
}

pub async fn units(
    State(state): AppStateRef,
    Language(lang): Language,
    _principal: Principal,
    Params(params): Params<UnitsQuery>,
) -> ApiResult<Json<Vec<whistle_core::org::Unit>>> {
    let reference = state.store.reference();
    let directory = &reference.directory;
    let parent = code(params.district.or(params.under), UnitCode::parse, lang)?;
    let kind: Option<UnitKind> = code(params.kind, |k| k.parse(), lang)?;
    let mut units: Vec<whistle_core::org::Unit> = match &parent {
        Some(code) => directory
            .children(code)
            .iter()
            .filter_map(|c| directory.get(c).cloned())
            .collect(),
        None => directory
            .units()
            .filter(|u| !u.kind.is_community_level())
            .cloned()
            .collect(),
    };
    units.retain(|u| kind.is_none_or(|k| u.kind == k));
    units.sort_by(|a, b| a.code.cmp(&b.code));
    Ok(Json(units))
}

pub async fn categories(
    State(state): AppStateRef,
    _principal: Principal,
) -> Json<Vec<whistle_core::taxonomy::Category>> {
    Json(state.store.reference().taxonomy.iter().cloned().collect())
}

pub async fn catalogue(
    State(state): AppStateRef,
    Language(lang): Language,
    _principal: Principal,
) -> ApiResult<Json<serde_json::Value>> {
    let version = state.store.reference().catalogue.version;
    let entries = state
        .store
        .catalogue_entries(version)
        .await
        .map_err(|e| ApiError::store(e, lang))?;
    Ok(Json(
        serde_json::json!({"version": version, "entries": entries}),
    ))
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeadlineQuery {
    #[schemars(with = "Timestamp")]
    from: String,
    #[schemars(range(min = 1, max = 365))]
    working_days: Option<u32>,
    #[schemars(range(min = 1, max = 8760))]
    hours: Option<u32>,
}

pub async fn deadline(
    State(state): AppStateRef,
    Language(lang): Language,
    Params(params): Params<DeadlineQuery>,
) -> ApiResult<Json<serde_json::Value>> {
    let reference = state.store.reference();
    let from = time_param(&state, "from", Some(params.from), lang)?.ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            "请求格式有误：缺少 from",
            "malformed request: from is required",
            lang,
        )
    })?;
    let limit = match (params.working_days, params.hours) {
        (Some(days), None) => TimeLimit::parse(&format!("{days}wd")),
        (None, Some(hours)) => TimeLimit::parse(&format!("{hours}h")),
        _ => {
            return Err(ApiError::bad_request(
                "invalid_query",
                "give working_days or hours",
                lang,
            ))
        }
    }
    .map_err(|e| ApiError::domain(&e, lang).status(StatusCode::BAD_REQUEST))?;
    let deadline = reference
        .calendar
        .deadline(from, limit)
        .map_err(|e| ApiError::domain(&e, lang).status(StatusCode::BAD_REQUEST))?;
    Ok(Json(serde_json::json!({
        "deadline": whistle_core::time::format_minutes(deadline.at),
        "at": whistle_core::outside::to_value(&deadline.at),
        "fallback_years": deadline.fallback_years,
    })))
}

// ----- citizens -----

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TrackQuery {
    #[schemars(regex(pattern = "^[0-9]{4}$"))]
    phone_last4: String,
}

/// A citizen checks progress with the order number and the last four digits of the phone used.
/// Wrong digits and unknown numbers look the same; nothing personal is returned.
/// The order a citizen tracks by its number and the last four digits of the phone given with
/// it — for `/track` in the API and on the citizen's page. Requests are limited per address, and
/// wrong digits per order (four digits are 10,000 guesses); every refusal is the same 404.
pub async fn tracked_order(
    state: &AppState,
    ip: &str,
    no: &str,
    last4: &str,
    lang: Lang,
) -> ApiResult<Order> {
    use crate::limits::{TRACK_FAILURES_PER_ORDER, TRACK_PER_IP};
    let budget = state.settings.track_failures_per_order_per_hour;
    limit(
        state,
        TRACK_PER_IP,
        ip,
        state.settings.track_per_ip_per_minute,
        lang,
    )?;
    let no = OrderNo::parse(no).map_err(|_| ApiError::not_found(lang))?;
    held(state, TRACK_FAILURES_PER_ORDER, no.as_str(), budget, lang)?;
    let order = state
        .store
        .order(&OrderRef::No(no.clone()))
        .await
        .map_err(|e| ApiError::store(e, lang))?
        .ok_or_else(|| ApiError::not_found(lang))?;
    let requester = state
        .store
        .requester(order.id)
        .await
        .map_err(|e| ApiError::store(e, lang))?;
    let digits: String = requester
        .and_then(|r| r.phone)
        .unwrap_or_default()
        .chars()
        .filter(|c| c.is_ascii_digit())
        .collect();
    if last4.len() != 4 || digits.len() < 4 || !digits.ends_with(last4) {
        let now = state.clock.now().timestamp();
        let _ = state
            .limiter
            .check(TRACK_FAILURES_PER_ORDER, no.as_str(), budget, now);
        return Err(ApiError::not_found(lang));
    }
    Ok(order)
}

pub async fn track(
    State(state): AppStateRef,
    ClientIp(ip): ClientIp,
    Language(lang): Language,
    Path(no): Path<String>,
    Params(params): Params<TrackQuery>,
) -> ApiResult<Json<crate::progress::Progress>> {
    let order = tracked_order(&state, &ip.to_string(), &no, &params.phone_last4, lang).await?;
    let events = state
        .store
        .history(order.id)
        .await
        .map_err(|e| ApiError::store(e, lang))?;
    let reference = state.store.reference();
    Ok(Json(crate::progress::Progress::of(
        &order, &events, &reference, lang,
    )))
}
