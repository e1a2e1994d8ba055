//! Reading what a client sent: JSON bodies and query strings, refused with a message that names
//! the field (its path, `location.street`, `summons[2].unit`) and what it should be (the type or
//! the allowed values) — never the value itself, so a phone number typed into the wrong field is
//! not echoed back or logged.
//!
//! Invariant: a refusal from here contains no submitted value; a field name the client made up
//! is named only when it looks like an identifier.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde::Serialize;
use whistle_core::error::Lang;

use crate::error::{ApiError, ApiResult};

/// Parses a JSON body.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8], lang: Lang) -> ApiResult<T> {
    // JSON has one kind of number: `3.0` is the integer 3 (as JSON Schema's `integer` says), so
    // integral values are made integers before the body is read into its type.
    let mut tree: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|error| malformed(error.classify(), lang))?;
    integral(&mut tree);
    // The syntax is checked above: what is left is the shape, refused naming the field.
    serde_path_to_error::deserialize(tree).map_err(|error| {
        ApiError::bad_request(
            "invalid_field",
            &describe(&error.path().to_string(), &error.inner().to_string(), lang),
            lang,
        )
    })
}

/// Every number with an integral value (`3.0`) as an integer (`3`), where it fits one.
fn integral(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Number(number) if number.is_f64() => {
            if let Some(f) = number.as_f64().filter(|f| f.fract() == 0.0) {
                // 2^64: the first integral value beyond u64.
                if (0.0..18_446_744_073_709_551_616.0).contains(&f) {
                    *value = serde_json::Value::from(f as u64);
                } else if f < 0.0 && f >= i64::MIN as f64 {
                    *value = serde_json::Value::from(f as i64);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(integral),
        serde_json::Value::Object(map) => map.values_mut().for_each(integral),
        _ => {}
    }
}

fn malformed(category: serde_json::error::Category, lang: Lang) -> ApiError {
    let detail = match category {
        serde_json::error::Category::Eof => lang.t("JSON 不完整", "the JSON ends too early"),
        _ => lang.t("不是有效的 JSON", "not valid JSON"),
    };
    ApiError::bad_request("malformed_json", &detail, lang)
}

/// Parses an object of fields as `T`, refusing any field `T` does not keep (for commands whose
/// variants carry no fields, where serde would silently ignore extra ones).
/// A refusal of a JSON value (not a body) as `T`, described like [`parse_json`]'s.
pub fn describe_value_error(error: &serde_json::Error, lang: Lang) -> String {
    describe("", &error.to_string(), lang)
}

pub fn parse_known<T: DeserializeOwned + Serialize>(
    fields: serde_json::Map<String, serde_json::Value>,
    lang: Lang,
) -> ApiResult<T> {
    let sent: Vec<String> = fields.keys().cloned().collect();
    let value: T =
        serde_path_to_error::deserialize(serde_json::Value::Object(fields)).map_err(|error| {
            let detail = describe(&error.path().to_string(), &error.inner().to_string(), lang);
            ApiError::bad_request("invalid_field", &detail, lang)
        })?;
    let known = serde_json::to_value(&value).map_err(|e| ApiError::internal(e, lang))?;
    match sent.iter().find(|key| known.get(key.as_str()).is_none()) {
        Some(unknown) => Err(ApiError::bad_request(
            "invalid_field",
            &unknown_field(unknown, "", lang),
            lang,
        )),
        None => Ok(value),
    }
}

/// A query string, parsed as `T`; refused with 400 naming the parameter. An empty parameter
/// (`at=`) counts as not given, for every query alike.
pub struct Params<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let lang = crate::auth::language(parts);
        let query = parts.uri.query().unwrap_or("");
        // A parameter left empty (`at=`, as a form sends an empty field) is a parameter not given.
        let given: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
            .filter(|(_, value)| !value.is_empty())
            .map(|(name, value)| (name.into_owned(), value.into_owned()))
            .collect();
        let encoded = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&given)
            .finish();
        let deserializer =
            serde_urlencoded::Deserializer::new(form_urlencoded::parse(encoded.as_bytes()));
        serde_path_to_error::deserialize(deserializer)
            .map(Params)
            .map_err(|error| {
                let detail = describe(&error.path().to_string(), &error.inner().to_string(), lang);
                ApiError::bad_request("invalid_query", &detail, lang)
            })
    }
}

trait Say {
    fn t(self, zh: &str, en: &str) -> String;
}

impl Say for Lang {
    fn t(self, zh: &str, en: &str) -> String {
        if self == Lang::En { en } else { zh }.to_string()
    }
}

