//! How pages show things: Beijing time as `2026-12-01 14:03`, deadlines as the absolute time and
//! the working days or hours left (or overdue) on the Chinese calendar, units and categories by
//! name, the stage and the history's events in the reader's language.

use whistle_core::error::Lang;
use whistle_core::ids::{CategoryCode, UnitCode};
use whistle_core::order::{EventPayload, Order, ReplyOutcome, Stage, VisitResult};
use whistle_core::reference::Reference;
use whistle_core::time::{beijing_local, Timestamp};

/// `2026-12-01 14:03`, Beijing time.
pub fn time(at: Timestamp) -> String {
    beijing_local(at).format("%Y-%m-%d %H:%M").to_string()
}

pub fn pick<'a>(lang: Lang, (zh, en): (&'a str, &'a str)) -> &'a str {
    match lang {
        Lang::Zh => zh,
        Lang::En => en,
    }
}

/// A deadline as shown: label, absolute time, what is left and its colour class.
pub struct Deadline {
    pub label: String,
    pub at: String,
    pub left: String,
    /// `late`, `soon` (within one working day) or empty.
    pub class: &'static str,
}

impl Deadline {
    pub fn new(
        reference: &Reference,
        label: &str,
        at: Timestamp,
        now: Timestamp,
        lang: Lang,
    ) -> Self {
        let (left, class) = if at <= now {
            let hours = (now - at).num_hours();
            (
                match lang {
                    Lang::Zh => format!("已超期 {hours} 小时"),
                    Lang::En => format!("{hours} h overdue"),
                },
                "late",
            )
        } else {
            let days = reference.calendar.working_days_between(now, at);
            if days == 0 {
                let hours = (at - now).num_hours();
                (
                    match lang {
                        Lang::Zh => format!("剩余 {hours} 小时"),
                        Lang::En => format!("{hours} h left"),
                    },
                    "soon",
                )
            } else {
                (
                    match lang {
                        Lang::Zh => format!("剩余 {days} 个工作日"),
                        Lang::En => format!("{days} working days left"),
                    },
                    if days <= 1 { "soon" } else { "" },
                )
            }
        };
        Deadline {
            label: label.to_string(),
            at: time(at),
            left,
            class,
        }
    }

    /// The deadline that runs now, if one does: responding, else handling.
    pub fn running(
        reference: &Reference,
        order: &Order,
        now: Timestamp,
        lang: Lang,
    ) -> Option<Self> {
        let label = |zh: &str, en: &str| pick(lang, (zh, en)).to_string();
        match &order.stage {
            Stage::Dispatched(_) => order
                .respond_by
                .filter(|_| order.contacted_at.is_none())
                .map(|at| (label("响应时限", "Respond by"), at))
                .or_else(|| {
                    order
                        .handle_by
                        .map(|at| (label("办理时限", "Handle by"), at))
                }),
            Stage::Accepted(_) => order
                .handle_by
                .map(|at| (label("办理时限", "Handle by"), at)),
            _ => None,
        }
        .map(|(label, at)| Deadline::new(reference, &label, at, now, lang))
    }
}

/// Names from the reference data, with the code where a name is missing.
pub struct Names<'a> {
    pub reference: &'a Reference,
    pub lang: Lang,
}

