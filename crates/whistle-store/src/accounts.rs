//! Accounts, integration tokens and login sessions, written once for both backends over the
//! executor. Passwords and token secrets are stored only as hashes; sessions by the hash of
//! their id.

use async_trait::async_trait;
use whistle_core::ids::UnitCode;
use whistle_core::time::{from_millis, to_millis, Timestamp};

use crate::db::{params, Db, Row};
use crate::types::{Account, Grant, SessionRecord, StoreError, TokenRecord};

const UPSERT_USER: &str =
    "INSERT INTO users (login, display_name, role, unit, password_hash, active, created_at, other_roles) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
    ON CONFLICT (login) DO UPDATE SET display_name = excluded.display_name, role = excluded.role, \
    unit = excluded.unit, password_hash = excluded.password_hash, active = excluded.active, \
    other_roles = excluded.other_roles";

fn account(row: &Row) -> Result<Account, StoreError> {
    Ok(Account {
        login: row.text(0)?,
        display_name: row.text(1)?,
        role: row.text(2)?,
        unit: UnitCode::parse(row.str(3)?)?,
        active: row.bool(4)?,
        other_roles: serde_json::from_str(row.str(5)?)
            .map_err(|e| StoreError::Other(anyhow::anyhow!("an account's other roles: {e}")))?,
    })
}

/// Creates or updates accounts with their password hashes, all in one transaction.
pub(crate) async fn put_users(
    db: &dyn Db,
    accounts: &[(Account, String)],
    at: Timestamp,
) -> Result<(), StoreError> {
    let rows: Vec<_> = accounts
        .iter()
        .map(|(account, hash)| {
            let other_roles =
                serde_json::to_string(&account.other_roles).unwrap_or_else(|_| "[]".into());
            params![
                &account.login,
                &account.display_name,
                &account.role,
                account.unit.as_str(),
                hash,
                account.active,
                to_millis(at),
                other_roles
            ]
        })
        .collect();
    crate::db::transact(db, move |tx: &mut dyn crate::db::Tx| {
        Box::pin(async move {
            for row in rows {
                tx.execute(UPSERT_USER, row).await?;
            }
            Ok(())
        })
    })
    .await
}

pub(crate) async fn user(
    db: &dyn Db,
    login: &str,
) -> Result<Option<(Account, String)>, StoreError> {
    db.query_opt(
        "SELECT login, display_name, role, unit, active, other_roles, password_hash FROM users \
         WHERE login = $1",
        params![login],
    )
    .await?
    .map(|row| Ok((account(&row)?, row.text(6)?)))
    .transpose()
}

pub(crate) async fn users(db: &dyn Db) -> Result<Vec<Account>, StoreError> {
    db.query(
        "SELECT login, display_name, role, unit, active, other_roles FROM users ORDER BY login",
        Vec::new(),
    )
    .await?
    .iter()
    .map(account)
    .collect()
}

/// The active accounts holding a role at `unit` (first or further).
pub(crate) async fn colleagues(db: &dyn Db, unit: &UnitCode) -> Result<Vec<Account>, StoreError> {
    let accounts: Vec<Account> = db
        .query(
            "SELECT login, display_name, role, unit, active, other_roles FROM users \
             WHERE active AND unit = $1 \
             UNION ALL SELECT login, display_name, role, unit, active, other_roles FROM users \
             WHERE active AND other_roles <> '[]' AND unit <> $1 ORDER BY login",
            params![unit.as_str()],
        )
        .await?
        .iter()
        .map(account)
        .collect::<Result<_, _>>()?;
    Ok(accounts
        .into_iter()
        .filter(|a| a.grants().iter().any(|g| g.unit == *unit))
        .collect())
}

/// Stores a token record; storing it again can only revoke it.
pub(crate) async fn put_token(
    db: &dyn Db,
    token: &TokenRecord,
    at: Timestamp,
) -> Result<(), StoreError> {
    db.execute(
        "INSERT INTO tokens (id, secret_hash, name, scope, login, unit, created_at, revoked) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO UPDATE SET revoked = excluded.revoked",
        params![
            &token.id,
            &token.secret_hash,
            &token.name,
            &token.scope,
            token.login.as_deref(),
            token.unit.as_str(),
            to_millis(at),
            token.revoked
        ],
    )
    .await
    .map(|_| ())
}

