//! Which report, with which parameters: one parser for the HTTP query and the command line, so a
//! parameter means the same thing on both and a report that needs one says so the same way.

use whistle_store::Scope;

use crate::assessment::AssessmentTable;

/// The reports Whistle publishes, by the name the URL (`/api/v1/reports/{name}`) and the
/// command line (`whistle report {name}`) use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportKind {
    Daily,
    Weekly,
    Monthly,
    Hotspots,
    Repeats,
    GovernanceStreets,
    Topics,
    Evaluation,
    DoubleAssessment,
}

impl ReportKind {
    pub const ALL: [ReportKind; 9] = [
        ReportKind::Daily,
        ReportKind::Weekly,
        ReportKind::Monthly,
        ReportKind::Hotspots,
        ReportKind::Repeats,
        ReportKind::GovernanceStreets,
        ReportKind::Topics,
        ReportKind::Evaluation,
        ReportKind::DoubleAssessment,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ReportKind::Daily => "daily",
            ReportKind::Weekly => "weekly",
            ReportKind::Monthly => "monthly",
            ReportKind::Hotspots => "hotspots",
            ReportKind::Repeats => "repeats",
            ReportKind::GovernanceStreets => "governance-streets",
            ReportKind::Topics => "topics",
            ReportKind::Evaluation => "evaluation",
            ReportKind::DoubleAssessment => "double-assessment",
        }
    }

    pub fn parse(name: &str) -> Option<ReportKind> {
        ReportKind::ALL.into_iter().find(|kind| kind.name() == name)
    }

    /// The parameters this report takes: the first ones are required.
    pub fn takes(self) -> (&'static [&'static str], &'static [&'static str]) {
        match self {
            ReportKind::Daily | ReportKind::Hotspots => (&["date"], &[]),
            ReportKind::Weekly => (&["week"], &[]),
            ReportKind::Monthly | ReportKind::GovernanceStreets | ReportKind::Topics => {
                (&["month"], &[])
            }
            ReportKind::Repeats => (&["from", "to"], &[]),
            ReportKind::Evaluation => (&["period"], &["unit", "edition"]),
            ReportKind::DoubleAssessment => (&["month"], &["table"]),
        }
    }
}

/// The parameters as they arrive (a query string's or the command line's), all optional here:
/// [`Report::parse`] decides which the report needs and which it does not take.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportParams {
    /// `YYYY-MM-DD` (Beijing): the daily bulletin, the hotspots.
    pub date: Option<String>,
    /// `YYYY-Www`: the weekly summary.
    pub week: Option<String>,
    /// `YYYY-MM`: the monthly analysis, governance streets, topics, the double assessment.
    pub month: Option<String>,
    /// `YYYY-MM-DD`, with `to` (inclusive): repeat requests.
    pub from: Option<String>,
    pub to: Option<String>,
    /// `YYYY-MM`: the evaluation period (with a policy start day, the period ending in it).
    pub period: Option<String>,
    /// The evaluation of one unit only (ranked among its whole peer group).
    pub unit: Option<String>,
    /// The evaluation as published in this edition of a closed period (1 = as closed).
    pub edition: Option<String>,
    /// The double assessment's CSV table: `departments` (default) or `streets`.
    pub table: Option<String>,
    /// `json` (default over HTTP), `csv`, `xlsx` or `text`.
    pub format: Option<String>,
}

impl ReportParams {
    fn get(&self, name: &str) -> Option<&str> {
        match name {
            "date" => self.date.as_deref(),
            "week" => self.week.as_deref(),
            "month" => self.month.as_deref(),
            "from" => self.from.as_deref(),
            "to" => self.to.as_deref(),
            "period" => self.period.as_deref(),
            "unit" => self.unit.as_deref(),
            "edition" => self.edition.as_deref(),
            "table" => self.table.as_deref(),
            _ => None,
        }
    }
}

const PARAMETERS: [&str; 9] = [
    "date", "week", "month", "from", "to", "period", "unit", "edition", "table",
];

/// A report asked for, its parameters checked for presence (their values are checked when it is
/// built, against the calendar and the reference data).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Report {
    Daily {
        date: String,
    },
    Weekly {
        week: String,
    },
    Monthly {
        month: String,
    },
    Hotspots {
        date: String,
    },
    Repeats {
        from: String,
        to: String,
    },
    GovernanceStreets {
        month: String,
    },
    Topics {
        month: String,
    },
    Evaluation {
        period: String,
        unit: Option<String>,
        edition: Option<u32>,
    },
    DoubleAssessment {
        month: String,
        table: AssessmentTable,
        scope: Scope,
    },
}

