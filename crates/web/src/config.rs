//! `web.toml`: which sites may embed the chat, the staff accounts, and the limits. Passwords are
//! argon2 hashes; tokens are named by the environment variable that holds them, never written
//! here.

use serde::Deserialize;
use switchboard_core::StaffRole;

/// Request and message limits.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest request body accepted (bytes).
    pub max_body_bytes: usize,
    /// Requests per minute from one client address (all endpoints but health).
    pub requests_per_minute_per_client: u32,
    /// Customer messages per minute in one conversation.
    pub messages_per_minute_per_conversation: u32,
    /// Conversations kept in memory; the longest idle ones are dropped first (their tickets
    /// stay, and the conversation is rebuilt from them when its customer returns).
    pub max_conversations: usize,
    /// Live connections (server-sent events) open at once from one client address.
    pub max_live_connections_per_client: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 64 * 1024,
            requests_per_minute_per_client: 600,
            messages_per_minute_per_conversation: 20,
            max_conversations: 100_000,
            max_live_connections_per_client: 100,
        }
    }
}

/// One staff account of the console and the staff API.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaffAccount {
    /// Sign-in name (also the name on tickets and in the audit log).
    pub user: String,
    /// The staff roles; the support model says which queues each may act on.
    pub roles: Vec<StaffRole>,
    /// An argon2 hash of the password (`switchboard serve --hash-password`).
    #[serde(default)]
    pub password_hash: Option<String>,
    /// The environment variable holding this account's API token (sent as a bearer token, or
    /// typed as the password).
    #[serde(default)]
    pub token_env: Option<String>,
}

/// The web adapter's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebConfig {
    /// Sites (origins such as `https://www.partner.example`) that may embed the chat widget.
    pub allowed_origins: Vec<String>,
    /// Cookies only over HTTPS (browsers treat `http://localhost` as secure too). Turn off only
    /// behind a proxy that speaks plain HTTP to browsers, which you should not have.
    pub secure_cookies: bool,
    /// Minutes a staff sign-in lasts without use.
    pub staff_session_minutes: u32,
    /// Trust the first address of `X-Forwarded-For` as the client's (behind a reverse proxy).
    pub trust_forwarded_for: bool,
    /// Limits.
    pub limits: Limits,
    /// Staff accounts.
    pub staff: Vec<StaffAccount>,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            allowed_origins: Vec::new(),
            secure_cookies: true,
            staff_session_minutes: 480,
            trust_forwarded_for: false,
            limits: Limits::default(),
            staff: Vec::new(),
        }
    }
}

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Not valid TOML, or a field that does not exist or has the wrong type.
    #[error("{0}")]
    Toml(#[from] toml::de::Error),
    /// Valid TOML that does not make sense.
    #[error("{0}")]
    Invalid(String),
}

impl WebConfig {
    /// Reads and checks a configuration.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let config: WebConfig = toml::from_str(text)?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |m: String| Err(ConfigError::Invalid(m));
        for origin in &self.allowed_origins {
            // An origin goes into the Content-Security-Policy header: nothing but scheme and host.
            let host = origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"));
            let well_formed =
                host.is_some_and(|h| !h.is_empty() && !h.contains(['/', ' ', ';', ',', '\'', '"']));
            if !well_formed {
                return invalid(format!(
                    "allowed_origins: `{origin}` is not an origin (scheme and host, such as https://www.partner.example)"
                ));
            }
        }
        let mut users = std::collections::HashSet::new();
        for account in &self.staff {
            if account.user.trim().is_empty() || account.user.len() > 64 {
                return invalid("staff: a user name is empty or longer than 64 bytes".into());
            }
            if !users.insert(account.user.as_str()) {
                return invalid(format!("staff: user `{}` appears twice", account.user));
            }
            if account.roles.is_empty() {
                return invalid(format!("staff `{}`: no roles", account.user));
            }
            if account.password_hash.is_none() && account.token_env.is_none() {
                return invalid(format!(
                    "staff `{}`: neither password_hash nor token_env, so nobody could sign in",
                    account.user
                ));
            }
            if let Some(hash) = &account.password_hash {
                if let Err(e) = argon2::PasswordHash::new(hash) {
                    return invalid(format!(
                        "staff `{}`: password_hash is not an argon2 hash ({e})",
                        account.user
                    ));
                }
            }
        }
        if self.limits.requests_per_minute_per_client == 0
            || self.limits.messages_per_minute_per_conversation == 0
        {
            return invalid("limits: a rate of 0 per minute would refuse everything".into());
        }
        if self.limits.max_body_bytes < 1024 {
            return invalid("limits: max_body_bytes below 1024 would refuse ordinary messages".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_and_unusable_accounts_are_refused_with_the_field_named() {
        let err = WebConfig::from_toml("allowed_origin = []")
            .unwrap_err()
            .to_string();
        assert!(err.contains("allowed_origin"), "{err}");
        let err = WebConfig::from_toml("[[staff]]\nuser = \"a\"\nroles = [\"billing-admin\"]\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("neither password_hash nor token_env"), "{err}");
        let err = WebConfig::from_toml(
            "[[staff]]\nuser = \"a\"\nroles = [\"billing-admin\"]\npassword_hash = \"secret\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("not an argon2 hash"), "{err}");
        let err = WebConfig::from_toml("allowed_origins = [\"partner.example/chat\"]")
            .unwrap_err()
            .to_string();
        assert!(err.contains("not an origin"), "{err}");
        let err = WebConfig::from_toml("[[staff]]\nuser = \"a\"\nroles = [\"janitor\"]\ntoken_env = \"T\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("janitor"), "{err}");
    }

    #[test]
    fn an_empty_file_is_the_defaults() {
        assert_eq!(WebConfig::from_toml("").unwrap(), WebConfig::default());
    }
}
