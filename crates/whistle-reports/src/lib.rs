//! What Whistle publishes (一套机制): the daily bulletin, the weekly summary and the monthly
//! analysis, the analyses (hotspots, repeats, governance-class streets, the topics of the month),
//! the evaluation (一张卷子) and the double assessment (双考核) — built from the store's reads,
//! never by reading every order of a period, and rendered as JSON, CSV, XLSX or text in Simplified
//! Chinese (default) or English.
//!
//! One way in for every caller: [`Report::parse`] the parameters, [`build`] the report,
//! [`Published::render`] it. The HTTP handler and the command line do nothing else.
//!
//! Invariant: a report reads the store only through the `Store` trait's report reads; it writes
//! nothing but the chosen topics (a setting).
//! Invariant: the same data, policy and `now` give the same bytes in every format (a document
//! carries no clock of its own; the XLSX properties carry a fixed date).

pub mod analyses;
pub mod assessment;
pub mod bulletins;
pub mod document;
pub mod editions;
pub mod evaluation;
pub mod export;
mod params;

pub use assessment::{Assessment, AssessmentTable};
pub use document::{Cell, Document, Format, Lang, Table};
pub use evaluation::EvaluationReport;
pub use params::{ParamError, Report, ReportKind, ReportParams};

use std::sync::Arc;
use whistle_core::reference::Reference;
use whistle_core::time::Timestamp;
use whistle_store::{Store, StoreError};

/// A built report, ready to render in any format.
#[derive(Clone, Debug)]
pub enum Published {
    /// A bulletin or an analysis: its document is every format.
    Document(Document),
    /// The evaluation: its own JSON and CSV; a document for XLSX and text.
    Evaluation(Box<EvaluationReport>, Lang),
    /// The double assessment: its own JSON, one table per CSV; a document for XLSX and text.
    Assessment {
        assessment: Assessment,
        table: AssessmentTable,
        reference: Arc<Reference>,
        lang: Lang,
    },
}

/// A report's bytes and how to serve them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    pub bytes: Vec<u8>,
    pub content_type: &'static str,
    /// The file name an XLSX download is saved under.
    pub filename: Option<String>,
}

/// Builds `report` as of `now` in `lang`: reads what it needs, refuses a period in the future or
/// malformed parameters with a domain error naming the field.
pub async fn build(
    store: &dyn Store,
    report: &Report,
    now: Timestamp,
    lang: Lang,
) -> Result<Published, StoreError> {
    Ok(match report {
        Report::Daily { date } => {
            Published::Document(bulletins::daily(store, date, now, lang).await?)
        }
        Report::Weekly { week } => {
            Published::Document(bulletins::weekly(store, week, now, lang).await?)
        }
        Report::Monthly { month } => {
            Published::Document(bulletins::monthly(store, month, now, lang).await?)
        }
        Report::Hotspots { date } => {
            Published::Document(analyses::hotspots(store, date, now, lang).await?)
        }
        Report::Repeats { from, to } => {
            Published::Document(analyses::repeats(store, from, to, now, lang).await?)
        }
        Report::GovernanceStreets { month } => {
            Published::Document(analyses::governance_streets(store, month, now, lang).await?)
        }
        Report::Topics { month } => {
            Published::Document(analyses::topics(store, month, now, lang).await?)
        }
        Report::Evaluation {
            period,
            unit,
            edition,
        } => {
            let mut evaluation = editions::published(store, period, *edition, now).await?;
            if let Some(unit) = unit {
                evaluation::only_unit(&mut evaluation, unit, &store.reference())?;
            }
            Published::Evaluation(Box::new(evaluation), lang)
        }
        Report::DoubleAssessment {
            month,
            table,
            scope,
        } => Published::Assessment {
            assessment: assessment::assessment(store, month, scope, now).await?,
            table: *table,
            reference: store.reference(),
            lang,
        },
    })
}

/// A document's bytes with its download name when they are a workbook.
fn rendered(document: &Document, format: Format, bytes: Vec<u8>) -> Rendered {
    Rendered {
        bytes,
        content_type: format.content_type(),
        filename: (format == Format::Xlsx).then(|| {
            format!(
                "{}-{}.xlsx",
                document.kind,
                document.subject.replace('/', "_")
            )
        }),
    }
}

fn json(value: &impl serde::Serialize) -> Result<Vec<u8>, StoreError> {
    // Every instant in Beijing time, as the API shows them.
    let mut bytes = serde_json::to_vec_pretty(&whistle_core::outside::InBeijing(value))
        .map_err(anyhow::Error::from)?;
    bytes.push(b'\n');
    Ok(bytes)
}

impl Published {
    /// The report as a document (the form XLSX and text are written from).
    pub fn document(&self) -> Document {
        match self {
            Published::Document(document) => document.clone(),
            Published::Evaluation(report, lang) => evaluation::evaluation_document(report, *lang),
            Published::Assessment {
                assessment,
                reference,
                lang,
                ..
            } => assessment::assessment_document(assessment, reference, *lang),
        }
    }

    /// True when the period holds no data.
    pub fn is_empty(&self) -> bool {
        match self {
            Published::Document(document) => document.empty,
            Published::Evaluation(report, _) => report.empty,
            Published::Assessment { assessment, .. } => assessment.is_empty(),
        }
    }

    /// What to tell the reader of an empty report (the command line prints it on stderr).
    pub fn empty_note(&self) -> Option<String> {
        if !self.is_empty() {
            return None;
        }
        match self {
            Published::Document(document) => document
                .summary
                .first()
                .map(|line| format!("{}: {line}", document.lang.t("提示", "note"))),
            Published::Evaluation(report, lang) => Some(lang.t(
                &format!(
                    "提示 note: {} 至 {} 没有派单或回访数据",
                    report.first_day, report.last_day
                ),
                &format!(
                    "note: no dispatch or return visit from {} to {}",
                    report.first_day, report.last_day
                ),
            )),
            Published::Assessment { .. } => None,
        }
    }

    /// The report in `format`.
    pub fn render(&self, format: Format) -> Result<Rendered, StoreError> {
        let bytes = match (self, format) {
            (Published::Evaluation(report, _), Format::Json) => json(report)?,
            (Published::Evaluation(report, _), Format::Csv) => {
                evaluation::evaluation_csv(report).into_bytes()
            }
            (Published::Assessment { assessment, .. }, Format::Json) => json(assessment)?,
            (
                Published::Assessment {
                    assessment, table, ..
                },
                Format::Csv,
            ) => assessment::assessment_csv(assessment, *table).into_bytes(),
            (Published::Document(document), format) => {
                return Ok(rendered(document, format, document.render(format)?))
            }
            (other, format) => {
                let document = other.document();
                return Ok(rendered(&document, format, document.render(format)?));
            }
        };
        Ok(Rendered {
            bytes,
            content_type: format.content_type(),
            filename: None,
        })
    }
}
