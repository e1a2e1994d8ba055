//! 回访台: the return-visit desk — replied orders, oldest first, one at a time with the unit's
//! reply and the call script's three questions (`1/2/3` satisfaction, `Y/N` contacted and
//! resolved, `Ctrl+Enter` save and next), invalid-visit reasons, and what follows: satisfied →
//! closed, dissatisfied → reopened (重办), an unreasonable demand → the supervisor's ruling queue.
//! The requester's phone is masked until the agent reveals it (recorded, with the reason).

use askama::Template;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use std::sync::Arc;
use whistle_core::error::Lang;
use whistle_core::order::{Command, Order};
use whistle_store::{OrderFilter, PageRequest, Requester};

use super::commands::{self, Action};
use super::format::{self, Names};
use super::{chrome, csrf_ok, page_language, signed_in, Chrome, Viewer};
use crate::roles::Role;
use crate::AppState;

/// How many of the queue the desk lists beneath the current order.
const QUEUE: u32 = 20;

#[derive(Deserialize, Default)]
pub struct VisitsQuery {
    /// A particular order of the queue (else the oldest).
    #[serde(default)]
    no: String,
}

pub struct Current {
    pub no: String,
    pub version: u64,
    pub category: String,
    pub place: String,
    pub text: String,
    pub unit: String,
    pub reply: String,
    pub replied_at: String,
    pub requester: String,
    pub reopened: u32,
}

pub struct Waiting {
    pub no: String,
    pub category: String,
    pub received: String,
}

/// The agent's shift counters: today's visits (Beijing day) by result.
#[derive(Default)]
pub struct Shift {
    pub total: usize,
    pub satisfied: usize,
    pub basically: usize,
    pub dissatisfied: usize,
    pub invalid: usize,
}

impl Shift {
    fn of(visits: &[whistle_core::order::VisitResult]) -> Shift {
        use whistle_core::order::{Satisfaction, VisitResult};
        let mut shift = Shift {
            total: visits.len(),
            ..Shift::default()
        };
        for visit in visits {
            match visit {
                VisitResult::Valid { satisfaction, .. } => match satisfaction {
                    Satisfaction::Satisfied => shift.satisfied += 1,
                    Satisfaction::BasicallySatisfied => shift.basically += 1,
                    Satisfaction::Dissatisfied => shift.dissatisfied += 1,
                },
                VisitResult::Invalid { .. } => shift.invalid += 1,
            }
        }
        shift
    }
}

#[derive(Template)]
#[template(path = "visits.html")]
struct VisitsPage {
    chrome: Chrome,
    shift: Shift,
    current: Option<Current>,
    action: Option<Action>,
    revealed: bool,
    queue: Vec<Waiting>,
    more: bool,
}

fn may_visit(role: Role) -> bool {
    matches!(role, Role::VisitAgent | Role::Admin)
}

/// `GET /ui/visits`.
pub async fn page(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(query): Query<VisitsQuery>,
) -> Response {
    let viewer = match signed_in(&state, &headers, "/ui/visits").await {
        Ok(viewer) => viewer,
        Err(response) => return response,
    };
    let lang = page_language(&headers);
    desk(&state, &viewer, query.no.trim(), None, lang).await
}