pub(crate) async fn token(db: &dyn Db, id: &str) -> Result<Option<TokenRecord>, StoreError> {
    db.query_opt(
        "SELECT id, secret_hash, name, scope, login, unit, revoked FROM tokens WHERE id = $1",
        params![id],
    )
    .await?
    .map(|row| {
        Ok(TokenRecord {
            id: row.text(0)?,
            secret_hash: row.text(1)?,
            name: row.text(2)?,
            scope: row.text(3)?,
            login: row.opt_text(4)?,
            unit: UnitCode::parse(row.str(5)?)?,
            revoked: row.bool(6)?,
        })
    })
    .transpose()
}

pub(crate) async fn put_session(
    db: &dyn Db,
    id_hash: &str,
    login: &str,
    expires_at: Timestamp,
    at: Timestamp,
) -> Result<(), StoreError> {
    db.execute(
        "INSERT INTO sessions (id_hash, login, created_at, expires_at) VALUES ($1, $2, $3, $4)",
        params![id_hash, login, to_millis(at), to_millis(expires_at)],
    )
    .await
    .map(|_| ())
}

pub(crate) async fn session(
    db: &dyn Db,
    id_hash: &str,
) -> Result<Option<SessionRecord>, StoreError> {
    db.query_opt(
        "SELECT login, expires_at, role, unit FROM sessions WHERE id_hash = $1",
        params![id_hash],
    )
    .await?
    .map(|row| {
        let acting = match (row.opt_text(2)?, row.opt_text(3)?) {
            (Some(role), Some(unit)) => Some(Grant {
                role,
                unit: UnitCode::parse(&unit)?,
            }),
            _ => None,
        };
        Ok(SessionRecord {
            login: row.text(0)?,
            expires_at: from_millis(row.int(1)?),
            acting,
        })
    })
    .transpose()
}

pub(crate) async fn set_session_role(
    db: &dyn Db,
    id_hash: &str,
    acting: Option<&Grant>,
) -> Result<bool, StoreError> {
    db.execute(
        "UPDATE sessions SET role = $2, unit = $3 WHERE id_hash = $1",
        params![
            id_hash,
            acting.map(|g| g.role.as_str()),
            acting.map(|g| g.unit.as_str())
        ],
    )
    .await
    .map(|changed| changed > 0)
}

/// Deletes up to `limit` idempotency records made before `keys_before` (None: none) and up to
/// `limit` sessions expired by `sessions_before`; how many of each.
pub(crate) async fn purge(
    db: &dyn Db,
    keys_before: Option<Timestamp>,
    sessions_before: Timestamp,
    limit: u32,
) -> Result<(u64, u64), StoreError> {
    let limit = i64::from(limit.max(1));
    let keys = match keys_before {
        Some(before) => {
            db.execute(
                "DELETE FROM idempotency WHERE (principal, key) IN \
                 (SELECT principal, key FROM idempotency WHERE created_at < $1 LIMIT $2)",
                params![to_millis(before), limit],
            )
            .await?
        }
        None => 0,
    };
    let sessions = db
        .execute(
            "DELETE FROM sessions WHERE id_hash IN \
             (SELECT id_hash FROM sessions WHERE expires_at <= $1 LIMIT $2)",
            params![to_millis(sessions_before), limit],
        )
        .await?;
    Ok((keys, sessions))
}

pub(crate) async fn delete_session(db: &dyn Db, id_hash: &str) -> Result<(), StoreError> {
    db.execute("DELETE FROM sessions WHERE id_hash = $1", params![id_hash])
        .await
        .map(|_| ())
}

/// Accounts, integration tokens and login sessions, written once for both backends.
#[async_trait]
pub trait AccountStore: Send + Sync {
    /// Creates or updates an account.
    async fn put_user(
        &self,
        account: &Account,
        password_hash: &str,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        self.put_users(&[(account.clone(), password_hash.to_string())], at)
            .await
    }

