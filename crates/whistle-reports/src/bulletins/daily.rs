//! 日通报: the daily bulletin.

use super::*;
use whistle_store::EmergencyRow;

/// 日通报: the requests received on a Beijing day.
pub async fn daily(
    store: &dyn Store,
    date: &str,
    now: Timestamp,
    lang: Lang,
) -> Result<Document, StoreError> {
    let day = parse_date(date)?;
    not_future(day, now, date)?;
    let next = day.succ_opt().ok_or_else(|| invalid("date", date))?;
    let previous = day.pred_opt().ok_or_else(|| invalid("date", date))?;
    let reference = store.reference();
    let names = Names {
        reference: &reference,
        lang,
    };
    let rows = store
        .intake_volumes(true, &day_key(day), &day_key(next))
        .await?;
    let before = store
        .intake_volumes(true, &day_key(previous), &day_key(day))
        .await?;
    let (from, until) = (midnight(day), midnight(next));
    let mix = store.intake_mix(from, until).await?;
    let emergencies = store.emergencies(from, until, EMERGENCIES_LISTED).await?;
    let notices = store.overdue_notices(from, until).await?;

    let total: i64 = rows.iter().map(|r| r.count).sum();
    let previous_total: i64 = before.iter().map(|r| r.count).sum();
    let types = mix.iter().fold(BTreeMap::new(), |mut m, r| {
        *m.entry(r.request_type.clone()).or_insert(0) += r.count;
        m
    });
    let channels = mix.iter().fold(BTreeMap::new(), |mut m, r| {
        *m.entry(r.channel.clone()).or_insert(0) += r.count;
        m
    });
    let emergency_count: i64 = mix
        .iter()
        .filter(|r| r.urgency == "emergency")
        .map(|r| r.count)
        .sum();
    let categories = sum_by(&rows, |r| top_level(&r.category).to_string());
    let categories_before = sum_by(&before, |r| top_level(&r.category).to_string());
    let districts = sum_by(&rows, |r| names.district(&r.territory));
    let districts_before = sum_by(&before, |r| names.district(&r.territory));
    let (streets, top) = top_streets_table(&names, &rows);
    let (overdue, overdue_total) = overdue_table(&names, &notices);

    let empty = total == 0 && notices.is_empty();
    let mut summary = day_summary(
        day,
        &DayFigures {
            total,
            previous_total,
            types: &types,
            channels: &channels,
            categories: &categories,
            top: &top,
        },
        &names,
    );
    summary.push(match lang {
        Lang::Zh => format!(
            "紧急诉求{}件；当日新增超期工单{}。",
            emergency_count,
            overdue_total.said(lang)
        ),
        Lang::En => format!(
            "{emergency_count} emergencies; {} became overdue on the day.",
            overdue_total.said(lang)
        ),
    });

    let tables = vec![
        mix_table(
            &names,
            "types",
            lang.t("按诉求类型", "By request type"),
            &types,
            total,
            &|c| names.request_type(c),
        ),
        mix_table(
            &names,
            "channels",
            lang.t("按受理渠道", "By channel"),
            &channels,
            total,
            &|c| names.channel(c),
        ),
        category_table(
            &names,
            "categories",
            lang.t(
                "按类别（一级，对比前一日）",
                "By category (top level, against the day before)",
            ),
            &categories,
            &categories_before,
            total,
        ),
        district_table(&names, &districts, &districts_before, total),
        streets,
        overdue,
        emergencies_table(&names, &emergencies),
    ];
    Ok(Document {
        kind: "daily".into(),
        subject: day_key(day),
        lang,
        title: lang.t(
            &format!(
                "12345市民服务热线日通报（{}）",
                day.format("%Y年%-m月%-d日")
            ),
            &format!("12345 hotline daily bulletin, {day}"),
        ),
        empty,
        summary,
        tables,
    })
}

