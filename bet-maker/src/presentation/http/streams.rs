//! `GET /events/stream` and `GET /bets/stream`: server-sent events, one
//! message per change (per bet of a change naming many), each change's
//! last with an `id:` a client sends back as `Last-Event-ID` to get what it
//! missed.

use std::convert::Infallible;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, Sse};
use futures_util::stream;
use futures_util::{Stream, StreamExt as _};
use shared_kernel::http::{ClientAddress, FieldError, Problem, StreamSlot};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::bettor::Bettor;
use super::errors::storage_problem;
use super::examples;
use super::stream_dto::{BettorStreamData, LineEventDto, StreamName, messages};
use crate::application::live::{Delivery, ResetReason, Subscription, Topic};

/// The header a reconnecting client names its last message in.
const LAST_EVENT_ID: &str = "last-event-id";

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(events_stream))
        .routes(routes!(bets_stream))
}

/// Follow the line live: every change to the events bet-maker knows.
///
/// A `text/event-stream` (Server-Sent Events; try it with `curl -N`, or
/// `new EventSource('/events/stream')` in a browser: Swagger UI cannot
/// show a stream). Each change is one message, `event: line`, its `data`
/// the event as it is after the change, its `id` a position: send the
/// last one back as `Last-Event-ID` (browsers do it by themselves) to get
/// every change missed meanwhile, within the retention window
/// (`BET_MAKER_STREAM_RETENTION_SECS`). Older than that, the stream starts
/// with `event: reset`: reload `GET /events`, then carry on. A client too
/// slow to keep up is sent `event: reset` and the stream ends; one that
/// lets more than `HTTP_STREAM_MAX_UNSENT_BYTES` go unsent is cut off. A
/// client may have `HTTP_MAX_CONNECTIONS_PER_CLIENT` streams open (429
/// beyond, with `Retry-After`). Every
/// `BET_MAKER_STREAM_KEEP_ALIVE_SECS` seconds the stream sends a
/// `: keep-alive` comment.
#[utoipa::path(
    get, path = "/events/stream", tag = "events",
    params(("Last-Event-ID" = Option<String>, Header,
        description = "The id of the last message received: the changes after it come first")),
    responses(
        (status = 200, description = "The stream: `event: line` messages (data: the event after the change), and `event: reset` (data: a reset) when what was missed cannot be replayed or the client fell behind",
            content_type = "text/event-stream", body = LineEventDto,
            example = json!(examples::line_stream())),
        (status = 400, description = "Last-Event-ID is not an id this stream sends", body = Problem, content_type = "application/problem+json",
            example = json!(examples::bad_last_event_id())),
        (status = 429, description = "This client has the most streams open it may", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = String, description = "Seconds to wait before trying again")),
            example = json!(examples::too_many_streams())),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json",
            example = json!(examples::unavailable())),
    )
)]
async fn events_stream(
    State(state): State<AppState>,
    client: ClientAddress,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, Problem> {
    follow(&state, client, Topic::Line, StreamName::Events, &headers).await
}

/// Follow your bets and wallet live.
///
/// A `text/event-stream`, as `GET /events/stream`, of the bettor's own
/// changes only: `event: bet` (data: the bet, when placed and when
/// settled) and `event: wallet` (data: the wallet, after every movement of
/// its balance), with the same `id`, `Last-Event-ID`, `event: reset` and
/// keep-alive rules. A settlement of many bets sends a message per bet,
/// in groups of which only the last message carries an `id`: a client cut
/// off inside a group gets the whole group again. Needs the bettor's token.
#[utoipa::path(
    get, path = "/bets/stream", tag = "bets",
    security(("bettor_token" = [])),
    params(("Last-Event-ID" = Option<String>, Header,
        description = "The id of the last message received: the changes after it come first")),
    responses(
        (status = 200, description = "The stream: `event: bet` (data: a bet), `event: wallet` (data: the wallet), and `event: reset` (data: a reset)",
            content_type = "text/event-stream", body = BettorStreamData,
            example = json!(examples::bets_stream())),
        (status = 400, description = "Last-Event-ID is not an id this stream sends", body = Problem, content_type = "application/problem+json",
            example = json!(examples::bad_last_event_id())),
        (status = 401, description = "No valid bettor token", body = Problem, content_type = "application/problem+json",
            headers(("WWW-Authenticate" = String, description = "`Bearer`, with `error=\"invalid_token\"` when a token was sent")),
            examples(
                ("No token" = (summary = "No Authorization header", value = json!(examples::no_token()))),
                ("Expired token" = (summary = "The token's exp has passed", value = json!(examples::expired_token()))),
            )),
        (status = 429, description = "This client has the most streams open it may", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = String, description = "Seconds to wait before trying again")),
            example = json!(examples::too_many_streams())),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json",
            example = json!(examples::unavailable())),
    )
)]
async fn bets_stream(
    bettor: Bettor,
    State(state): State<AppState>,
    client: ClientAddress,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, Problem> {
    let topic = Topic::Bettor(bettor.id().clone());
    follow(&state, client, topic, StreamName::Bets, &headers).await
}

/// The stream of `topic`, resumed after `Last-Event-ID` when sent, in one
/// of `client`'s stream slots (held until the stream's body is dropped).
async fn follow(
    state: &AppState,
    client: ClientAddress,
    topic: Topic,
    stream: StreamName,
    headers: &HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>> + use<>>, Problem> {
    let resume = last_event_id(headers)?;
    let slot = state.stream_slots.acquire(client)?;
    let subscription = state
        .feed
        .subscribe(topic, resume)
        .await
        .map_err(|error| storage_problem(&error))?;
    Ok(Sse::new(deliveries(stream, subscription, slot)))
}

/// `Last-Event-ID`, when sent: an id one of the streams sent (a position,
/// a positive whole number).
fn last_event_id(headers: &HeaderMap) -> Result<Option<i64>, Problem> {
    let Some(value) = headers.get(LAST_EVENT_ID) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .and_then(|text| text.trim().parse::<i64>().ok())
        .filter(|position| *position > 0)
        .map(Some)
        .ok_or_else(refused_last_event_id)
}

/// 400: a `Last-Event-ID` no stream sent.
pub(super) fn refused_last_event_id() -> Problem {
    Problem::bad_parameters(vec![FieldError::new(
        "Last-Event-ID",
        "must be the id of a message this stream sent (a positive whole number)",
    )])
}

/// The subscription as server-sent events, counted while open, holding
/// its client's stream slot.
fn deliveries(
    stream: StreamName,
    subscription: Subscription,
    slot: StreamSlot,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let open = OpenStream::new(stream, slot);
    let deliveries = stream::unfold(
        (subscription, open),
        move |(mut subscription, open)| async move {
            match subscription.next().await? {
                Ok(delivery) => {
                    if let Delivery::Reset(reason) = &delivery {
                        open.reset(*reason);
                    }
                    Some((messages(stream, &delivery), (subscription, open)))
                }
                Err(error) => {
                    tracing::warn!(error = %shared_kernel::storage::chain(&error), stream = stream.label(),
                        "a stream could not read what its client missed; it ends, and the client resumes");
                    None
                }
            }
        },
    );
    deliveries.flat_map(|messages| stream::iter(messages.into_iter().map(Ok)))
}

/// Counts a stream in `sse_streams_open{stream}` while it lives, and its
/// resets in `sse_resets_total{stream, reason}`; frees its client's slot
/// when dropped.
struct OpenStream(StreamName, #[allow(dead_code)] StreamSlot);

impl OpenStream {
    fn new(stream: StreamName, slot: StreamSlot) -> Self {
        metrics::gauge!("sse_streams_open", "stream" => stream.label()).increment(1);
        Self(stream, slot)
    }

    fn reset(&self, reason: ResetReason) {
        let reason = match reason {
            ResetReason::TooOld => "too_old",
            ResetReason::TooSlow => "too_slow",
        };
        metrics::counter!("sse_resets_total", "stream" => self.0.label(), "reason" => reason)
            .increment(1);
    }
}

impl Drop for OpenStream {
    fn drop(&mut self) {
        metrics::gauge!("sse_streams_open", "stream" => self.0.label()).decrement(1);
    }
}