impl Names<'_> {
    pub fn unit(&self, code: &UnitCode) -> String {
        self.reference
            .directory
            .get(code)
            .map(|u| u.name.clone())
            .unwrap_or_else(|| code.to_string())
    }

    pub fn category(&self, code: &CategoryCode) -> String {
        self.reference
            .taxonomy
            .get(code)
            .map(|c| match self.lang {
                Lang::Zh => c.name_zh.clone(),
                Lang::En => c.name_en.clone(),
            })
            .unwrap_or_else(|| code.to_string())
    }

    /// District, street, community and the address text, as one line.
    pub fn place(&self, order: &Order) -> String {
        let territory = &order.location.territory;
        let mut parts: Vec<String> = [&territory.district, &territory.street, &territory.community]
            .into_iter()
            .flatten()
            .map(|code| self.unit(code))
            .collect();
        if let Some(address) = order.location.address.as_deref().filter(|a| !a.is_empty()) {
            parts.push(address.to_string());
        }
        parts.join(" ")
    }

    pub fn stage(&self, stage: &Stage) -> String {
        pick(self.lang, stage.labels()).to_string()
    }

    /// A stage by its stored name (a list row's), as [`Names::stage`] shows it.
    pub fn stage_named(&self, name: &str) -> String {
        pick(self.lang, Stage::labels_of(name)).to_string()
    }

    /// A reply as the requester reads it: "已解决：已清理占道摊点".
    pub fn reply(&self, outcome: ReplyOutcome, actions: &str) -> String {
        format!("{}：{actions}", pick(self.lang, outcome.labels()))
    }

    /// An event's name and what it says, for the timeline.
    pub fn event(&self, payload: &EventPayload) -> (String, String) {
        let label = match self.lang {
            Lang::Zh => payload.label_zh().to_string(),
            Lang::En => payload.name().replace('_', " "),
        };
        let detail = match payload {
            EventPayload::Dispatched(d) => {
                let mut units = vec![self.unit(&d.lead)];
                units.extend(d.co_handlers.iter().map(|u| self.unit(u)));
                units.join("、")
            }
            EventPayload::Replied {
                outcome, actions, ..
            } => {
                format!("{}：{actions}", pick(self.lang, outcome.labels()))
            }
            EventPayload::ExtensionRequested { until, reason } => {
                format!(
                    "{} {}：{reason}",
                    pick(self.lang, ("延至", "until")),
                    time(*until)
                )
            }
            EventPayload::ExtensionDecided {
                approved,
                until,
                note,
            } => format!(
                "{} {} {note}",
                if *approved {
                    pick(self.lang, ("同意，延至", "approved, until"))
                } else {
                    pick(self.lang, ("不同意", "refused"))
                },
                if *approved {
                    time(*until)
                } else {
                    String::new()
                }
            ),
            EventPayload::Disputed { reason }
            | EventPayload::Reopened { reason }
            | EventPayload::RuledUnreasonable { reason }
            | EventPayload::Escalated { reason, .. } => reason.clone(),
            EventPayload::Visited { result } => match result {
                VisitResult::Valid {
                    contacted,
                    resolved,
                    satisfaction,
                } => {
                    let yes_no = |b: bool, yes: (&'static str, &'static str), no| {
                        pick(self.lang, if b { yes } else { no })
                    };
                    format!(
                        "{} · {} · {}",
                        pick(self.lang, satisfaction.labels()),
                        yes_no(
                            *contacted,
                            ("已联系", "contacted"),
                            ("未联系", "not contacted")
                        ),
                        yes_no(
                            *resolved,
                            ("已解决", "resolved"),
                            ("未解决", "not resolved")
                        ),
                    )
                }
                VisitResult::Invalid { reason } => {
                    format!(
                        "{}：{reason}",
                        pick(self.lang, ("无效回访", "invalid visit"))
                    )
                }
            },
            EventPayload::PartReported { unit, text } => format!("{}：{text}", self.unit(unit)),
            EventPayload::Assigned { unit, to } => format!("{} → {to}", self.unit(unit)),
            EventPayload::Contacted { note, .. }
            | EventPayload::Closed { note }
            | EventPayload::Supervised { note, .. }
            | EventPayload::DisputeReviewed { note, .. }
            | EventPayload::Forwarded { note, .. } => note.clone(),
            EventPayload::ForwardAnswered { answer } => answer.clone(),
            EventPayload::Linked { earlier } => earlier.to_string(),
            EventPayload::Merged { into } => into.to_string(),
            // The reason a requester was revealed is for the audit, not the timeline.
            _ => String::new(),
        };
        (label, detail)
    }
}

/// A list as a CSV download: UTF-8 with a byte-order mark (Excel reads Chinese then), fields
/// quoted where they must be.
pub fn csv_download(
    filename: &'static str,
    header: &[&str],
    lines: impl Iterator<Item = Vec<String>>,
) -> axum::response::Response {
    use axum::http::{header, HeaderValue};
    use axum::response::IntoResponse;
    let field = |text: &str| {
        if text.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", text.replace('"', "\"\""))
        } else {
            text.to_string()
        }
    };
    let line = |fields: &mut dyn Iterator<Item = &str>| {
        fields.map(field).collect::<Vec<_>>().join(",") + "\n"
    };
    let mut out = String::from("\u{feff}");
    out.push_str(&line(&mut header.iter().copied()));
    for fields in lines {
        out.push_str(&line(&mut fields.iter().map(String::as_str)));
    }
    let disposition = format!("attachment; filename=\"{filename}\"");
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&disposition)
                    .unwrap_or(HeaderValue::from_static("attachment")),
            ),
        ],
        out,
    )
        .into_response()
}

/// HTML-escapes text for the few pages written without a template.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_beijing_minutes() {
        let at = whistle_core::time::parse_beijing("2026-12-01 14:03").unwrap();
        assert_eq!(time(at), "2026-12-01 14:03");
    }

    #[test]
    fn escaping_covers_markup() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
