//! The OpenAPI document of `/api/v1`, generated from the handlers and types (utoipa), so a
//! partner can connect their own front end.

use crate::{customer, pages, staff};
use axum::Json;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Switchboard API",
        description = "Customer chat and staff desk of a CSP partner's support bot. Errors are JSON `{code, message}` with stable codes. Staff requests authenticate with the session cookie (plus `X-CSRF-Token` on changes) or a bearer token."
    ),
    paths(
        customer::start,
        customer::show,
        customer::message,
        customer::feedback,
        customer::handoff,
        customer::events,
        staff::sign_in,
        staff::whoami,
        staff::sign_out,
        staff::queues,
        staff::list,
        staff::show,
        staff::claim,
        staff::take_over,
        staff::resolve,
        staff::reply,
        staff::escalate,
        staff::search,
        pages::section_json,
    ),
    components(schemas(crate::conversation::ChatEvent, crate::error::ErrorBody))
)]
struct ApiDoc;

/// The document.
pub fn spec() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(spec())
}
