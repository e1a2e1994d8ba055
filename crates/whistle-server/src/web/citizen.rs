//! The citizen's page (`/`, no login): tracking a request by its number and the last four
//! digits of the phone given with it — stage, handling unit, deadline, extensions with their
//! reasons, the reply. Nothing personal and no staff names are shown (Regulation art. 8 and
//! 15(2): the requester may follow the handling and is told why it takes longer).

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::response::{Html, IntoResponse};
use serde::Deserialize;
use std::sync::Arc;
use whistle_core::error::Lang;
use whistle_core::ids::{OrderNo, UnitCode};
use whistle_core::order::{EventPayload, Order, RequestType, Stage};
use whistle_core::org::UnitKind;
use whistle_store::OrderRef;

use super::citizen_forms::{self, SubmitForm};
use super::format::{self, Deadline, Names};
use super::{chrome, page_language, Chrome};
use crate::limits::ClientIp;
use crate::AppState;

/// A tracked order as the citizen sees it.
struct Tracked {
    no: String,
    stage: String,
    category: String,
    received_at: String,
    unit: Option<String>,
    deadline: Option<Deadline>,
    /// "延至 2026-12-09 18:00：需协调产权单位" per approved extension.
    extensions: Vec<String>,
    reply: Option<String>,
    closed_at: Option<String>,
}

#[derive(Template)]
#[template(path = "citizen.html")]
pub struct CitizenPage {
    chrome: Chrome,
    no: String,
    last4: String,
    error: Option<String>,
    tracked: Option<Tracked>,
    /// The submit form as typed, and which field was refused with what message.
    pub form: SubmitForm,
    pub form_error: Option<(&'static str, String)>,
    /// Just submitted: the number and what happens next.
    submitted: Option<Submitted>,
    /// After a rating from the web.
    rated: bool,
    types: Vec<(String, String)>,
    /// (group name, [(code, name)]) of the public leaf categories.
    categories: Vec<(String, Vec<(String, String)>)>,
    districts: Vec<(String, String)>,
    pub streets: Vec<(String, String)>,
    /// Whether the tracked order may be rated now.
    may_rate: bool,
}

struct Submitted {
    no: String,
    unit: Option<String>,
    deadline: Option<Deadline>,
}

impl CitizenPage {
    fn field_error(&self, field: &str) -> Option<&str> {
        self.form_error
            .as_ref()
            .filter(|(f, _)| *f == field || (field == "form" && f.is_empty()))
            .map(|(_, m)| m.as_str())
    }
}

fn title(lang: Lang) -> &'static str {
    match lang {
        Lang::Zh => "市民诉求",
        Lang::En => "Your requests",
    }
}

/// The page with empty forms.
pub fn page(state: &AppState, lang: Lang) -> CitizenPage {
    let reference = state.store.reference();
    let names = Names {
        reference: &reference,
        lang,
    };
    let mut groups: Vec<(String, Vec<(String, String)>)> = Vec::new();
    for category in reference
        .taxonomy
        .iter()
        .filter(|c| c.public && reference.taxonomy.is_leaf(&c.code))
    {
        let group = category
            .code
            .lineage()
            .last()
            .and_then(|top| reference.taxonomy.get_str(top))
            .map(|c| names.category(&c.code))
            .unwrap_or_default();
        let entry = (category.code.to_string(), names.category(&category.code));
        match groups.iter_mut().find(|(g, _)| *g == group) {
            Some((_, items)) => items.push(entry),
            None => groups.push((group, vec![entry])),
        }
    }
    let districts = reference
        .directory
        .children(&reference.city)
        .iter()
        .filter_map(|c| reference.directory.get(c))
        .filter(|u| u.kind == UnitKind::District)
        .map(|u| (u.code.to_string(), u.name.clone()))
        .collect();
    CitizenPage {
        chrome: chrome(state, None, lang, title(lang), "/"),
        no: String::new(),
        last4: String::new(),
        error: None,
        tracked: None,
        form: SubmitForm::default(),
        form_error: None,
        submitted: None,
        rated: false,
        types: RequestType::ALL
            .iter()
            .map(|t| {
                (
                    t.as_str().to_string(),
                    format::pick(lang, t.labels()).to_string(),
                )
            })
            .collect(),
        categories: groups,
        districts,
        streets: Vec::new(),
        may_rate: false,
    }
}

/// The streets and townships of a district, by name (the submit form's second list).
pub fn streets_of(state: &AppState, district: &str) -> Vec<(String, String)> {
    let reference = state.store.reference();
    let Ok(district) = UnitCode::parse(district.trim()) else {
        return Vec::new();
    };
    reference
        .directory
        .children(&district)
        .iter()
        .filter_map(|c| reference.directory.get(c))
        .filter(|u| u.kind.is_street_level() && u.merged_into.is_none())
        .map(|u| (u.code.to_string(), u.name.clone()))
        .collect()
}

/// Renders the page with the form token (the visitor's, or a new one set as a cookie) and a
/// fresh idempotency key for the submit form unless it is being shown again.
pub fn respond(
    state: &AppState,
    headers: &HeaderMap,
    mut page: CitizenPage,
    status: StatusCode,
) -> Response {
    let (token, new) = citizen_forms::form_token(headers);
    page.chrome.csrf = token.clone();
    if page.form.key.len() != 32 {
        page.form.key = crate::auth::random_hex(16);
    }
    let response = super::render(&page, status);
    if new {
        citizen_forms::with_token_cookie(state, response, &token)
    } else {
        response
    }
}

#[derive(Deserialize)]
pub struct HomeQuery {
    #[serde(default)]
    submitted: String,
}

