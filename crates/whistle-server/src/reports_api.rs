//! `GET /api/v1/reports/{kind}`: the bulletins (日通报、周汇总、月分析), the analyses (hotspots,
//! repeats, governance-class streets, topics of the month), the evaluation (一张卷子) and the
//! double assessment (双考核) as JSON (default), CSV, XLSX or text — the same documents as
//! `whistle report …`, in the request's language (Chinese by default). Parse, build, render:
//! nothing else happens here. Every staff role may read them: they carry counts, unit names,
//! order numbers and public places, never a requester; the double assessment is cut to the
//! caller's jurisdiction, the rest is published city-wide.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use whistle_core::error::Lang;
use whistle_reports::{Format, Report, ReportKind, ReportParams};

use crate::auth::{Language, Principal};
use crate::error::{ApiError, ApiResult};
use crate::AppState;

/// Any report, by its name in the path.
pub async fn report(
    State(state): State<Arc<AppState>>,
    Language(lang): Language,
    principal: Principal,
    Path(kind): Path<String>,
    crate::input::Params(params): crate::input::Params<ReportParams>,
) -> ApiResult<Response> {
    principal.role(lang)?;
    let kind = ReportKind::parse(&kind).ok_or_else(|| {
        ApiError::new(
            axum::http::StatusCode::NOT_FOUND,
            "not_found",
            "没有该报表",
            "no such report",
            lang,
        )
    })?;
    let format = Format::parse(params.format.as_deref().unwrap_or("json"))
        .map_err(|e| ApiError::store(e, lang))?;
    let report = Report::parse(kind, &params)
        .map_err(|e| ApiError::bad_request("invalid_query", &e.message(lang == Lang::Zh), lang))?
        .within(&principal.scope);
    let published = whistle_reports::build(&*state.store, &report, state.clock.now(), lang.into())
        .await
        .map_err(|e| ApiError::store(e, lang))?;
    let rendered = published
        .render(format)
        .map_err(|e| ApiError::store(e, lang))?;
    let mut response = (
        [(axum::http::header::CONTENT_TYPE, rendered.content_type)],
        rendered.bytes,
    )
        .into_response();
    if let Some(name) = rendered.filename {
        if let Ok(value) =
            axum::http::HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
        {
            response
                .headers_mut()
                .insert(axum::http::header::CONTENT_DISPOSITION, value);
        }
    }
    Ok(response)
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportParams {
    /// `YYYY-MM`.
    #[schemars(
        regex(pattern = "^(19[7-9][0-9]|2[01][0-9][0-9])-(0[1-9]|1[0-2])$"),
        required
    )]
    period: Option<String>,
}

/// `GET /api/v1/export/orders?period=YYYY-MM`: the raw rows an independent check recomputes the
/// evaluation from (`whistle export orders`), as CSV — city-wide, so only for those who see the
/// whole city: administrators, the centre's supervisors, city leaders. No personal data.
pub async fn export_orders(
    State(state): State<Arc<AppState>>,
    Language(lang): Language,
    principal: Principal,
    crate::input::Params(params): crate::input::Params<ExportParams>,
) -> ApiResult<Response> {
    let role = principal.role(lang)?;
    let whole_city = principal.scope == whistle_store::Scope::All;
    if !(whole_city && role.may_export_orders()) {
        return Err(ApiError::forbidden(lang));
    }
    let period = params
        .period
        .filter(|p| !p.trim().is_empty())
        .ok_or_else(|| {
            ApiError::bad_request("invalid_query", "period=YYYY-MM is required", lang)
        })?;
    // A period that is not one is the query's fault (400), checked before anything is read.
    state
        .store
        .reference()
        .policy
        .evaluation
        .period(period.trim())
        .map_err(|e| ApiError::domain(&e, lang).status(axum::http::StatusCode::BAD_REQUEST))?;
    // Streamed, a thousand orders at a time: a month of the city (two million orders) never
    // sits in memory. A store failure part-way ends the body early (the transfer fails).
    use whistle_reports::export::{orders_rows, period_orders, ORDERS_CHUNK, ORDERS_HEADER};
    let ids = period_orders(&*state.store, period.trim())
        .await
        .map_err(|e| ApiError::store(e, lang))?;
    let (store, ids) = (state.store.clone(), std::sync::Arc::new(ids));
    // The state: the next step (0 is the header, n the n-th chunk), None after a failure.
    let chunks = futures_util::stream::unfold(Some(0usize), move |next| {
        let (store, ids) = (store.clone(), ids.clone());
        async move {
            let next = next?;
            if next == 0 {
                let header = axum::body::Bytes::from_static(ORDERS_HEADER.as_bytes());
                return Some((Ok(header), Some(1)));
            }
            let chunk = ids.chunks(ORDERS_CHUNK).nth(next - 1)?;
            match orders_rows(&*store, chunk).await {
                Ok(rows) => Some((Ok(axum::body::Bytes::from(rows)), Some(next + 1))),
                Err(error) => {
                    tracing::error!(%error, "the order export stopped part-way");
                    let error = std::io::Error::other("the order export stopped part-way");
                    Some((Err(error), None))
                }
            }
        }
    });
    let filename = format!("attachment; filename=\"orders-{}.csv\"", period.trim());
    let mut response = (
        [(axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8")],
        axum::body::Body::from_stream(chunks),
    )
        .into_response();
    if let Ok(value) = axum::http::HeaderValue::from_str(&filename) {
        response
            .headers_mut()
            .insert(axum::http::header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// What to publish: close a period (edition 1) or publish its pending adjustments as a revision.
#[derive(serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EditionBody {
    /// `YYYY-MM`
    #[schemars(regex(pattern = "^(19[7-9][0-9]|2[01][0-9][0-9])-(0[1-9]|1[0-2])$"))]
    pub period: String,
    pub action: EditionAction,
    /// What the publication is; a revision says why (required for it).
    #[serde(default)]
    pub note: String,
}

#[derive(Clone, Copy, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EditionAction {
    Close,
    Revise,
}

/// `POST /api/v1/evaluation/editions`: closes a period or publishes a revision (administrators);
/// answers the edition as published, its adjustments and their reasons (201).
pub async fn publish_edition(
    State(state): State<Arc<AppState>>,
    Language(lang): Language,
    principal: Principal,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> ApiResult<Response> {
    let role = principal.role(lang)?;
    if !role.may_publish_evaluation() {
        return Err(ApiError::forbidden(lang));
    }
    let body = body.map_err(|e| ApiError::body(e, lang))?;
    let body: EditionBody = crate::input::parse_json(&body, lang)?;
    let actor = principal.actor();
    let now = state.clock.now();
    let store = &*state.store;
    let report = match body.action {
        EditionAction::Close => {
            whistle_reports::editions::close(store, &body.period, now, &actor, &body.note).await
        }
        EditionAction::Revise => {
            whistle_reports::editions::revise(store, &body.period, now, &actor, &body.note).await
        }
    }
    .map_err(|e| ApiError::store(e, lang))?;
    Ok((axum::http::StatusCode::CREATED, crate::views::Json(report)).into_response())
}
