//! The staff's pages: the landing with the viewer's desks, and the order detail every role in
//! the order's scope shares.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Arc;
use whistle_core::error::Lang;
use whistle_core::order::{EscalationLevel, EventPayload};
use whistle_store::Requester;

use super::commands::{self, Action};
use super::format::{self, Deadline, Names};
use super::{chrome, page_language, signed_in, Chrome, Viewer};
use crate::roles::Role;
use crate::AppState;

/// A desk (工作台) on the landing page and in the menu.
pub struct Desk {
    pub href: String,
    pub label: String,
    pub note: String,
}

/// The desks a role works at. The landing shows them; the menu links them.
pub fn desks(role: Role, lang: Lang) -> Vec<Desk> {
    let desk = |href: &str, zh: (&str, &str), en: (&str, &str)| {
        let (label, note) = match lang {
            Lang::Zh => zh,
            Lang::En => en,
        };
        Desk {
            href: href.to_string(),
            label: label.to_string(),
            note: note.to_string(),
        }
    };
    let mut desks = vec![desk(
        "/ui/",
        ("工作台", "按工单号查看工单"),
        ("Desks", "open an order by its number"),
    )];
    if role.may_intake() {
        desks.push(desk(
            "/ui/intake",
            ("受理台", "记录来电诉求，按目录派单"),
            ("Intake", "take a call in and dispatch it by the catalogue"),
        ));
    }
    if matches!(
        role,
        Role::Handler | Role::StreetOfficial | Role::DepartmentLiaison | Role::Admin
    ) {
        desks.push(desk(
            "/ui/inbox",
            ("承办台", "本单位的工单：待签收、办理中、已答复"),
            (
                "Inbox",
                "my unit's orders: to accept, being handled, replied",
            ),
        ));
    }
    if matches!(role, Role::Dispatcher | Role::Admin) {
        desks.push(desk(
            "/ui/dispatch",
            ("派单台", "待派单、派单异议、延期申请"),
            ("Dispatch", "waiting, disputes, extension requests"),
        ));
    }
    if matches!(role, Role::VisitAgent | Role::Admin) {
        desks.push(desk(
            "/ui/visits",
            ("回访台", "已答复的工单，先到先访"),
            ("Return visits", "replied orders, oldest first"),
        ));
    }
    if matches!(role, Role::Supervisor | Role::Admin) {
        desks.push(desk(
            "/ui/supervision",
            ("督办台", "超期、临期、待裁定"),
            ("Supervision", "overdue, due soon, rulings"),
        ));
    }
    if role == Role::Admin {
        desks.push(desk(
            "/ui/admin",
            ("系统管理", "账户、标准答复用语、基础数据"),
            ("Administration", "accounts, reply texts, reference data"),
        ));
        desks.push(desk(
            "/api/docs",
            ("接口文档", "JSON 接口与 Open311"),
            ("API", "the JSON API and Open311"),
        ));
    }
    desks
}

#[derive(Template)]
#[template(path = "landing.html")]
struct Landing {
    chrome: Chrome,
    desks: Vec<Desk>,
}

/// `GET /ui/`: the viewer's desks.
pub async fn landing(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let viewer = match signed_in(&state, &headers, "/ui/").await {
        Ok(viewer) => viewer,
        Err(response) => return response,
    };
    let lang = page_language(&headers);
    let title = match lang {
        Lang::Zh => "我的工作台",
        Lang::En => "My desks",
    };
    let page = Landing {
        chrome: chrome(&state, Some(&viewer), lang, title, "/ui/"),
        desks: desks(viewer.role, lang),
    };
    super::render(&page, StatusCode::OK)
}

#[derive(Deserialize)]
pub struct FindQuery {
    #[serde(default)]
    no: String,
}

/// `GET /ui/orders?no=…`: the lookup form's target.
pub async fn find_order(Query(query): Query<FindQuery>) -> Response {
    let no: String = query
        .no
        .trim()
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '-')
        .collect();
    if no.is_empty() {
        return Redirect::to("/ui/").into_response();
    }
    Redirect::to(&format!("/ui/orders/{no}")).into_response()
}

