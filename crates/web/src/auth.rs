//! Staff sign-in: accounts from the configuration (argon2 password hashes, or tokens from the
//! environment), sessions in HttpOnly SameSite=Strict cookies that expire when unused, and a
//! CSRF token every state change made with a session cookie must carry.

use crate::config::{StaffAccount, WebConfig};
use crate::conversation::new_secret;
use crate::error::ApiError;
use argon2::{Argon2, PasswordHash, PasswordVerifier};
use axum::http::{HeaderMap, Method, StatusCode};
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "sb_staff";
/// The header carrying the CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";

struct StaffSession {
    user: String,
    csrf: String,
    expires: Instant,
}

/// A signed-in staff member, as every staff handler receives them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedIn {
    /// The account.
    pub account: StaffAccount,
    /// The session's CSRF token (`None` for bearer tokens, which are not sent by browsers on
    /// their own and need none).
    pub csrf: Option<String>,
}

/// Sign-in and sessions.
pub struct StaffAuth {
    accounts: Vec<StaffAccount>,
    idle: Duration,
    sessions: Mutex<HashMap<String, StaffSession>>,
    /// Verified against when the user name is unknown, so a wrong name takes as long as a
    /// wrong password.
    decoy_hash: String,
}

/// Compares without stopping at the first difference.
fn same_secret(a: &str, b: &str) -> bool {
    blake3::hash(a.as_bytes()) == blake3::hash(b.as_bytes())
}

/// An argon2id hash of a password in PHC format, for `web.toml`.
pub fn hash_password(password: &str) -> Result<String, String> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| e.to_string())?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

impl StaffAuth {
    /// Sign-in for the configuration's accounts.
    pub fn new(config: &WebConfig) -> Self {
        StaffAuth {
            accounts: config.staff.clone(),
            idle: Duration::from_secs(u64::from(config.staff_session_minutes.max(1)) * 60),
            sessions: Mutex::new(HashMap::new()),
            decoy_hash: hash_password("decoy").unwrap_or_default(),
        }
    }

    fn token_of(account: &StaffAccount) -> Option<String> {
        let name = account.token_env.as_ref()?;
        std::env::var(name).ok().filter(|t| t.len() >= 16)
    }

    /// Checks a user name and password (or the account's token); argon2 takes tens of
    /// milliseconds, so call this off the async threads.
    pub fn verify(&self, user: &str, password: &str) -> Option<StaffAccount> {
        let account = self.accounts.iter().find(|a| a.user == user);
        let hash = account
            .and_then(|a| a.password_hash.as_deref())
            .unwrap_or(&self.decoy_hash);
        let password_ok = PasswordHash::new(hash).is_ok_and(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        });
        let account = account?;
        let token_ok = Self::token_of(account).is_some_and(|t| same_secret(&t, password));
        let hash_ok = account.password_hash.is_some() && password_ok;
        (hash_ok || token_ok).then(|| account.clone())
    }

    /// Opens a session; returns its id (the cookie's value) and CSRF token.
    pub fn open_session(&self, account: &StaffAccount) -> (String, String) {
        let id = new_secret();
        let csrf = new_secret();
        let mut sessions = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        sessions.retain(|_, s| s.expires > now);
        sessions.insert(
            id.clone(),
            StaffSession {
                user: account.user.clone(),
                csrf: csrf.clone(),
                expires: now + self.idle,
            },
        );
        (id, csrf)
    }

    /// Ends a session.
    pub fn close_session(&self, id: &str) {
        self.sessions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(id);
    }

    /// The staff member behind a request: a bearer token, or a session cookie (which, for
    /// anything but GET, must come with the session's CSRF token in `X-CSRF-Token`). Checked
    /// on every request, so a removed account or an expired session acts no more.
    pub fn authenticate(
        &self,
        method: &Method,
        headers: &HeaderMap,
        session_id: Option<&str>,
    ) -> Result<SignedIn, ApiError> {
        if let Some(bearer) = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
        {
            let account = self
                .accounts
                .iter()
                .find(|a| Self::token_of(a).is_some_and(|t| same_secret(&t, bearer.trim())))
                .ok_or_else(ApiError::unauthorized)?;
            return Ok(SignedIn {
                account: account.clone(),
                csrf: None,
            });
        }
        let id = session_id.ok_or_else(ApiError::unauthorized)?;
        let mut sessions = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        let session = sessions
            .get_mut(id)
            .filter(|s| s.expires > now)
            .ok_or_else(ApiError::unauthorized)?;
        let account = self
            .accounts
            .iter()
            .find(|a| a.user == session.user)
            .ok_or_else(ApiError::unauthorized)?;
        if method != Method::GET && method != Method::HEAD {
            let sent = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
            if !sent.is_some_and(|t| same_secret(t, &session.csrf)) {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "csrf",
                    "this change needs the X-CSRF-Token header of your session",
                ));
            }
        }
        session.expires = now + self.idle;
        Ok(SignedIn {
            account: account.clone(),
            csrf: Some(session.csrf.clone()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_signs_in_only_its_own_account() {
        let mut config = WebConfig::default();
        config.staff.push(StaffAccount {
            user: "anna".into(),
            roles: vec![switchboard_core::StaffRole::BillingAdmin],
            password_hash: Some(hash_password("correct horse").unwrap()),
            token_env: None,
        });
        let auth = StaffAuth::new(&config);
        assert!(auth.verify("anna", "correct horse").is_some());
        assert!(auth.verify("anna", "wrong").is_none());
        assert!(auth.verify("bob", "correct horse").is_none());
        assert!(
            auth.verify("bob", "decoy").is_none(),
            "the decoy hash signs in nobody"
        );
    }
}
