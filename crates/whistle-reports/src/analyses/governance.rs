//! 治理类街乡镇: streets often in the monthly top list by volume.

use super::*;

/// 治理类街乡镇: the streets in the monthly top list by volume at least the policy's number of
/// times within the months up to `month`.
pub async fn governance_streets(
    store: &dyn Store,
    month: &str,
    now: Timestamp,
    lang: Lang,
) -> Result<Document, StoreError> {
    let first = parse_month(month)?;
    not_future(first, now, month)?;
    let reference = store.reference();
    let policy = reference.policy.analysis.clone();
    let names = Names {
        reference: &reference,
        lang,
    };
    let window_start = first
        .checked_sub_months(chrono::Months::new(policy.governance_months - 1))
        .ok_or_else(|| invalid("month", month))?;
    let next = first
        .checked_add_months(chrono::Months::new(1))
        .ok_or_else(|| invalid("month", month))?;
    let rows = store
        .intake_volumes(false, &month_key(window_start), &month_key(next))
        .await?;
    let mut months: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
    let mut cursor = window_start;
    while cursor < next {
        months.insert(month_key(cursor), BTreeMap::new());
        cursor = cursor
            .checked_add_months(chrono::Months::new(1))
            .unwrap_or(next);
    }
    for row in rows.iter().filter(|r| names.is_street(&r.territory)) {
        if let Some(volumes) = months.get_mut(&row.key) {
            *volumes.entry(row.territory.clone()).or_insert(0) += row.count;
        }
    }
    let streets = governance_rule(&months, &policy);
    let mut table = Table::new(
        "governance_streets",
        lang.t("治理类街乡镇", "Governance-class streets"),
        vec![
            lang.col("街乡镇代码", "code"),
            lang.col("街乡镇", "street"),
            lang.col("所属区", "district"),
            lang.col("进入前列次数", "times in the top list"),
            lang.col("各月名次（件数）", "months: rank (requests)"),
        ],
    );
    for street in &streets {
        let entries: Vec<String> = street
            .entries
            .iter()
            .map(|e| match lang {
                Lang::Zh => format!("{}第{}名（{}件）", e.month, e.rank, e.count),
                Lang::En => format!("{} #{} ({})", e.month, e.rank, e.count),
            })
            .collect();
        table.push(vec![
            street.street.clone().into(),
            names.unit(&street.street).into(),
            names.unit(&names.district(&street.street)).into(),
            street.times.into(),
            entries.join(lang.t("；", "; ").as_str()).into(),
        ]);
    }
    let this_month = months.get(month).cloned().unwrap_or_default();
    let top = crate::bulletins::streets_table(
        &names,
        "top_streets",
        lang.t("本月受理量前列街乡镇", "This month's top streets by volume"),
        &top_n(&this_month, policy.governance_top_n),
    );
    let empty = months.values().all(|m| m.is_empty());
    let summary = vec![
        if empty {
            lang.t(
                &format!("{}至{month}无受理诉求数据。", month_key(window_start)),
                &format!("{} to {month}: no requests.", month_key(window_start)),
            )
        } else {
            match lang {
                Lang::Zh => format!(
                    "{}至{month}，进入月度受理量前{}名达{}次及以上的街乡镇共{}个，列为治理类街乡镇。",
                    month_key(window_start),
                    policy.governance_top_n,
                    policy.governance_times,
                    streets.len()
                ),
                Lang::En => format!(
                    "{} to {month}: {} streets were in the monthly top {} at least {} times and are governance-class.",
                    month_key(window_start),
                    streets.len(),
                    policy.governance_top_n,
                    policy.governance_times
                ),
            }
        },
        match lang {
            Lang::Zh => format!(
                "判定规则：{}个月内{}次进入月度受理量前{}名（并列按代码排序）。",
                policy.governance_months, policy.governance_times, policy.governance_top_n
            ),
            Lang::En => format!(
                "Rule: in the monthly top {} by volume {} times within {} months (ties ordered by code).",
                policy.governance_top_n, policy.governance_times, policy.governance_months
            ),
        },
    ];
    Ok(Document {
        kind: "governance-streets".into(),
        subject: month.to_string(),
        lang,
        title: lang.t(
            &format!("治理类街乡镇（{month}）"),
            &format!("Governance-class streets, {month}"),
        ),
        empty,
        summary,
        tables: vec![table, top],
    })
}
