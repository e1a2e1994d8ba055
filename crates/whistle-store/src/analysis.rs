//! Analysis reports (一套机制, 未诉先办; DOMAIN §6): hotspots, repeat requests and
//! high-frequency places, governance-class streets (治理类街乡镇) and the topic of the month
//! (每月一题) — its candidates and the tracking of the chosen topics. The statistical rules are
//! in `whistle_core::analysis`; this module gathers the counts.

use chrono::NaiveDate;
use std::collections::{BTreeMap, HashMap};
use whistle_core::analysis::{
    governance_streets as governance_rule, hotspot, rank_topics, top_n, AnalysisPolicy, Topic,
    TopicFigures,
};
use whistle_core::time::Timestamp;

use crate::bulletins::{
    day_key, invalid, midnight, month_key, not_future, parse_date, parse_month, share, top_level,
    Names,
};
use crate::document::{Cell, Document, Lang, Table};
use crate::types::{OrderKey, StoreError};
use crate::Store;

/// The settings key of the chosen topics.
pub const TOPICS_KEY: &str = "topics";

fn scientific(p: f64) -> Cell {
    Cell::Text(format!("{p:.2e}"))
}

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
            lang.t("属地代码", "territory code"),
            lang.t("属地", "territory"),
            lang.t("所属区", "district"),
            lang.t("类别代码", "category code"),
            lang.t("类别", "category"),
            lang.t("当日件数", "count"),
            lang.t("基线日均", "baseline daily mean"),
            lang.t("倍数", "ratio"),
            lang.t("P值", "p-value"),
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

/// A request repeating an earlier one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Repeat {
    pub no: String,
    pub earlier: String,
    pub category: String,
    /// `requester` or `place`.
    pub by: &'static str,
}

/// What repeat detection found among the orders received in [from, before).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RepeatFindings {
    pub orders: i64,
    pub repeats: Vec<Repeat>,
    /// Per category: (orders, repeats).
    pub by_category: BTreeMap<String, (i64, i64)>,
    /// (territory, place) with their count and most frequent category, at least the policy's
    /// minimum, most first.
    pub places: Vec<(String, String, i64, String)>,
}

fn normalise_place(place: &str) -> String {
    place
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '，' | ',' | '。' | '.'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Repeats: an order whose category matches an earlier order's within the window and which
/// comes from the same requester (phone) or the same place (territory and public address).
/// `keys` are in time order and start `repeat_window_days` before `from`.
pub fn detect_repeats(
    keys: &[OrderKey],
    from: Timestamp,
    policy: &AnalysisPolicy,
) -> RepeatFindings {
    let window = chrono::Duration::days(i64::from(policy.repeat_window_days));
    let mut by_phone: HashMap<(&str, &str), (Timestamp, &str)> = HashMap::new();
    let mut by_place: HashMap<(&str, String, &str), (Timestamp, &str)> = HashMap::new();
    let mut findings = RepeatFindings::default();
    let mut places: BTreeMap<(String, String), BTreeMap<String, i64>> = BTreeMap::new();
    for key in keys {
        let place = key
            .place
            .as_deref()
            .map(normalise_place)
            .filter(|p| !p.is_empty());
        let phone = key.phone.as_deref().filter(|p| !p.is_empty());
        if key.received_at >= from {
            findings.orders += 1;
            let cell = findings
                .by_category
                .entry(key.category.clone())
                .or_default();
            cell.0 += 1;
            let recent = |at: Timestamp| key.received_at - at <= window;
            let earlier = phone
                .and_then(|p| by_phone.get(&(p, key.category.as_str())))
                .filter(|(at, _)| recent(*at))
                .map(|(_, no)| (*no, "requester"))
                .or_else(|| {
                    place
                        .as_ref()
                        .and_then(|p| {
                            by_place.get(&(
                                key.territory.as_str(),
                                p.clone(),
                                key.category.as_str(),
                            ))
                        })
                        .filter(|(at, _)| recent(*at))
                        .map(|(_, no)| (*no, "place"))
                });
            if let Some((earlier, by)) = earlier {
                cell.1 += 1;
                findings.repeats.push(Repeat {
                    no: key.no.clone(),
                    earlier: earlier.to_string(),
                    category: key.category.clone(),
                    by,
                });
            }
            if let (Some(_), Some(raw)) = (&place, &key.place) {
                *places
                    .entry((key.territory.clone(), raw.trim().to_string()))
                    .or_default()
                    .entry(key.category.clone())
                    .or_default() += 1;
            }
        }
        if let Some(p) = phone {
            by_phone.insert(
                (p, key.category.as_str()),
                (key.received_at, key.no.as_str()),
            );
        }
        if let Some(p) = place {
            by_place.insert(
                (key.territory.as_str(), p, key.category.as_str()),
                (key.received_at, key.no.as_str()),
            );
        }
    }
    let mut frequent: Vec<(String, String, i64, String)> = places
        .into_iter()
        .filter_map(|((territory, place), categories)| {
            let total: i64 = categories.values().sum();
            let top = crate::bulletins::ranked(&categories)
                .first()
                .map(|(c, _)| c.clone())
                .unwrap_or_default();
            (total >= policy.frequent_address_min).then_some((territory, place, total, top))
        })
        .collect();
    frequent.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| (&a.0, &a.1).cmp(&(&b.0, &b.1))));
    findings.places = frequent;
    findings
}

