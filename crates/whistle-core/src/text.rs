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

/// Photo references: at most 50, none empty or longer than 500 characters.
pub(crate) fn photos(photos: &[String]) -> Result<(), DomainError> {
    if photos.len() > 50 || photos.iter().any(|p| p.trim().is_empty() || p.len() > 500) {
        return Err(DomainError::InvalidValue {
            field: "photos".into(),
            value: photos.len().to_string(),
        });
    }
    Ok(())
}