/// An order as its detail page shows it.
struct OrderPage {
    no: String,
    request_type: String,
    stage: String,
    /// (label, colour class).
    badges: Vec<(String, &'static str)>,
    category: String,
    category_code: String,
    received_at: String,
    channel: String,
    place: String,
    lead: Option<String>,
    co_handlers: String,
    deadline: Option<Deadline>,
    requester: String,
    text: String,
    reply: Option<String>,
}

struct Step {
    at: String,
    label: String,
    by: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "order.html")]
struct OrderDetail {
    chrome: Chrome,
    o: OrderPage,
    timeline: Vec<Step>,
    actions: Vec<Action>,
    version: u64,
    may_reveal: bool,
    revealed: bool,
    linked: Vec<String>,
    alert: Option<String>,
    files: Vec<FileView>,
    may_attach: bool,
    max_mb: usize,
}

/// An attachment as the order page lists it.
struct FileView {
    sha256: String,
    name: String,
    image: bool,
    size: String,
    added: String,
}

/// What an order page shows beyond the order: the requester after a recorded reveal, a refused
/// form with what was typed and why, a note after a command.
#[derive(Default)]
pub struct Extra {
    pub revealed: Option<Requester>,
    /// (the action's name, the values typed, the message).
    pub refused: Option<(String, HashMap<String, String>, String)>,
    pub status: Option<StatusCode>,
}

/// `GET /ui/orders/{no}`: the order, its masked requester and its attributed history, for a
/// viewer whose scope holds it (anyone else is told it does not exist, as in the API).
pub async fn order(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(no): Path<String>,
) -> Response {
    let here = format!("/ui/orders/{no}");
    let viewer = match signed_in(&state, &headers, &here).await {
        Ok(viewer) => viewer,
        Err(response) => return response,
    };
    let lang = page_language(&headers);
    order_page(&state, &viewer, &no, lang, Extra::default()).await
}

