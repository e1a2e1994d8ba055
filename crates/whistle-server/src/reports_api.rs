//! `/api/v1/reports/…`: the bulletins (日通报、周汇总、月分析) and the analyses (hotspots, repeats,
//! governance-class streets, topics of the month) as JSON, CSV, XLSX or text — the same documents
//! as `whistle report …`, in the request's language (Chinese by default). Every staff role may
//! read them: they carry counts, unit names, order numbers and public places, never a requester.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use whistle_core::error::Lang;
use whistle_store::document::{Document, Format, Lang as DocLang};
use whistle_store::{analysis, bulletins};

use crate::auth::{Language, Principal};
use crate::error::{ApiError, ApiResult};
use crate::AppState;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    date: Option<String>,
    week: Option<String>,
    month: Option<String>,
    from: Option<String>,
    to: Option<String>,
    /// `json` (default), `csv`, `xlsx` or `text`.
    format: Option<String>,
}

type Query = crate::input::Params<ReportQuery>;

fn doc_lang(lang: Lang) -> DocLang {
    match lang {
        Lang::Zh => DocLang::Zh,
        Lang::En => DocLang::En,
    }
}

fn required<'a>(value: &'a Option<String>, name: &str, lang: Lang) -> ApiResult<&'a str> {
    value.as_deref().ok_or_else(|| {
        ApiError::bad_request(
            "invalid_query",
            &match lang {
                Lang::Zh => format!("缺少参数 {name}"),
                Lang::En => format!("missing parameter {name}"),
            },
            lang,
        )
    })
}

fn respond(document: Document, format: Option<&str>, lang: Lang) -> ApiResult<Response> {
    let format = Format::parse(format.unwrap_or("json")).map_err(|e| ApiError::store(e, lang))?;
    let bytes = document
        .render(format)
        .map_err(|e| ApiError::store(e, lang))?;
    let mut response = (
        [(axum::http::header::CONTENT_TYPE, format.content_type())],
        bytes,
    )
        .into_response();
    if format == Format::Xlsx {
        let name = format!(
            "{}-{}.xlsx",
            document.kind,
            document.subject.replace('/', "_")
        );
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

/// Which report a route serves.
#[derive(Clone, Copy)]
pub enum Kind {
    Daily,
    Weekly,
    Monthly,
    Hotspots,
    Repeats,
    GovernanceStreets,
    Topics,
}

async fn report(
    kind: Kind,
    state: Arc<AppState>,
    lang: Lang,
    principal: Principal,
    crate::input::Params(params): Query,
) -> ApiResult<Response> {
    principal.role(lang)?;
    let store = &*state.store;
    let now = state.clock.now();
    let dl = doc_lang(lang);
    let document = match kind {
        Kind::Daily => {
            bulletins::daily(store, required(&params.date, "date", lang)?, now, dl).await
        }
        Kind::Weekly => {
            bulletins::weekly(store, required(&params.week, "week", lang)?, now, dl).await
        }
        Kind::Monthly => {
            bulletins::monthly(store, required(&params.month, "month", lang)?, now, dl).await
        }
        Kind::Hotspots => {
            analysis::hotspots(store, required(&params.date, "date", lang)?, now, dl).await
        }
        Kind::Repeats => {
            analysis::repeats(
                store,
                required(&params.from, "from", lang)?,
                required(&params.to, "to", lang)?,
                now,
                dl,
            )
            .await
        }
        Kind::GovernanceStreets => {
            analysis::governance_streets(store, required(&params.month, "month", lang)?, now, dl)
                .await
        }
        Kind::Topics => {
            analysis::topics(store, required(&params.month, "month", lang)?, now, dl).await
        }
    }
    .map_err(|e| ApiError::store(e, lang))?;
    respond(document, params.format.as_deref(), lang)
}

macro_rules! route {
    ($name:ident, $kind:expr) => {
        pub async fn $name(
            State(state): State<Arc<AppState>>,
            Language(lang): Language,
            principal: Principal,
            params: Query,
        ) -> ApiResult<Response> {
            report($kind, state, lang, principal, params).await
        }
    };
}

route!(daily, Kind::Daily);
route!(weekly, Kind::Weekly);
route!(monthly, Kind::Monthly);
route!(hotspots, Kind::Hotspots);
route!(repeats, Kind::Repeats);
route!(governance_streets, Kind::GovernanceStreets);
route!(topics, Kind::Topics);

/// The evaluation in XLSX or text (JSON and CSV are served by `whistles_api::evaluation`).
pub fn evaluation_document(
    report: &whistle_store::reports::EvaluationReport,
    format: &str,
    lang: Lang,
) -> ApiResult<Response> {
    respond(
        analysis::evaluation_document(report, doc_lang(lang)),
        Some(format),
        lang,
    )
}
