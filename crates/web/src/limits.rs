//! Rate limits per client address and per conversation (governor's keyed GCRA limiters).

use crate::error::ApiError;
use axum::http::StatusCode;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::num::NonZeroU32;

/// The two limiters.
pub struct RateLimits {
    clients: DefaultKeyedRateLimiter<String>,
    conversations: DefaultKeyedRateLimiter<String>,
    /// Sign-in attempts, per client address and per user name: a password is not guessed at
    /// the pace of ordinary requests.
    sign_ins: DefaultKeyedRateLimiter<String>,
}

/// Live connections open per client address; a connection holds its place until it closes.
pub struct LiveConnections {
    max: usize,
    open: std::sync::Mutex<std::collections::HashMap<String, usize>>,
}

/// A live connection's place; given back when dropped (the stream ended or the client left).
pub struct LivePlace {
    connections: std::sync::Arc<LiveConnections>,
    address: String,
}

impl LiveConnections {
    /// At most `max` at once per address.
    pub fn new(max: usize) -> Self {
        LiveConnections {
            max,
            open: std::sync::Mutex::new(std::collections::HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, usize>> {
        self.open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A place for one more connection from `address`, or a 429.
    pub fn open(self: &std::sync::Arc<Self>, address: &str) -> Result<LivePlace, ApiError> {
        let mut open = self.lock();
        let count = open.entry(address.to_string()).or_default();
        if *count >= self.max {
            let mut error = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!(
                    "too many live connections from your address (at most {})",
                    self.max
                ),
            );
            error.retry_after = Some(60);
            return Err(error);
        }
        *count += 1;
        Ok(LivePlace {
            connections: std::sync::Arc::clone(self),
            address: address.to_string(),
        })
    }
}

impl Drop for LivePlace {
    fn drop(&mut self) {
        let mut open = self.connections.lock();
        if let Some(count) = open.get_mut(&self.address) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.address);
            }
        }
    }
}

/// Sign-in attempts per minute, per client address and per user name.
pub const SIGN_INS_PER_MINUTE: u32 = 10;

fn per_minute(n: u32) -> Quota {
    // A burst of the whole minute's allowance: a page load fetches several files at once.
    Quota::per_minute(NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN))
}

fn check(limiter: &DefaultKeyedRateLimiter<String>, key: &str, what: &str) -> Result<(), ApiError> {
    limiter.check_key(&key.to_string()).map_err(|not_until| {
        let wait = not_until.wait_time_from(DefaultClock::default().now());
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        let mut error = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("too many {what}; try again in {seconds} s"),
        );
        error.retry_after = Some(seconds.max(1));
        error
    })
}

impl RateLimits {
    /// Limiters allowing `client_per_minute` requests per client and
    /// `conversation_per_minute` messages per conversation.
    pub fn new(client_per_minute: u32, conversation_per_minute: u32) -> Self {
        RateLimits {
            clients: RateLimiter::keyed(per_minute(client_per_minute)),
            conversations: RateLimiter::keyed(per_minute(conversation_per_minute)),
            sign_ins: RateLimiter::keyed(per_minute(SIGN_INS_PER_MINUTE)),
        }
    }

    /// One request from a client address.
    pub fn client(&self, address: &str) -> Result<(), ApiError> {
        check(&self.clients, address, "requests from your address")
    }

    /// One message in a conversation.
    pub fn conversation(&self, id: &str) -> Result<(), ApiError> {
        check(&self.conversations, id, "messages in this conversation")
    }

    /// One sign-in attempt from `address` for `user` (both allowances are spent).
    pub fn sign_in(&self, address: &str, user: &str) -> Result<(), ApiError> {
        let by_address = check(&self.sign_ins, &format!("address {address}"), "sign-in attempts");
        let by_user = check(
            &self.sign_ins,
            &format!("user {user}"),
            "sign-in attempts for this user",
        );
        by_address.and(by_user)
    }

    /// Forgets keys whose allowance is full again (called every minute; the maps would grow
    /// with every address ever seen otherwise).
    pub fn forget_idle(&self) {
        self.clients.retain_recent();
        self.conversations.retain_recent();
        self.sign_ins.retain_recent();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_allowance_is_per_key_and_a_refusal_says_when_to_retry() {
        let limits = RateLimits::new(3, 1);
        for _ in 0..3 {
            limits.client("10.0.0.1").unwrap();
        }
        let refused = limits.client("10.0.0.1").unwrap_err();
        assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(refused.retry_after.is_some_and(|s| (1..=20).contains(&s)));
        limits.client("10.0.0.2").unwrap();
        limits.conversation("a").unwrap();
        assert!(limits.conversation("a").is_err());
        limits.conversation("b").unwrap();
    }

    #[test]
    fn a_live_connection_holds_its_place_until_it_closes() {
        let live = std::sync::Arc::new(LiveConnections::new(2));
        let first = live.open("10.0.0.1").unwrap();
        let _second = live.open("10.0.0.1").unwrap();
        assert!(live.open("10.0.0.1").is_err());
        let _other = live.open("10.0.0.2").unwrap();
        drop(first);
        let _third = live.open("10.0.0.1").unwrap();
    }
}
