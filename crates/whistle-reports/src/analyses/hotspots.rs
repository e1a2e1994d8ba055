//! 热点: unusually high category × territory cells of a day.

use super::*;

/// 热点: the (territory, category) cells of a day whose count is improbable against the cell's
/// own baseline (the rule in [`whistle_core::analysis::hotspot`]).
pub async fn hotspots(
    store: &dyn Store,
    date: &str,
    now: Timestamp,
    lang: Lang,
) -> Result<Document, StoreError> {
    let day = parse_date(date)?;
    not_future(day, now, date)?;
    let reference = store.reference();
    let policy = reference.policy.analysis.clone();
    let names = Names {
        reference: &reference,
        lang,
    };
    let baseline_from = day - chrono::Days::new(u64::from(policy.hotspot_baseline_days));
    let next = day.succ_opt().ok_or_else(|| invalid("date", date))?;
    let rows = store
        .intake_volumes(true, &day_key(baseline_from), &day_key(next))
        .await?;
    let today = day_key(day);
    // The baseline covers only days since the data begins (a new store has no history).
    let first_data_day = rows
        .iter()
        .map(|r| r.key.as_str())
        .min()
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
    let baseline_days = first_data_day
        .map(|first| (day - first.max(baseline_from)).num_days().max(0) as u32)
        .unwrap_or(0);
    let mut cells: BTreeMap<(String, String), (i64, i64)> = BTreeMap::new();
    for row in &rows {
        let cell = cells
            .entry((row.territory.clone(), row.category.clone()))
            .or_default();
        if row.key == today {
            cell.0 += row.count;
        } else {
            cell.1 += row.count;
        }
    }
    let total_today: i64 = cells.values().map(|c| c.0).sum();
    let mut found: Vec<(f64, i64, String, String, f64)> = Vec::new();
    if baseline_days > 0 {
        for ((territory, category), (count, baseline)) in &cells {
            if let Some((expected, p)) = hotspot(*count, *baseline, baseline_days, &policy) {
                found.push((p, *count, territory.clone(), category.clone(), expected));
            }
        }
    }
    found.sort_by(|a, b| {
        a.0.total_cmp(&b.0)
            .then_with(|| b.1.cmp(&a.1))
            .then_with(|| (&a.2, &a.3).cmp(&(&b.2, &b.3)))
    });
    let mut table = Table::new(
        "hotspots",
        lang.t(
            "热点（类别 × 属地 × 日）",
            "Hotspots (category × territory × day)",
        ),
        vec![
            lang.col("属地代码", "territory code"),
            lang.col("属地", "territory"),
            lang.col("所属区", "district"),
            lang.col("类别代码", "category code"),
            lang.col("类别", "category"),
            lang.col("当日件数", "count"),
            lang.col("基线日均", "baseline daily mean"),
            lang.col("倍数", "ratio"),
            lang.col("P值", "p-value"),
        ],
    );
    for (p, count, territory, category, expected) in &found {
        table.push(vec![
            territory.clone().into(),
            names.unit(territory).into(),
            names.unit(&names.district(territory)).into(),
            category.clone().into(),
            names.category(category).into(),
            (*count).into(),
            Some(*expected).into(),
            Some(*count as f64 / *expected).into(),
            scientific(*p),
        ]);
    }
    let rule = match lang {
        Lang::Zh => format!(
            "判定规则：某属地某类别当日件数不少于{}件，且在以前{}天日均件数（不低于{}）为期望的泊松分布下，出现不少于当日件数的概率不超过{}。",
            policy.hotspot_min_count,
            baseline_days,
            policy.hotspot_expected_floor,
            policy.hotspot_alpha
        ),
        Lang::En => format!(
            "Rule: a territory's category with at least {} requests in the day whose probability of at least that many, under a Poisson law with the previous {} days' daily mean (at least {}) as expectation, is at most {}.",
            policy.hotspot_min_count,
            baseline_days,
            policy.hotspot_expected_floor,
            policy.hotspot_alpha
        ),
    };
    let mut summary = Vec::new();
    let empty = total_today == 0;
    if empty {
        summary.push(lang.t(
            &format!("{today}无受理诉求数据。"),
            &format!("{today}: no requests were received."),
        ));
    } else if baseline_days == 0 {
        summary.push(lang.t(
            &format!("{today}之前没有可作基线的数据，无法判定热点。"),
            &format!("{today}: no earlier data to form a baseline; no hotspot can be judged."),
        ));
    } else {
        summary.push(match lang {
            Lang::Zh => format!("{today}共受理{total_today}件，发现热点{}个。", found.len()),
            Lang::En => format!("{today}: {total_today} requests, {} hotspots.", found.len()),
        });
    }
    summary.push(rule);
    Ok(Document {
        kind: "hotspots".into(),
        subject: today.clone(),
        lang,
        title: lang.t(
            &format!("诉求热点（{today}）"),
            &format!("Hotspots, {today}"),
        ),
        empty,
        summary,
        tables: vec![table],
    })
}
