//! The double assessment (双考核) of a month: per department, its report-ins and ratings; per
//! street, its whistles and grid cases — within the caller's jurisdiction.

use serde::Serialize;
use whistle_core::time::Timestamp;
use whistle_core::whistle::{DepartmentFigures, StreetFigures, WhistleKind};
use whistle_store::{Scope, Store, StoreError};

use crate::document::{Cell, Document, Lang, Table};

/// The figures of a month, as the JSON form publishes them.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Assessment {
    pub month: String,
    /// Whistles raised in the month within the scope.
    pub whistles: usize,
    pub departments: Vec<DepartmentFigures>,
    pub streets: Vec<StreetFigures>,
}

impl Assessment {
    /// True when the month holds neither a whistle nor a grid case within the scope.
    pub fn is_empty(&self) -> bool {
        self.whistles == 0 && self.streets.is_empty()
    }
}

/// Which table the CSV form carries (CSV holds one table).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AssessmentTable {
    #[default]
    Departments,
    Streets,
}

/// The double assessment of `month` (`YYYY-MM`) within `scope`, as of `now`.
pub async fn assessment(
    store: &dyn Store,
    month: &str,
    scope: &Scope,
    now: Timestamp,
) -> Result<Assessment, StoreError> {
    let (from, before) = month_range(month)?;
    let whistles = store.whistles_raised(scope, from, before).await?;
    let grid = store.grid_counts(scope, from, before).await?;
    let (departments, streets) = whistle_core::whistle::double_assessment(&whistles, &grid, now);
    Ok(Assessment {
        month: month.to_string(),
        whistles: whistles.len(),
        departments,
        streets,
    })
}

fn number(value: Option<f64>) -> String {
    value.map(|v| format!("{v:.2}")).unwrap_or_default()
}

fn kind_count(street: &StreetFigures, kind: WhistleKind) -> i64 {
    street.by_kind.get(&kind).copied().unwrap_or(0) as i64
}

/// One table as CSV: the departments' or the streets'.
pub fn assessment_csv(assessment: &Assessment, table: AssessmentTable) -> String {
    use WhistleKind::*;
    match table {
        AssessmentTable::Departments => {
            let mut out = String::from(
                "unit,summoned,on_time,late,absent,not_duty,mean_report_minutes,ratings,mean_rating,objections_won,objections_lost\n",
            );
            for d in &assessment.departments {
                out.push_str(&format!(
                    "{},{},{},{},{},{},{},{},{},{},{}\n",
                    d.unit,
                    d.summoned,
                    d.on_time,
                    d.late,
                    d.absent,
                    d.not_duty,
                    number(d.mean_report_minutes),
                    d.ratings,
                    number(d.mean_rating),
                    d.objections_won,
                    d.objections_lost
                ));
            }
            out
        }
        AssessmentTable::Streets => {
            let mut out = String::from("street,raised,enforcement,key_task,emergency,request,solved,partly_solved,not_solvable,still_open,escalated,grid_found,grid_verified\n");
            for s in &assessment.streets {
                out.push_str(&format!(
                    "{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
                    s.street,
                    s.raised,
                    kind_count(s, Enforcement),
                    kind_count(s, KeyTask),
                    kind_count(s, Emergency),
                    kind_count(s, Request),
                    s.solved,
                    s.partly_solved,
                    s.not_solvable,
                    s.still_open,
                    s.escalated,
                    s.grid_found,
                    s.grid_verified
                ));
            }
            out
        }
    }
}

