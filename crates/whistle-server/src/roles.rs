//! Roles and what each may do. The engine checks the unit an actor acts for (the lead unit, a
//! dispatch centre); the role decides which commands a person may issue at all, and the scope
//! decides which orders they see.

use serde::{Deserialize, Serialize};
use whistle_core::ids::UnitCode;
use whistle_core::order::Command;
use whistle_core::org::UnitKind;
use whistle_core::reference::Reference;
use whistle_store::Scope;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 接线员: takes calls, records requests.
    Operator,
    /// 派单员: dispatches, reviews disputes and extensions.
    Dispatcher,
    /// 承办人: handles orders for one unit.
    Handler,
    /// 回访员: return visits, closing, rework.
    VisitAgent,
    /// 督办: supervision, rulings.
    Supervisor,
    /// 领导: read-only within a territory or a department line.
    Leader,
    /// 管理员.
    Admin,
    /// 街乡干部: blows the whistle, commands the joint action, rates the departments; handles
    /// the street's orders and grid cases.
    StreetOfficial,
    /// 部门报到联络人: reports in for a department or enterprise, completes its tasks, objects.
    DepartmentLiaison,
    /// 区级协调: the district's coordination platform — absences, objections, consultations.
    DistrictCoordinator,
    /// 网格员.
    GridWorker,
    /// 街巷长 (a street cadre responsible for a lane).
    LaneChief,
    /// 小巷管家 (a resident volunteer of a lane).
    LaneSteward,
}

impl Role {
    pub const ALL: [Role; 13] = [
        Role::Operator,
        Role::Dispatcher,
        Role::Handler,
        Role::VisitAgent,
        Role::Supervisor,
        Role::Leader,
        Role::Admin,
        Role::StreetOfficial,
        Role::DepartmentLiaison,
        Role::DistrictCoordinator,
        Role::GridWorker,
        Role::LaneChief,
        Role::LaneSteward,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Operator => "operator",
            Role::Dispatcher => "dispatcher",
            Role::Handler => "handler",
            Role::VisitAgent => "visit_agent",
            Role::Supervisor => "supervisor",
            Role::Leader => "leader",
            Role::Admin => "admin",
            Role::StreetOfficial => "street_official",
            Role::DepartmentLiaison => "department_liaison",
            Role::DistrictCoordinator => "district_coordinator",
            Role::GridWorker => "grid_worker",
            Role::LaneChief => "lane_chief",
            Role::LaneSteward => "lane_steward",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.as_str() == text)
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Role::Operator => "接线员",
            Role::Dispatcher => "派单员",
            Role::Handler => "承办人",
            Role::VisitAgent => "回访员",
            Role::Supervisor => "督办",
            Role::Leader => "领导",
            Role::Admin => "管理员",
            Role::StreetOfficial => "街乡干部",
            Role::DepartmentLiaison => "部门报到联络人",
            Role::DistrictCoordinator => "区级协调员",
            Role::GridWorker => "网格员",
            Role::LaneChief => "街巷长",
            Role::LaneSteward => "小巷管家",
        }
    }

    /// Whether a person of this role may belong to a unit of `kind`: a street official to a
    /// street or township, a liaison to a department or enterprise, a coordinator to a district,
    /// a grid worker to a grid (or community), lane chiefs and stewards to a lane.
    pub fn fits(self, kind: UnitKind) -> bool {
        match self {
            Role::StreetOfficial => kind.is_street_level(),
            Role::DepartmentLiaison => matches!(kind, UnitKind::Department | UnitKind::Enterprise),
            Role::DistrictCoordinator => kind == UnitKind::District,
            Role::GridWorker => kind == UnitKind::Grid || kind.is_community_level(),
            Role::LaneChief | Role::LaneSteward => kind == UnitKind::Lane,
            _ => true,
        }
    }

    /// Which whistle steps a person may take at all (the engine then checks the unit):
    /// `raise` or a command name of the whistle API.
    pub fn may_whistle(self, step: &str) -> bool {
        match self {
            Role::Handler | Role::Supervisor | Role::Admin => true,
            Role::StreetOfficial => matches!(
                step,
                "raise" | "assign_task" | "hold_consultation" | "close" | "rate"
            ),
            Role::DepartmentLiaison => matches!(step, "report_in" | "complete_task" | "object"),
            Role::DistrictCoordinator => matches!(
                step,
                "resolve_absence" | "decide_objection" | "hold_consultation"
            ),
            _ => false,
        }
    }

    /// Which grid-case steps a person may take: `file` or a command name of the grid API.
    pub fn may_grid(self, step: &str) -> bool {
        match self {
            Role::Handler | Role::Admin => true,
            Role::StreetOfficial => matches!(step, "file" | "dispatch" | "whistle" | "handle"),
            Role::DepartmentLiaison => step == "handle",
            Role::GridWorker | Role::LaneChief | Role::LaneSteward => {
                matches!(step, "file" | "verify")
            }
            _ => false,
        }
    }

    pub fn may_intake(self) -> bool {
        matches!(self, Role::Operator | Role::Admin)
    }

    /// Who may see a requester's name and phone (each time recorded): those who must call them.
    /// The raw order export is city-wide: for administrators, the centre's supervisors and
    /// leaders — each only with the whole city as jurisdiction (checked by the handler).
    pub fn may_export_orders(self) -> bool {
        matches!(self, Role::Admin | Role::Supervisor | Role::Leader)
    }

    /// Publishing the evaluation (closing a period, a revision): the centre's administrators
    /// (the deadline worker closes on the policy day by itself).
    pub fn may_publish_evaluation(self) -> bool {
        matches!(self, Role::Admin)
    }

    pub fn may_reveal(self) -> bool {
        matches!(
            self,
            Role::Operator | Role::Handler | Role::VisitAgent | Role::Admin | Role::StreetOfficial
        )
    }

    pub fn may(self, command: &Command) -> bool {
        use Command::*;
        match self {
            // Recorded by the store when a whistle on the order closes, never sent by a person.
            _ if matches!(command, RecordWhistleOutcome { .. }) => false,
            Role::Admin => true,
            Role::Leader
            | Role::DepartmentLiaison
            | Role::GridWorker
            | Role::LaneChief
            | Role::LaneSteward => false,
            // The district's platform passes on what it coordinates.
            Role::DistrictCoordinator => matches!(command, Dispatch { .. }),
            Role::Operator => {
                matches!(
                    command,
                    Forward { .. }
                        | RecordForwardAnswer { .. }
                        | LinkRepeat { .. }
                        | Merge { .. }
                        | RevealRequester { .. }
                )
            }
            Role::Dispatcher => matches!(
                command,
                Dispatch { .. }
                    | ReviewDispute { .. }
                    | DecideExtension { .. }
                    | Forward { .. }
                    | RecordForwardAnswer { .. }
                    | LinkRepeat { .. }
                    | Merge { .. }
            ),
            Role::Handler | Role::StreetOfficial => matches!(
                command,
                Accept
                    | Assign { .. }
                    | Dispute { .. }
                    | ReportPart { .. }
                    | Contact { .. }
                    | RequestExtension { .. }
                    | Escalate { .. }
                    | Reply { .. }
                    | RevealRequester { .. }
                    // A district handler passes on an order it coordinates.
                    | Dispatch { .. }
            ),
            Role::VisitAgent => matches!(
                command,
                ReturnVisit { .. } | Close { .. } | Reopen { .. } | RevealRequester { .. }
            ),
            Role::Supervisor => matches!(
                command,
                Supervise { .. } | RuleUnreasonable { .. } | Reopen { .. }
            ),
        }
    }
}

