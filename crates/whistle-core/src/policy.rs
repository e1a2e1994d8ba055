//! Policy: the numbers the city changes without code (DOMAIN §3). Defaults are DOMAIN.md's;
//! `whistle.toml` (section `[policy]`) or an imported policy file overrides them.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::calendar::TimeLimit;
use crate::error::DomainError;
use crate::ids::CategoryCode;
use crate::order::RequestType;
use crate::taxonomy::{LimitClass, Urgency};

/// The two clocks of a dispatched order: contact the requester (the *response*) and reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Limits {
    pub respond: TimeLimit,
    pub handle: TimeLimit,
}

/// A rule that overrides the class limits for orders matching every field it sets.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LimitOverride {
    #[serde(default)]
    pub request_type: Option<RequestType>,
    /// A category code; matches the category and its descendants.
    #[serde(default)]
    pub category: Option<CategoryCode>,
    #[serde(default)]
    pub urgency: Option<Urgency>,
    #[serde(default)]
    pub respond: Option<TimeLimit>,
    #[serde(default)]
    pub handle: Option<TimeLimit>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Policy {
    /// Limits per class.
    pub limits: BTreeMap<LimitClass, Limits>,
    /// More specific rules; the one matching most fields (then the deepest category) wins.
    pub overrides: Vec<LimitOverride>,
    /// The longest request text accepted, in characters.
    pub text_max_chars: usize,
    /// The longest note, reason or answer accepted, in characters.
    pub note_max_chars: usize,
    /// A running deadline this close gets a "due soon" notice from the deadline worker.
    pub due_soon_minutes: i64,
    /// 报到时限 per whistle kind (DOMAIN §4).
    pub report_in: BTreeMap<crate::whistle::WhistleKind, TimeLimit>,
    /// How long a rated unit may object to the street's rating.
    pub rating_objection_window: TimeLimit,
    /// How long after the reply the requester may rate it on the citizen's page (a visit from
    /// the web) and ask for rework.
    pub web_rating_window: TimeLimit,
    /// The exam paper's weights, factor and period (DOMAIN §5).
    pub evaluation: crate::evaluation::EvaluationPolicy,
    /// Hotspots, governance-class streets, topic candidates, repeats (DOMAIN §6).
    pub analysis: crate::analysis::AnalysisPolicy,
    /// The span of time accepted from outside: every instant a command or query carries.
    pub time: crate::time::TimeBounds,
}

impl Default for Policy {
    fn default() -> Policy {
        let limits = [
            (LimitClass::Emergency, "2h", "24h"),
            (LimitClass::Utility, "2h", "24h"),
            (LimitClass::Ordinary, "24h", "7wd"),
            (LimitClass::Complex, "24h", "15wd"),
            (LimitClass::Consultation, "2wd", "2wd"),
        ]
        .into_iter()
        .filter_map(|(class, respond, handle)| {
            Some((
                class,
                Limits {
                    respond: TimeLimit::parse(respond).ok()?,
                    handle: TimeLimit::parse(handle).ok()?,
                },
            ))
        })
        .collect();
        Policy {
            limits,
            overrides: Vec::new(),
            text_max_chars: 8000,
            note_max_chars: 4000,
            due_soon_minutes: 120,
            report_in: [
                (
                    crate::whistle::WhistleKind::Emergency,
                    TimeLimit::Minutes(30),
                ),
                (
                    crate::whistle::WhistleKind::Enforcement,
                    TimeLimit::Hours(2),
                ),
                (
                    crate::whistle::WhistleKind::KeyTask,
                    TimeLimit::WorkingDays(1),
                ),
                (
                    crate::whistle::WhistleKind::Request,
                    TimeLimit::WorkingDays(1),
                ),
            ]
            .into_iter()
            .collect(),
            rating_objection_window: TimeLimit::WorkingDays(3),
            web_rating_window: TimeLimit::WorkingDays(5),
            evaluation: crate::evaluation::EvaluationPolicy::default(),
            analysis: crate::analysis::AnalysisPolicy::default(),
            time: crate::time::TimeBounds::default(),
        }
    }
}

impl Policy {
    /// Checks that every class has limits and every override changes something.
    pub fn validate(&self) -> Result<(), DomainError> {
        self.evaluation.validate()?;
        self.analysis.validate()?;
        self.time.validate()?;
        for class in [
            LimitClass::Emergency,
            LimitClass::Utility,
            LimitClass::Ordinary,
            LimitClass::Complex,
            LimitClass::Consultation,
        ] {
            if !self.limits.contains_key(&class) {
                return Err(DomainError::InvalidReference(format!(
                    "policy has no limits for class {class}"
                )));
            }
        }
        for (index, rule) in self.overrides.iter().enumerate() {
            if rule.respond.is_none() && rule.handle.is_none() {
                return Err(DomainError::InvalidReference(format!(
                    "policy override {} sets no limit",
                    index + 1
                )));
            }
        }
        if self.text_max_chars == 0 || self.note_max_chars == 0 {
            return Err(DomainError::InvalidReference(
                "text limits must be positive".into(),
            ));
        }
        Ok(())
    }