/// Both tables as a document, for XLSX and text output.
pub fn assessment_document(
    assessment: &Assessment,
    reference: &whistle_core::reference::Reference,
    lang: Lang,
) -> Document {
    let names = crate::bulletins::Names { reference, lang };
    let columns = |pairs: &[(&str, &str)]| -> Vec<crate::document::Column> {
        pairs.iter().map(|(zh, en)| lang.col(zh, en)).collect()
    };
    let rate = |value: Option<f64>| Cell::Text(number(value));
    let mut departments = Table::new(
        "departments",
        lang.t("部门报到与评价", "Departments: report-ins and ratings"),
        columns(&[
            ("单位代码", "unit"),
            ("单位", "name"),
            ("被召集", "summoned"),
            ("准时", "on time"),
            ("迟到", "late"),
            ("缺席", "absent"),
            ("非职责", "not duty"),
            ("平均报到分钟", "mean report minutes"),
            ("评价数", "ratings"),
            ("平均评分", "mean rating"),
            ("异议成立", "objections won"),
            ("异议不成立", "objections lost"),
        ]),
    );
    for d in &assessment.departments {
        departments.push(vec![
            Cell::Text(d.unit.to_string()),
            Cell::Text(names.unit(d.unit.as_str())),
            Cell::from(d.summoned as i64),
            Cell::from(d.on_time as i64),
            Cell::from(d.late as i64),
            Cell::from(d.absent as i64),
            Cell::from(d.not_duty as i64),
            rate(d.mean_report_minutes),
            Cell::from(d.ratings as i64),
            rate(d.mean_rating),
            Cell::from(d.objections_won as i64),
            Cell::from(d.objections_lost as i64),
        ]);
    }
    let mut streets = Table::new(
        "streets",
        lang.t("街乡吹哨与网格", "Streets: whistles and grid cases"),
        columns(&[
            ("街乡镇代码", "street"),
            ("街乡镇", "name"),
            ("吹哨", "raised"),
            ("综合执法", "enforcement"),
            ("重点工作", "key task"),
            ("应急处置", "emergency"),
            ("群众诉求", "request"),
            ("已解决", "solved"),
            ("部分解决", "partly solved"),
            ("无法解决", "not solvable"),
            ("未办结", "still open"),
            ("上报区级", "escalated"),
            ("网格发现", "grid found"),
            ("网格核实", "grid verified"),
        ]),
    );
    use WhistleKind::*;
    for s in &assessment.streets {
        streets.push(vec![
            Cell::Text(s.street.to_string()),
            Cell::Text(names.unit(s.street.as_str())),
            Cell::from(s.raised as i64),
            Cell::from(kind_count(s, Enforcement)),
            Cell::from(kind_count(s, KeyTask)),
            Cell::from(kind_count(s, Emergency)),
            Cell::from(kind_count(s, Request)),
            Cell::from(s.solved as i64),
            Cell::from(s.partly_solved as i64),
            Cell::from(s.not_solvable as i64),
            Cell::from(s.still_open as i64),
            Cell::from(s.escalated as i64),
            Cell::from(s.grid_found as i64),
            Cell::from(s.grid_verified as i64),
        ]);
    }
    Document {
        kind: "double-assessment".into(),
        subject: assessment.month.clone(),
        lang,
        title: lang.t(
            &format!("{} 吹哨报到双考核", assessment.month),
            &format!("Double assessment, {}", assessment.month),
        ),
        empty: assessment.is_empty(),
        summary: vec![lang.t(
            &format!("本月吹哨 {} 次。", assessment.whistles),
            &format!("{} whistles raised in the month.", assessment.whistles),
        )],
        tables: vec![departments, streets],
    }
}

/// A Beijing calendar month `YYYY-MM` as [start, end).
pub fn month_range(
    month: &str,
) -> Result<(Timestamp, Timestamp), whistle_core::error::DomainError> {
    use chrono::Datelike;
    let bad = || whistle_core::error::DomainError::InvalidValue {
        field: "month".into(),
        value: month.chars().take(20).collect(),
    };
    let start =
        chrono::NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").map_err(|_| bad())?;
    let next = if start.month() == 12 {
        chrono::NaiveDate::from_ymd_opt(start.year() + 1, 1, 1)
    } else {
        chrono::NaiveDate::from_ymd_opt(start.year(), start.month() + 1, 1)
    }
    .ok_or_else(bad)?;
    let at = |date: chrono::NaiveDate| {
        whistle_core::time::from_beijing(date.and_time(chrono::NaiveTime::MIN))
    };
    Ok((at(start), at(next)))
}