/// Why parameters do not make a report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParamError {
    /// A parameter the report needs is missing.
    Missing(&'static str),
    /// A parameter this report does not take.
    NotTaken(&'static str),
    /// A parameter with a value outside its fixed set (`table`).
    Invalid(&'static str),
}

impl ParamError {
    /// The message, in Chinese or English. Values are never echoed.
    pub fn message(&self, zh: bool) -> String {
        match (self, zh) {
            (ParamError::Missing(name), true) => format!("缺少参数 {name}"),
            (ParamError::Missing(name), false) => format!("missing parameter {name}"),
            (ParamError::NotTaken(name), true) => format!("该报表不接受参数 {name}"),
            (ParamError::NotTaken(name), false) => {
                format!("this report does not take the parameter {name}")
            }
            (ParamError::Invalid("table"), true) => "table 只能是 departments 或 streets".into(),
            (ParamError::Invalid("table"), false) => "table is departments or streets".into(),
            (ParamError::Invalid(name), true) => format!("参数 {name} 的值无效"),
            (ParamError::Invalid(name), false) => format!("invalid value of {name}"),
        }
    }
}

impl Report {
    /// The report `kind` with `params`. The double assessment covers everything until
    /// [`Report::within`] narrows it to a caller's jurisdiction.
    pub fn parse(kind: ReportKind, params: &ReportParams) -> Result<Report, ParamError> {
        let (required, optional) = kind.takes();
        for name in PARAMETERS {
            if params.get(name).is_some() && !required.contains(&name) && !optional.contains(&name)
            {
                return Err(ParamError::NotTaken(name));
            }
        }
        let need = |name: &'static str| -> Result<String, ParamError> {
            params
                .get(name)
                .map(str::to_string)
                .ok_or(ParamError::Missing(name))
        };
        Ok(match kind {
            ReportKind::Daily => Report::Daily {
                date: need("date")?,
            },
            ReportKind::Weekly => Report::Weekly {
                week: need("week")?,
            },
            ReportKind::Monthly => Report::Monthly {
                month: need("month")?,
            },
            ReportKind::Hotspots => Report::Hotspots {
                date: need("date")?,
            },
            ReportKind::Repeats => Report::Repeats {
                from: need("from")?,
                to: need("to")?,
            },
            ReportKind::GovernanceStreets => Report::GovernanceStreets {
                month: need("month")?,
            },
            ReportKind::Topics => Report::Topics {
                month: need("month")?,
            },
            ReportKind::Evaluation => Report::Evaluation {
                period: need("period")?,
                unit: params.unit.clone(),
                edition: match params.edition.as_deref() {
                    None => None,
                    Some(n) => Some(
                        n.parse::<u32>()
                            .ok()
                            .filter(|n| *n >= 1)
                            .ok_or(ParamError::Invalid("edition"))?,
                    ),
                },
            },
            ReportKind::DoubleAssessment => Report::DoubleAssessment {
                month: need("month")?,
                table: match params.table.as_deref() {
                    None | Some("departments") => AssessmentTable::Departments,
                    Some("streets") => AssessmentTable::Streets,
                    Some(_) => return Err(ParamError::Invalid("table")),
                },
                scope: Scope::All,
            },
        })
    }

    pub fn kind(&self) -> ReportKind {
        match self {
            Report::Daily { .. } => ReportKind::Daily,
            Report::Weekly { .. } => ReportKind::Weekly,
            Report::Monthly { .. } => ReportKind::Monthly,
            Report::Hotspots { .. } => ReportKind::Hotspots,
            Report::Repeats { .. } => ReportKind::Repeats,
            Report::GovernanceStreets { .. } => ReportKind::GovernanceStreets,
            Report::Topics { .. } => ReportKind::Topics,
            Report::Evaluation { .. } => ReportKind::Evaluation,
            Report::DoubleAssessment { .. } => ReportKind::DoubleAssessment,
        }
    }

    /// Narrows a report that is cut by jurisdiction (the double assessment) to `scope`. The
    /// bulletins, the analyses and the evaluation are published city-wide: every staff role
    /// reads the same figures.
    pub fn within(mut self, caller: &Scope) -> Report {
        if let Report::DoubleAssessment { scope, .. } = &mut self {
            *scope = caller.clone();
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> ReportParams {
        let value = serde_json::Value::Object(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), serde_json::Value::String(v.to_string())))
                .collect(),
        );
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn each_report_takes_its_own_parameters() {
        assert_eq!(
            Report::parse(ReportKind::Daily, &params(&[("date", "2025-10-09")])),
            Ok(Report::Daily {
                date: "2025-10-09".into()
            })
        );
        assert_eq!(
            Report::parse(ReportKind::Daily, &params(&[])),
            Err(ParamError::Missing("date"))
        );
        assert_eq!(
            Report::parse(ReportKind::Repeats, &params(&[("from", "2025-10-01")])),
            Err(ParamError::Missing("to"))
        );
        assert_eq!(
            Report::parse(
                ReportKind::Daily,
                &params(&[("date", "2025-10-09"), ("month", "2025-10")])
            ),
            Err(ParamError::NotTaken("month"))
        );
        assert_eq!(
            Report::parse(
                ReportKind::DoubleAssessment,
                &params(&[("month", "2025-10"), ("table", "people")])
            ),
            Err(ParamError::Invalid("table"))
        );
        let narrowed = Report::parse(
            ReportKind::DoubleAssessment,
            &params(&[("month", "2025-10")]),
        )
        .map(|r| {
            r.within(&Scope::Street(
                whistle_core::ids::UnitCode::parse("110105010").unwrap(),
            ))
        });
        assert!(matches!(
            narrowed,
            Ok(Report::DoubleAssessment {
                scope: Scope::Street(_),
                table: AssessmentTable::Departments,
                ..
            })
        ));
        for kind in ReportKind::ALL {
            assert_eq!(ReportKind::parse(kind.name()), Some(kind));
        }
        assert_eq!(ReportKind::parse("pdf"), None);
    }
}