/// What the day's summary lines say.
struct DayFigures<'a> {
    total: i64,
    previous_total: i64,
    types: &'a BTreeMap<String, i64>,
    channels: &'a BTreeMap<String, i64>,
    categories: &'a BTreeMap<String, i64>,
    top: &'a [(String, i64)],
}

/// The day's volume against the day before, by type and channel; the largest category and the
/// busiest street.
fn day_summary(day: NaiveDate, figures: &DayFigures, names: &Names) -> Vec<String> {
    let lang = names.lang;
    let DayFigures {
        total,
        previous_total,
        types,
        channels,
        categories,
        top,
    } = *figures;
    let mut lines = Vec::new();
    if total == 0 {
        lines.push(lang.t(
            &format!("{}，无受理诉求数据。", day.format("%Y年%-m月%-d日")),
            &format!("{day}: no requests were received."),
        ));
    } else {
        let type_words: Vec<String> = ranked(types)
            .iter()
            .map(|(t, c)| match lang {
                Lang::Zh => format!("{}{}件", names.request_type(t), c),
                Lang::En => format!("{} {}", c, names.request_type(t)),
            })
            .collect();
        let phone = share(channels.get("phone").copied().unwrap_or(0), total);
        lines.push(match lang {
            Lang::Zh => format!(
                "{}，12345市民服务热线共受理诉求{}件，较前一日{}。其中{}；电话渠道占{}。",
                day.format("%Y年%-m月%-d日"),
                total,
                change_words(lang, total, previous_total),
                type_words.join("、"),
                percent(phone)
            ),
            Lang::En => format!(
                "{day}: the 12345 hotline received {total} requests, {} on the day before: {}; {} by phone.",
                change_words(lang, total, previous_total),
                type_words.join(", "),
                percent(phone)
            ),
        });
        if let Some((code, count)) = ranked(categories).first() {
            lines.push(match lang {
                Lang::Zh => format!(
                    "诉求最集中的类别是“{}”，{}件，占{}。",
                    names.category(code),
                    count,
                    percent(share(*count, total))
                ),
                Lang::En => format!(
                    "The largest category was \"{}\": {} requests, {} of the day.",
                    names.category(code),
                    count,
                    percent(share(*count, total))
                ),
            });
        }
        if let Some((code, count)) = top.first() {
            lines.push(match lang {
                Lang::Zh => format!(
                    "受理量最多的街乡镇是{}{}（{}件）。",
                    names.unit(&names.district(code)),
                    names.unit(code),
                    count
                ),
                Lang::En => format!(
                    "The street with the most requests was {} ({}), {count}.",
                    names.unit(code),
                    names.unit(&names.district(code))
                ),
            });
        }
    }
    lines
}

/// The emergencies received on the day, listed.
fn emergencies_table(names: &Names, emergencies: &[EmergencyRow]) -> Table {
    let lang = names.lang;
    let mut list = Table::new(
        "emergencies",
        lang.t("紧急诉求", "Emergencies"),
        vec![
            lang.col("工单编号", "order"),
            lang.col("受理时间", "received"),
            lang.col("类别", "category"),
            lang.col("区", "district"),
            lang.col("街乡镇", "street"),
            lang.col("承办单位", "lead unit"),
            lang.col("环节", "stage"),
        ],
    );
    for e in emergencies {
        list.push(vec![
            e.no.clone().into(),
            e.received_at
                .with_timezone(&whistle_core::time::beijing())
                .format("%Y-%m-%d %H:%M")
                .to_string()
                .into(),
            names.category(&e.category).into(),
            e.district
                .as_deref()
                .map(|d| names.unit(d))
                .unwrap_or_default()
                .into(),
            e.street
                .as_deref()
                .map(|s| names.unit(s))
                .unwrap_or_default()
                .into(),
            e.lead_unit
                .as_deref()
                .map(|u| names.unit(u))
                .unwrap_or_default()
                .into(),
            e.stage.clone().into(),
        ]);
    }
    list
}
