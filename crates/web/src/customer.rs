//! The customer API: start a conversation, send messages, press the buttons, follow the
//! conversation live (server-sent events). The token in the path is the only credential: a
//! customer can read their own conversation and nothing else.

use crate::conversation::{ChatEvent, Conversation};
use crate::error::{ApiError, ErrorBody};
use crate::{blocking, WebState};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::Json;
use axum_extra::extract::WithRejection;
use futures_util::stream::Stream;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;
use switchboard_knowledge::Language;

/// How often a live connection looks for staff replies written elsewhere (another process,
/// the terminal, Discord); replies from this server arrive at once.
const STAFF_POLL: Duration = Duration::from_secs(2);

type JsonBody<T> = WithRejection<Json<T>, ApiError>;

fn language(code: Option<&str>) -> Result<Option<Language>, ApiError> {
    code.map(|c| {
        c.parse::<Language>()
            .map_err(|_| ApiError::bad_request(format!("language: `{c}` is not de or en")))
    })
    .transpose()
}

/// Starting a conversation.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartRequest {
    /// How staff will see the customer (optional).
    #[serde(default)]
    pub name: Option<String>,
    /// `de` or `en`: the page's language (the messages' own language decides each answer).
    #[serde(default)]
    pub language: Option<String>,
}

/// A started conversation.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Started {
    /// The conversation's token: keep it to come back (and keep it secret).
    pub token: String,
}

/// A conversation so far.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ConversationView {
    /// Language of the conversation so far (`de`, `en`), if known.
    #[schema(value_type = Option<String>)]
    pub language: Option<Language>,
    /// Everything shown so far.
    pub events: Vec<ChatEvent>,
}

/// A customer message.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageRequest {
    /// What the customer wrote.
    pub text: String,
    /// The page's language (`de`, `en`), a hint for short messages.
    #[serde(default)]
    pub language: Option<String>,
    /// The sender's id for this send (1 to 64 letters, digits, `-`, `_`, `.`, `:`), e.g. a
    /// random UUID: sent again with the same id (a retry after a lost response, to any replica),
    /// the message is stored once and the same reply comes back.
    #[serde(default)]
    pub id: Option<String>,
}

/// A send id as the API accepts it.
fn send_id(id: Option<String>) -> Result<Option<String>, ApiError> {
    match id {
        Some(id)
            if id.is_empty()
                || id.len() > 64
                || !id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c)) =>
        {
            Err(ApiError::bad_request(
                "id: 1 to 64 letters, digits, `-`, `_`, `.` or `:`",
            ))
        }
        other => Ok(other),
    }
}

/// What a message added to the conversation.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TurnView {
    /// The new events: the customer's message (as kept: secrets removed), notices, the reply.
    pub events: Vec<ChatEvent>,
}

/// "Helpful?"
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeedbackRequest {
    /// Whether the last answer helped.
    pub helpful: bool,
}

/// Where a live connection starts.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct EventsQuery {
    /// Send events after this one (0: all).
    #[serde(default)]
    pub after: u64,
}

/// Starts a conversation.
#[utoipa::path(post, path = "/api/v1/conversations", tag = "customer", request_body = StartRequest,
    responses((status = 201, body = Started), (status = "4XX", body = ErrorBody)))]
pub async fn start(
    State(state): State<Arc<WebState>>,
    WithRejection(Json(request), _): JsonBody<StartRequest>,
) -> Result<(StatusCode, Json<Started>), ApiError> {
    let lang = language(request.language.as_deref())?;
    let (token, conversation) = state.conversations.start(request.name.as_deref(), lang);
    if state.desk.store().shared() {
        // A store that cannot keep the new conversation does not stop it: it goes on in this
        // replica's memory.
        let state = Arc::clone(&state);
        let kept = blocking(move || Ok(state.conversations.share(&conversation, &state.desk)?)).await;
        if let Err(e) = kept {
            tracing::warn!(error = ?e, "a new conversation could not be kept in the shared store");
        }
    }
    Ok((StatusCode::CREATED, Json(Started { token })))
}

async fn conversation(state: &Arc<WebState>, token: String) -> Result<Arc<Conversation>, ApiError> {
    // In memory (nearly always): no trip to the blocking pool.
    if let Some(found) = state.conversations.live(&token) {
        return Ok(found);
    }
    let state = Arc::clone(state);
    blocking(move || {
        state
            .conversations
            .get(&token, &state.desk)?
            .ok_or_else(ApiError::unknown_conversation)
    })
    .await
}

/// The conversation so far (after a page reload).
#[utoipa::path(get, path = "/api/v1/conversations/{token}", tag = "customer",
    params(("token" = String, Path, description = "the conversation's token")),
    responses((status = 200, body = ConversationView), (status = 404, body = ErrorBody)))]
pub async fn show(
    State(state): State<Arc<WebState>>,
    Path(token): Path<String>,
) -> Result<Json<ConversationView>, ApiError> {
    let conversation = conversation(&state, token).await?;
    Ok(Json(ConversationView {
        language: conversation.language(),
        events: conversation.events_after(0),
    }))
}

