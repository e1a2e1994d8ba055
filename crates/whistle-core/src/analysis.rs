//! Analysis and proactive governance (一套机制, 未诉先办; DOMAIN §6): the statistical rule for
//! hotspots, governance-class streets (治理类街乡镇) and the ranking of topic-of-the-month
//! candidates (每月一题). Pure functions over counts; the store supplies the counts.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::error::DomainError;

/// Analysis policy (all configurable; defaults from practice, DOMAIN §6).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct AnalysisPolicy {
    /// Days before the examined day that form a cell's own baseline.
    pub hotspot_baseline_days: u32,
    /// A cell is never a hotspot below this many requests in the day.
    pub hotspot_min_count: i64,
    /// The Poisson upper-tail probability at or below which a day's count is unusual.
    pub hotspot_alpha: f64,
    /// The lowest expected daily count assumed for a cell (a quiet cell's baseline is not 0).
    pub hotspot_expected_floor: f64,
    /// Governance-class streets: in the monthly top `governance_top_n` by volume at least
    /// `governance_times` times within `governance_months` months (practice: 10, 3, 6).
    pub governance_top_n: usize,
    pub governance_times: usize,
    pub governance_months: u32,
    /// Topic candidates listed per month.
    pub topic_candidates: usize,
    /// Weights of the candidate score: share of volume, dissatisfaction rate, repeat share and
    /// growth against the previous month (each scaled to the largest among the candidates).
    pub topic_weight_volume: f64,
    pub topic_weight_dissatisfaction: f64,
    pub topic_weight_repeat: f64,
    pub topic_weight_growth: f64,
    /// Categories never proposed as a topic of the month, with everything under them: catch-all
    /// categories, where nothing is actionable (17 其他), and historical ones (01 疫情防控, whose
    /// leaves the taxonomy keeps for old orders). Chosen topics are still tracked.
    pub topic_excluded: Vec<String>,
    /// Requests of the same category from the same requester or the same place within this many
    /// days of an earlier one are repeats (重复诉求).
    pub repeat_window_days: u32,
    /// A place (public address) with at least this many requests in a window is high-frequency.
    pub frequent_address_min: i64,
}

impl Default for AnalysisPolicy {
    fn default() -> Self {
        AnalysisPolicy {
            hotspot_baseline_days: 28,
            hotspot_min_count: 5,
            hotspot_alpha: 0.001,
            hotspot_expected_floor: 0.5,
            governance_top_n: 10,
            governance_times: 3,
            governance_months: 6,
            topic_candidates: 10,
            topic_weight_volume: 0.4,
            topic_weight_dissatisfaction: 0.3,
            topic_weight_repeat: 0.1,
            topic_weight_growth: 0.2,
            topic_excluded: vec!["01".into(), "17".into()],
            repeat_window_days: 30,
            frequent_address_min: 5,
        }
    }
}

impl AnalysisPolicy {
    pub fn validate(&self) -> Result<(), DomainError> {
        let bad = |field: &str, value: String| {
            Err(DomainError::InvalidValue {
                field: field.into(),
                value,
            })
        };
        if let Some(code) = self
            .topic_excluded
            .iter()
            .find(|c| crate::ids::CategoryCode::parse(c).is_err())
        {
            return bad(
                "topic_excluded (category codes)",
                code.chars().take(20).collect(),
            );
        }
        if !(1..=366).contains(&self.hotspot_baseline_days) {
            return bad(
                "hotspot_baseline_days",
                self.hotspot_baseline_days.to_string(),
            );
        }
        if self.hotspot_min_count < 1 {
            return bad("hotspot_min_count", self.hotspot_min_count.to_string());
        }
        if !(self.hotspot_alpha > 0.0 && self.hotspot_alpha < 1.0) {
            return bad("hotspot_alpha", self.hotspot_alpha.to_string());
        }
        if !(self.hotspot_expected_floor.is_finite() && self.hotspot_expected_floor > 0.0) {
            return bad(
                "hotspot_expected_floor",
                self.hotspot_expected_floor.to_string(),
            );
        }
        if self.governance_top_n == 0
            || self.governance_times == 0
            || !(1..=24).contains(&self.governance_months)
            || self.governance_times > self.governance_months as usize
        {
            return bad(
                "governance rule (top_n, times, months)",
                format!(
                    "{} {} {}",
                    self.governance_top_n, self.governance_times, self.governance_months
                ),
            );
        }
        let weights = [
            self.topic_weight_volume,
            self.topic_weight_dissatisfaction,
            self.topic_weight_repeat,
            self.topic_weight_growth,
        ];
        if weights.iter().any(|w| !w.is_finite() || *w < 0.0)
            || (weights.iter().sum::<f64>() - 1.0).abs() > 1e-9
        {
            return bad("topic weights (must sum to 1)", format!("{weights:?}"));
        }
        if self.topic_candidates == 0 {
            return bad("topic_candidates", "0".into());
        }
        if !(1..=366).contains(&self.repeat_window_days) {
            return bad("repeat_window_days", self.repeat_window_days.to_string());
        }
        if self.frequent_address_min < 2 {
            return bad(
                "frequent_address_min",
                self.frequent_address_min.to_string(),
            );
        }
        Ok(())
    }
}

