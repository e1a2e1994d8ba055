//! Work orders in the store: the group-commit pipelines stay per backend (`crate::sqlite`,
//! `crate::postgres`), with the pure planning step they share ([`crate::plan`]); the reads of
//! the order side that are not hot are written once here.

pub(crate) mod reads;
