//! Errors as JSON with a stable code (for programs) and a message (for people).

use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use switchboard_core::tickets::TicketError;

/// An error answer of the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable, machine-readable code (`forbidden`, `rate_limited`, ...).
    pub code: &'static str,
    /// What happened, for a person.
    pub message: String,
    /// Seconds to wait before retrying (rate limits).
    pub retry_after: Option<u64>,
}

/// The body of an error answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Stable, machine-readable code.
    pub code: &'static str,
    /// What happened.
    pub message: String,
}

impl ApiError {
    /// An error with a status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// 400: the request is malformed.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 401: not signed in.
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "sign in first (the session is missing or has expired)",
        )
    }

    /// 404: an unknown conversation token (also for forged ones: they are not told apart).
    pub fn unknown_conversation() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "unknown_conversation",
            "no conversation has this token; start a new one",
        )
    }

    /// 500 with the cause logged, not shown.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "something went wrong on our side; nothing you sent was lost, please try again",
        )
    }
}

impl From<TicketError> for ApiError {
    fn from(e: TicketError) -> Self {
        let (status, code) = match &e {
            TicketError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            TicketError::InvalidTransition { .. } => (StatusCode::CONFLICT, "invalid_transition"),
            TicketError::Forbidden { .. } | TicketError::AdminOnly { .. } => {
                (StatusCode::FORBIDDEN, "forbidden")
            }
            TicketError::Busy => (StatusCode::SERVICE_UNAVAILABLE, "busy"),
            TicketError::ReadOnly { .. } => (StatusCode::SERVICE_UNAVAILABLE, "read_only"),
            _ => return ApiError::internal(&e),
        };
        ApiError::new(status, code, e.to_string())
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "the request body is larger than this server accepts",
            );
        }
        ApiError::new(rejection.status(), "bad_request", rejection.body_text())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            axum::Json(ErrorBody {
                code: self.code,
                message: self.message,
            }),
        )
            .into_response();
        if let Some(seconds) = self.retry_after {
            if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
                response
                    .headers_mut()
                    .insert(axum::http::header::RETRY_AFTER, value);
            }
        }
        response
    }
}
