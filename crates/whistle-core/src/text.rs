//! Checks on the free texts every command carries, shared by orders, whistles and grid cases.

use crate::error::DomainError;
use crate::reference::Reference;

/// A required text of at most `max` characters, trimmed.
pub(crate) fn required_within(text: &str, max: usize) -> Result<String, DomainError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(DomainError::TextEmpty);
    }
    let length = trimmed.chars().count();
    if length > max {
        return Err(DomainError::TextTooLong { length, max });
    }
    Ok(trimmed.to_string())
}

/// A required reason, note or answer (policy `note_max_chars`).
pub(crate) fn required(text: &str, reference: &Reference) -> Result<String, DomainError> {
    required_within(text, reference.policy.note_max_chars)
}

/// An optional note (may be empty), trimmed.
pub(crate) fn optional(text: &str, reference: &Reference) -> Result<String, DomainError> {
    let length = text.chars().count();
    let max = reference.policy.note_max_chars;
    if length > max {
        return Err(DomainError::TextTooLong { length, max });
    }
    Ok(text.trim().to_string())
}

/// Photo references: at most 50, each an `http(s)://` URL (with a host, no spaces or control
/// characters, at most 500 characters) or a reference to an uploaded attachment,
/// `attachment:` followed by the content's SHA-256 in lowercase hex. Paths (`../../etc/passwd`)
/// and other schemes are refused.
pub(crate) fn photos(photos: &[String]) -> Result<(), DomainError> {
    if photos.len() > 50 || !photos.iter().all(|p| is_photo_reference(p)) {
        return Err(DomainError::InvalidValue {
            field: "photos".into(),
            value: String::new(),
        });
    }
    Ok(())
}

pub fn is_photo_reference(text: &str) -> bool {
    if let Some(hash) = text.strip_prefix("attachment:") {
        return hash.len() == 64
            && hash
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c));
    }
    let rest = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"));
    let Some(rest) = rest else {
        return false;
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    text.len() <= 500
        && !host.is_empty()
        && !host.contains('@')
        && !text
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '\\')
}

#[cfg(test)]
mod photo_tests {
    use super::*;

    #[test]
    fn photos_are_urls_or_attachments() {
        for good in [
            "https://img.example.cn/a.jpg",
            "http://10.1.2.3:8080/p?id=1",
            "attachment:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        ] {
            assert!(is_photo_reference(good), "{good}");
        }
        for bad in [
            "../../etc/passwd",
            "/etc/passwd",
            "file:///etc/passwd",
            "javascript:alert(1)",
            "https://",
            "https://user@host/x",
            "https://host/a b",
            "attachment:../x",
            "attachment:ABC",
            "",
        ] {
            assert!(!is_photo_reference(bad), "{bad}");
        }
    }
}
