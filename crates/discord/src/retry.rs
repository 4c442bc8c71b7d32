//! One call to Discord, retried on its own: a step that failed is repeated, the steps before it
//! are not (a failed thread post must not send the customer's acknowledgement again).

use std::time::Duration;

/// Attempts of a step that failed for another reason than a rate limit.
const ATTEMPTS: u32 = 3;
/// Attempts of a step Discord keeps rate-limiting, with waits doubling from
/// [`FIRST_RATE_LIMIT_WAIT`] (63.5 s in all: Discord's per-route limits reset within a minute).
const RATE_LIMITED_ATTEMPTS: u32 = 8;
/// serenity's rate limiter (or, behind `DISCORD_API_BASE`, the rate limit forwarder) waits for
/// Discord's `retry_after` itself; a 429 that still reaches a step has outlasted that wait, and
/// the step waits again, doubling, before it gives up.
const FIRST_RATE_LIMIT_WAIT: Duration = Duration::from_millis(500);

/// Why a step failed.
#[derive(Debug)]
pub struct StepError {
    message: String,
    rate_limited: bool,
}

impl std::fmt::Display for StepError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<serenity::Error> for StepError {
    fn from(e: serenity::Error) -> Self {
        let rate_limited = matches!(
            &e,
            serenity::Error::Http(serenity::http::HttpError::UnsuccessfulRequest(r))
                if r.status_code.as_u16() == 429
        );
        StepError {
            message: e.to_string(),
            rate_limited,
        }
    }
}

impl From<String> for StepError {
    fn from(message: String) -> Self {
        StepError {
            message,
            rate_limited: false,
        }
    }
}

impl From<&str> for StepError {
    fn from(message: &str) -> Self {
        message.to_string().into()
    }
}

/// Runs one step of handling `event`, retrying it alone; the error after the last attempt is
/// logged with the event and returned, so the caller can stop the steps that depend on it.
pub async fn step<T, F, Fut>(event: &str, what: &str, mut call: F) -> Result<T, StepError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, StepError>>,
{
    let mut attempt = 0;
    let mut rate_limit_wait = FIRST_RATE_LIMIT_WAIT;
    loop {
        attempt += 1;
        match call().await {
            Ok(value) => return Ok(value),
            Err(e) if e.rate_limited && attempt < RATE_LIMITED_ATTEMPTS => {
                tracing::warn!(
                    event,
                    step = what,
                    attempt,
                    wait_ms = rate_limit_wait.as_millis() as u64,
                    "rate limited, waiting"
                );
                tokio::time::sleep(rate_limit_wait).await;
                rate_limit_wait *= 2;
            }
            Err(e) if !e.rate_limited && attempt < ATTEMPTS => {
                tracing::warn!(event, step = what, attempt, error = %e, "step failed, retrying");
                tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
            }
            Err(e) => {
                tracing::error!(event, step = what, error = %e, "step failed; left for the outbox or reported");
                eprintln!("switchboard-discord: {event}: {what} failed: {e}");
                return Err(e);
            }
        }
    }
}