/// What is wrong with the field at `path`, from a serde message, without the value serde quotes.
fn describe(path: &str, message: &str, lang: Lang) -> String {
    let message = message
        .rsplit_once(" at line ")
        .map_or(message, |(head, _)| head);
    let path = if path == "." { "" } else { path };
    let field = |zh: &str, en: &str| -> String {
        if path.is_empty() {
            lang.t(zh, en)
        } else {
            lang.t(
                &format!("字段 {path}：{zh}"),
                &format!("field {path}: {en}"),
            )
        }
    };
    let expected = |rest: &str| -> String {
        rest.split_once(", expected ")
            .map(|(_, expected)| expected.to_string())
            .unwrap_or_default()
    };
    if let Some(rest) = message
        .strip_prefix("invalid type: ")
        .or_else(|| message.strip_prefix("invalid value: "))
    {
        let wanted = expected(rest);
        return field(
            &format!("取值类型或格式有误，应为{}", zh_kind(&wanted)),
            &format!("expected {wanted}"),
        );
    }
    if let Some(rest) = message.strip_prefix("invalid length ") {
        let wanted = expected(rest);
        return field(
            &format!("长度有误，应为 {wanted}"),
            &format!("expected {wanted}"),
        );
    }
    if let Some(rest) = message.strip_prefix("unknown variant ") {
        let allowed = rest
            .split_once("expected ")
            .map(|(_, allowed)| allowed.replace('`', ""))
            .unwrap_or_default();
        return field(
            &format!("取值无效，可选：{allowed}"),
            &format!("not an allowed value; use {allowed}"),
        );
    }
    if let Some(rest) = message.strip_prefix("unknown field ") {
        let name = rest.split('`').nth(1).unwrap_or("");
        let allowed = rest
            .split_once("expected ")
            .map(|(_, allowed)| allowed.replace('`', ""))
            .unwrap_or_default();
        return unknown_field(name, &allowed, lang);
    }
    if let Some(rest) = message.strip_prefix("missing field ") {
        let name = rest.trim_matches('`');
        let full = if path.is_empty() {
            name.to_string()
        } else {
            format!("{path}.{name}")
        };
        return lang.t(
            &format!("缺少字段 {full}"),
            &format!("missing field {full}"),
        );
    }
    if let Some(rest) = message.strip_prefix("duplicate field ") {
        let name = rest.trim_matches('`');
        return lang.t(
            &format!("字段 {name} 重复"),
            &format!("duplicate field {name}"),
        );
    }
    // A refusal from one of our own types (a code, a time limit): its message never quotes the
    // value (DomainError's invariant); anything quoted is dropped all the same.
    field(&unquoted(message), &unquoted(message))
}

fn unknown_field(name: &str, allowed: &str, lang: Lang) -> String {
    let identifier = !name.is_empty()
        && name.len() <= 40
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    let named = if identifier { name } else { "…" };
    if allowed.is_empty() {
        lang.t(
            &format!("不认识的字段 {named}"),
            &format!("unknown field {named}"),
        )
    } else {
        lang.t(
            &format!("不认识的字段 {named}，可用字段：{allowed}"),
            &format!("unknown field {named}; the fields are {allowed}"),
        )
    }
}

fn unquoted(message: &str) -> String {
    let mut out = String::new();
    let mut inside = None;
    for c in message.chars() {
        match (inside, c) {
            (None, '`' | '"') => inside = Some(c),
            (Some(open), c) if c == open => {
                inside = None;
                out.push('…');
            }
            (None, c) => out.push(c),
            _ => {}
        }
    }
    out
}

/// serde's names of what it expected, in Chinese where they are the common ones.
fn zh_kind(expected: &str) -> String {
    let known = match expected {
        "a string" | "string" => "字符串",
        "a boolean" | "bool" => "布尔值（true/false）",
        "a sequence" => "数组",
        "a map" => "对象",
        "f64" | "f32" => "数字",
        "i64" | "i32" | "u64" | "u32" | "u16" | "u8" | "usize" => "整数",
        _ => "",
    };
    if !known.is_empty() {
        return format!(" {known}");
    }
    if expected.starts_with("struct ") || expected.starts_with("internally tagged enum") {
        return " 对象".into();
    }
    format!(" {}", unquoted(expected))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        latitude: Option<f64>,
        stage: Option<whistle_core::order::Urgency>,
        location: Option<Inner>,
    }

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        street: Option<whistle_core::ids::UnitCode>,
        count: u32,
    }

    fn refusal(body: &str) -> String {
        match parse_json::<Body>(body.as_bytes(), Lang::Zh) {
            Ok(_) => String::new(),
            Err(error) => error.message,
        }
    }

    #[test]
    fn refusals_name_the_field_never_the_value() {
        let phone = "13912345678";
        for body in [
            format!(r#"{{"latitude": "{phone}"}}"#),
            format!(r#"{{"stage": "{phone}"}}"#),
            format!(r#"{{"location": {{"street": "{phone}", "count": 1}}}}"#),
            format!(r#"{{"location": {{"count": "{phone}"}}}}"#),
            format!(r#"{{"{phone}": 1}}"#),
            format!(r#"{{"location": {{"{phone}": 1}}}}"#),
        ] {
            let message = refusal(&body);
            assert!(!message.contains(phone), "{body} -> {message}");
        }
        assert!(refusal(r#"{"latitude": "x"}"#).contains("latitude"));
        assert!(refusal(r#"{"latitude": "x"}"#).contains("数字"));
        let stage = refusal(r#"{"stage": "x"}"#);
        assert!(
            stage.contains("stage") && stage.contains("normal"),
            "{stage}"
        );
        let street = refusal(r#"{"location": {"street": "139 1234", "count": 1}}"#);
        assert!(street.contains("location.street"), "{street}");
        let missing = refusal(r#"{"location": {}}"#);
        assert!(missing.contains("location.count"), "{missing}");
        let unknown = refusal(r#"{"colour": 1}"#);
        assert!(
            unknown.contains("colour") && unknown.contains("latitude"),
            "{unknown}"
        );
        assert_eq!(
            parse_json::<Body>(b"{", Lang::Zh).unwrap_err().code,
            "malformed_json"
        );
        assert_eq!(
            parse_json::<Body>(b"{} x", Lang::Zh).unwrap_err().code,
            "malformed_json"
        );
    }
}
