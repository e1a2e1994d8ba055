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
}

impl Role {
    pub const ALL: [Role; 7] = [
        Role::Operator,
        Role::Dispatcher,
        Role::Handler,
        Role::VisitAgent,
        Role::Supervisor,
        Role::Leader,
        Role::Admin,
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
        }
    }

    pub fn may_intake(self) -> bool {
        matches!(self, Role::Operator | Role::Admin)
    }

    /// Who may see a requester's name and phone (each time recorded): those who must call them.
    pub fn may_reveal(self) -> bool {
        matches!(
            self,
            Role::Operator | Role::Handler | Role::VisitAgent | Role::Admin
        )
    }

    pub fn may(self, command: &Command) -> bool {
        use Command::*;
        match self {
            Role::Admin => true,
            Role::Leader => false,
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
            Role::Handler => matches!(
                command,
                Accept
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

/// What a person of `role` at `unit` sees. Centre staff see everything (a district sub-centre,
/// its district); a handler its unit; a leader its territory or its department's whole line.
pub fn scope_for(role: Role, unit: &UnitCode, reference: &Reference) -> Scope {
    let directory = &reference.directory;
    let Some(home) = directory.get(unit) else {
        return Scope::Units(Vec::new());
    };
    match (role, home.kind) {
        (Role::Handler, _) => Scope::Units(vec![unit.clone()]),
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