async fn turn(
    state: Arc<WebState>,
    conversation: Arc<Conversation>,
    text: String,
    send_id: Option<String>,
    lang: Option<Language>,
) -> Result<Json<TurnView>, ApiError> {
    state.limits.conversation(conversation.id())?;
    let desk = Arc::clone(&state.desk);
    let events = blocking(move || {
        Ok(conversation.message(&desk, &text, send_id.as_deref(), lang, jiff::Timestamp::now())?)
    })
    .await?;
    Ok(Json(TurnView { events }))
}

/// A customer message: answered, suggested, handed off or declined.
#[utoipa::path(post, path = "/api/v1/conversations/{token}/messages", tag = "customer",
    params(("token" = String, Path, description = "the conversation's token")), request_body = MessageRequest,
    responses((status = 200, body = TurnView), (status = "4XX", body = ErrorBody)))]
pub async fn message(
    State(state): State<Arc<WebState>>,
    Path(token): Path<String>,
    WithRejection(Json(request), _): JsonBody<MessageRequest>,
) -> Result<Json<TurnView>, ApiError> {
    let lang = language(request.language.as_deref())?;
    let id = send_id(request.id)?;
    let conversation = conversation(&state, token).await?;
    turn(state, conversation, request.text, id, lang).await
}

/// The words a button stands for, in the conversation's language; they go through the desk
/// as the customer's message, as in every other channel.
fn button_text(conversation: &Conversation, de: &str, en: &str) -> String {
    match conversation.language() {
        Some(Language::De) => de.into(),
        _ => en.into(),
    }
}

/// "Helpful? yes / no" for the last answer.
#[utoipa::path(post, path = "/api/v1/conversations/{token}/feedback", tag = "customer",
    params(("token" = String, Path, description = "the conversation's token")), request_body = FeedbackRequest,
    responses((status = 200, body = TurnView), (status = "4XX", body = ErrorBody)))]
pub async fn feedback(
    State(state): State<Arc<WebState>>,
    Path(token): Path<String>,
    WithRejection(Json(request), _): JsonBody<FeedbackRequest>,
) -> Result<Json<TurnView>, ApiError> {
    let conversation = conversation(&state, token).await?;
    let text = if request.helpful {
        button_text(&conversation, "ja", "yes")
    } else {
        button_text(&conversation, "nein", "no")
    };
    turn(state, conversation, text, None, None).await
}

/// "Talk to a person".
#[utoipa::path(post, path = "/api/v1/conversations/{token}/handoff", tag = "customer",
    params(("token" = String, Path, description = "the conversation's token")),
    responses((status = 200, body = TurnView), (status = "4XX", body = ErrorBody)))]
pub async fn handoff(
    State(state): State<Arc<WebState>>,
    Path(token): Path<String>,
) -> Result<Json<TurnView>, ApiError> {
    let conversation = conversation(&state, token).await?;
    let text = button_text(
        &conversation,
        "Ich möchte mit einem Menschen sprechen",
        "I want to talk to a human",
    );
    turn(state, conversation, text, None, None).await
}

/// Server-sent events: each message is a JSON array of new events, its id the last event's.
/// Staff replies arrive without reload; a reconnecting browser resumes after `Last-Event-ID`.
#[utoipa::path(get, path = "/api/v1/conversations/{token}/events", tag = "customer",
    params(("token" = String, Path, description = "the conversation's token"), EventsQuery),
    responses((status = 200, content_type = "text/event-stream", description = "each event: a JSON array of ChatEvent"),
        (status = 404, body = ErrorBody)))]
pub async fn events(
    State(state): State<Arc<WebState>>,
    Path(token): Path<String>,
    Query(query): Query<EventsQuery>,
    headers: axum::http::HeaderMap,
    extensions: axum::http::Extensions,
) -> Result<Sse<impl Stream<Item = Result<Event, std::convert::Infallible>>>, ApiError> {
    let place = state
        .live
        .open(&crate::address_of(&state, &headers, &extensions))?;
    let conversation = conversation(&state, token).await?;
    let resume = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let after = resume.unwrap_or(query.after);
    let changed = conversation.subscribe();
    let stopping = state.stopping.subscribe();
    let stream = futures_util::stream::unfold(
        (state, conversation, changed, stopping, after, place),
        |(state, conversation, mut changed, mut stopping, mut after, place)| async move {
            loop {
                let new = conversation.events_after(after);
                if let Some(last) = new.last() {
                    after = last.id;
                    let data = serde_json::to_string(&new).unwrap_or_else(|_| "[]".into());
                    let event = Event::default().id(after.to_string()).data(data);
                    return Some((Ok(event), (state, conversation, changed, stopping, after, place)));
                }
                tokio::select! {
                    _ = changed.changed() => {}
                    () = tokio::time::sleep(STAFF_POLL) => {
                        let (desk, c) = (Arc::clone(&state.desk), Arc::clone(&conversation));
                        // A failed look (a busy database) is retried at the next poll.
                        let _ = blocking(move || Ok(c.refresh(&desk)?)).await;
                    }
                    _ = stopping.changed() => return None,
                }
            }
        },
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}