async fn find_repeats(
    store: &dyn Store,
    first: NaiveDate,
    before: NaiveDate,
    policy: &AnalysisPolicy,
) -> Result<RepeatFindings, StoreError> {
    let from = midnight(first);
    let lookback = from - chrono::Duration::days(i64::from(policy.repeat_window_days));
    let keys = store.order_keys(lookback, midnight(before)).await?;
    Ok(detect_repeats(&keys, from, policy))
}

/// 重复诉求与高频地址: the days [from, to] (inclusive).
pub async fn repeats(
    store: &dyn Store,
    from: &str,
    to: &str,
    now: Timestamp,
    lang: Lang,
) -> Result<Document, StoreError> {
    let first = parse_date(from)?;
    let last = parse_date(to)?;
    if last < first {
        return Err(invalid("to (before from)", to));
    }
    if (last - first).num_days() > 92 {
        return Err(invalid("range (at most 93 days)", to));
    }
    not_future(first, now, from)?;
    let reference = store.reference();
    let policy = reference.policy.analysis.clone();
    let names = Names {
        reference: &reference,
        lang,
    };
    let before = last.succ_opt().ok_or_else(|| invalid("to", to))?;
    let findings = find_repeats(store, first, before, &policy).await?;
    let total_repeats = findings.repeats.len() as i64;
    let mut categories = Table::new(
        "repeat_categories",
        lang.t("重复诉求（按类别）", "Repeat requests by category"),
        vec![
            lang.t("类别代码", "code"),
            lang.t("类别", "category"),
            lang.t("诉求件数", "requests"),
            lang.t("重复件数", "repeats"),
            lang.t("重复率", "repeat share"),
        ],
    );
    let mut ordered: Vec<(&String, &(i64, i64))> = findings
        .by_category
        .iter()
        .filter(|(_, (_, r))| *r > 0)
        .collect();
    ordered.sort_by(|a, b| b.1 .1.cmp(&a.1 .1).then_with(|| a.0.cmp(b.0)));
    for (code, (orders, repeats)) in ordered {
        categories.push(vec![
            code.clone().into(),
            names.category(code).into(),
            (*orders).into(),
            (*repeats).into(),
            share(*repeats, *orders).into(),
        ]);
    }
    let mut places = Table::new(
        "frequent_places",
        lang.t("高频地址", "High-frequency places"),
        vec![
            lang.t("区", "district"),
            lang.t("属地", "territory"),
            lang.t("地址", "address"),
            lang.t("诉求件数", "requests"),
            lang.t("主要类别", "main category"),
        ],
    );
    for (territory, place, count, category) in &findings.places {
        places.push(vec![
            names.unit(&names.district(territory)).into(),
            names.unit(territory).into(),
            place.clone().into(),
            (*count).into(),
            names.category(category).into(),
        ]);
    }
    let mut list = Table::new(
        "repeats",
        lang.t("重复诉求清单", "Repeat requests"),
        vec![
            lang.t("工单编号", "order"),
            lang.t("前序工单", "earlier order"),
            lang.t("类别", "category"),
            lang.t("判定依据", "matched by"),
        ],
    );
    for r in &findings.repeats {
        list.push(vec![
            r.no.clone().into(),
            r.earlier.clone().into(),
            names.category(&r.category).into(),
            match r.by {
                "requester" => lang.t("同一诉求人", "same requester"),
                _ => lang.t("同一地点", "same place"),
            }
            .into(),
        ]);
    }
    let empty = findings.orders == 0;
    let summary = vec![
        if empty {
            lang.t(
                &format!("{from}至{to}无受理诉求数据。"),
                &format!("{from} to {to}: no requests were received."),
            )
        } else {
            match lang {
                Lang::Zh => format!(
                    "{from}至{to}共受理诉求{}件，其中重复诉求{}件（{}），高频地址{}处。",
                    findings.orders,
                    total_repeats,
                    share(total_repeats, findings.orders)
                        .map(|s| format!("{:.1}%", s * 100.0))
                        .unwrap_or_default(),
                    findings.places.len()
                ),
                Lang::En => format!(
                    "{from} to {to}: {} requests, {} repeats, {} high-frequency places.",
                    findings.orders,
                    total_repeats,
                    findings.places.len()
                ),
            }
        },
        match lang {
            Lang::Zh => format!(
                "判定规则：同一类别、{}天内由同一诉求人（电话）或同一地点（属地与公开地址）再次提出的诉求为重复诉求；同一地点诉求不少于{}件为高频地址。",
                policy.repeat_window_days, policy.frequent_address_min
            ),
            Lang::En => format!(
                "Rule: a request of the same category within {} days from the same requester (phone) or the same place (territory and public address) repeats the earlier one; a place with at least {} requests is high-frequency.",
                policy.repeat_window_days, policy.frequent_address_min
            ),
        },
    ];
    Ok(Document {
        kind: "repeats".into(),
        subject: format!("{from}/{to}"),
        lang,
        title: lang.t(
            &format!("重复诉求与高频地址（{from}至{to}）"),
            &format!("Repeat requests and high-frequency places, {from} to {to}"),
        ),
        empty,
        summary,
        tables: vec![categories, places, list],
    })
}

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
            lang.t("街乡镇代码", "code"),
            lang.t("街乡镇", "street"),
            lang.t("所属区", "district"),
            lang.t("进入前列次数", "times in the top list"),
            lang.t("各月名次（件数）", "months: rank (requests)"),
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

