//! 派单台: the dispatch centre's queues — orders waiting for dispatch (each with the catalogue's
//! suggested lead and co-handlers and the rule that matched; `Enter` on a row takes the
//! suggestion; selected rows are dispatched together), disputes to review (the unit's reason
//! beside the catalogue's rule; upheld → redispatch) and extension requests to decide. Oldest
//! first, within the viewer's scope, filterable by district, street, category, channel and age.

use askama::Template;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use std::sync::Arc;
use whistle_core::error::Lang;
use whistle_core::ids::{CategoryCode, OrderId, UnitCode};
use whistle_core::order::{Command, Order};
use whistle_store::{Awaiting, Idempotency, OrderFilter, PageRequest};

use super::commands::{self, Action, Suggestion};
use super::format::{self, Names};
use super::{chrome, csrf_ok, page_language, signed_in, urlencode, Chrome};
use crate::roles::Role;
use crate::AppState;

/// The tabs: (value, what they wait for, Chinese, English).
const TABS: [(&str, Option<Awaiting>, &str, &str); 3] = [
    ("waiting", None, "待派单", "waiting"),
    ("disputes", Some(Awaiting::Dispute), "派单异议", "disputes"),
    (
        "extensions",
        Some(Awaiting::Extension),
        "延期申请",
        "extensions",
    ),
];

const PAGE: u32 = 50;
/// A tab's count is shown up to this; beyond it, "100+".
const COUNT_UP_TO: u32 = 100;

#[derive(Deserialize, Default, Clone)]
pub struct DispatchQuery {
    #[serde(default)]
    tab: String,
    #[serde(default)]
    district: String,
    #[serde(default)]
    street: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    channel: String,
    #[serde(default)]
    urgency: String,
    /// Waiting at least this many hours.
    #[serde(default)]
    age: String,
    #[serde(default)]
    after: String,
    /// After a bulk dispatch: how many went, and the numbers that did not.
    #[serde(default)]
    done: String,
    #[serde(default)]
    failed: String,
}

pub struct Tab {
    pub href: String,
    pub label: String,
    pub count: String,
    pub current: bool,
}

pub struct QueueRow {
    pub no: String,
    pub version: u64,
    pub waited: String,
    pub category: String,
    pub place: String,
    pub text: String,
    pub urgent: bool,
    pub lead: String,
    /// The catalogue's units by name and the rule, when the catalogue has one.
    pub suggestion: Option<(String, String)>,
    /// The row's decision form (a dispute's review, an extension's decision).
    pub action: Option<Action>,
}

#[derive(Template)]
#[template(path = "dispatch.html")]
struct DispatchPage {
    chrome: Chrome,
    query: DispatchQuery,
    tabs: Vec<Tab>,
    rows: Vec<QueueRow>,
    next: Option<String>,
    here: String,
    channels: Vec<(String, String)>,
    districts: Vec<(String, String)>,
    bulk_key: String,
    message: Option<String>,
}

fn query_string(query: &DispatchQuery, tab: &str, after: Option<&str>) -> String {
    let mut parts = vec![format!("tab={tab}")];
    for (name, value) in [
        ("district", &query.district),
        ("street", &query.street),
        ("category", &query.category),
        ("channel", &query.channel),
        ("urgency", &query.urgency),
        ("age", &query.age),
    ] {
        if !value.is_empty() {
            parts.push(format!("{name}={}", urlencode(value)));
        }
    }
    if let Some(after) = after {
        parts.push(format!("after={}", urlencode(after)));
    }
    format!("/ui/dispatch?{}", parts.join("&"))
}

fn may_dispatch(role: Role) -> bool {
    matches!(role, Role::Dispatcher | Role::Admin)
}

