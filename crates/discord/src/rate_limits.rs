//! Rate limits behind `DISCORD_API_BASE`. serenity 0.12 turns its rate limiter off when REST
//! calls go to another base URL (it builds rate-limited requests for discord.com only), and the
//! 429 it then hands back has lost Discord's `retry_after`. So with a base URL every REST call
//! goes through this forwarder on the loopback interface: it waits out each 429 for the
//! `retry_after` the API names (and holds every call while a global limit lasts) before trying
//! again, and answers serenity with what the API finally said.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Longest one call is held for rate limits in all; after it the 429 goes to the caller.
const MAX_WAIT: Duration = Duration::from_mins(1);

#[derive(Clone)]
struct Forwarder {
    upstream: String,
    client: reqwest::Client,
    /// Until when a global rate limit holds every call.
    global_until: Arc<Mutex<Option<Instant>>>,
}

/// Starts a forwarder to `upstream` on the loopback interface; returns its base URL and the
/// handle that stops it.
pub async fn start(upstream: &str) -> std::io::Result<(String, tokio::task::AbortHandle)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let forwarder = Forwarder {
        upstream: upstream.trim_end_matches('/').to_string(),
        client: reqwest::Client::new(),
        global_until: Arc::default(),
    };
    // Only this process's REST client calls it: its bodies (files among them) pass whole.
    let app = axum::Router::new()
        .fallback(forward)
        .layer(axum::extract::DefaultBodyLimit::disable())
        .with_state(forwarder);
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "the REST forwarder stopped");
        }
    });
    Ok((base, task.abort_handle()))
}

/// Headers that belong to one hop of a connection, not to the call.
fn end_to_end(name: &header::HeaderName) -> bool {
    ![
        header::HOST,
        header::CONNECTION,
        header::CONTENT_LENGTH,
        header::TRANSFER_ENCODING,
    ]
    .contains(name)
}

async fn forward(
    State(f): State<Forwarder>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_string();
    let url = format!("{}{path}", f.upstream);
    let started = Instant::now();
    loop {
        let global = *f
            .global_until
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(wait) = global.and_then(|until| until.checked_duration_since(Instant::now())) {
            tokio::time::sleep(wait).await;
        }
        let mut request = f.client.request(method.clone(), &url).body(body.clone());
        for (name, value) in headers.iter().filter(|(name, _)| end_to_end(name)) {
            request = request.header(name, value);
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(e) => return (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
        };
        let status = response.status();
        let response_headers = response.headers().clone();
        let bytes = response.bytes().await.unwrap_or_default();
        if status == StatusCode::TOO_MANY_REQUESTS {
            if let Some((wait, global)) = retry_after(&response_headers, &bytes) {
                if started.elapsed() + wait <= MAX_WAIT {
                    if global {
                        *f.global_until
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Instant::now() + wait);
                    }
                    tracing::warn!(
                        %method,
                        path,
                        wait_ms = wait.as_millis() as u64,
                        global,
                        "rate limited, waiting as the API asks"
                    );
                    tokio::time::sleep(wait).await;
                    continue;
                }
            }
        }
        let mut answer = Response::builder().status(status);
        for (name, value) in response_headers.iter().filter(|(name, _)| end_to_end(name)) {
            answer = answer.header(name, value);
        }
        return answer
            .body(Body::from(bytes))
            .unwrap_or_else(|e| (StatusCode::BAD_GATEWAY, e.to_string()).into_response());
    }
}

/// How long a 429 asks to wait (the body's `retry_after` in seconds, else the `Retry-After`
/// header), and whether the limit is global.
fn retry_after(headers: &HeaderMap, body: &[u8]) -> Option<(Duration, bool)> {
    let json: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let global = json["global"].as_bool() == Some(true) || headers.contains_key("x-ratelimit-global");
    let seconds = json["retry_after"].as_f64().or_else(|| {
        headers
            .get(header::RETRY_AFTER)?
            .to_str()
            .ok()?
            .trim()
            .parse::<f64>()
            .ok()
    })?;
    (seconds.is_finite() && seconds >= 0.0).then(|| {
        (
            Duration::from_secs_f64(seconds.min(MAX_WAIT.as_secs_f64())),
            global,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::retry_after;
    use axum::http::{HeaderMap, StatusCode};
    use axum::response::IntoResponse;
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    /// An API whose first call is refused with a global limit of `limit`; records when each
    /// call arrived.
    async fn api_with_a_global_limit(limit: Duration) -> (String, Arc<Mutex<Vec<(String, Instant)>>>) {
        let arrivals: Arc<Mutex<Vec<(String, Instant)>>> = Arc::default();
        let seen = Arc::clone(&arrivals);
        let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
            let seen = Arc::clone(&seen);
            async move {
                let mut seen = seen.lock().unwrap();
                seen.push((uri.path().to_string(), Instant::now()));
                if seen.len() == 1 {
                    let body = serde_json::json!({"message": "You are being rate limited.",
                        "retry_after": limit.as_secs_f64(), "global": true});
                    (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response()
                } else {
                    "{}".into_response()
                }
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (base, arrivals)
    }

    #[tokio::test]
    async fn a_global_limit_holds_calls_to_other_routes_until_it_ends() {
        let limit = Duration::from_millis(600);
        let (api, arrivals) = api_with_a_global_limit(limit).await;
        let (base, stop) = super::start(&api).await.unwrap();
        let client = reqwest::Client::new();
        let first = tokio::spawn(client.get(format!("{base}/a")).send());
        // The second call is made once the first has met the limit.
        while arrivals.lock().unwrap().is_empty() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        let second = client.get(format!("{base}/b")).send().await.unwrap();
        assert_eq!(second.status(), StatusCode::OK);
        assert_eq!(first.await.unwrap().unwrap().status(), StatusCode::OK);
        stop.abort();
        let arrivals = arrivals.lock().unwrap().clone();
        let limited_at = arrivals[0].1;
        let b = arrivals.iter().find(|(path, _)| path == "/b").unwrap().1;
        assert!(
            b.duration_since(limited_at) >= limit,
            "the other route waited out the global limit: {:?}",
            b.duration_since(limited_at)
        );
        assert_eq!(
            arrivals.len(),
            3,
            "the limited call was made again once: {arrivals:?}"
        );
    }

    #[test]
    fn the_wait_comes_from_the_body_or_else_the_header() {
        let body = br#"{"message": "You are being rate limited.", "retry_after": 1.5, "global": false}"#;
        assert_eq!(
            retry_after(&HeaderMap::new(), body),
            Some((Duration::from_millis(1500), false))
        );
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", "2".parse().unwrap());
        headers.insert("x-ratelimit-global", "true".parse().unwrap());
        assert_eq!(
            retry_after(&headers, b"not json"),
            Some((Duration::from_secs(2), true))
        );
        assert_eq!(retry_after(&HeaderMap::new(), b"{}"), None);
        let absurd = br#"{"retry_after": 1e12}"#;
        assert_eq!(
            retry_after(&HeaderMap::new(), absurd),
            Some((Duration::from_mins(1), false))
        );
    }
}