/// The chosen topics, in code order.
pub async fn topics_list(store: &dyn Store) -> Result<Vec<Topic>, StoreError> {
    match store.setting(TOPICS_KEY).await? {
        None => Ok(Vec::new()),
        Some(text) => serde_json::from_str(&text)
            .map_err(|e| StoreError::Other(anyhow::anyhow!("stored topics: {e}"))),
    }
}

/// Adds or replaces a chosen topic (by code) after checking it against the reference data.
pub async fn put_topic(store: &dyn Store, topic: Topic) -> Result<(), StoreError> {
    topic.validate()?;
    let reference = store.reference();
    let lead = whistle_core::ids::UnitCode::parse(&topic.lead)?;
    reference.directory.require(&lead)?;
    for category in &topic.categories {
        let code = whistle_core::ids::CategoryCode::parse(category)?;
        if reference.taxonomy.get(&code).is_none() {
            return Err(whistle_core::error::DomainError::UnknownCategory(category.clone()).into());
        }
    }
    let mut topics = topics_list(store).await?;
    topics.retain(|t| t.code != topic.code);
    topics.push(topic);
    topics.sort_by(|a, b| a.code.cmp(&b.code));
    let text = serde_json::to_string(&topics).map_err(|e| anyhow::anyhow!(e))?;
    store.put_setting(TOPICS_KEY, &text).await
}

/// Removes a chosen topic; false when there was none with that code.
pub async fn remove_topic(store: &dyn Store, code: &str) -> Result<bool, StoreError> {
    let mut topics = topics_list(store).await?;
    let before = topics.len();
    topics.retain(|t| t.code != code);
    if topics.len() == before {
        return Ok(false);
    }
    let text = serde_json::to_string(&topics).map_err(|e| anyhow::anyhow!(e))?;
    store.put_setting(TOPICS_KEY, &text).await?;
    Ok(true)
}