/// `GET /ui/dispatch`.
pub async fn page(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(mut query): Query<DispatchQuery>,
) -> Response {
    let viewer = match signed_in(&state, &headers, "/ui/dispatch").await {
        Ok(viewer) => viewer,
        Err(response) => return response,
    };
    let lang = page_language(&headers);
    if !may_dispatch(viewer.role) {
        let error = crate::error::ApiError::forbidden(lang);
        return super::failure(error.status, error.message, lang);
    }
    if !TABS.iter().any(|(tab, ..)| *tab == query.tab) {
        query.tab = "waiting".into();
    }
    let now = state.clock.now();
    let hours = query.age.trim().parse::<i64>().ok().filter(|h| *h > 0);
    let filter_of = |awaiting: Option<Awaiting>| OrderFilter {
        stage: awaiting.is_none().then(|| "pending_dispatch".to_string()),
        awaiting,
        district: UnitCode::parse(query.district.trim()).ok(),
        street: UnitCode::parse(query.street.split_whitespace().last().unwrap_or("")).ok(),
        category: CategoryCode::parse(query.category.split_whitespace().next().unwrap_or("")).ok(),
        channel: Some(query.channel.trim().to_string()).filter(|c| !c.is_empty()),
        urgency: query.urgency.trim().parse().ok(),
        received_before: hours.map(|h| now - chrono::Duration::hours(h)),
        oldest_first: true,
        ..OrderFilter::default()
    };
    let scope = &viewer.principal.scope;
    let mut tabs = Vec::new();
    let mut listed = None;
    for (tab, awaiting, zh, en) in TABS {
        let current = tab == query.tab;
        let request = PageRequest {
            after: Some(query.after.clone()).filter(|a| !a.is_empty() && current),
            limit: if current { PAGE } else { COUNT_UP_TO },
        };
        let page = match state
            .store
            .list_orders(scope, &filter_of(awaiting), &request)
            .await
        {
            Ok(page) => page,
            Err(error) => return super::store_failure(error, lang),
        };
        let count = if current && request.after.is_some() {
            String::new()
        } else if page.next.is_some() && !current {
            format!("{COUNT_UP_TO}+")
        } else if page.next.is_some() {
            format!("{PAGE}+")
        } else {
            page.items.len().to_string()
        };
        tabs.push(Tab {
            href: query_string(&query, tab, None),
            label: format::pick(lang, (zh, en)).to_string(),
            count,
            current,
        });
        if current {
            listed = Some(page);
        }
    }
    let listed = listed.unwrap_or(whistle_store::Page {
        items: Vec::new(),
        next: None,
    });
    let ids: Vec<OrderId> = listed.items.iter().map(|s| s.id).collect();
    let orders = match state.store.orders_by_id(&ids).await {
        Ok(orders) => orders,
        Err(error) => return super::store_failure(error, lang),
    };
    let reference = state.store.reference();
    let names = Names {
        reference: &reference,
        lang,
    };
    let rows = orders
        .iter()
        .map(|order| queue_row(order, &query.tab, &names, now))
        .collect();
    let message = bulk_message(&query, lang);
    let here = query_string(
        &query,
        &query.tab,
        Some(&query.after)
            .filter(|a| !a.is_empty())
            .map(|a| a.as_str()),
    );
    let channels = whistle_core::order::Channel::ALL
        .iter()
        .map(|c| {
            (
                c.as_str().to_string(),
                format::pick(lang, c.labels()).to_string(),
            )
        })
        .collect();
    let districts = reference
        .directory
        .children(&reference.city)
        .iter()
        .filter_map(|c| reference.directory.get(c))
        .filter(|u| u.kind == whistle_core::org::UnitKind::District)
        .map(|u| (u.code.to_string(), u.name.clone()))
        .collect();
    let title = format::pick(lang, ("派单台", "Dispatch"));
    let page = DispatchPage {
        chrome: chrome(&state, Some(&viewer), lang, title, "/ui/dispatch"),
        next: listed
            .next
            .as_deref()
            .map(|after| query_string(&query, &query.tab, Some(after))),
        tabs,
        rows,
        here,
        channels,
        districts,
        bulk_key: crate::auth::random_hex(12),
        message,
        query,
    };
    super::render(&page, StatusCode::OK)
}

fn queue_row(
    order: &Order,
    tab: &str,
    names: &Names,
    now: whistle_core::time::Timestamp,
) -> QueueRow {
    let lang = names.lang;
    let suggestion = Suggestion::of(order, names.reference, lang);
    let action = match tab {
        "disputes" => Some(commands::review_dispute_action(
            order,
            names.reference,
            lang,
        )),
        "extensions" => Some(commands::decide_extension_action(order, lang)),
        _ => None,
    };
    let waited = now - order.received_at;
    let waited = if waited.num_hours() >= 24 {
        format!("{} {}", waited.num_days(), format::pick(lang, ("天", "d")))
    } else if waited.num_minutes() >= 60 {
        format!(
            "{} {}",
            waited.num_hours(),
            format::pick(lang, ("小时", "h"))
        )
    } else {
        format!(
            "{} {}",
            waited.num_minutes().max(0),
            format::pick(lang, ("分钟", "min"))
        )
    };
    QueueRow {
        no: order.no.to_string(),
        version: order.version,
        waited,
        category: names.category(&order.category),
        place: names.place(order),
        text: order.text.chars().take(60).collect(),
        urgent: order.urgency == whistle_core::order::Urgency::Emergency,
        lead: order.lead().map(|u| names.unit(u)).unwrap_or_default(),
        suggestion: suggestion.map(|s| (s.units, s.rule)),
        action,
    }
}

