//! The reference data a command is decided against, bundled: organisation, taxonomy, dispatch
//! catalogue, duty lists, calendar and policy. The store keeps one immutable snapshot and swaps
//! it whole when an import commits.

use crate::calendar::WorkCalendar;
use crate::catalogue::{Catalogue, DutyLists};
use crate::ids::UnitCode;
use crate::org::Directory;
use crate::policy::Policy;
use crate::taxonomy::Taxonomy;
use crate::whistle::WhistleList;

#[derive(Clone, Debug)]
pub struct Reference {
    /// The city's own code (`11` for Beijing): the root territory and home of city departments.
    pub city: UnitCode,
    pub directory: Directory,
    pub taxonomy: Taxonomy,
    pub catalogue: Catalogue,
    pub duties: DutyLists,
    pub calendar: WorkCalendar,
    pub policy: Policy,
    /// 吹哨事项清单.
    pub whistle_list: WhistleList,
}
