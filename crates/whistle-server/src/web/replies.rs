//! Standard reply texts (标准答复用语): by category (a prefix of the code; empty for any) and
//! outcome, offered in the reply form — choosing one fills the outcome and the text, which the
//! handler then completes. The shipped defaults are `data/replies/reply_texts.csv`; an
//! administrator replaces them on `/ui/admin` (stored as the `reply_texts` setting).

use whistle_core::error::Lang;
use whistle_core::ids::CategoryCode;
use whistle_core::order::ReplyOutcome;
use whistle_core::reference::Reference;

use crate::AppState;

/// The shipped texts, as a CSV `category,outcome,text`.
pub const DEFAULT: &str = include_str!("../../../../data/replies/reply_texts.csv");
/// The setting an administrator's texts are stored under.
pub const SETTING: &str = "reply_texts";
const MAX_TEXTS: usize = 500;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplyText {
    /// A category code or a prefix of one (`11.04`); empty for any category.
    pub category: String,
    pub outcome: ReplyOutcome,
    pub text: String,
}

/// Reads `category,outcome,text` lines (a header line first; the text may hold commas). A bad
/// line is refused with its number, never skipped.
pub fn parse(csv: &str, reference: &Reference, lang: Lang) -> Result<Vec<ReplyText>, String> {
    let known = |code: &CategoryCode| reference.taxonomy.get(code).is_some();
    parse_with(csv, &known, reference.policy.note_max_chars, lang)
}

/// [`parse`] with the category check and the longest text given.
fn parse_with(
    csv: &str,
    known: &dyn Fn(&CategoryCode) -> bool,
    max_chars: usize,
    lang: Lang,
) -> Result<Vec<ReplyText>, String> {
    let mut texts = Vec::new();
    for (index, line) in csv.lines().enumerate().skip(1) {
        let number = index + 1;
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let bad = |why: &str| match lang {
            Lang::Zh => format!("第 {number} 行：{why}"),
            Lang::En => format!("line {number}: {why}"),
        };
        let mut parts = line.splitn(3, ',');
        let (Some(category), Some(outcome), Some(text)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Err(bad(match lang {
                Lang::Zh => "应为 类别,结果,答复内容",
                Lang::En => "expected category,outcome,text",
            }));
        };
        let category = category.trim().to_string();
        if !category.is_empty() && !CategoryCode::parse(&category).is_ok_and(|c| known(&c)) {
            return Err(bad(match lang {
                Lang::Zh => "没有这个类别代码",
                Lang::En => "no such category code",
            }));
        }
        let outcome = outcome.trim().parse::<ReplyOutcome>().map_err(|_| {
            bad(match lang {
                Lang::Zh => "结果应为 resolved、partly_resolved 或 explained",
                Lang::En => "the outcome is resolved, partly_resolved or explained",
            })
        })?;
        let text = text.trim().to_string();
        if text.is_empty() || text.chars().count() > max_chars {
            return Err(bad(match lang {
                Lang::Zh => "答复内容为空或过长",
                Lang::En => "the text is empty or too long",
            }));
        }
        texts.push(ReplyText {
            category,
            outcome,
            text,
        });
        if texts.len() > MAX_TEXTS {
            return Err(bad(match lang {
                Lang::Zh => "答复用语过多（至多 500 条）",
                Lang::En => "too many texts (at most 500)",
            }));
        }
    }
    Ok(texts)
}

/// The texts in force: the administrator's, else the shipped ones.
pub async fn load(state: &AppState) -> Vec<ReplyText> {
    let reference = state.store.reference();
    let stored = state.store.setting(SETTING).await.ok().flatten();
    stored
        .and_then(|csv| parse(&csv, &reference, Lang::Zh).ok())
        .or_else(|| parse(DEFAULT, &reference, Lang::Zh).ok())
        .unwrap_or_default()
}

/// The texts for a category: the most specific prefix first, then the ones for any category.
pub fn for_category<'a>(texts: &'a [ReplyText], category: &CategoryCode) -> Vec<&'a ReplyText> {
    let code = category.as_str();
    let mut found: Vec<&ReplyText> = texts
        .iter()
        .filter(|t| {
            t.category.is_empty()
                || code == t.category
                || code.starts_with(&format!("{}.", t.category))
        })
        .collect();
    found.sort_by_key(|t| std::cmp::Reverse(t.category.len()));
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_texts_parse_and_match_by_prefix() {
        let known = |c: &CategoryCode| !c.as_str().starts_with("99");
        let texts = parse_with(DEFAULT, &known, 2000, Lang::Zh).unwrap();
        assert!(texts.len() >= 9);
        let street_vending = CategoryCode::parse("11.04.01").unwrap();
        let offered = for_category(&texts, &street_vending);
        assert_eq!(offered[0].category, "11.04", "the specific text first");
        assert!(offered.iter().any(|t| t.category.is_empty()));
        assert!(!offered.iter().any(|t| t.category == "07"));
    }

    #[test]
    fn bad_lines_are_refused_with_their_number() {
        let known = |c: &CategoryCode| !c.as_str().starts_with("99");
        for (csv, wanted) in [
            ("category,outcome,text\n99.99,resolved,x\n", "第 2 行"),
            ("category,outcome,text\n,done,x\n", "结果应为"),
            ("category,outcome,text\n,resolved\n", "应为"),
            ("category,outcome,text\n11.04,resolved,  \n", "为空"),
        ] {
            let error = parse_with(csv, &known, 2000, Lang::Zh).unwrap_err();
            assert!(error.contains(wanted), "{error}");
        }
    }
}