/// `GET /`: the citizen's page — submit a request, track one; after a submit, its number.
pub async fn home(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(query): Query<HomeQuery>,
) -> Response {
    let lang = page_language(&headers);
    let mut page = page(&state, lang);
    let own = crate::auth::cookie(&headers, citizen_forms::SUBMITTED_COOKIE);
    let submitted = OrderNo::parse(query.submitted.trim())
        .ok()
        .filter(|no| own.as_deref() == Some(no.as_str()));
    if let Some(no) = submitted {
        // The number alone shows only what is public about it: stage, unit and deadline.
        if let Ok(Some(order)) = state.store.order(&OrderRef::No(no)).await {
            let reference = state.store.reference();
            let names = Names {
                reference: &reference,
                lang,
            };
            page.submitted = Some(Submitted {
                no: order.no.to_string(),
                unit: order.lead().map(|u| names.unit(u)),
                deadline: order
                    .handle_by
                    .map(|at| Deadline::new(&reference, "", at, state.clock.now(), lang)),
            });
        }
    }
    respond(&state, &headers, page, StatusCode::OK)
}

#[derive(Deserialize)]
pub struct StreetsQuery {
    #[serde(default)]
    district: String,
}

/// `GET /streets?district=…`: the submit form's street options (htmx swaps them in).
pub async fn streets(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(query): Query<StreetsQuery>,
) -> Response {
    let lang = page_language(&headers);
    let mut html = format!(
        "<option value=\"\">{}</option>",
        format::pick(lang, ("（不清楚可不选）", "(leave if unsure)"))
    );
    for (code, name) in streets_of(&state, &query.district) {
        html.push_str(&format!(
            "<option value=\"{}\">{}</option>",
            format::escape(&code),
            format::escape(&name)
        ));
    }
    Html(html).into_response()
}

/// Whether the requester may rate this order on the web now.
pub fn may_rate(state: &AppState, order: &Order) -> bool {
    citizen_forms::rating_open(state, &order.stage, order.replied_at)
}

#[derive(Deserialize)]
pub struct TrackQuery {
    #[serde(default)]
    no: String,
    #[serde(default)]
    last4: String,
}

/// `GET /track?no=…&last4=…`: the order, when the digits match; the same "not found" for a
/// wrong number and wrong digits (which of the two is not told).
pub async fn track(
    State(state): State<Arc<AppState>>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Query(query): Query<TrackQuery>,
) -> Response {
    let (no, last4) = (query.no.trim(), query.last4.trim());
    track_page(
        &state,
        &ip.to_string(),
        &headers,
        no,
        last4,
        None,
        StatusCode::OK,
    )
    .await
}

/// The citizen's page showing a tracked order (and its rating form when open), or why not.
pub async fn track_page(
    state: &AppState,
    ip: &str,
    headers: &HeaderMap,
    no: &str,
    last4: &str,
    notice: Option<String>,
    status: StatusCode,
) -> Response {
    let lang = page_language(headers);
    let mut page = page(state, lang);
    page.no = no.to_string();
    if last4.len() != 4 || !last4.chars().all(|c| c.is_ascii_digit()) {
        page.error = Some(
            format::pick(
                lang,
                (
                    "请输入手机号的后四位数字",
                    "enter the last four digits of the phone",
                ),
            )
            .to_string(),
        );
        return respond(state, headers, page, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let order = match crate::api::tracked_order(state, ip, no, last4, lang).await {
        Ok(order) => order,
        Err(error) => {
            page.error = Some(if error.status == StatusCode::NOT_FOUND {
                format::pick(
                    lang,
                    (
                        "未找到该工单，请核对工单号和手机号后四位",
                        "no such order: check the number and the four digits",
                    ),
                )
                .to_string()
            } else {
                error.message
            });
            return respond(state, headers, page, error.status);
        }
    };
    let events = match state.store.history(order.id).await {
        Ok(events) => events,
        Err(error) => {
            let error = crate::error::ApiError::store(error, lang);
            page.error = Some(error.message);
            return respond(state, headers, page, error.status);
        }
    };
    page.error = notice;
    page.may_rate = may_rate(state, &order);
    page.rated = events.iter().any(|e| {
        e.actor.user == "citizen-web" && matches!(e.payload, EventPayload::Visited { .. })
    });
    page.last4 = last4.to_string();
    page.tracked = Some(tracked(state, &order, &events, lang));
    respond(state, headers, page, status)
}

fn tracked(
    state: &AppState,
    order: &Order,
    events: &[whistle_core::order::Event],
    lang: Lang,
) -> Tracked {
    let reference = state.store.reference();
    let names = Names {
        reference: &reference,
        lang,
    };
    let extensions = crate::progress::Progress::of(order, events, &reference, lang)
        .extensions
        .into_iter()
        .map(|e| {
            format!(
                "{} {}：{}",
                format::pick(lang, ("延至", "until")),
                format::time(e.until),
                e.reason
            )
        })
        .collect();
    let unit = order.lead().map(|lead| names.unit(lead));
    let deadline = match &order.stage {
        Stage::Dispatched(_) | Stage::Accepted(_) => order
            .handle_by
            .map(|at| Deadline::new(&reference, "", at, state.clock.now(), lang)),
        _ => None,
    };
    Tracked {
        no: order.no.to_string(),
        stage: names.stage(&order.stage),
        category: names.category(&order.category),
        received_at: format::time(order.received_at),
        unit,
        deadline,
        extensions,
        reply: order
            .reply
            .as_ref()
            .map(|r| names.reply(r.outcome, &r.actions)),
        closed_at: order.closed_at.map(format::time),
    }
}
