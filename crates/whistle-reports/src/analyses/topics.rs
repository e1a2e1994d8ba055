//! 每月一题: the topics of the month — their storage, candidates and tracking.

use super::*;
use whistle_core::analysis::TopicCandidate;
use whistle_core::evaluation::{Counts, EvaluationPolicy};

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

/// Requests per month (`YYYY-MM`) and leaf category.
type Volumes = BTreeMap<String, BTreeMap<String, i64>>;
/// Evaluation counts per month and leaf category.
type MonthCounts = BTreeMap<String, BTreeMap<String, Counts>>;

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
    let policy = &reference.policy.analysis;
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
    // Volumes from the earliest month any topic needs.
    let earliest = chosen
        .iter()
        .filter_map(|t| parse_month(&t.chosen).ok())
        .chain([previous])
        .min()
        .unwrap_or(previous);
    let volumes = monthly_volumes(store, earliest, next).await?;
    // The candidates' month and every tracked month.
    let since = chosen
        .iter()
        .filter_map(|t| parse_month(&t.chosen).ok())
        .min()
        .unwrap_or(first)
        .min(first);
    let per_month = monthly_counts(store, since, first, next, &reference.policy.evaluation).await?;
    let empty_map = BTreeMap::new();
    let this = volumes.get(month).unwrap_or(&empty_map);
    let last = volumes.get(&month_key(previous)).unwrap_or(&empty_map);
    let no_visits = BTreeMap::new();
    let visits = per_month.get(month).unwrap_or(&no_visits);
    let repeats = find_repeats(store, first, next, policy).await?;
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
    let candidates = rank_topics(figures, policy);
    let table = candidates_table(&candidates, &names);
    let progress = Progress::of(
        &chosen,
        &volumes,
        &per_month,
        (first, next),
        &reference.policy.evaluation,
        &names,
    );
    let summary = summary(
        month,
        this.is_empty(),
        &candidates,
        &progress,
        policy,
        &names,
    );
    Ok(Document {
        kind: "topics".into(),
        subject: month.to_string(),
        lang,
        title: lang.t(
            &format!("每月一题（{month}）"),
            &format!("Topic of the month, {month}"),
        ),
        empty: this.is_empty(),
        summary,
        tables: vec![table, progress.table],
    })
}

/// Requests per month and category, from `from` up to (not including) `before`.
async fn monthly_volumes(
    store: &dyn Store,
    from: NaiveDate,
    before: NaiveDate,
) -> Result<Volumes, StoreError> {
    let rows = store
        .intake_volumes(false, &month_key(from), &month_key(before))
        .await?;
    let mut volumes = Volumes::new();
    for row in &rows {
        *volumes
            .entry(row.key.clone())
            .or_default()
            .entry(row.category.clone())
            .or_insert(0) += row.count;
    }
    Ok(volumes)
}

/// Visits and dissatisfaction per category in the evaluation period of each month's name, from
/// `since` to `last`: each month's cells read once.
async fn monthly_counts(
    store: &dyn Store,
    since: NaiveDate,
    last: NaiveDate,
    next: NaiveDate,
    policy: &EvaluationPolicy,
) -> Result<MonthCounts, StoreError> {
    let mut per_month = MonthCounts::new();
    let mut cursor = since;
    while cursor <= last {
        let period = month_key(cursor);
        let (from, before) = policy.period(&period)?;
        let cells = store
            .period_cells(&period, policy.period_start_day, from, before)
            .await?;
        let mut per: BTreeMap<String, Counts> = BTreeMap::new();
        for (_, category, counts) in cells {
            per.entry(category.to_string()).or_default().add(&counts);
        }
        per_month.insert(period, per);
        cursor = cursor
            .checked_add_months(chrono::Months::new(1))
            .unwrap_or(next);
    }
    Ok(per_month)
}

/// The candidates, ranked, with their figures.
fn candidates_table(candidates: &[TopicCandidate], names: &Names) -> Table {
    let lang = names.lang;
    let mut table = Table::new(
        "candidates",
        lang.t("每月一题候选", "Topic-of-the-month candidates"),
        vec![
            lang.col("名次", "rank"),
            lang.col("类别代码", "code"),
            lang.col("类别", "category"),
            lang.col("一级类别", "top level"),
            lang.col("件数", "requests"),
            lang.col("上月件数", "last month"),
            lang.col("增长率", "growth"),
            lang.col("不满意率", "dissatisfaction"),
            lang.col("重复率", "repeat share"),
            lang.col("得分", "score"),
        ],
    );
    for c in candidates {
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
    table
}

/// The chosen topics' progress month by month since each was chosen.
struct Progress {
    table: Table,
    /// Topics chosen up to the month.
    tracked: usize,
    /// Of those, the ones at or under their target ratio in the month.
    on_target: usize,
}

impl Progress {
    fn of(
        chosen: &[Topic],
        volumes: &Volumes,
        per_month: &MonthCounts,
        (first, next): (NaiveDate, NaiveDate),
        evaluation_policy: &EvaluationPolicy,
        names: &Names,
    ) -> Progress {
        let lang = names.lang;
        let mut tracking = Table::new(
            "tracking",
            lang.t("已选题目进展", "Progress of the chosen topics"),
            vec![
                lang.col("题目代码", "code"),
                lang.col("题目", "title"),
                lang.col("牵头单位", "lead unit"),
                lang.col("月份", "month"),
                lang.col("件数", "requests"),
                lang.col("基准月件数", "baseline"),
                lang.col("与基准之比", "ratio to baseline"),
                lang.col("目标比例", "target ratio"),
                lang.col("达标", "on target"),
                lang.col("满意率", "satisfaction rate"),
            ],
        );
        let mut on_target = 0;
        let mut tracked = 0;
        for topic in chosen {
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
                    .fold(Counts::default(), |mut sum, (_, c)| {
                        sum.add(c);
                        sum
                    });
                let rate = whistle_core::evaluation::rates(&counts, evaluation_policy)
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
        Progress {
            table: tracking,
            tracked,
            on_target,
        }
    }
}

/// The summary lines: the best candidate and how the chosen topics stand.
fn summary(
    month: &str,
    this_empty: bool,
    candidates: &[TopicCandidate],
    progress: &Progress,
    policy: &AnalysisPolicy,
    names: &Names,
) -> Vec<String> {
    let lang = names.lang;
    let Progress {
        tracked, on_target, ..
    } = progress;
    let mut summary = Vec::new();
    if this_empty {
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
    summary
}
