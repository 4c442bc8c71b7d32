//! The staff API: sign-in, the queues and tickets a member's roles allow, ticket actions, and
//! knowledge-base search. Every request is authenticated and every ticket action goes through
//! the desk's role check, whatever the console showed.

use crate::auth::{SignedIn, SESSION_COOKIE};
use crate::conversation::ADAPTER;
use crate::error::{ApiError, ErrorBody};
use crate::{blocking, WebState};
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::Json;
use axum_extra::extract::cookie::{Cookie, SameSite};
use axum_extra::extract::{CookieJar, WithRejection};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use switchboard_core::desk::StaffMember;
use switchboard_core::tickets::{Escalation, StaffAction, Ticket, TicketStatus};
use switchboard_core::StaffRole;
use switchboard_knowledge::{Language, SearchRequest};

type JsonBody<T> = WithRejection<Json<T>, ApiError>;

impl FromRequestParts<Arc<WebState>> for SignedIn {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<WebState>) -> Result<Self, ApiError> {
        let jar = CookieJar::from_headers(&parts.headers);
        state.auth.authenticate(
            &parts.method,
            &parts.headers,
            jar.get(SESSION_COOKIE).map(Cookie::value),
        )
    }
}

/// Signing in.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignInRequest {
    /// User name.
    pub user: String,
    /// Password (or the account's token).
    pub password: String,
}

/// Who is signed in.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Me {
    /// User name.
    pub user: String,
    /// Roles.
    #[schema(value_type = Vec<String>)]
    pub roles: Vec<StaffRole>,
    /// Send this in `X-CSRF-Token` with every change (absent for bearer tokens).
    pub csrf_token: Option<String>,
}

fn me(signed: &SignedIn) -> Me {
    Me {
        user: signed.account.user.clone(),
        roles: signed.account.roles.clone(),
        csrf_token: signed.csrf.clone(),
    }
}

fn session_cookie(state: &WebState, value: String) -> Cookie<'static> {
    Cookie::build((SESSION_COOKIE, value))
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(state.config.secure_cookies)
        .path("/")
        .build()
}

/// Signs in: sets the session cookie and returns the CSRF token.
#[utoipa::path(post, path = "/api/v1/staff/session", tag = "staff", request_body = SignInRequest,
    responses((status = 200, body = Me), (status = 401, body = ErrorBody)))]
pub async fn sign_in(
    State(state): State<Arc<WebState>>,
    headers: axum::http::HeaderMap,
    extensions: axum::http::Extensions,
    jar: CookieJar,
    WithRejection(Json(request), _): JsonBody<SignInRequest>,
) -> Result<(CookieJar, Json<Me>), ApiError> {
    let address = crate::address_of(&state, &headers, &extensions);
    state.limits.sign_in(&address, &request.user)?;
    let checked = {
        let state = Arc::clone(&state);
        blocking(move || Ok(state.auth.verify(&request.user, &request.password))).await?
    };
    let Some(account) = checked else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "bad_credentials",
            "unknown user or wrong password",
        ));
    };
    let (id, csrf) = state.auth.open_session(&account);
    let jar = jar.add(session_cookie(&state, id));
    Ok((
        jar,
        Json(Me {
            user: account.user,
            roles: account.roles,
            csrf_token: Some(csrf),
        }),
    ))
}

/// Who is signed in.
#[utoipa::path(get, path = "/api/v1/staff/session", tag = "staff",
    responses((status = 200, body = Me), (status = 401, body = ErrorBody)))]
pub async fn whoami(signed: SignedIn) -> Json<Me> {
    Json(me(&signed))
}

/// Signs out.
#[utoipa::path(delete, path = "/api/v1/staff/session", tag = "staff",
    responses((status = 204), (status = "4XX", body = ErrorBody)))]
pub async fn sign_out(
    State(state): State<Arc<WebState>>,
    _signed: SignedIn,
    jar: CookieJar,
) -> (CookieJar, StatusCode) {
    if let Some(id) = jar.get(SESSION_COOKIE).map(|c| c.value().to_string()) {
        state.auth.close_session(&id);
    }
    (
        jar.remove(session_cookie(&state, String::new())),
        StatusCode::NO_CONTENT,
    )
}

