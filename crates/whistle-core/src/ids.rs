//! Identifier newtypes. Each has a fallible `parse` and no other public constructor, so a value of
//! the type is always well-formed.

use serde::{Deserialize, Serialize};
use std::fmt;
use uuid::Uuid;

use crate::error::DomainError;

/// The internal, unguessable identifier of a work order (a UUIDv7: time-ordered for index
/// locality, 74 random bits). Never shown to citizens; the order number is.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(transparent)]
pub struct OrderId(pub Uuid);

impl fmt::Display for OrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The human-readable work-order number (工单编号): the Beijing date of intake and a sequence
/// number within that day, e.g. `20250930-000123`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OrderNo(String);

impl schemars::JsonSchema for OrderNo {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "OrderNo".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^(20[0-9]{2}((0[1-9]|1[0-2])(0[1-9]|1[0-9]|2[0-8])|(0[13-9]|1[0-2])(29|30)|(0[13578]|1[02])31)|20([02468][048]|[13579][26])0229)-[0-9]{6,12}$",
            "description": "The work-order number (工单编号): the Beijing date of intake and a sequence number, e.g. `20250930-000123`",
        })
    }
}

impl OrderNo {
    pub fn new(day: chrono::NaiveDate, sequence: u64) -> OrderNo {
        OrderNo(format!("{}-{:06}", day.format("%Y%m%d"), sequence))
    }

    pub fn parse(text: &str) -> Result<OrderNo, DomainError> {
        let bad = || DomainError::InvalidOrderNo(text.chars().take(40).collect());
        let (date, sequence) = text.split_once('-').ok_or_else(bad)?;
        if date.len() != 8 || sequence.len() < 6 || sequence.len() > 12 {
            return Err(bad());
        }
        chrono::NaiveDate::parse_from_str(date, "%Y%m%d").map_err(|_| bad())?;
        if !sequence.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        Ok(OrderNo(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for OrderNo {
    type Error = DomainError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        OrderNo::parse(&value)
    }
}

impl From<OrderNo> for String {
    fn from(value: OrderNo) -> String {
        value.0
    }
}

impl fmt::Display for OrderNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

macro_rules! code_type {
    ($(#[$doc:meta])* $name:ident, $error:ident, $max:expr) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl schemars::JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }

            /// What [`Self::parse`] accepts.
            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({
                    "type": "string",
                    "minLength": 1,
                    "maxLength": $max,
                    "pattern": "^[a-z0-9._-]+$",
                })
            }
        }

        impl $name {
            pub fn parse(text: &str) -> Result<$name, DomainError> {
                let ok = !text.is_empty()
                    && text.len() <= $max
                    && text
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-' || b == b'_');
                if ok {
                    Ok($name(text.to_string()))
                } else {
                    Err(DomainError::$error(text.chars().take(40).collect()))
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = DomainError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                $name::parse(&value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

code_type!(
    /// A unit's stable code. Territories use the statistical division code (2-digit city,
    /// 6-digit district, 9-digit street/township, 12-digit community/village); other units use a
    /// dotted code under their territory, e.g. `110105.dept.urban-management`, `11.center`.
    UnitCode,
    InvalidUnitCode,
    64
);

code_type!(
    /// A request category's code in the taxonomy, e.g. `05.02.01`.
    CategoryCode,
    InvalidCategoryCode,
    32
);

impl CategoryCode {
    /// This code and every ancestor, most specific first (`05.02.01`, `05.02`, `05`).
    pub fn lineage(&self) -> impl Iterator<Item = &str> {
        let text = self.0.as_str();
        let mut end = Some(text.len());
        std::iter::from_fn(move || {
            let current = end?;
            let slice = &text[..current];
            end = slice.rfind('.');
            Some(slice)
        })
    }
}

/// Who did something: the user (login name) and the unit on whose behalf they acted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Actor {
    pub user: String,
    pub unit: UnitCode,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_numbers_parse_and_reject() {
        let day = chrono::NaiveDate::from_ymd_opt(2025, 9, 30).unwrap();
        let no = OrderNo::new(day, 123);
        assert_eq!(no.as_str(), "20250930-000123");
        assert_eq!(OrderNo::parse("20250930-000123").unwrap(), no);
        for bad in [
            "",
            "20250930",
            "2025093-000123",
            "20251399-000001",
            "20250930-12",
            "20250930-00012x",
        ] {
            assert!(OrderNo::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn codes_reject_junk() {
        assert!(UnitCode::parse("110105010").is_ok());
        assert!(UnitCode::parse("110105.dept.urban-management").is_ok());
        for bad in ["", "ABC", "110105 010", "街道", &"1".repeat(65)] {
            assert!(UnitCode::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn category_lineage_is_most_specific_first() {
        let code = CategoryCode::parse("05.02.01").unwrap();
        assert_eq!(
            code.lineage().collect::<Vec<_>>(),
            vec!["05.02.01", "05.02", "05"]
        );
    }
}
