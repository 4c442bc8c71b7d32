//! The pages (plain HTML, CSS and JavaScript compiled into the binary), the guidance section
//! pages answers link to, health and readiness, and the security headers on every response.

use crate::error::ApiError;
use crate::{blocking, WebState};
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Json;
use serde::Serialize;
use std::sync::Arc;
use switchboard_knowledge::Language;

const CHAT_HTML: &str = include_str!("../assets/chat.html");
const CHAT_JS: &str = include_str!("../assets/chat.js");
const STAFF_HTML: &str = include_str!("../assets/staff.html");
const STAFF_JS: &str = include_str!("../assets/staff.js");
const STYLE_CSS: &str = include_str!("../assets/style.css");
const WIDGET_JS: &str = include_str!("../assets/widget.js");

/// Scripts and styles only from this server's own files: no inline script, so a payload that
/// slipped into a page still could not run.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

/// The chat page may be framed by the partner's sites (the widget); nothing else may be.
async fn chat_page(State(state): State<Arc<WebState>>) -> Response {
    let mut response = Html(CHAT_HTML).into_response();
    let ancestors = std::iter::once("'self'")
        .chain(state.config.allowed_origins.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join(" ");
    let csp = CSP.replace("frame-ancestors 'none'", &format!("frame-ancestors {ancestors}"));
    if let Ok(value) = HeaderValue::from_str(&csp) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, value);
    }
    response
}

pub fn routes() -> axum::Router<Arc<WebState>> {
    axum::Router::new()
        .route("/", get(chat_page))
        .route(
            "/chat.js",
            get(|| async { asset("text/javascript; charset=utf-8", CHAT_JS) }),
        )
        .route(
            "/widget.js",
            get(|| async { asset("text/javascript; charset=utf-8", WIDGET_JS) }),
        )
        .route(
            "/style.css",
            get(|| async { asset("text/css; charset=utf-8", STYLE_CSS) }),
        )
        .route("/staff", get(|| async { Html(STAFF_HTML) }))
        .route(
            "/staff.js",
            get(|| async { asset("text/javascript; charset=utf-8", STAFF_JS) }),
        )
        .route("/kb/{*citation}", get(section_page))
}

/// A guidance section.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SectionView {
    /// `path#anchor`.
    pub citation: String,
    /// Document title.
    pub title: String,
    /// Section heading.
    pub heading: String,
    /// The section's text.
    pub body: String,
    /// Language.
    #[schema(value_type = String)]
    pub language: Language,
}

async fn find_section(state: &Arc<WebState>, citation: String) -> Result<SectionView, ApiError> {
    let state = Arc::clone(state);
    blocking(move || {
        let hit = state
            .desk
            .router()
            .knowledge()
            .section(&citation)
            .map_err(|e| ApiError::internal(&e))?
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::NOT_FOUND,
                    "not_found",
                    format!("no guidance section `{citation}`"),
                )
            })?;
        Ok(SectionView {
            citation: hit.citation,
            title: hit.title,
            heading: hit.heading,
            body: hit.body,
            language: hit.language,
        })
    })
    .await
}

/// A guidance section by citation (`path#anchor`, `#` sent as `%23`).
#[utoipa::path(get, path = "/api/v1/sections/{citation}", tag = "knowledge",
    params(("citation" = String, Path, description = "path#anchor")),
    responses((status = 200, body = SectionView), (status = 404, body = crate::error::ErrorBody)))]
pub async fn section_json(
    State(state): State<Arc<WebState>>,
    Path(citation): Path<String>,
) -> Result<Json<SectionView>, ApiError> {
    Ok(Json(find_section(&state, citation).await?))
}

fn escape(text: &str) -> String {
    html_escape::encode_text(text).into_owned()
}

async fn section_page(State(state): State<Arc<WebState>>, Path(citation): Path<String>) -> Response {
    match find_section(&state, citation).await {
        Ok(section) => {
            let paragraphs: String = section
                .body
                .split("\n\n")
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .fold(String::new(), |mut html, p| {
                    html.push_str("<p>");
                    html.push_str(&escape(p));
                    html.push_str("</p>\n");
                    html
                });
            Html(format!(
                "<!doctype html>\n<html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{heading} · {title}</title><link rel=\"stylesheet\" href=\"/style.css\"></head>\
<body class=\"section-page\"><main><p class=\"doc-title\">{title}</p><h1>{heading}</h1>\n{paragraphs}\
<p class=\"citation\">{citation}</p></main></body></html>",
                lang = section.language.code(),
                heading = escape(&section.heading),
                title = escape(&section.title),
                citation = escape(&section.citation),
            ))
            .into_response()
        }
        Err(e) => e.into_response(),
    }
}

pub async fn healthz() -> &'static str {
    "ok\n"
}

/// Ready when the ticket store answers and the guidance is loaded.
pub async fn readyz(State(state): State<Arc<WebState>>) -> Response {
    let checked = blocking(move || {
        state.desk.store().deliveries("web", "ready-probe")?;
        Ok(state.desk.router().knowledge().compound_words())
    })
    .await;
    match checked {
        Ok(_) => "ready\n".into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, e.message).into_response(),
    }
}

/// Security headers on every response that did not set its own.
pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ] {
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
    // The chat page sets frame-ancestors for the partner's sites; X-Frame-Options cannot say
    // that, and browsers that know CSP ignore it where CSP is set.
    if headers
        .get(header::CONTENT_SECURITY_POLICY)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| !v.contains("frame-ancestors 'none'"))
    {
        headers.remove(header::X_FRAME_OPTIONS);
    }
    response
}