/// A queue the member may work.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct QueueView {
    /// Queue id.
    pub id: String,
    /// Name.
    pub name: String,
}

fn may_work(state: &WebState, signed: &SignedIn, queue: &str) -> bool {
    state
        .desk
        .router()
        .support()
        .queue(queue)
        .is_some_and(|q| signed.account.roles.iter().any(|r| q.roles.contains(r)))
}

/// The queues the member's roles allow.
#[utoipa::path(get, path = "/api/v1/queues", tag = "staff",
    responses((status = 200, body = Vec<QueueView>), (status = 401, body = ErrorBody)))]
pub async fn queues(State(state): State<Arc<WebState>>, signed: SignedIn) -> Json<Vec<QueueView>> {
    let router = state.desk.router();
    Json(
        router
            .support()
            .queues
            .iter()
            .filter(|q| may_work(&state, &signed, &q.id))
            .map(|q| QueueView {
                id: q.id.clone(),
                name: q.name.get(Language::En).to_string(),
            })
            .collect(),
    )
}

/// A ticket in a list.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TicketSummary {
    /// Ticket id.
    pub id: String,
    /// Queue id.
    pub queue: String,
    /// Status: open, claimed, escalated or resolved.
    #[schema(value_type = String)]
    pub status: TicketStatus,
    /// Who claimed it.
    pub assignee: Option<String>,
    /// Respond by, as the customer was told (in the queue's time zone).
    pub due: Option<String>,
    /// The customer's name as they gave it.
    pub customer: String,
    /// The channel (`web`, `discord`, `terminal`).
    pub channel: String,
    /// The bot's summary for staff.
    pub summary: String,
    /// Created (RFC 3339).
    pub created_at: String,
    /// Last change (RFC 3339).
    pub updated_at: String,
}

fn summary(ticket: &Ticket) -> TicketSummary {
    TicketSummary {
        id: ticket.id.clone(),
        queue: ticket.queue.clone(),
        status: ticket.status,
        assignee: ticket.assignee.clone(),
        due: ticket.due.clone(),
        customer: ticket.customer.display_name.clone(),
        channel: ticket.customer.adapter.clone(),
        summary: ticket.findings["summary"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        created_at: ticket.created_at.clone(),
        updated_at: ticket.updated_at.clone(),
    }
}

/// Which tickets to list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// `open`, `claimed`, `escalated` or `resolved`; all but resolved when absent.
    #[serde(default)]
    pub status: Option<String>,
}

/// Tickets of the member's queues.
#[utoipa::path(get, path = "/api/v1/tickets", tag = "staff", params(ListQuery),
    responses((status = 200, body = Vec<TicketSummary>), (status = "4XX", body = ErrorBody)))]
pub async fn list(
    State(state): State<Arc<WebState>>,
    signed: SignedIn,
    Query(query): Query<ListQuery>,
) -> Result<Json<Vec<TicketSummary>>, ApiError> {
    let status = match query.status.as_deref() {
        None | Some("") => None,
        Some(s) => Some(TicketStatus::parse(s).ok_or_else(|| {
            ApiError::bad_request(format!(
                "status: `{s}` is not open, claimed, escalated or resolved"
            ))
        })?),
    };
    blocking(move || {
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        for role in &signed.account.roles {
            let member = StaffMember {
                user: signed.account.user.clone(),
                role: *role,
            };
            for ticket in state.desk.staff_list(&member, status)? {
                if status.is_none() && ticket.status == TicketStatus::Resolved {
                    continue;
                }
                if seen.insert(ticket.id.clone()) {
                    out.push(summary(&ticket));
                }
            }
        }
        // Oldest first: a queue's due times follow its tickets' creation (the due time itself
        // is text for people, in the queue's time zone).
        out.sort_by(|a, b| a.created_at.cmp(&b.created_at));
        Ok(Json(out))
    })
    .await
}

