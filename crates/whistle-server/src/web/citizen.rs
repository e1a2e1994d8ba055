//! The citizen's page (`/`, no login): tracking a request by its number and the last four
//! digits of the phone given with it — stage, handling unit, deadline, extensions with their
//! reasons, the reply. Nothing personal and no staff names are shown (Regulation art. 8 and
//! 15(2): the requester may follow the handling and is told why it takes longer).

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use std::sync::Arc;
use whistle_core::error::Lang;
use whistle_core::order::{EventPayload, Stage};

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
struct CitizenPage {
    chrome: Chrome,
    no: String,
    last4: String,
    error: Option<String>,
    tracked: Option<Tracked>,
}

fn title(lang: Lang) -> &'static str {
    match lang {
        Lang::Zh => "市民诉求查询",
        Lang::En => "Track a request",
    }
}

/// `GET /`: the citizen's page.
pub async fn home(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let lang = page_language(&headers);
    let page = CitizenPage {
        chrome: chrome(&state, None, lang, title(lang), "/"),
        no: String::new(),
        last4: String::new(),
        error: None,
        tracked: None,
    };
    super::render(&page, StatusCode::OK)
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
    let lang = page_language(&headers);
    let no = query.no.trim().to_string();
    let last4 = query.last4.trim().to_string();
    let here = "/";
    let mut page = CitizenPage {
        chrome: chrome(&state, None, lang, title(lang), here),
        no: no.clone(),
        last4: String::new(),
        error: None,
        tracked: None,
    };
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
        return super::render(&page, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let order = match crate::api::tracked_order(&state, &ip.to_string(), &no, &last4, lang).await {
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
            return super::render(&page, error.status);
        }
    };
    let events = match state.store.history(order.id).await {
        Ok(events) => events,
        Err(error) => {
            let error = crate::error::ApiError::store(error, lang);
            page.error = Some(error.message);
            return super::render(&page, error.status);
        }
    };
    let reference = state.store.reference();
    let names = Names {
        reference: &reference,
        lang,
    };
    let extensions = events
        .iter()
        .filter_map(|event| match &event.payload {
            EventPayload::ExtensionRequested { reason, .. } => Some(reason.clone()),
            _ => None,
        })
        .zip(events.iter().filter_map(|event| match &event.payload {
            EventPayload::ExtensionDecided {
                approved, until, ..
            } => Some((*approved, *until)),
            _ => None,
        }))
        .filter(|(_, (approved, _))| *approved)
        .map(|(reason, (_, until))| {
            format!(
                "{} {}：{reason}",
                format::pick(lang, ("延至", "until")),
                format::time(until)
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
    page.last4 = last4;
    page.tracked = Some(Tracked {
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
    });
    super::render(&page, StatusCode::OK)
}