    /// The class an order falls in: emergencies first, then dispatched consultations, then the
    /// category's own class.
    pub fn class_for(
        &self,
        request_type: RequestType,
        urgency: Urgency,
        category_class: LimitClass,
    ) -> LimitClass {
        if urgency == Urgency::Emergency {
            LimitClass::Emergency
        } else if request_type == RequestType::Consult {
            LimitClass::Consultation
        } else {
            category_class
        }
    }

    /// The limits for an order with these attributes.
    pub fn limits_for(
        &self,
        request_type: RequestType,
        category: &CategoryCode,
        urgency: Urgency,
        category_class: LimitClass,
    ) -> Limits {
        let class = self.class_for(request_type, urgency, category_class);
        let fallback = Limits {
            respond: TimeLimit::Hours(24),
            handle: TimeLimit::WorkingDays(7),
        };
        let mut limits = self.limits.get(&class).copied().unwrap_or(fallback);
        let best = self
            .overrides
            .iter()
            .filter(|rule| {
                rule.request_type.is_none_or(|t| t == request_type)
                    && rule.urgency.is_none_or(|u| u == urgency)
                    && rule
                        .category
                        .as_ref()
                        .is_none_or(|c| category.lineage().any(|code| code == c.as_str()))
            })
            .max_by_key(|rule| {
                let fields = usize::from(rule.request_type.is_some())
                    + usize::from(rule.urgency.is_some())
                    + usize::from(rule.category.is_some());
                let depth = rule.category.as_ref().map_or(0, |c| c.lineage().count());
                (fields, depth)
            });
        if let Some(rule) = best {
            limits.respond = rule.respond.unwrap_or(limits.respond);
            limits.handle = rule.handle.unwrap_or(limits.handle);
        }
        limits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        let mut policy = Policy::default();
        policy.validate().unwrap();
        let code = CategoryCode::parse("04.01.02").unwrap();
        let ordinary = policy.limits_for(
            RequestType::Complaint,
            &code,
            Urgency::Normal,
            LimitClass::Ordinary,
        );
        assert_eq!(ordinary.handle, TimeLimit::WorkingDays(7));
        let emergency = policy.limits_for(
            RequestType::Complaint,
            &code,
            Urgency::Emergency,
            LimitClass::Ordinary,
        );
        assert_eq!(emergency.respond, TimeLimit::Hours(2));
        let consult = policy.limits_for(
            RequestType::Consult,
            &code,
            Urgency::Normal,
            LimitClass::Complex,
        );
        assert_eq!(consult.handle, TimeLimit::WorkingDays(2));
        policy.overrides.push(LimitOverride {
            request_type: None,
            category: Some(CategoryCode::parse("04").unwrap()),
            urgency: None,
            respond: None,
            handle: Some(TimeLimit::WorkingDays(5)),
        });
        policy.overrides.push(LimitOverride {
            request_type: Some(RequestType::Complaint),
            category: Some(CategoryCode::parse("04.01").unwrap()),
            urgency: None,
            respond: Some(TimeLimit::Hours(12)),
            handle: None,
        });
        let limits = policy.limits_for(
            RequestType::Complaint,
            &code,
            Urgency::Normal,
            LimitClass::Ordinary,
        );
        assert_eq!(
            limits,
            Limits {
                respond: TimeLimit::Hours(12),
                handle: TimeLimit::WorkingDays(7)
            }
        );
        let limits = policy.limits_for(
            RequestType::Help,
            &code,
            Urgency::Normal,
            LimitClass::Ordinary,
        );
        assert_eq!(limits.handle, TimeLimit::WorkingDays(5));
    }

    #[test]
    fn policy_from_toml_and_bad_policy() {
        let text = r#"{"limits":{"ordinary":{"respond":"12h","handle":"5wd"}}}"#;
        let policy: Policy = serde_json::from_str(text).unwrap();
        assert!(
            policy.validate().is_err(),
            "classes missing must be refused"
        );
        assert!(serde_json::from_str::<Policy>(r#"{"bogus":1}"#).is_err());
        assert!(serde_json::from_str::<Policy>(
            r#"{"limits":{"ordinary":{"respond":"12x","handle":"5wd"}}}"#
        )
        .is_err());
    }
}
