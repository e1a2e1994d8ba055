//! `POST /ui/orders/{no}/act/{command}`: one command from a form of [`super::commands`] — from
//! the order page or a desk's row. The form carries the CSRF token, the version the page showed
//! and its own idempotency key (a double click runs the command once). A refused form shows the
//! order again with what was typed and why; a stale version shows the order as it stands now.
//! The reveal of the requester (查看完整信息) is recorded first and shown on the page it returns.

use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Arc;
use whistle_core::error::Lang;
use whistle_core::order::{Command, Satisfaction, VisitResult};
use whistle_store::Idempotency;

use super::commands;
use super::format;
use super::pages::{order_page, Extra};
use super::{csrf_ok, page_language, signed_in, Viewer};
use crate::AppState;

pub async fn act(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path((no, name)): Path<(String, String)>,
    form: Result<Form<Vec<(String, String)>>, axum::extract::rejection::FormRejection>,
) -> Response {
    let here = format!("/ui/orders/{no}");
    let viewer = match signed_in(&state, &headers, &here).await {
        Ok(viewer) => viewer,
        Err(response) => return response,
    };
    let lang = page_language(&headers);
    let pick = |labels: (&str, &str)| format::pick(lang, labels).to_string();
    let Ok(Form(pairs)) = form else {
        return super::failure(
            StatusCode::BAD_REQUEST,
            pick(("表单格式不正确", "the form could not be read")),
            lang,
        );
    };
    let values: HashMap<String, String> = pairs.iter().cloned().collect();
    let get = |key: &str| values.get(key).map(String::as_str).unwrap_or("");
    if !csrf_ok(&viewer.csrf, &headers, Some(get("csrf"))) {
        return super::failure(
            StatusCode::FORBIDDEN,
            pick((
                "页面已过期，请刷新后重试",
                "the page has expired; reload it and try again",
            )),
            lang,
        );
    }
    let reference = state.store.reference();
    let refused = |status: StatusCode, message: String| {
        let extra = Extra {
            refused: Some((name.clone(), values.clone(), message)),
            status: Some(status),
            ..Extra::default()
        };
        order_page(&state, &viewer, &no, lang, extra)
    };
    let Ok(version) = get("version").parse::<u64>() else {
        return super::failure(
            StatusCode::BAD_REQUEST,
            pick((
                "表单缺少工单版本，请刷新后重试",
                "the form lacks the order's version; reload and try again",
            )),
            lang,
        );
    };
    if !commands::ACTIONS.contains(&name.as_str()) {
        let error = crate::error::ApiError::not_found(lang);
        return super::failure(error.status, error.message, lang);
    }
    let command = match commands::parse(&name, &values, &reference, lang) {
        Ok(command) => command,
        Err(message) => return refused(StatusCode::UNPROCESSABLE_ENTITY, message).await,
    };
    if name == "reveal" {
        return reveal(&state, &viewer, &no, command, lang).await;
    }
    let version = Some(version);
    let key = idempotency(&viewer, &no, &name, &pairs);
    let visit = match &command {
        Command::ReturnVisit { result } => Some(result.clone()),
        _ => None,
    };
    let outcome =
        crate::api::run_command(&state, &viewer.principal, &no, command, version, key, lang).await;
    if let Err(error) = outcome {
        return refused(error.status, error.message).await;
    }
    // A visit goes on as the agent chose: satisfied → closed; dissatisfied → reopened (重办);
    // "unreasonable" leaves it visited, in the supervisor's ruling queue.
    if let Some(result) = visit {
        let then = match (get("then"), &result) {
            ("auto", VisitResult::Valid { satisfaction, .. }) => {
                if *satisfaction == Satisfaction::Dissatisfied {
                    Some(Command::Reopen {
                        reason: pick(("回访不满意", "dissatisfied at the return visit")),
                    })
                } else {
                    Some(Command::Close {
                        note: String::new(),
                    })
                }
            }
            _ => None,
        };
        if let Some(command) = then {
            let then_key = idempotency(&viewer, &no, "visit-then", &pairs);
            if let Err(error) = crate::api::run_command(
                &state,
                &viewer.principal,
                &no,
                command,
                None,
                then_key,
                lang,
            )
            .await
            {
                // The visit is recorded; what follows can be done from the order page.
                return order_page(
                    &state,
                    &viewer,
                    &no,
                    lang,
                    Extra {
                        refused: Some((String::new(), HashMap::new(), error.message)),
                        status: Some(error.status),
                        ..Extra::default()
                    },
                )
                .await;
            }
        }
    }
    let next = get("next");
    if next.is_empty() {
        Redirect::to(&here).into_response()
    } else {
        Redirect::to(super::safe_next(next)).into_response()
    }
}

/// The form's idempotency key, with the hash of what it carried (the key alone could be reused
/// for a different command: refused as a conflict).
fn idempotency(
    viewer: &Viewer,
    no: &str,
    name: &str,
    pairs: &[(String, String)],
) -> Option<Idempotency> {
    let key = pairs.iter().find(|(k, _)| k == "key").map(|(_, v)| v)?;
    if key.is_empty() || key.len() > 64 {
        return None;
    }
    let mut hasher = Sha256::new();
    for (k, v) in pairs {
        if k != "csrf" && k != "version" && k != "next" {
            hasher.update(k.as_bytes());
            hasher.update([0]);
            hasher.update(v.as_bytes());
            hasher.update([0]);
        }
    }
    Some(Idempotency {
        principal: viewer.principal.name.clone(),
        key: format!("ui-{no}-{name}-{key}"),
        request_hash: hex::encode(hasher.finalize()),
    })
}

/// Records the reveal (who, why) and then shows the order with the requester in full.
async fn reveal(
    state: &AppState,
    viewer: &Viewer,
    no: &str,
    command: Command,
    lang: Lang,
) -> Response {
    match reveal_requester(state, viewer, no, command, lang).await {
        Ok((_, requester)) => {
            let extra = Extra {
                revealed: Some(requester),
                ..Extra::default()
            };
            order_page(state, viewer, no, lang, extra).await
        }
        Err(response) => response,
    }
}

/// The reveal every page shares (the order page, the visit desk): the role may see personal
/// data, the `RevealRequester` command is recorded, then the requester is read. The order as it
/// stands after the reveal, and the requester in full; or the refusal as a page.
pub async fn reveal_requester(
    state: &AppState,
    viewer: &Viewer,
    no: &str,
    command: Command,
    lang: Lang,
) -> Result<(whistle_core::order::Order, whistle_store::Requester), Response> {
    if !viewer.role.may_reveal() {
        let error = crate::error::ApiError::forbidden(lang);
        return Err(super::failure(error.status, error.message, lang));
    }
    let (_, order) =
        crate::api::run_command(state, &viewer.principal, no, command, None, None, lang)
            .await
            .map_err(|error| super::failure(error.status, error.message, lang))?;
    let requester = state
        .store
        .requester(order.id)
        .await
        .map_err(|error| super::store_failure(error, lang))?
        .unwrap_or_default();
    Ok((order, requester))
}