/// 每月一题: the month's ranked pain points (leaf categories city-wide) and the progress of the
/// chosen topics from the month they were chosen to this one.
pub async fn topics(
    store: &dyn Store,
    month: &str,
    now: Timestamp,
    lang: Lang,
) -> Result<Document, StoreError> {
    let first = parse_month(month)?;
    not_future(first, now, month)?;
    let reference = store.reference();
    let policy = reference.policy.analysis.clone();
    let evaluation_policy = reference.policy.evaluation.clone();
    let names = Names {
        reference: &reference,
        lang,
    };
    let next = first
        .checked_add_months(chrono::Months::new(1))
        .ok_or_else(|| invalid("month", month))?;
    let previous = first
        .checked_sub_months(chrono::Months::new(1))
        .ok_or_else(|| invalid("month", month))?;
    let chosen = topics_list(store).await?;
    // Volumes per month and category from the earliest month any topic needs.
    let earliest = chosen
        .iter()
        .filter_map(|t| parse_month(&t.chosen).ok())
        .chain([previous])
        .min()
        .unwrap_or(previous);
    let rows = store
        .intake_volumes(false, &month_key(earliest), &month_key(next))
        .await?;
    let mut volumes: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
    for row in &rows {
        *volumes
            .entry(row.key.clone())
            .or_default()
            .entry(row.category.clone())
            .or_insert(0) += row.count;
    }
    let empty_map = BTreeMap::new();
    let this = volumes.get(month).unwrap_or(&empty_map);
    let last = volumes.get(&month_key(previous)).unwrap_or(&empty_map);
    // Visits and dissatisfaction per category in the evaluation period of the same name.
    let satisfaction = |period: String| {
        let policy = evaluation_policy.clone();
        async move {
            let (from, before) = policy.period(&period)?;
            let cells = store
                .period_cells(&period, policy.period_start_day, from, before)
                .await?;
            let mut per: BTreeMap<String, whistle_core::evaluation::Counts> = BTreeMap::new();
            for (_, category, counts) in cells {
                per.entry(category.to_string()).or_default().add(&counts);
            }
            Ok::<_, StoreError>(per)
        }
    };
    // Each month's evaluation cells read once: the candidates' month and every tracked month.
    let mut per_month: BTreeMap<String, BTreeMap<String, whistle_core::evaluation::Counts>> =
        BTreeMap::new();
    let mut cursor = chosen
        .iter()
        .filter_map(|t| parse_month(&t.chosen).ok())
        .min()
        .unwrap_or(first)
        .min(first);
    while cursor <= first {
        let key = month_key(cursor);
        per_month.insert(key.clone(), satisfaction(key).await?);
        cursor = cursor
            .checked_add_months(chrono::Months::new(1))
            .unwrap_or(next);
    }
    let no_visits = BTreeMap::new();
    let visits = per_month.get(month).unwrap_or(&no_visits);
    let repeats = find_repeats(store, first, next, &policy).await?;
    let figures: Vec<TopicFigures> = this
        .iter()
        .map(|(category, volume)| {
            let counts = visits.get(category).copied().unwrap_or_default();
            TopicFigures {
                category: category.clone(),
                volume: *volume,
                previous_volume: last.get(category).copied().unwrap_or(0),
                visits: counts.visits,
                dissatisfied: counts.dissatisfied,
                repeats: repeats
                    .by_category
                    .get(category)
                    .map(|(_, r)| *r)
                    .unwrap_or(0),
            }
        })
        .collect();
    let candidates = rank_topics(figures, &policy);
    let mut table = Table::new(
        "candidates",
        lang.t("每月一题候选", "Topic-of-the-month candidates"),
        vec![
            lang.t("名次", "rank"),
            lang.t("类别代码", "code"),
            lang.t("类别", "category"),
            lang.t("一级类别", "top level"),
            lang.t("件数", "requests"),
            lang.t("上月件数", "last month"),
            lang.t("增长率", "growth"),
            lang.t("不满意率", "dissatisfaction"),
            lang.t("重复率", "repeat share"),
            lang.t("得分", "score"),
        ],
    );
    for c in &candidates {
        let f = &c.figures;
        table.push(vec![
            c.rank.into(),
            f.category.clone().into(),
            names.category(&f.category).into(),
            names.category(top_level(&f.category)).into(),
            f.volume.into(),
            f.previous_volume.into(),
            f.growth().into(),
            f.dissatisfaction().into(),
            Some(f.repeat_share()).into(),
            Some(c.score).into(),
        ]);
    }
    let mut tracking = Table::new(
        "tracking",
        lang.t("已选题目进展", "Progress of the chosen topics"),
        vec![
            lang.t("题目代码", "code"),
            lang.t("题目", "title"),
            lang.t("牵头单位", "lead unit"),
            lang.t("月份", "month"),
            lang.t("件数", "requests"),
            lang.t("基准月件数", "baseline"),
            lang.t("与基准之比", "ratio to baseline"),
            lang.t("目标比例", "target ratio"),
            lang.t("达标", "on target"),
            lang.t("满意率", "satisfaction rate"),
        ],
    );
    let mut on_target = 0;
    let mut tracked = 0;
    for topic in &chosen {
        let Ok(start) = parse_month(&topic.chosen) else {
            continue;
        };
        if start > first {
            continue;
        }
        tracked += 1;
        let covered = |m: &str| -> i64 {
            volumes
                .get(m)
                .map(|cats| {
                    cats.iter()
                        .filter(|(c, _)| topic.covers(c))
                        .map(|(_, n)| n)
                        .sum()
                })
                .unwrap_or(0)
        };
        let baseline = covered(&topic.chosen);
        let mut cursor = start;
        while cursor <= first {
            let key = month_key(cursor);
            let volume = covered(&key);
            let ratio = share(volume, baseline);
            let counts = per_month
                .get(&key)
                .into_iter()
                .flatten()
                .filter(|(c, _)| topic.covers(c))
                .fold(
                    whistle_core::evaluation::Counts::default(),
                    |mut sum, (_, c)| {
                        sum.add(c);
                        sum
                    },
                );
            let rate = whistle_core::evaluation::rates(&counts, &evaluation_policy)
                .map(|r| r.satisfaction);
            let met = cursor > start && ratio.is_some_and(|r| r <= topic.target_ratio);
            if cursor == first && met {
                on_target += 1;
            }
            tracking.push(vec![
                topic.code.clone().into(),
                topic.title.clone().into(),
                names.unit(&topic.lead).into(),
                key.clone().into(),
                volume.into(),
                baseline.into(),
                ratio.into(),
                Some(topic.target_ratio).into(),
                if cursor == start {
                    lang.t("基准月", "baseline")
                } else if met {
                    lang.t("是", "yes")
                } else {
                    lang.t("否", "no")
                }
                .into(),
                rate.into(),
            ]);
            cursor = cursor
                .checked_add_months(chrono::Months::new(1))
                .unwrap_or(next);
        }
    }
    let empty = this.is_empty();
    let mut summary = Vec::new();
    if empty {
        summary.push(lang.t(
            &format!("{month}无受理诉求数据。"),
            &format!("{month}: no requests."),
        ));
    } else if let Some(top) = candidates.first() {
        summary.push(match lang {
            Lang::Zh => format!(
                "{month}候选题目{}个，得分最高的是“{}”（{}件，得分{:.3}）。",
                candidates.len(),
                names.category(&top.figures.category),
                top.figures.volume,
                top.score
            ),
            Lang::En => format!(
                "{month}: {} candidates; the highest is \"{}\" ({} requests, score {:.3}).",
                candidates.len(),
                names.category(&top.figures.category),
                top.figures.volume,
                top.score
            ),
        });
    }
    summary.push(match lang {
        Lang::Zh => format!(
            "已选题目{}个，本月达到目标{}个。得分 = {}×件数 + {}×不满意率 + {}×重复率 + {}×增长率（各项除以候选中的最大值）。",
            tracked,
            on_target,
            policy.topic_weight_volume,
            policy.topic_weight_dissatisfaction,
            policy.topic_weight_repeat,
            policy.topic_weight_growth
        ),
        Lang::En => format!(
            "{tracked} chosen topics, {on_target} on target this month. Score = {}×volume + {}×dissatisfaction + {}×repeat share + {}×growth (each divided by the largest among the candidates).",
            policy.topic_weight_volume,
            policy.topic_weight_dissatisfaction,
            policy.topic_weight_repeat,
            policy.topic_weight_growth
        ),
    });
    Ok(Document {
        kind: "topics".into(),
        subject: month.to_string(),
        lang,
        title: lang.t(
            &format!("每月一题（{month}）"),
            &format!("Topic of the month, {month}"),
        ),
        empty,
        summary,
        tables: vec![table, tracking],
    })
}

