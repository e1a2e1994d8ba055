//! The handling unit's commands from an order's page (and 签收 from the inbox's rows): 签收, 联系诉求人, 办结反馈 and 申请延期 —
//! each a small form, offered only when the viewer's unit leads the order, the role may give the
//! command and the stage allows it (the engine decides again, with the version the page showed).

use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use std::sync::Arc;
use whistle_core::calendar::TimeLimit;
use whistle_core::order::{Command, Order, ReplyOutcome, Stage};

use super::format;
use super::{csrf_ok, page_language, signed_in, Viewer};
use crate::AppState;

/// Which of the handling commands the page offers the viewer.
#[derive(Default)]
pub struct Offered {
    pub accept: bool,
    pub contact: bool,
    pub reply: bool,
    pub extend: bool,
}

impl Offered {
    pub fn any(&self) -> bool {
        self.accept || self.contact || self.reply || self.extend
    }
}

pub fn offered(viewer: &Viewer, order: &Order) -> Offered {
    let leads = order.lead() == Some(&viewer.principal.unit);
    let may = |command: &Command| leads && viewer.role.may(command);
    let note = String::new();
    match &order.stage {
        Stage::Dispatched(_) => Offered {
            accept: may(&Command::Accept),
            contact: may(&Command::Contact { note }),
            ..Offered::default()
        },
        Stage::Accepted(_) => Offered {
            contact: may(&Command::Contact { note: note.clone() }),
            reply: may(&Command::Reply {
                outcome: ReplyOutcome::Resolved,
                actions: note.clone(),
            }),
            extend: order.extension.is_none()
                && may(&Command::RequestExtension {
                    extra: TimeLimit::WorkingDays(1),
                    reason: note,
                }),
            ..Offered::default()
        },
        _ => Offered::default(),
    }
}

#[derive(Deserialize, Default)]
pub struct ActForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    version: u64,
    #[serde(default)]
    note: String,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    actions: String,
    /// Working days asked for.
    #[serde(default)]
    days: String,
    #[serde(default)]
    reason: String,
    /// Where to go afterwards (the inbox's row comes back to its list); the order by default.
    #[serde(default)]
    next: String,
}

/// `POST /ui/orders/{no}/act/{command}`: runs the command, then shows the order again.
pub async fn act(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path((no, name)): Path<(String, String)>,
    form: Result<Form<ActForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let here = format!("/ui/orders/{no}");
    let viewer = match signed_in(&state, &headers, &here).await {
        Ok(viewer) => viewer,
        Err(response) => return response,
    };
    let lang = page_language(&headers);
    let pick = |labels: (&str, &str)| format::pick(lang, labels).to_string();
    let refuse = |status: StatusCode, message: String| super::failure(status, message, lang);
    let Ok(Form(form)) = form else {
        return refuse(
            StatusCode::BAD_REQUEST,
            pick(("表单格式不正确", "the form could not be read")),
        );
    };
    if !csrf_ok(&viewer.csrf, &headers, Some(&form.csrf)) {
        return refuse(
            StatusCode::FORBIDDEN,
            pick((
                "页面已过期，请刷新后重试",
                "the page has expired; reload it and try again",
            )),
        );
    }
    let required = |text: &str, what: (&str, &str)| {
        let text = text.trim();
        if text.is_empty() {
            Err(pick(what))
        } else {
            Ok(text.to_string())
        }
    };
    let command = match name.as_str() {
        "accept" => Command::Accept,
        "contact" => match required(
            &form.note,
            ("请写明联系情况", "say how the requester was contacted"),
        ) {
            Ok(note) => Command::Contact { note },
            Err(message) => return refuse(StatusCode::UNPROCESSABLE_ENTITY, message),
        },
        "reply" => {
            let Ok(outcome) = form.outcome.parse::<ReplyOutcome>() else {
                return refuse(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    pick(("请选择办理结果", "choose the outcome")),
                );
            };
            match required(&form.actions, ("请写明办理情况", "say what was done")) {
                Ok(actions) => Command::Reply { outcome, actions },
                Err(message) => return refuse(StatusCode::UNPROCESSABLE_ENTITY, message),
            }
        }
        "extend" => {
            let days = form
                .days
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|d| (1..=60).contains(d));
            let Some(days) = days else {
                return refuse(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    pick(("延期天数应为 1–60 个工作日", "ask for 1–60 working days")),
                );
            };
            match required(
                &form.reason,
                ("请写明延期理由", "give the reason for the extension"),
            ) {
                Ok(reason) => Command::RequestExtension {
                    extra: TimeLimit::WorkingDays(days),
                    reason,
                },
                Err(message) => return refuse(StatusCode::UNPROCESSABLE_ENTITY, message),
            }
        }
        _ => {
            let error = crate::error::ApiError::not_found(lang);
            return refuse(error.status, error.message);
        }
    };
    match crate::api::run_command(
        &state,
        &viewer.principal,
        &no,
        command,
        Some(form.version),
        None,
        lang,
    )
    .await
    {
        Ok(_) if form.next.is_empty() => Redirect::to(&here).into_response(),
        Ok(_) => Redirect::to(super::safe_next(&form.next)).into_response(),
        Err(error) => refuse(error.status, error.message),
    }
}