/// P(X ≥ k) for X ~ Poisson(λ), summed from k upwards (accurate for small tails).
pub fn poisson_upper_tail(k: i64, lambda: f64) -> f64 {
    if k <= 0 {
        return 1.0;
    }
    if lambda <= 0.0 {
        return 0.0;
    }
    // ln P(X = k) = -λ + k ln λ − ln k!
    let ln_factorial: f64 = (2..=k).map(|i| (i as f64).ln()).sum();
    let mut term = (-lambda + k as f64 * lambda.ln() - ln_factorial).exp();
    let mut sum = 0.0;
    let mut i = k;
    loop {
        sum += term;
        i += 1;
        term *= lambda / i as f64;
        if (i as f64 > lambda && term < sum * 1e-16) || term == 0.0 || i > k + 1_000_000 {
            break;
        }
    }
    sum.min(1.0)
}

/// The hotspot rule: a (category, territory, day) cell with `count` requests, whose previous
/// `baseline_days` days held `baseline_total`, is a hotspot when `count ≥ hotspot_min_count` and
/// P(X ≥ count) ≤ `hotspot_alpha` for X ~ Poisson(expected), where expected is the baseline's
/// daily mean, at least `hotspot_expected_floor`. Returns (expected, p-value) for a hotspot.
pub fn hotspot(
    count: i64,
    baseline_total: i64,
    baseline_days: u32,
    policy: &AnalysisPolicy,
) -> Option<(f64, f64)> {
    if count < policy.hotspot_min_count {
        return None;
    }
    let expected = (baseline_total.max(0) as f64 / f64::from(baseline_days.max(1)))
        .max(policy.hotspot_expected_floor);
    let p = poisson_upper_tail(count, expected);
    (p <= policy.hotspot_alpha).then_some((expected, p))
}

/// One month's ranking position of a street.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct TopEntry {
    pub month: String,
    pub rank: usize,
    pub count: i64,
}

/// A governance-class street: the months it was in the top list within the window.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct GovernanceStreet {
    pub street: String,
    pub times: usize,
    pub entries: Vec<TopEntry>,
}

/// The monthly top list: by count descending, ties by code ascending (deterministic), the first
/// `n` with a count above zero.
pub fn top_n(volumes: &BTreeMap<String, i64>, n: usize) -> Vec<(String, i64)> {
    let mut ranked: Vec<(String, i64)> = volumes
        .iter()
        .filter(|(_, c)| **c > 0)
        .map(|(s, c)| (s.clone(), *c))
        .collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    ranked.truncate(n);
    ranked
}

