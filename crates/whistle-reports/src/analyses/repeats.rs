//! 重复诉求与高频地址: repeat requests and high-frequency places.

use super::*;

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

pub(super) async fn find_repeats(
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
            lang.col("类别代码", "code"),
            lang.col("类别", "category"),
            lang.col("诉求件数", "requests"),
            lang.col("重复件数", "repeats"),
            lang.col("重复率", "repeat share"),
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
            lang.col("区", "district"),
            lang.col("属地", "territory"),
            lang.col("地址", "address"),
            lang.col("诉求件数", "requests"),
            lang.col("主要类别", "main category"),
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
            lang.col("工单编号", "order"),
            lang.col("前序工单", "earlier order"),
            lang.col("类别", "category"),
            lang.col("判定依据", "matched by"),
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
