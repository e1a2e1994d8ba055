//! Analysis reports (一套机制, 未诉先办; DOMAIN §6): hotspots, repeat requests and
//! high-frequency places, governance-class streets (治理类街乡镇) and the topic of the month
//! (每月一题) — its candidates and the tracking of the chosen topics. The statistical rules are
//! in `whistle_core::analysis`; this module gathers the counts.

use chrono::NaiveDate;
use std::collections::{BTreeMap, HashMap};
use whistle_core::analysis::{
    governance_streets as governance_rule, hotspot, rank_topics, top_n, AnalysisPolicy, Topic,
    TopicFigures,
};
use whistle_core::time::Timestamp;

use crate::bulletins::{
    day_key, invalid, midnight, month_key, not_future, parse_date, parse_month, share, top_level,
    Names,
};
use crate::document::{Cell, Document, Lang, Table};
use whistle_store::Store;
use whistle_store::{OrderKey, StoreError};

/// The settings key of the chosen topics.
pub const TOPICS_KEY: &str = "topics";

fn scientific(p: f64) -> Cell {
    Cell::Text(format!("{p:.2e}"))
}

mod governance;
mod hotspots;
mod repeats;
mod topics;

pub use governance::governance_streets;
pub use hotspots::hotspots;
use repeats::find_repeats;
pub use repeats::{detect_repeats, repeats, Repeat, RepeatFindings};
pub use topics::{put_topic, remove_topic, topics, topics_list};