fn bulk_message(query: &DispatchQuery, lang: Lang) -> Option<String> {
    let done = query.done.parse::<usize>().ok()?;
    let failed: Vec<&str> = query.failed.split(',').filter(|n| !n.is_empty()).collect();
    Some(match (lang, failed.is_empty()) {
        (Lang::Zh, true) => format!("已按目录派出 {done} 件。"),
        (Lang::Zh, false) => format!(
            "已按目录派出 {done} 件；未能派出：{}（请逐件处理）。",
            failed.join("、")
        ),
        (Lang::En, true) => format!("{done} dispatched by the catalogue."),
        (Lang::En, false) => format!(
            "{done} dispatched; not dispatched: {} (one by one, please).",
            failed.join(", ")
        ),
    })
}

struct BulkForm {
    csrf: String,
    key: String,
    /// `NO:VERSION` for each selected row.
    picks: Vec<String>,
}

/// `POST /ui/dispatch/bulk`: the selected rows dispatched by the catalogue, each as its own
/// command (one refused does not hold up the others; each is idempotent under the form's key).
pub async fn bulk(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    form: Result<Form<Vec<(String, String)>>, axum::extract::rejection::FormRejection>,
) -> Response {
    let viewer = match signed_in(&state, &headers, "/ui/dispatch").await {
        Ok(viewer) => viewer,
        Err(response) => return response,
    };
    let lang = page_language(&headers);
    // Repeated `pick` fields: read as pairs (serde_urlencoded keeps only one into a Vec field).
    let Ok(Form(pairs)) = form else {
        return super::failure(
            StatusCode::BAD_REQUEST,
            format::pick(lang, ("表单格式不正确", "the form could not be read")).into(),
            lang,
        );
    };
    let form = BulkForm {
        csrf: pairs
            .iter()
            .find(|(k, _)| k == "csrf")
            .map(|(_, v)| v.clone())
            .unwrap_or_default(),
        key: pairs
            .iter()
            .find(|(k, _)| k == "key")
            .map(|(_, v)| v.clone())
            .unwrap_or_default(),
        picks: pairs
            .iter()
            .filter(|(k, _)| k == "pick")
            .map(|(_, v)| v.clone())
            .collect(),
    };
    if !csrf_ok(&viewer.csrf, &headers, Some(&form.csrf)) {
        return super::failure(
            StatusCode::FORBIDDEN,
            format::pick(
                lang,
                (
                    "页面已过期，请刷新后重试",
                    "the page has expired; reload it and try again",
                ),
            )
            .into(),
            lang,
        );
    }
    if !may_dispatch(viewer.role) {
        let error = crate::error::ApiError::forbidden(lang);
        return super::failure(error.status, error.message, lang);
    }
    if form.picks.is_empty() || form.picks.len() > PAGE as usize {
        return super::failure(
            StatusCode::UNPROCESSABLE_ENTITY,
            format::pick(
                lang,
                (
                    "请选择要派出的工单（每次至多 50 件）",
                    "select the orders to dispatch (at most 50)",
                ),
            )
            .into(),
            lang,
        );
    }
    let mut done = 0;
    let mut failed = Vec::new();
    for pick in &form.picks {
        let Some((no, version)) = pick.split_once(':') else {
            continue;
        };
        let Ok(version) = version.parse::<u64>() else {
            failed.push(no.to_string());
            continue;
        };
        let key = (!form.key.is_empty() && form.key.len() <= 64).then(|| Idempotency {
            principal: viewer.principal.name.clone(),
            key: format!("ui-bulk-{}-{no}", form.key),
            request_hash: no.to_string(),
        });
        let command = Command::Dispatch {
            unit: None,
            co_handlers: Vec::new(),
            handle_by: None,
        };
        match crate::api::run_command(
            &state,
            &viewer.principal,
            no,
            command,
            Some(version),
            key,
            lang,
        )
        .await
        {
            Ok(_) => done += 1,
            Err(_) => failed.push(no.to_string()),
        }
    }
    let failed: Vec<String> = failed
        .into_iter()
        .filter(|n| n.chars().all(|c| c.is_ascii_digit() || c == '-'))
        .collect();
    Redirect::to(&format!(
        "/ui/dispatch?tab=waiting&done={done}&failed={}",
        failed.join(",")
    ))
    .into_response()
}
