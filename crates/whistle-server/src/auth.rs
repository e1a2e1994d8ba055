//! Who is calling: a login session (cookie or bearer) or an integration token, resolved to a
//! principal with a role, a unit and a scope. Secrets are never stored: sessions and token
//! secrets are kept as SHA-256 hashes (they are 128-bit random), passwords with argon2id.

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use whistle_core::error::Lang;
use whistle_core::ids::{Actor, UnitCode};
use whistle_store::{Scope, TokenRecord};

use crate::error::ApiError;
use crate::roles::{scope_for, Role};
use crate::AppState;

pub const SESSION_COOKIE: &str = "whistle_session";
/// Token scope for third-party Open311 clients: Open311 endpoints only.
pub const SCOPE_OPEN311: &str = "open311";

#[derive(Clone, Debug)]
pub struct Principal {
    /// The login, or `token:<id>` for an integration token.
    pub name: String,
    /// None for an Open311-only token.
    pub role: Option<Role>,
    pub token_scope: Option<String>,
    pub unit: UnitCode,
    pub scope: Scope,
    /// Every role the person holds (the one acted in among them) when there are several, for
    /// the pages' role switch; empty for a single role and for tokens.
    pub grants: Vec<(Role, UnitCode)>,
}

impl Principal {
    pub fn actor(&self) -> Actor {
        Actor {
            user: self.name.clone(),
            unit: self.unit.clone(),
        }
    }

    pub fn role(&self, lang: Lang) -> Result<Role, ApiError> {
        self.role.ok_or_else(|| ApiError::forbidden(lang))
    }
}

pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

pub fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buffer);
    hex::encode(buffer)
}

pub fn hash_password(password: &str) -> Result<String, anyhow::Error> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| anyhow::anyhow!("cannot hash password: {e}"))
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// Verifies a password against the account's hash, or — when there is no account — against a
/// fixed dummy hash, so that a login for an unknown account costs the same argon2 work as one
/// for a known account (the time tells nobody which logins exist).
pub fn verify_password_or_dummy(password: &str, hash: Option<&str>) -> bool {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    match hash {
        Some(hash) => verify_password(password, hash),
        None => {
            let dummy = DUMMY.get_or_init(|| {
                hash_password("whistle-dummy-password-for-timing").unwrap_or_default()
            });
            let _ = verify_password(password, dummy);
            false
        }
    }
}

/// A new integration token: the record to store and the token to show once (`wht_<id>_<secret>`).
pub fn new_token(
    name: &str,
    scope: &str,
    login: Option<String>,
    unit: UnitCode,
) -> (TokenRecord, String) {
    let id = random_hex(6);
    let secret = random_hex(16);
    let record = TokenRecord {
        id: id.clone(),
        secret_hash: hash_secret(&secret),
        name: name.to_string(),
        scope: scope.to_string(),
        login,
        unit,
        revoked: false,
    };
    (record, format!("wht_{id}_{secret}"))
}

/// The language a caller reads: English when `Accept-Language` starts with `en`.
pub fn language(parts: &Parts) -> Lang {
    language_of(&parts.headers)
}

/// [`language`] from the headers alone (for middleware).
pub fn language_of(headers: &axum::http::HeaderMap) -> Lang {
    let accept = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if accept.trim_start().to_ascii_lowercase().starts_with("en") {
        Lang::En
    } else {
        Lang::Zh
    }
}

/// The caller's language, for handlers.
pub struct Language(pub Lang);

impl<S: Send + Sync> FromRequestParts<S> for Language {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Language(language(parts)))
    }
}

fn presented(parts: &Parts) -> Option<String> {
    presented_session(&parts.headers)
}

/// The session or token presented: a bearer token, else the session cookie.
pub fn presented_session(headers: &axum::http::HeaderMap) -> Option<String> {
    if let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        if let Some(token) = value.strip_prefix("Bearer ") {
            return Some(token.trim().to_string());
        }
    }
    session_cookie(headers)
}

/// The session cookie's value, if the request carries one.
pub fn session_cookie(headers: &axum::http::HeaderMap) -> Option<String> {
    cookie(headers, SESSION_COOKIE)
}

/// A cookie's value by name, if the request carries it.
pub fn cookie(headers: &axum::http::HeaderMap, wanted: &str) -> Option<String> {
    let cookies = headers.get_all(header::COOKIE);
    for value in cookies.iter().filter_map(|v| v.to_str().ok()) {
        for pair in value.split(';') {
            if let Some((name, value)) = pair.trim().split_once('=') {
                if name == wanted {
                    return Some(value.to_string());
                }
            }
        }
    }
    None
}

/// Resolves a presented session id or integration token.
pub async fn authenticate(
    state: &AppState,
    presented: &str,
) -> Result<Option<Principal>, ApiError> {
    let lang = Lang::Zh;
    let reference = state.store.reference();
    if let Some(rest) = presented.strip_prefix("wht_") {
        let Some((id, secret)) = rest.split_once('_') else {
            return Ok(None);
        };
        let Some(record) = state
            .store
            .token(id)
            .await
            .map_err(|e| ApiError::store(e, lang))?
        else {
            return Ok(None);
        };
        if record.revoked || record.secret_hash != hash_secret(secret) {
            return Ok(None);
        }
        let role = Role::parse(&record.scope);
        let scope = match role {
            Some(role) => scope_for(role, &record.unit, &reference),
            None => Scope::All,
        };
        return Ok(Some(Principal {
            name: format!("token:{}", record.id),
            role,
            token_scope: Some(record.scope),
            unit: record.unit,
            scope,
            grants: Vec::new(),
        }));
    }
    let Some(session) = state
        .store
        .session(&hash_secret(presented))
        .await
        .map_err(|e| ApiError::store(e, lang))?
    else {
        return Ok(None);
    };
    if session.expires_at <= state.clock.now() {
        return Ok(None);
    }
    let Some((account, _)) = state
        .store
        .user(&session.login)
        .await
        .map_err(|e| ApiError::store(e, lang))?
    else {
        return Ok(None);
    };
    if !account.active {
        return Ok(None);
    }
    // The role switched to, while the account still holds it; else the first role.
    let acting = session
        .acting
        .filter(|grant| account.holds(grant))
        .unwrap_or_else(|| whistle_store::Grant {
            role: account.role.clone(),
            unit: account.unit.clone(),
        });
    let Some(role) = Role::parse(&acting.role) else {
        return Ok(None);
    };
    let grants = if account.other_roles.is_empty() {
        Vec::new()
    } else {
        account
            .grants()
            .into_iter()
            .filter_map(|g| Some((Role::parse(&g.role)?, g.unit)))
            .collect()
    };
    Ok(Some(Principal {
        name: account.login,
        role: Some(role),
        token_scope: None,
        scope: scope_for(role, &acting.unit, &reference),
        unit: acting.unit,
        grants,
    }))
}

impl FromRequestParts<Arc<AppState>> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let lang = language(parts);
        let token = presented(parts).ok_or_else(|| ApiError::unauthenticated(lang))?;
        let principal = authenticate(state, &token)
            .await?
            .ok_or_else(|| ApiError::unauthenticated(lang))?;
        // An Open311-scoped token may use only the Open311 endpoints.
        if principal.role.is_none() && !parts.uri.path().starts_with("/open311/") {
            return Err(ApiError::forbidden(lang));
        }
        Ok(principal)
    }
}