/// Streets in the monthly top list at least `governance_times` times over the given months
/// (month → street → volume; the caller passes the window's months), most entries first.
pub fn governance_streets(
    months: &BTreeMap<String, BTreeMap<String, i64>>,
    policy: &AnalysisPolicy,
) -> Vec<GovernanceStreet> {
    let mut entries: BTreeMap<String, Vec<TopEntry>> = BTreeMap::new();
    for (month, volumes) in months {
        for (rank, (street, count)) in top_n(volumes, policy.governance_top_n)
            .into_iter()
            .enumerate()
        {
            entries.entry(street).or_default().push(TopEntry {
                month: month.clone(),
                rank: rank + 1,
                count,
            });
        }
    }
    let mut streets: Vec<GovernanceStreet> = entries
        .into_iter()
        .filter(|(_, e)| e.len() >= policy.governance_times)
        .map(|(street, entries)| GovernanceStreet {
            street,
            times: entries.len(),
            entries,
        })
        .collect();
    streets.sort_by(|a, b| b.times.cmp(&a.times).then_with(|| a.street.cmp(&b.street)));
    streets
}

/// The figures of one pain point (a category, city-wide) for a month.
#[derive(Clone, Debug, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct TopicFigures {
    pub category: String,
    pub volume: i64,
    pub previous_volume: i64,
    /// Valid return visits and dissatisfied answers among them.
    pub visits: i64,
    pub dissatisfied: i64,
    /// Requests that repeat an earlier one (same requester or place, same category, in the
    /// window).
    pub repeats: i64,
}

impl TopicFigures {
    pub fn dissatisfaction(&self) -> Option<f64> {
        (self.visits > 0).then(|| self.dissatisfied as f64 / self.visits as f64)
    }
    pub fn repeat_share(&self) -> f64 {
        if self.volume > 0 {
            self.repeats as f64 / self.volume as f64
        } else {
            0.0
        }
    }
    /// Growth against the previous month (None without a previous volume).
    pub fn growth(&self) -> Option<f64> {
        (self.previous_volume > 0)
            .then(|| (self.volume - self.previous_volume) as f64 / self.previous_volume as f64)
    }
}

/// A ranked candidate: the figures and the score in [0, 1].
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct TopicCandidate {
    pub rank: usize,
    pub score: f64,
    pub figures: TopicFigures,
}

/// Ranks pain points: each measure (volume, dissatisfaction rate, repeat share, growth clipped at
/// 0) is divided by its largest value among the pain points, and the score is their weighted sum.
/// Ties by category code. The first `topic_candidates` are returned.
pub fn rank_topics(figures: Vec<TopicFigures>, policy: &AnalysisPolicy) -> Vec<TopicCandidate> {
    // Excluded categories (catch-all, historical) are no candidates, nor the scale of one.
    let excluded = |category: &str| {
        policy
            .topic_excluded
            .iter()
            .any(|code| category == code || category.starts_with(&format!("{code}.")))
    };
    let figures: Vec<TopicFigures> = figures
        .into_iter()
        .filter(|f| !excluded(&f.category))
        .collect();
    let measures: Vec<[f64; 4]> = figures
        .iter()
        .map(|f| {
            [
                f.volume as f64,
                f.dissatisfaction().unwrap_or(0.0),
                f.repeat_share(),
                f.growth().unwrap_or(0.0).max(0.0),
            ]
        })
        .collect();
    let mut largest = [0.0f64; 4];
    for m in &measures {
        for (l, v) in largest.iter_mut().zip(m) {
            *l = l.max(*v);
        }
    }
    let weights = [
        policy.topic_weight_volume,
        policy.topic_weight_dissatisfaction,
        policy.topic_weight_repeat,
        policy.topic_weight_growth,
    ];
    let mut scored: Vec<(f64, TopicFigures)> = figures
        .into_iter()
        .zip(measures)
        .filter(|(f, _)| f.volume > 0)
        .map(|(f, m)| {
            let score = (0..4)
                .map(|i| {
                    if largest[i] > 0.0 {
                        weights[i] * m[i] / largest[i]
                    } else {
                        0.0
                    }
                })
                .sum::<f64>();
            // Rounded so that equal scores computed in another order compare equal.
            ((score * 1e9).round() / 1e9, f)
        })
        .collect();
    scored.sort_by(|a, b| {
        b.0.total_cmp(&a.0)
            .then_with(|| a.1.category.cmp(&b.1.category))
    });
    scored
        .into_iter()
        .take(policy.topic_candidates)
        .enumerate()
        .map(|(i, (score, figures))| TopicCandidate {
            rank: i + 1,
            score,
            figures,
        })
        .collect()
}

