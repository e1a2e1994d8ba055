//! A small but complete reference for core tests: one district with two streets, a community,
//! departments, an enterprise, centres; a taxonomy with street, department and utility leaves.

use super::*;
use crate::calendar::{parse_workdays_json, WorkCalendar};
use crate::catalogue::{Catalogue, CatalogueEntry, DutyLists, HandlerRule};
use crate::org::{Directory, Unit, UnitKind, UnitStatus};
use crate::policy::Policy;
use crate::reference::Reference;
use crate::taxonomy::{Category, LimitClass, Taxonomy};
use crate::time::parse_beijing;
use crate::whistle::{WhistleKind, WhistleList, WhistleListItem};

pub fn code(text: &str) -> UnitCode {
    UnitCode::parse(text).unwrap()
}

pub fn category(text: &str) -> CategoryCode {
    CategoryCode::parse(text).unwrap()
}

pub fn at(text: &str) -> Timestamp {
    parse_beijing(text).unwrap()
}

fn unit(code_text: &str, kind: UnitKind, parent: Option<&str>, line: Option<&str>) -> Unit {
    Unit {
        code: code(code_text),
        kind,
        name: code_text.to_string(),
        parent: parent.map(code),
        line: line.map(str::to_string),
        status: UnitStatus::Active,
        merged_into: None,
    }
}

pub fn reference() -> Reference {
    let units = vec![
        unit("11", UnitKind::City, None, None),
        unit("11.center", UnitKind::DispatchCenter, Some("11"), None),
        unit(
            "11.dept.transport",
            UnitKind::Department,
            Some("11"),
            Some("transport"),
        ),
        unit(
            "11.ent.power",
            UnitKind::Enterprise,
            Some("11"),
            Some("power"),
        ),
        unit("110105", UnitKind::District, Some("11"), None),
        unit(
            "110105.center",
            UnitKind::DispatchCenter,
            Some("110105"),
            None,
        ),
        unit(
            "110105.dept.urban-management",
            UnitKind::Department,
            Some("110105"),
            Some("urban-management"),
        ),
        unit(
            "110105.dept.housing",
            UnitKind::Department,
            Some("110105"),
            Some("housing"),
        ),
        unit("110105010", UnitKind::Subdistrict, Some("110105"), None),
        unit("110105011", UnitKind::Subdistrict, Some("110105"), None),
        unit("110105010001", UnitKind::Community, Some("110105010"), None),
        unit("110105400", UnitKind::StatisticalZone, Some("110105"), None),
        unit("110101", UnitKind::District, Some("11"), None),
        unit(
            "110101.dept.urban-management",
            UnitKind::Department,
            Some("110101"),
            Some("urban-management"),
        ),
        Unit {
            status: UnitStatus::Retired,
            ..unit("110105012", UnitKind::Subdistrict, Some("110105"), None)
        },
    ];
    let directory = Directory::build(units).unwrap();
    let leaf = |c: &str, handler: &str, class: LimitClass| Category {
        code: category(c),
        name_zh: c.into(),
        name_en: c.into(),
        handler: HandlerRule::parse(handler).unwrap(),
        urgency: Urgency::Normal,
        limit_class: class,
        public: true,
    };
    let taxonomy = Taxonomy::build(vec![
        leaf("03", "enterprise:power", LimitClass::Utility),
        leaf("03.03", "enterprise:power", LimitClass::Utility),
        leaf("04", "district:housing", LimitClass::Ordinary),
        leaf("04.02", "district:housing", LimitClass::Ordinary),
        leaf("08", "community", LimitClass::Ordinary),
        leaf("08.02", "community", LimitClass::Ordinary),
        leaf("11", "street", LimitClass::Ordinary),
        leaf("11.04", "street", LimitClass::Ordinary),
        leaf("11.04.01", "street", LimitClass::Ordinary),
        leaf("11.04.02", "district:urban-management", LimitClass::Complex),
    ])
    .unwrap();
    let mut duties = DutyLists::default();
    duties.street.insert(category("11.04"));
    duties.street.insert(category("08.02"));
    duties.community.insert(category("08.02"));
    let entry = |c: &str, territory: &str, lead: &str, co: &[&str]| CatalogueEntry {
        category: category(c),
        territory: code(territory),
        lead: HandlerRule::parse(lead).unwrap(),
        co_handlers: co.iter().map(|h| HandlerRule::parse(h).unwrap()).collect(),
    };
    let catalogue = Catalogue::build(
        3,
        vec![
            entry("03.03", "11", "enterprise:power", &[]),
            entry("04.02", "11", "district:housing", &[]),
            entry("08.02", "11", "community", &[]),
            entry("11.04.01", "11", "street", &["district:urban-management"]),
            entry("11.04.02", "11", "district:urban-management", &[]),
            entry("11.04.02", "110105011", "street", &[]),
        ],
        &taxonomy,
        &directory,
        &duties,
    )
    .unwrap();
    let mut calendar = WorkCalendar::default();
    for year in
        parse_workdays_json(include_str!("../../../../data/calendar/cn_workdays.json")).unwrap()
    {
        calendar.insert_year(year);
    }
    let item = |item: &str, kind: WhistleKind, territory: &str, lead: &str, assisting: &[&str]| {
        WhistleListItem {
            code: item.into(),
            kind,
            title: format!("{item} 事项"),
            territory: code(territory),
            lead: HandlerRule::parse(lead).unwrap(),
            assisting: assisting
                .iter()
                .map(|h| HandlerRule::parse(h).unwrap())
                .collect(),
        }
    };
    let whistle_list = WhistleList::build(
        vec![
            item(
                "pipe-repair",
                WhistleKind::Emergency,
                "11",
                "district:urban-management",
                &["district:housing", "enterprise:power"],
            ),
            item(
                "illegal-building",
                WhistleKind::Enforcement,
                "11",
                "district:urban-management",
                &[],
            ),
            item(
                "illegal-building",
                WhistleKind::Enforcement,
                "110105011",
                "district:housing",
                &["district:urban-management"],
            ),
        ],
        &directory,
        &code("11"),
    )
    .unwrap();
    Reference {
        city: code("11"),
        directory,
        taxonomy,
        catalogue,
        duties,
        calendar,
        policy: Policy::default(),
        whistle_list,
    }
}