/// The order page for `viewer`, with what `extra` adds.
pub async fn order_page(
    state: &AppState,
    viewer: &Viewer,
    no: &str,
    lang: Lang,
    extra: Extra,
) -> Response {
    let here = format!("/ui/orders/{no}");
    let order = match crate::api::visible_order(state, &viewer.principal, no, lang).await {
        Ok(order) => order,
        Err(error) => return super::failure(error.status, error.message, lang),
    };
    let revealed = extra.revealed.is_some();
    let requester = match extra.revealed {
        Some(requester) => Some(requester),
        None => match state.store.requester(order.id).await {
            Ok(requester) => requester.map(|r| r.masked()),
            Err(error) => return super::store_failure(error, lang),
        },
    };
    let events = match state.store.history(order.id).await {
        Ok(events) => events,
        Err(error) => return super::store_failure(error, lang),
    };
    let files = match state.store.attachments(order.id).await {
        Ok(files) => files
            .into_iter()
            .map(|a| FileView {
                image: a.content_type.starts_with("image/"),
                size: format!("{:.0} KB", (a.size as f64 / 1024.0).ceil()),
                added: format::time(a.added_at),
                sha256: a.sha256,
                name: a.name,
            })
            .collect(),
        Err(error) => return super::store_failure(error, lang),
    };
    let reference = state.store.reference();
    let names = Names {
        reference: &reference,
        lang,
    };
    let now = state.clock.now();
    let t = |zh: &str, en: &str| format::pick(lang, (zh, en)).to_string();
    let mut badges = Vec::new();
    if order.reopen_count > 0 {
        badges.push((t("重办", "reopened"), "warn"));
    }
    if order.flagged || !order.notices.is_empty() || order.urge_count > 0 {
        badges.push((t("督办", "supervised"), "danger"));
    }
    if order.extension.is_some() {
        badges.push((t("延期申请中", "extension asked"), "warn"));
    } else if events.iter().any(|e| {
        matches!(
            e.payload,
            EventPayload::ExtensionDecided { approved: true, .. }
        )
    }) {
        badges.push((t("已延期", "extended"), "warn"));
    }
    if order.dispute.is_some() {
        badges.push((t("异议待审", "disputed"), "warn"));
    }
    if order.unreasonable.is_some() {
        badges.push((t("核减", "ruled unreasonable"), ""));
    }
    if let Some(level) = order.escalation {
        badges.push((
            match level {
                EscalationLevel::District => t("已提级（区）", "escalated (district)"),
                EscalationLevel::City => t("已提级（市）", "escalated (city)"),
            },
            "warn",
        ));
    }
    if !order.whistle_outcomes.is_empty() {
        badges.push((t("已吹哨", "whistle blown"), ""));
    }
    // Each unit with its person (承办人) when it assigned one: the name for the lead's.
    let mut assignee_names = std::collections::HashMap::new();
    for assignee in &order.assignees {
        if let Ok(Some((account, _))) = state.store.user(&assignee.login).await {
            assignee_names.insert(assignee.login.clone(), account.display_name);
        }
    }
    let with_person = |unit: &whistle_core::ids::UnitCode| {
        let name = names.unit(unit);
        match order.assignee(unit) {
            Some(login) => match assignee_names.get(login) {
                Some(person) if person != login => {
                    format!("{name} · {} {person}（{login}）", t("承办人", "handled by"))
                }
                _ => format!("{name} · {} {login}", t("承办人", "handled by")),
            },
            None => name,
        }
    };
    let lead = order.lead().map(with_person);
    let co_handlers = order
        .assignment()
        .map(|a| {
            a.co_handlers
                .iter()
                .map(with_person)
                .collect::<Vec<_>>()
                .join("、")
        })
        .unwrap_or_default();
    let requester = requester
        .map(|r| {
            [r.name, r.phone, r.address_detail.filter(|_| revealed)]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| t("（未留）", "(none given)"));
    let timeline = events
        .iter()
        .map(|event| {
            let (label, detail) = names.event(&event.payload);
            Step {
                at: format::time(event.at),
                label,
                by: format!("{} · {}", names.unit(&event.actor.unit), event.actor.user),
                detail,
            }
        })
        .collect();
    let page = OrderPage {
        no: order.no.to_string(),
        request_type: format::pick(lang, order.request_type.labels()).to_string(),
        stage: names.stage(&order.stage),
        badges,
        category: names.category(&order.category),
        category_code: order.category.to_string(),
        received_at: format::time(order.received_at),
        channel: format::pick(lang, order.channel.labels()).to_string(),
        place: names.place(&order),
        lead,
        co_handlers,
        deadline: Deadline::running(&reference, &order, now, lang),
        requester,
        text: order.text.clone(),
        reply: order
            .reply
            .as_ref()
            .map(|r| names.reply(r.outcome, &r.actions)),
    };
    let title = format!("{} {}", t("工单", "Order"), page.no);
    let mut actions = commands::offered(viewer, &order, &reference, now, lang);
    // The unit's people are read only when the assignment can be offered.
    if commands::may_assign(viewer, &order) {
        let colleagues = match super::colleagues(state, &viewer.principal.unit).await {
            Ok(people) => people,
            Err(error) => return super::store_failure(error, lang),
        };
        if let Some(action) = commands::assign_action(viewer, &order, &colleagues, lang) {
            // After 签收 where offered, else first.
            let at = actions
                .iter()
                .position(|a| a.name == "accept")
                .map_or(0, |i| i + 1);
            actions.insert(at, action);
        }
    }
    // The standard texts are read (a stored setting) only when the reply form is offered.
    if actions.iter().any(|a| a.name == "reply") {
        let texts = super::replies::load(state).await;
        commands::offer_reply_texts(
            &mut actions,
            &super::replies::for_category(&texts, &order.category),
            lang,
        );
    }
    let mut alert = None;
    if let Some((name, values, message)) = extra.refused {
        match actions.iter_mut().find(|a| a.name == name) {
            Some(action) => action.refill(&values, message),
            // No longer offered (someone else acted first): said at the top, over the order as it
            // stands now.
            None => alert = Some(message),
        }
    }
    let detail = OrderDetail {
        chrome: chrome(state, Some(viewer), lang, &title, &here),
        o: page,
        timeline,
        actions,
        version: order.version,
        may_reveal: viewer.role.may_reveal() && !revealed,
        revealed,
        linked: order.linked_to.iter().map(|n| n.to_string()).collect(),
        alert,
        files,
        may_attach: super::attachments::may_attach(viewer.role),
        max_mb: state.settings.attachment_max_bytes / (1024 * 1024),
    };
    super::render(&detail, extra.status.unwrap_or(StatusCode::OK))
}
