//! The request taxonomy (诉求分类): a multi-level tree; each leaf names its default handler,
//! urgency and time-limit class.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::catalogue::HandlerRule;
use crate::error::DomainError;
use crate::ids::CategoryCode;

/// 紧急程度.
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
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    Normal,
    Urgent,
    /// Risk to life or property.
    Emergency,
}

/// The time-limit class a category defaults to (DOMAIN §3, policy).
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
#[serde(rename_all = "snake_case")]
pub enum LimitClass {
    /// Risk to life or property: respond in 2 clock hours.
    Emergency,
    /// 水电气热 outages: 24 clock hours.
    Utility,
    /// Ordinary requests: 7 working days.
    Ordinary,
    /// Complex requests: 15 working days.
    Complex,
    /// Consultations dispatched to a unit: 2 working days.
    Consultation,
}

macro_rules! str_enum {
    ($name:ident, $field:literal, $($variant:ident => $text:literal),+ $(,)?) => {
        impl $name {
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }
        impl ::std::str::FromStr for $name {
            type Err = $crate::error::DomainError;
            fn from_str(text: &str) -> Result<Self, Self::Err> {
                match text {
                    $($text => Ok($name::$variant),)+
                    _ => Err($crate::error::DomainError::InvalidValue { field: $field.into(), value: text.chars().take(30).collect() }),
                }
            }
        }
        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use str_enum;

str_enum!(Urgency, "urgency", Normal => "normal", Urgent => "urgent", Emergency => "emergency");
str_enum!(LimitClass, "limit class", Emergency => "emergency", Utility => "utility", Ordinary => "ordinary",
    Complex => "complex", Consultation => "consultation");

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Category {
    pub code: CategoryCode,
    pub name_zh: String,
    pub name_en: String,
    /// The default lead handler; the dispatch catalogue may override it per territory.
    pub handler: HandlerRule,
    pub urgency: Urgency,
    pub limit_class: LimitClass,
    /// Offered to the public (Open311 services, the citizen app).
    pub public: bool,
}

#[derive(Clone, Debug, Default)]
pub struct Taxonomy {
    categories: BTreeMap<CategoryCode, Category>,
}

impl Taxonomy {
    /// Builds and checks a taxonomy: every code's parent exists.
    pub fn build(categories: Vec<Category>) -> Result<Taxonomy, DomainError> {
        let mut taxonomy = Taxonomy::default();
        for category in categories {
            if category.name_zh.trim().is_empty() {
                return Err(DomainError::InvalidReference(format!(
                    "category {} has no name",
                    category.code
                )));
            }
            let code = category.code.clone();
            if taxonomy.categories.insert(code.clone(), category).is_some() {
                return Err(DomainError::InvalidReference(format!(
                    "category {code} appears twice"
                )));
            }
        }
        for code in taxonomy.categories.keys() {
            if let Some(parent) = code.lineage().nth(1) {
                if !taxonomy
                    .categories
                    .keys()
                    .any(|other| other.as_str() == parent)
                {
                    return Err(DomainError::InvalidReference(format!(
                        "category {code} has no parent {parent}"
                    )));
                }
            }
        }
        Ok(taxonomy)
    }

    pub fn get(&self, code: &CategoryCode) -> Option<&Category> {
        self.categories.get(code)
    }

    pub fn get_str(&self, code: &str) -> Option<&Category> {
        CategoryCode::parse(code)
            .ok()
            .and_then(|code| self.categories.get(&code))
    }

    pub fn is_leaf(&self, code: &CategoryCode) -> bool {
        let prefix = format!("{}.", code.as_str());
        !self
            .categories
            .range(code.clone()..)
            .skip(1)
            .take(1)
            .any(|(other, _)| other.as_str().starts_with(&prefix))
    }

    /// A leaf category or an error naming why not.
    pub fn require_leaf(&self, code: &CategoryCode) -> Result<&Category, DomainError> {
        let category = self
            .get(code)
            .ok_or_else(|| DomainError::UnknownCategory(code.to_string()))?;
        if !self.is_leaf(code) {
            return Err(DomainError::CategoryNotLeaf(code.to_string()));
        }
        Ok(category)
    }

    /// All categories in code order (parents before children).
    pub fn iter(&self) -> impl Iterator<Item = &Category> {
        self.categories.values()
    }

    pub fn len(&self) -> usize {
        self.categories.len()
    }

    pub fn is_empty(&self) -> bool {
        self.categories.is_empty()
    }

    /// The depth of a code (1 for a top-level category).
    pub fn depth(code: &CategoryCode) -> usize {
        code.as_str().split('.').count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn category(code: &str) -> Category {
        Category {
            code: CategoryCode::parse(code).unwrap(),
            name_zh: code.into(),
            name_en: code.into(),
            handler: HandlerRule::Street,
            urgency: Urgency::Normal,
            limit_class: LimitClass::Ordinary,
            public: true,
        }
    }

    #[test]
    fn leaves_and_parents() {
        let taxonomy = Taxonomy::build(vec![
            category("01"),
            category("01.01"),
            category("01.02"),
            category("02"),
        ])
        .unwrap();
        assert!(!taxonomy.is_leaf(&CategoryCode::parse("01").unwrap()));
        assert!(taxonomy.is_leaf(&CategoryCode::parse("01.02").unwrap()));
        assert!(taxonomy.is_leaf(&CategoryCode::parse("02").unwrap()));
        assert_eq!(
            taxonomy
                .require_leaf(&CategoryCode::parse("01").unwrap())
                .unwrap_err()
                .key(),
            "category_not_leaf"
        );
        assert_eq!(
            taxonomy
                .require_leaf(&CategoryCode::parse("09").unwrap())
                .unwrap_err()
                .key(),
            "unknown_category"
        );
        assert!(Taxonomy::build(vec![category("01.01")]).is_err());
    }
}