pub fn actor(unit: &str) -> Actor {
    Actor {
        user: "tester".into(),
        unit: code(unit),
    }
}

pub fn complaint(street: &str, category_code: &str) -> Intake {
    Intake {
        received_at: None,
        channel: Channel::Phone,
        request_type: RequestType::Complaint,
        text: "小区门口占道经营".into(),
        category: category(category_code),
        urgency: None,
        location: Location {
            territory: crate::catalogue::Territory {
                district: None,
                street: Some(code(street)),
                community: None,
            },
            ..Location::default()
        },
        triage: Triage::Dispatch,
    }
}

/// A test harness: an order, its events, and a clock that advances.
pub struct Harness {
    pub reference: Reference,
    pub order: Order,
    pub events: Vec<Event>,
    pub now: Timestamp,
}

impl Harness {
    pub fn intake(intake: Intake, now: &str) -> Result<Harness, DomainError> {
        let reference = reference();
        let now = at(now);
        let actor = actor("11.center");
        let context = Context {
            now,
            actor: &actor,
            reference: &reference,
        };
        let no = OrderNo::parse("20251009-000001").unwrap();
        let payloads = super::intake(&intake, no, &context)?;
        let id = OrderId(uuid::Uuid::from_u128(1));
        let events: Vec<Event> = payloads
            .into_iter()
            .enumerate()
            .map(|(i, payload)| Event {
                order_id: id,
                seq: i as u64 + 1,
                at: now,
                actor: actor.clone(),
                payload,
            })
            .collect();
        let order = Order::from_events(&events).unwrap();
        Ok(Harness {
            reference,
            order,
            events,
            now,
        })
    }

    /// Decides and applies a command as `unit`, `minutes` after the previous one.
    pub fn run(
        &mut self,
        unit: &str,
        minutes: i64,
        command: Command,
    ) -> Result<Vec<&'static str>, DomainError> {
        self.now += chrono::Duration::minutes(minutes);
        let actor = actor(unit);
        let context = Context {
            now: self.now,
            actor: &actor,
            reference: &self.reference,
        };
        let payloads = decide(&self.order, &command, &context)?;
        let mut names = Vec::new();
        for payload in payloads {
            names.push(payload.name());
            let event = Event {
                order_id: self.order.id,
                seq: self.order.version + 1,
                at: self.now,
                actor: actor.clone(),
                payload,
            };
            self.order.apply(&event).unwrap();
            self.events.push(event);
        }
        self.order.check_invariants().unwrap();
        assert_eq!(
            Order::from_events(&self.events).unwrap(),
            self.order,
            "replay differs from live projection"
        );
        Ok(names)
    }

    pub fn lead(&self) -> String {
        self.order
            .lead()
            .map(|u| u.to_string())
            .unwrap_or_else(|| "11.center".into())
    }
}