/// The evaluation (一张卷子) as a document, for XLSX and text output.
pub fn evaluation_document(report: &crate::reports::EvaluationReport, lang: Lang) -> Document {
    let mut table = Table::new(
        "evaluation",
        lang.t("三率及综合得分", "Rates and composite"),
        [
            ("组别", "group"),
            ("名次", "rank"),
            ("单位代码", "unit"),
            ("单位", "name"),
            ("派单量", "dispatched"),
            ("有效回访", "valid visits"),
            ("无效回访", "invalid visits"),
            ("及时联系", "contacted in time"),
            ("已解决", "resolved"),
            ("满意", "satisfied"),
            ("基本满意", "basically satisfied"),
            ("不满意", "dissatisfied"),
            ("核减", "excluded"),
            ("响应率", "response rate"),
            ("解决率", "resolution rate"),
            ("满意率", "satisfaction rate"),
            ("综合得分", "composite"),
            ("上期综合得分", "previous composite"),
            ("变化", "change"),
            ("薄弱类别", "weakest categories"),
        ]
        .iter()
        .map(|(zh, en)| lang.t(zh, en))
        .collect(),
    );
    for line in &report.units {
        let c = &line.counts;
        let group = serde_json::to_value(line.group)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let weakest: Vec<String> = line
            .weakest_categories
            .iter()
            .map(|(category, composite)| format!("{category}:{composite:.4}"))
            .collect();
        table.push(vec![
            group.into(),
            line.rank
                .map(|r| Cell::Int(r as i64))
                .unwrap_or(Cell::Text(String::new())),
            line.unit.to_string().into(),
            line.name.clone().into(),
            c.dispatched.into(),
            c.visits.into(),
            c.invalid_visits.into(),
            c.responded.into(),
            c.resolved.into(),
            c.satisfied.into(),
            c.basically_satisfied.into(),
            c.dissatisfied.into(),
            c.excluded.into(),
            line.rates.map(|r| r.response).into(),
            line.rates.map(|r| r.resolution).into(),
            line.rates.map(|r| r.satisfaction).into(),
            line.rates.map(|r| r.composite).into(),
            line.previous_composite.into(),
            line.change.into(),
            weakest.join(";").into(),
        ]);
    }
    let p = &report.policy;
    let summary = vec![
        if report.empty {
            lang.t(
                &format!("{}（{}至{}）无派单和回访数据。", report.period, report.first_day, report.last_day),
                &format!("{} ({} to {}): nothing was dispatched or visited.", report.period, report.first_day, report.last_day),
            )
        } else {
            match lang {
                Lang::Zh => format!(
                    "考核期{}（{}至{}），{}个单位，{}个有有效回访并参与排名。",
                    report.period,
                    report.first_day,
                    report.last_day,
                    report.units.len(),
                    report.units.iter().filter(|u| u.rank.is_some()).count()
                ),
                Lang::En => format!(
                    "Period {} ({} to {}): {} units, {} with valid visits ranked.",
                    report.period,
                    report.first_day,
                    report.last_day,
                    report.units.len(),
                    report.units.iter().filter(|u| u.rank.is_some()).count()
                ),
            }
        },
        match lang {
            Lang::Zh => format!(
                "综合得分 = {}×响应率 + {}×解决率 + {}×满意率；满意率 =（满意 + {}×基本满意）÷ 有效回访。",
                p.weight_response, p.weight_resolution, p.weight_satisfaction, p.basically_satisfied_factor
            ),
            Lang::En => format!(
                "Composite = {}×response + {}×resolution + {}×satisfaction; satisfaction = (satisfied + {}×basically satisfied) ÷ valid visits.",
                p.weight_response, p.weight_resolution, p.weight_satisfaction, p.basically_satisfied_factor
            ),
        },
        match p.count_by {
            whistle_core::evaluation::CountBasis::ReturnVisit => lang.t(
                "统计口径：按回访时间（派单计入派单日，回访结果计入回访日）。",
                "Counted by return visit: a dispatch on its day, a visit's outcome on the visit's day.",
            ),
            whistle_core::evaluation::CountBasis::Received => lang.t(
                "统计口径：按受理时间（派单和回访结果均计入受理日）。",
                "Counted by receipt: dispatch and visit outcome both on the day the request was received.",
            ),
        },
    ];
    Document {
        kind: "evaluation".into(),
        subject: report.period.clone(),
        lang,
        title: lang.t(
            &format!("接诉即办考核（{}）", report.period),
            &format!("Evaluation, {}", report.period),
        ),
        empty: report.empty,
        summary,
        tables: vec![table],
    }
}