    /// Creates or updates accounts (with their password hashes) in one transaction: all or none.
    async fn put_users(
        &self,
        accounts: &[(Account, String)],
        at: Timestamp,
    ) -> Result<(), StoreError>;

    /// An account and its password hash.
    async fn user(&self, login: &str) -> Result<Option<(Account, String)>, StoreError>;

    /// All accounts.
    async fn users(&self) -> Result<Vec<Account>, StoreError>;

    /// The active accounts holding a role (first or further) at a unit: its people.
    async fn colleagues(&self, unit: &UnitCode) -> Result<Vec<Account>, StoreError>;

    /// Stores an integration token record (the secret is never stored).
    async fn put_token(&self, token: &TokenRecord, at: Timestamp) -> Result<(), StoreError>;

    async fn token(&self, id: &str) -> Result<Option<TokenRecord>, StoreError>;

    /// Stores a login session by the hash of its id.
    async fn put_session(
        &self,
        id_hash: &str,
        login: &str,
        expires_at: Timestamp,
        at: Timestamp,
    ) -> Result<(), StoreError>;

    /// A session's login, expiry and the role it acts in.
    async fn session(&self, id_hash: &str) -> Result<Option<SessionRecord>, StoreError>;

    /// Sets the role a session acts in (None: the account's first role); false if there is no
    /// such session. The caller checks that the account holds the role.
    async fn set_session_role(
        &self,
        id_hash: &str,
        acting: Option<&Grant>,
    ) -> Result<bool, StoreError>;

    async fn delete_session(&self, id_hash: &str) -> Result<(), StoreError>;

    /// Retention: deletes up to `limit` idempotency records made before `keys_before` (None:
    /// none) and up to `limit` sessions expired by `sessions_before`; how many of each.
    async fn purge(
        &self,
        keys_before: Option<Timestamp>,
        sessions_before: Timestamp,
        limit: u32,
    ) -> Result<(u64, u64), StoreError>;
}

#[async_trait]
impl<T: crate::db::Db> AccountStore for T {
    async fn put_users(
        &self,
        accounts: &[(Account, String)],
        at: Timestamp,
    ) -> Result<(), StoreError> {
        crate::accounts::put_users(self, accounts, at).await
    }

    async fn user(&self, login: &str) -> Result<Option<(Account, String)>, StoreError> {
        crate::accounts::user(self, login).await
    }

    async fn users(&self) -> Result<Vec<Account>, StoreError> {
        crate::accounts::users(self).await
    }

    async fn colleagues(&self, unit: &UnitCode) -> Result<Vec<Account>, StoreError> {
        crate::accounts::colleagues(self, unit).await
    }

    async fn put_token(&self, token: &TokenRecord, at: Timestamp) -> Result<(), StoreError> {
        crate::accounts::put_token(self, token, at).await
    }

    async fn token(&self, id: &str) -> Result<Option<TokenRecord>, StoreError> {
        crate::accounts::token(self, id).await
    }

    async fn put_session(
        &self,
        id_hash: &str,
        login: &str,
        expires_at: Timestamp,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        crate::accounts::put_session(self, id_hash, login, expires_at, at).await
    }

    async fn session(&self, id_hash: &str) -> Result<Option<SessionRecord>, StoreError> {
        crate::accounts::session(self, id_hash).await
    }

    async fn set_session_role(
        &self,
        id_hash: &str,
        acting: Option<&Grant>,
    ) -> Result<bool, StoreError> {
        crate::accounts::set_session_role(self, id_hash, acting).await
    }

    async fn delete_session(&self, id_hash: &str) -> Result<(), StoreError> {
        crate::accounts::delete_session(self, id_hash).await
    }

    async fn purge(
        &self,
        keys_before: Option<Timestamp>,
        sessions_before: Timestamp,
        limit: u32,
    ) -> Result<(u64, u64), StoreError> {
        crate::accounts::purge(self, keys_before, sessions_before, limit).await
    }
}