/// A ticket with its transcript and the bot's findings.
#[utoipa::path(get, path = "/api/v1/tickets/{id}", tag = "staff", params(("id" = String, Path, description = "ticket id")),
    responses((status = 200, description = "the ticket (id, customer, queue, status, assignee, transcript, findings, due, escalations, audit)"), (status = "4XX", body = ErrorBody)))]
pub async fn show(
    State(state): State<Arc<WebState>>,
    signed: SignedIn,
    Path(id): Path<String>,
) -> Result<Json<Ticket>, ApiError> {
    blocking(move || {
        let account = &signed.account;
        Ok(Json(state.desk.staff_view_as(
            &account.user,
            &account.roles,
            &id,
        )?))
    })
    .await
}

async fn act(
    state: Arc<WebState>,
    signed: SignedIn,
    id: String,
    action: StaffAction,
) -> Result<Json<Ticket>, ApiError> {
    let ticket = {
        let state = Arc::clone(&state);
        blocking(move || {
            let account = &signed.account;
            Ok(state
                .desk
                .staff_act_as(&account.user, &account.roles, &id, action, jiff::Timestamp::now())?)
        })
        .await?
    };
    // A web customer connected to this server sees the reply (or the new status) at once;
    // customers elsewhere get it from their channel's own look at the ticket.
    if ticket.customer.adapter == ADAPTER {
        if let Some(conversation) = state.conversations.live_by_id(&ticket.customer.user_id) {
            let desk = Arc::clone(&state.desk);
            let _ = blocking(move || Ok(conversation.refresh(&desk)?)).await;
        }
    }
    Ok(Json(ticket))
}

/// Claims a ticket.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/claim", tag = "staff", params(("id" = String, Path, description = "ticket id")),
    responses((status = 200, description = "the ticket (id, customer, queue, status, assignee, transcript, findings, due, escalations, audit)"), (status = "4XX", body = ErrorBody)))]
pub async fn claim(
    State(state): State<Arc<WebState>>,
    signed: SignedIn,
    Path(id): Path<String>,
) -> Result<Json<Ticket>, ApiError> {
    act(state, signed, id, StaffAction::Claim).await
}

/// Takes over a ticket another member holds.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/take-over", tag = "staff", params(("id" = String, Path, description = "ticket id")),
    responses((status = 200, description = "the ticket (id, customer, queue, status, assignee, transcript, findings, due, escalations, audit)"), (status = "4XX", body = ErrorBody)))]
pub async fn take_over(
    State(state): State<Arc<WebState>>,
    signed: SignedIn,
    Path(id): Path<String>,
) -> Result<Json<Ticket>, ApiError> {
    act(state, signed, id, StaffAction::TakeOver).await
}

/// Resolves a ticket.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/resolve", tag = "staff", params(("id" = String, Path, description = "ticket id")),
    responses((status = 200, description = "the ticket (id, customer, queue, status, assignee, transcript, findings, due, escalations, audit)"), (status = "4XX", body = ErrorBody)))]
pub async fn resolve(
    State(state): State<Arc<WebState>>,
    signed: SignedIn,
    Path(id): Path<String>,
) -> Result<Json<Ticket>, ApiError> {
    act(state, signed, id, StaffAction::Resolve).await
}

/// A reply to the customer.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplyRequest {
    /// The reply.
    pub text: String,
}

/// Replies to the customer (delivered live to a web customer).
#[utoipa::path(post, path = "/api/v1/tickets/{id}/reply", tag = "staff", params(("id" = String, Path, description = "ticket id")), request_body = ReplyRequest,
    responses((status = 200, description = "the ticket (id, customer, queue, status, assignee, transcript, findings, due, escalations, audit)"), (status = "4XX", body = ErrorBody)))]
pub async fn reply(
    State(state): State<Arc<WebState>>,
    signed: SignedIn,
    Path(id): Path<String>,
    WithRejection(Json(request), _): JsonBody<ReplyRequest>,
) -> Result<Json<Ticket>, ApiError> {
    if request.text.trim().is_empty() {
        return Err(ApiError::bad_request("text: the reply is empty"));
    }
    if request.text.len() > switchboard_core::desk::MAX_MESSAGE_BYTES {
        return Err(ApiError::bad_request(format!(
            "text: the reply is longer than {} bytes",
            switchboard_core::desk::MAX_MESSAGE_BYTES
        )));
    }
    act(state, signed, id, StaffAction::Reply(request.text)).await
}