/// Whether an account handles orders at `unit` — a handler or a street official there, by its
/// first role or a further one: whom an order may be assigned to (指派承办人).
pub fn handles_orders_at(account: &whistle_store::Account, unit: &UnitCode) -> bool {
    account.grants().iter().any(|g| {
        g.unit == *unit
            && matches!(
                Role::parse(&g.role),
                Some(Role::Handler | Role::StreetOfficial)
            )
    })
}

/// What a person of `role` at `unit` sees. Centre staff see everything (a district sub-centre,
/// its district); a handler its unit; a leader its territory or its department's whole line.
pub fn scope_for(role: Role, unit: &UnitCode, reference: &Reference) -> Scope {
    let directory = &reference.directory;
    let Some(home) = directory.get(unit) else {
        return Scope::Units(Vec::new());
    };
    match (role, home.kind) {
        (Role::Handler | Role::DepartmentLiaison, _) => Scope::Units(vec![unit.clone()]),
        (Role::StreetOfficial, kind) if kind.is_street_level() => Scope::Street(unit.clone()),
        (Role::DistrictCoordinator, _) => match directory.district_of(unit) {
            Some(district) => Scope::District(district.code.clone()),
            None => Scope::Units(Vec::new()),
        },
        (_, UnitKind::DispatchCenter) => match directory.district_of(unit) {
            Some(district) => Scope::District(district.code.clone()),
            None => Scope::All,
        },
        (Role::Leader, UnitKind::City) => Scope::All,
        (Role::Leader, UnitKind::District) => Scope::District(unit.clone()),
        (Role::Leader, kind) if kind.is_street_level() => Scope::Street(unit.clone()),
        (Role::Leader, UnitKind::Department | UnitKind::Enterprise) => {
            let line = home.line.clone();
            let mut units: Vec<UnitCode> = directory
                .units()
                .filter(|u| u.line == line && u.kind == home.kind)
                .map(|u| u.code.clone())
                .collect();
            units.sort();
            Scope::Units(units)
        }
        (Role::Admin, _) => Scope::All,
        _ => Scope::Units(vec![unit.clone()]),
    }
}
