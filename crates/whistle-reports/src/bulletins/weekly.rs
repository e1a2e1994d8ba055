//! 周汇总: the weekly summary, an ISO week against the week before.

use super::*;

/// 周汇总: an ISO week (Monday to Sunday) against the week before.
pub async fn weekly(
    store: &dyn Store,
    week: &str,
    now: Timestamp,
    lang: Lang,
) -> Result<Document, StoreError> {
    let monday = parse_week(week)?;
    not_future(monday, now, week)?;
    let next = monday + chrono::Days::new(7);
    let before_monday = monday - chrono::Days::new(7);
    let reference = store.reference();
    let names = Names {
        reference: &reference,
        lang,
    };
    let rows = store
        .intake_volumes(true, &day_key(monday), &day_key(next))
        .await?;
    let before = store
        .intake_volumes(true, &day_key(before_monday), &day_key(monday))
        .await?;
    let notices = store
        .overdue_notices(midnight(monday), midnight(next))
        .await?;
    let total: i64 = rows.iter().map(|r| r.count).sum();
    let previous_total: i64 = before.iter().map(|r| r.count).sum();
    let by_day = sum_by(&rows, |r| r.key.clone());
    let mut days = Table::new(
        "days",
        lang.t("每日受理量", "Requests per day"),
        vec![
            lang.col("日期", "date"),
            lang.col("星期", "weekday"),
            lang.col("件数", "requests"),
        ],
    );
    for offset in 0..7 {
        let day = monday + chrono::Days::new(offset);
        let weekday = ["一", "二", "三", "四", "五", "六", "日"][offset as usize];
        days.push(vec![
            day_key(day).into(),
            lang.t(&format!("星期{weekday}"), &day.format("%A").to_string())
                .into(),
            by_day.get(&day_key(day)).copied().unwrap_or(0).into(),
        ]);
    }
    let categories = sum_by(&rows, |r| top_level(&r.category).to_string());
    let categories_before = sum_by(&before, |r| top_level(&r.category).to_string());
    let leaves = sum_by(&rows, |r| r.category.clone());
    let leaves_before = sum_by(&before, |r| r.category.clone());
    let districts = sum_by(&rows, |r| names.district(&r.territory));
    let districts_before = sum_by(&before, |r| names.district(&r.territory));
    let (streets, _) = top_streets_table(&names, &rows);
    let (overdue, overdue_total) = overdue_table(&names, &notices);
    // Rising categories: the largest increases in count among leaves with at least 10 requests.
    let mut rising: Vec<(String, i64, i64)> = leaves
        .iter()
        .map(|(c, n)| (c.clone(), *n, leaves_before.get(c).copied().unwrap_or(0)))
        .filter(|(_, n, _)| *n >= 10)
        .filter(|(_, n, b)| n > b)
        .collect();
    rising.sort_by(|a, b| (b.1 - b.2).cmp(&(a.1 - a.2)).then_with(|| a.0.cmp(&b.0)));
    rising.truncate(10);
    let mut risers = Table::new(
        "rising",
        lang.t("增量最大的小类", "Categories rising most"),
        vec![
            lang.col("类别代码", "code"),
            lang.col("类别", "category"),
            lang.col("本周", "this week"),
            lang.col("上周", "last week"),
            lang.col("增加", "increase"),
            lang.col("变化率", "change"),
        ],
    );
    for (code, n, b) in &rising {
        risers.push(vec![
            code.clone().into(),
            names.category(code).into(),
            (*n).into(),
            (*b).into(),
            (n - b).into(),
            change(*n, *b).into(),
        ]);
    }
    let empty = total == 0;
    let mut summary = Vec::new();
    let last = next.pred_opt().unwrap_or(next);
    if empty {
        summary.push(lang.t(
            &format!("{week}（{monday}至{last}）无受理诉求数据。"),
            &format!("{week} ({monday} to {last}): no requests were received."),
        ));
    } else {
        summary.push(match lang {
            Lang::Zh => format!(
                "{week}（{monday}至{last}）共受理诉求{total}件，日均{:.0}件，较上周{}；新增超期工单{}。",
                total as f64 / 7.0,
                change_words(lang, total, previous_total),
                overdue_total.said(lang)
            ),
            Lang::En => format!(
                "{week} ({monday} to {last}): {total} requests, {:.0} a day, {} on the week before; {} became overdue.",
                total as f64 / 7.0,
                change_words(lang, total, previous_total),
                overdue_total.said(lang)
            ),
        });
        if let Some((code, n, b)) = rising.first() {
            summary.push(match lang {
                Lang::Zh => format!(
                    "增量最大的是“{}”，由{}件增至{}件。",
                    names.category(code),
                    b,
                    n
                ),
                Lang::En => format!("\"{}\" rose most, from {b} to {n}.", names.category(code)),
            });
        }
    }
    Ok(Document {
        kind: "weekly".into(),
        subject: week.to_string(),
        lang,
        title: lang.t(
            &format!("12345市民服务热线周汇总（{week}）"),
            &format!("12345 hotline weekly summary, {week}"),
        ),
        empty,
        summary,
        tables: vec![
            days,
            category_table(
                &names,
                "categories",
                lang.t(
                    "按类别（一级，对比上周）",
                    "By category (top level, against the week before)",
                ),
                &categories,
                &categories_before,
                total,
            ),
            risers,
            district_table(&names, &districts, &districts_before, total),
            streets,
            overdue,
        ],
    })
}