/// A chosen topic of the month (每月一题) and how it is tracked.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Topic {
    /// Short code, e.g. `2026-10-heating`.
    pub code: String,
    pub title: String,
    /// The month it was chosen (`YYYY-MM`): its volume is the baseline.
    pub chosen: String,
    /// The categories (codes; a top level covers its leaves) it covers.
    pub categories: Vec<String>,
    /// The lead unit (牵头单位).
    pub lead: String,
    /// Target: the monthly volume at most this share of the baseline month's (e.g. 0.7 = −30%).
    pub target_ratio: f64,
}

impl Topic {
    pub fn validate(&self) -> Result<(), DomainError> {
        let bad = |field: &str, value: &str| {
            Err(DomainError::InvalidValue {
                field: field.into(),
                value: value.chars().take(40).collect(),
            })
        };
        if self.code.is_empty()
            || self.code.len() > 40
            || !self
                .code
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return bad("topic code", &self.code);
        }
        if self.title.trim().is_empty() || self.title.chars().count() > 100 {
            return bad("topic title", &self.title);
        }
        if crate::evaluation::EvaluationPolicy::default()
            .period(&self.chosen)
            .is_err()
        {
            return bad("topic month", &self.chosen);
        }
        if self.categories.is_empty() {
            return bad("topic categories", "");
        }
        if !(self.target_ratio.is_finite() && self.target_ratio > 0.0 && self.target_ratio <= 2.0) {
            return bad("target_ratio", &self.target_ratio.to_string());
        }
        Ok(())
    }

    /// Whether a category code falls under the topic.
    pub fn covers(&self, category: &str) -> bool {
        self.categories.iter().any(|c| {
            category == c
                || (category.len() > c.len()
                    && category.starts_with(c.as_str())
                    && category.as_bytes()[c.len()] == b'.')
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poisson_tails_match_hand_computed_values() {
        // P(X ≥ 1 | 1) = 1 − e^−1
        assert!((poisson_upper_tail(1, 1.0) - (1.0 - (-1.0f64).exp())).abs() < 1e-12);
        // P(X ≥ 3 | 2) = 1 − e^−2 (1 + 2 + 2) = 0.3233235838…
        assert!((poisson_upper_tail(3, 2.0) - 0.323_323_583_816_936_5).abs() < 1e-12);
        // P(X ≥ 5 | 0.5) = 1 − e^−0.5 (1 + 0.5 + 0.125 + 0.0208333 + 0.0026042) = 1.7212e-4
        let tail = poisson_upper_tail(5, 0.5);
        assert!((tail - 1.721_156e-4).abs() < 1e-9, "{tail}");
        assert_eq!(poisson_upper_tail(0, 3.0), 1.0);
        assert_eq!(poisson_upper_tail(4, 0.0), 0.0);
        // Large counts do not overflow or lose the tail.
        let far = poisson_upper_tail(400, 100.0);
        assert!(far > 0.0 && far < 1e-60, "{far}");
        assert!((poisson_upper_tail(100, 100.0) - 0.5132987982791486).abs() < 1e-9);
    }

    #[test]
    fn hotspots_need_both_the_minimum_and_the_improbability() {
        let policy = AnalysisPolicy::default();
        // Baseline 0 in 28 days: expected floor 0.5; 4 is under the minimum count.
        assert_eq!(hotspot(4, 0, 28, &policy), None);
        let (expected, p) = hotspot(5, 0, 28, &policy).unwrap();
        assert_eq!(expected, 0.5);
        assert!(p < 0.001);
        // A busy cell (10 a day) with 15 today is ordinary; with 25 it is not.
        assert_eq!(hotspot(15, 280, 28, &policy), None);
        assert!(hotspot(25, 280, 28, &policy).is_some());
    }

    #[test]
    fn governance_streets_three_times_in_the_top_ten_within_six_months() {
        let policy = AnalysisPolicy {
            governance_top_n: 2,
            governance_times: 2,
            ..AnalysisPolicy::default()
        };
        let month = |pairs: &[(&str, i64)]| -> BTreeMap<String, i64> {
            pairs.iter().map(|(s, c)| (s.to_string(), *c)).collect()
        };
        let mut months = BTreeMap::new();
        months.insert("2026-08".into(), month(&[("a", 9), ("b", 5), ("c", 5)]));
        // b and c tie at 5: b (the smaller code) takes the second place.
        months.insert("2026-09".into(), month(&[("a", 1), ("b", 5), ("c", 5)]));
        months.insert("2026-10".into(), month(&[("c", 7), ("d", 3)]));
        let streets = governance_streets(&months, &policy);
        let names: Vec<(&str, usize)> = streets
            .iter()
            .map(|s| (s.street.as_str(), s.times))
            .collect();
        assert_eq!(names, vec![("b", 2), ("c", 2)]);
        assert_eq!(streets[0].entries[0].rank, 2);
        assert_eq!(
            top_n(&month(&[("x", 0)]), 10),
            Vec::<(String, i64)>::new(),
            "a street without requests is not ranked"
        );
    }

    #[test]
    fn topic_scores_weigh_scaled_measures() {
        let policy = AnalysisPolicy::default();
        let f = |category: &str, volume, previous, visits, dissatisfied, repeats| TopicFigures {
            category: category.into(),
            volume,
            previous_volume: previous,
            visits,
            dissatisfied,
            repeats,
        };
        let ranked = rank_topics(
            vec![
                // Largest volume, no growth, low dissatisfaction.
                f("05", 1000, 1000, 100, 10, 0),
                // Half the volume, doubled, half dissatisfied, 10% repeats.
                f("02", 500, 250, 100, 50, 50),
                f("03", 0, 10, 0, 0, 0),
            ],
            &policy,
        );
        assert_eq!(ranked.len(), 2, "no volume, no candidate");
        // 02: 0.4×0.5 + 0.3×1 + 0.1×1 + 0.2×1 = 0.8; 05: 0.4×1 + 0.3×0.2 = 0.46
        assert_eq!(ranked[0].figures.category, "02");
        assert!((ranked[0].score - 0.8).abs() < 1e-9);
        assert!((ranked[1].score - 0.46).abs() < 1e-9);
        // The catch-all (17 其他) and the historical pandemic categories (01) are no candidates
        // and do not set the scale: the same two score the same beside them.
        let beside = rank_topics(
            vec![
                f("05", 1000, 1000, 100, 10, 0),
                f("02", 500, 250, 100, 50, 50),
                f("17.01", 9000, 100, 100, 90, 900),
                f("01.02", 5000, 100, 100, 90, 500),
                f("01", 5000, 100, 100, 90, 500),
            ],
            &policy,
        );
        let codes: Vec<&str> = beside.iter().map(|c| c.figures.category.as_str()).collect();
        assert_eq!(codes, ["02", "05"]);
        assert!((beside[0].score - 0.8).abs() < 1e-9);
        // By policy, they can be let back in.
        let open = AnalysisPolicy {
            topic_excluded: Vec::new(),
            ..AnalysisPolicy::default()
        };
        assert_eq!(
            rank_topics(vec![f("17.01", 9000, 100, 100, 90, 900)], &open).len(),
            1
        );
    }

    #[test]
    fn topics_cover_their_categories_and_validate() {
        let topic = Topic {
            code: "2026-10-heating".into(),
            title: "供暖不热".into(),
            chosen: "2026-10".into(),
            categories: vec!["07.02".into()],
            lead: "11.dept.housing".into(),
            target_ratio: 0.7,
        };
        topic.validate().unwrap();
        assert!(topic.covers("07.02"));
        assert!(topic.covers("07.02.01"));
        assert!(!topic.covers("07.020"));
        assert!(!topic.covers("07"));
        for bad in [
            Topic {
                code: "有空格 x".into(),
                ..topic.clone()
            },
            Topic {
                chosen: "2026-13".into(),
                ..topic.clone()
            },
            Topic {
                target_ratio: 0.0,
                ..topic.clone()
            },
            Topic {
                categories: vec![],
                ..topic.clone()
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
        let mut policy = AnalysisPolicy::default();
        policy.validate().unwrap();
        policy.topic_weight_growth = 0.5;
        assert!(policy.validate().is_err());
    }
}