/// Where to escalate.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EscalateRequest {
    /// `queue`, `microsoft-commercial` or `microsoft-technical`.
    pub to: String,
    /// The queue, for `queue`.
    #[serde(default)]
    pub queue: Option<String>,
    /// Microsoft's case number, for the Microsoft escalations.
    #[serde(default)]
    pub case_number: Option<String>,
}

/// Escalates to another queue or to Microsoft.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/escalate", tag = "staff", params(("id" = String, Path, description = "ticket id")), request_body = EscalateRequest,
    responses((status = 200, description = "the ticket (id, customer, queue, status, assignee, transcript, findings, due, escalations, audit)"), (status = "4XX", body = ErrorBody)))]
pub async fn escalate(
    State(state): State<Arc<WebState>>,
    signed: SignedIn,
    Path(id): Path<String>,
    WithRejection(Json(request), _): JsonBody<EscalateRequest>,
) -> Result<Json<Ticket>, ApiError> {
    let case_number = request.case_number.filter(|c| !c.trim().is_empty());
    let escalation = match request.to.as_str() {
        "queue" => Escalation::Queue {
            queue: request
                .queue
                .ok_or_else(|| ApiError::bad_request("queue: required when to is `queue`"))?,
        },
        "microsoft-commercial" => Escalation::MicrosoftCommercial { case_number },
        "microsoft-technical" => Escalation::MicrosoftTechnical {
            // The desk fills in the partner's entitlement from the support model.
            entitlement: switchboard_core::support::TechnicalEntitlement::None,
            case_number,
        },
        other => {
            return Err(ApiError::bad_request(format!(
                "to: `{other}` is not queue, microsoft-commercial or microsoft-technical"
            )))
        }
    };
    act(state, signed, id, StaffAction::Escalate(escalation)).await
}

/// A knowledge-base search.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    /// The words.
    pub q: String,
    /// `de` or `en` (both when absent).
    #[serde(default)]
    pub language: Option<String>,
    /// At most this many (10 when absent, at most 50).
    #[serde(default)]
    pub limit: Option<usize>,
}

/// One search result.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SearchResult {
    /// `path#anchor`.
    pub citation: String,
    /// Document title.
    pub title: String,
    /// Section heading.
    pub heading: String,
    /// Excerpt; matched words between `**`.
    pub snippet: String,
    /// The section's page.
    pub href: String,
    /// Language.
    #[schema(value_type = String)]
    pub language: Language,
}

/// Searches the knowledge base.
#[utoipa::path(get, path = "/api/v1/search", tag = "staff", params(SearchQuery),
    responses((status = 200, body = Vec<SearchResult>), (status = "4XX", body = ErrorBody)))]
pub async fn search(
    State(state): State<Arc<WebState>>,
    _signed: SignedIn,
    Query(query): Query<SearchQuery>,
) -> Result<Json<Vec<SearchResult>>, ApiError> {
    let language = query
        .language
        .as_deref()
        .filter(|l| !l.is_empty())
        .map(|l| {
            l.parse::<Language>()
                .map_err(|_| ApiError::bad_request(format!("language: `{l}` is not de or en")))
        })
        .transpose()?;
    if query.q.len() > switchboard_core::desk::MAX_MESSAGE_BYTES {
        return Err(ApiError::bad_request("q: longer than a message may be"));
    }
    blocking(move || {
        let router = state.desk.router();
        let mut request = SearchRequest::new(&query.q, query.limit.unwrap_or(10).clamp(1, 50));
        request.language = language;
        let outcome = router
            .knowledge()
            .search(&request)
            .map_err(|e| ApiError::internal(&e))?;
        Ok(Json(
            outcome
                .hits
                .into_iter()
                .map(|h| SearchResult {
                    href: crate::conversation::section_href(&h.citation),
                    citation: h.citation,
                    title: h.title,
                    heading: h.heading,
                    snippet: h.snippet,
                    language: h.language,
                })
                .collect(),
        ))
    })
    .await
}