async fn desk(
    state: &AppState,
    viewer: &Viewer,
    chosen: &str,
    revealed: Option<Requester>,
    lang: Lang,
) -> Response {
    if !may_visit(viewer.role) {
        let error = crate::error::ApiError::forbidden(lang);
        return super::failure(error.status, error.message, lang);
    }
    let filter = OrderFilter {
        stage: Some("replied".into()),
        oldest_first: true,
        ..OrderFilter::default()
    };
    let request = PageRequest {
        after: None,
        limit: QUEUE + 1,
    };
    let listed = match state
        .store
        .list_orders(&viewer.principal.scope, &filter, &request)
        .await
    {
        Ok(page) => page,
        Err(error) => return super::store_failure(error, lang),
    };
    let current_no = if chosen.is_empty() {
        listed.items.first().map(|s| s.no.to_string())
    } else {
        Some(chosen.to_string())
    };
    let order = match current_no {
        Some(no) => match crate::api::visible_order(state, &viewer.principal, &no, lang).await {
            Ok(order) => Some(order),
            Err(error) => return super::failure(error.status, error.message, lang),
        },
        None => None,
    };
    let reference = state.store.reference();
    let names = Names {
        reference: &reference,
        lang,
    };
    let is_revealed = revealed.is_some();
    let current = match &order {
        Some(order) => {
            let requester = match revealed {
                Some(r) => Some(r),
                None => match state.store.requester(order.id).await {
                    Ok(r) => r.map(|r| r.masked()),
                    Err(error) => return super::store_failure(error, lang),
                },
            };
            Some(current(order, requester, &names))
        }
        None => None,
    };
    let now = state.clock.now();
    let action = order.as_ref().and_then(|order| {
        commands::offered(viewer, order, &reference, now, lang)
            .into_iter()
            .find(|a| a.name == "visit")
    });
    let queue: Vec<Waiting> = listed
        .items
        .iter()
        .filter(|s| Some(s.no.to_string()) != current.as_ref().map(|c| c.no.clone()))
        .take(QUEUE as usize)
        .map(|s| Waiting {
            no: s.no.to_string(),
            category: whistle_core::ids::CategoryCode::parse(&s.category)
                .map(|c| names.category(&c))
                .unwrap_or_else(|_| s.category.clone()),
            received: format::time(s.received_at),
        })
        .collect();
    let today = whistle_core::time::midnight(whistle_core::time::beijing_date(now));
    let shift = match state.store.visits_by(&viewer.principal.name, today).await {
        Ok(visits) => Shift::of(&visits),
        Err(error) => return super::store_failure(error, lang),
    };
    let title = format::pick(lang, ("回访台", "Return visits"));
    let page = VisitsPage {
        shift,
        chrome: chrome(state, Some(viewer), lang, title, "/ui/visits"),
        current,
        action,
        revealed: is_revealed,
        more: listed.next.is_some(),
        queue,
    };
    super::render(&page, StatusCode::OK)
}

fn current(order: &Order, requester: Option<Requester>, names: &Names) -> Current {
    let lang = names.lang;
    Current {
        no: order.no.to_string(),
        version: order.version,
        category: names.category(&order.category),
        place: names.place(order),
        text: order.text.clone(),
        unit: order.lead().map(|u| names.unit(u)).unwrap_or_default(),
        reply: order
            .reply
            .as_ref()
            .map(|r| names.reply(r.outcome, &r.actions))
            .unwrap_or_default(),
        replied_at: order.replied_at.map(format::time).unwrap_or_default(),
        requester: requester
            .map(|r| {
                [r.name, r.phone]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .filter(|r| !r.is_empty())
            .unwrap_or_else(|| format::pick(lang, ("（未留）", "(none given)")).to_string()),
        reopened: order.reopen_count,
    }
}

#[derive(Deserialize)]
pub struct RevealForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    no: String,
    #[serde(default)]
    reason: String,
}

/// `POST /ui/visits/reveal`: the phone to call, recorded (who, why) before it is shown.
pub async fn reveal(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    form: Result<Form<RevealForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let viewer = match signed_in(&state, &headers, "/ui/visits").await {
        Ok(viewer) => viewer,
        Err(response) => return response,
    };
    let lang = page_language(&headers);
    let pick = |labels| format::pick(lang, labels).to_string();
    let Ok(Form(form)) = form else {
        return super::failure(
            StatusCode::BAD_REQUEST,
            pick(("表单格式不正确", "the form could not be read")),
            lang,
        );
    };
    if !csrf_ok(&viewer.csrf, &headers, Some(&form.csrf)) {
        return super::failure(
            StatusCode::FORBIDDEN,
            pick((
                "页面已过期，请刷新后重试",
                "the page has expired; reload it and try again",
            )),
            lang,
        );
    }
    let reason = form.reason.trim();
    if reason.is_empty() {
        return super::failure(
            StatusCode::UNPROCESSABLE_ENTITY,
            pick((
                "请写明查看理由（将被记录）",
                "give the reason (it is recorded)",
            )),
            lang,
        );
    }
    let command = Command::RevealRequester {
        reason: reason.to_string(),
    };
    let (order, requester) =
        match super::act::reveal_requester(&state, &viewer, &form.no, command, lang).await {
            Ok(revealed) => revealed,
            Err(response) => return response,
        };
    desk(
        &state,
        &viewer,
        &order.no.to_string(),
        Some(requester),
        lang,
    )
    .await
}
