//! `/wallet/deposits`, `/wallet/withdrawals`: payments as the bettor asks
//! for them; `/payments/webhook`: the provider's word on them.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::header::LOCATION;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use shared_kernel::http::{ApiJson, ApiPath, ApiQuery, PageQuery, Problem};
use shared_kernel::pagination::into_page;
use shared_kernel::webhook_signature::{HEADER, SignatureRefusal};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::bettor::Bettor;
use super::examples;
use super::idempotency_key::IdempotencyKey;
use super::payment_dto::{
    PaymentDto, PaymentPage, PaymentPath, WebhookAck, WebhookBody, WebhookResult,
};
use super::payment_examples as pay;
use super::wallet_dto::MovementRequest;
use crate::application::Movement;
use crate::application::ports::{NoticeOutcome, ProviderNotice};
use crate::domain::{BetSum, Currency, MAX_BALANCE, PaymentKind, ProviderOutcome};

/// The largest webhook body read: a notice is a few hundred bytes.
pub const MAX_WEBHOOK_BYTES: usize = 16 * 1024;

/// The longest provider event id.
const MAX_EVENT_ID_CHARS: usize = 255;

pub fn router() -> OpenApiRouter<AppState> {
    let webhook = OpenApiRouter::new()
        .routes(routes!(webhook))
        .layer(DefaultBodyLimit::max(MAX_WEBHOOK_BYTES));
    OpenApiRouter::new()
        .routes(routes!(request_deposit, list_deposits))
        .routes(routes!(get_deposit))
        .routes(routes!(request_withdrawal, list_withdrawals))
        .routes(routes!(get_withdrawal))
        .merge(webhook)
}

/// 202 with the payment and its `Location`.
fn accepted(kind: PaymentKind, payment: crate::application::ports::Payment) -> Response {
    let location = format!("/wallet/{}s/{}", kind.as_str(), payment.id);
    (
        StatusCode::ACCEPTED,
        [(LOCATION, location)],
        Json(PaymentDto::from(payment)),
    )
        .into_response()
}

async fn request(
    kind: PaymentKind,
    bettor: Bettor,
    state: &AppState,
    idempotency_key: Option<String>,
    request: MovementRequest,
) -> Result<Response, Problem> {
    let payment = state
        .payments
        .request(
            kind,
            Movement {
                bettor_id: bettor.into_id(),
                amount: request.amount.value(),
                idempotency_key,
            },
        )
        .await?;
    Ok(accepted(kind, payment))
}

async fn list(
    kind: PaymentKind,
    bettor: &Bettor,
    state: &AppState,
    query: PageQuery,
) -> Result<Json<PaymentPage>, Problem> {
    let page = query.parse()?;
    let rows = state.payments.list(bettor.id(), kind, page).await?;
    let (payments, next_cursor) = into_page(rows, page, |payment| payment.id);
    Ok(Json(PaymentPage {
        items: payments.into_iter().map(PaymentDto::from).collect(),
        next_cursor,
    }))
}

/// Ask to pay money in. The wallet is credited when the provider confirms
/// the deposit (`SUCCEEDED`); until then it is `PENDING`.
#[utoipa::path(
    post, path = "/wallet/deposits", tag = "wallet",
    security(("bettor_token" = [])),
    request_body = MovementRequest,
    params(("Idempotency-Key" = Option<String>, Header,
        description = "Makes retries safe: a retry with the same key and body returns the first deposit (as it is now) and asks for no second one. Keys are the bettor's own, shared with their bets")),
    responses(
        (status = 202, description = "The deposit, `PENDING`: nothing is credited until the provider confirms it",
            body = PaymentDto, headers(("Location" = String, description = "The deposit's URL")),
            example = json!(pay::pending_deposit())),
        (status = 400, description = "The body is not JSON, or the key is malformed", body = Problem, content_type = "application/problem+json",
            example = json!(examples::malformed_movement())),
        (status = 401, description = "No valid bettor token", body = Problem, content_type = "application/problem+json",
            example = json!(examples::no_token())),
        (status = 403, description = "The bettor excluded themselves (`until` says until when; `null` with `permanent: true`)", body = Problem, content_type = "application/problem+json",
            example = json!(pay::excluded())),
        (status = 409, description = "Past one of the bettor's deposit limits (`period`, `limit`, and `remaining`: what may still be deposited)", body = Problem, content_type = "application/problem+json",
            example = json!(pay::deposit_limit())),
        (status = 415, description = "The body is not sent as JSON", body = Problem, content_type = "application/problem+json",
            example = json!(examples::movement_not_json())),
        (status = 422, description = "Invalid amount, or the key was used for another request", body = Problem, content_type = "application/problem+json",
            examples(
                ("Invalid amount" = (summary = "The amount breaks a rule", value = json!(examples::invalid_movement_amount()))),
                ("Key reused" = (summary = "The Idempotency-Key was used for another request", value = json!(examples::movement_key_reused()))),
            )),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json",
            example = json!(examples::unavailable())),
    )
)]
async fn request_deposit(
    bettor: Bettor,
    State(state): State<AppState>,
    IdempotencyKey(key): IdempotencyKey,
    ApiJson(body): ApiJson<MovementRequest>,
) -> Result<Response, Problem> {
    request(PaymentKind::Deposit, bettor, &state, key, body).await
}

/// The bettor's deposits, newest first.
#[utoipa::path(
    get, path = "/wallet/deposits", tag = "wallet",
    security(("bettor_token" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "A page of the bettor's deposits", body = PaymentPage,
            example = json!(pay::deposits())),
        (status = 400, description = "A parameter cannot be read", body = Problem, content_type = "application/problem+json",
            example = json!(examples::bad_page())),
        (status = 401, description = "No valid bettor token", body = Problem, content_type = "application/problem+json",
            example = json!(examples::no_token())),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json",
            example = json!(examples::unavailable())),
    )
)]
async fn list_deposits(
    bettor: Bettor,
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Json<PaymentPage>, Problem> {
    list(PaymentKind::Deposit, &bettor, &state, query).await
}

/// One of the bettor's deposits.
#[utoipa::path(
    get, path = "/wallet/deposits/{id}", tag = "wallet",
    security(("bettor_token" = [])),
    params(("id" = uuid::Uuid, Path, description = "The deposit's id")),
    responses(
        (status = 200, description = "The deposit", body = PaymentDto, example = json!(pay::succeeded_deposit())),
        (status = 400, description = "The id is not a UUID", body = Problem, content_type = "application/problem+json",
            example = json!(examples::bad_bet_id())),
        (status = 401, description = "No valid bettor token", body = Problem, content_type = "application/problem+json",
            example = json!(examples::no_token())),
        (status = 404, description = "No such deposit of this bettor's", body = Problem, content_type = "application/problem+json",
            example = json!(pay::unknown_deposit())),
    )
)]
async fn get_deposit(
    bettor: Bettor,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<PaymentPath>,
) -> Result<Json<PaymentDto>, Problem> {
    let payment = state
        .payments
        .get(bettor.id(), PaymentKind::Deposit, path.id.into())
        .await?;
    Ok(Json(payment.into()))
}

/// Ask to pay money out. The amount leaves the balance at once; the
/// provider pays it (`PAID`) or not (`FAILED`: the money comes back).
#[utoipa::path(
    post, path = "/wallet/withdrawals", tag = "wallet",
    security(("bettor_token" = [])),
    request_body = MovementRequest,
    params(("Idempotency-Key" = Option<String>, Header,
        description = "Makes retries safe: a retry with the same key and body returns the first withdrawal and reserves nothing more. Keys are the bettor's own, shared with their bets")),
    responses(
        (status = 202, description = "The withdrawal, `PENDING`: its amount has left the balance",
            body = PaymentDto, headers(("Location" = String, description = "The withdrawal's URL")),
            example = json!(pay::pending_withdrawal())),
        (status = 400, description = "The body is not JSON, or the key is malformed", body = Problem, content_type = "application/problem+json",
            example = json!(examples::malformed_movement())),
        (status = 401, description = "No valid bettor token", body = Problem, content_type = "application/problem+json",
            example = json!(examples::no_token())),
        (status = 409, description = "More than the balance (`insufficient-funds`), or the wallet is below zero after a corrected result (`negative-balance`): nothing is written; `balance` says the balance", body = Problem, content_type = "application/problem+json",
            examples(
                ("Insufficient funds" = (summary = "More than the balance", value = json!(examples::insufficient_funds()))),
                ("Negative balance" = (summary = "A corrected result left the wallet below zero", value = json!(examples::negative_balance()))),
            )),
        (status = 415, description = "The body is not sent as JSON", body = Problem, content_type = "application/problem+json",
            example = json!(examples::movement_not_json())),
        (status = 422, description = "Invalid amount, or the key was used for another request", body = Problem, content_type = "application/problem+json",
            example = json!(examples::invalid_movement_amount())),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json",
            example = json!(examples::unavailable())),
    )
)]
async fn request_withdrawal(
    bettor: Bettor,
    State(state): State<AppState>,
    IdempotencyKey(key): IdempotencyKey,
    ApiJson(body): ApiJson<MovementRequest>,
) -> Result<Response, Problem> {
    request(PaymentKind::Withdrawal, bettor, &state, key, body).await
}

/// The bettor's withdrawals, newest first.
#[utoipa::path(
    get, path = "/wallet/withdrawals", tag = "wallet",
    security(("bettor_token" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "A page of the bettor's withdrawals", body = PaymentPage,
            example = json!(pay::withdrawals())),
        (status = 400, description = "A parameter cannot be read", body = Problem, content_type = "application/problem+json",
            example = json!(examples::bad_page())),
        (status = 401, description = "No valid bettor token", body = Problem, content_type = "application/problem+json",
            example = json!(examples::no_token())),
    )
)]
async fn list_withdrawals(
    bettor: Bettor,
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Json<PaymentPage>, Problem> {
    list(PaymentKind::Withdrawal, &bettor, &state, query).await
}

/// One of the bettor's withdrawals.
#[utoipa::path(
    get, path = "/wallet/withdrawals/{id}", tag = "wallet",
    security(("bettor_token" = [])),
    params(("id" = uuid::Uuid, Path, description = "The withdrawal's id")),
    responses(
        (status = 200, description = "The withdrawal", body = PaymentDto, example = json!(pay::paid_withdrawal())),
        (status = 400, description = "The id is not a UUID", body = Problem, content_type = "application/problem+json",
            example = json!(examples::bad_bet_id())),
        (status = 401, description = "No valid bettor token", body = Problem, content_type = "application/problem+json",
            example = json!(examples::no_token())),
        (status = 404, description = "No such withdrawal of this bettor's", body = Problem, content_type = "application/problem+json",
            example = json!(pay::unknown_withdrawal())),
    )
)]
async fn get_withdrawal(
    bettor: Bettor,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<PaymentPath>,
) -> Result<Json<PaymentDto>, Problem> {
    let payment = state
        .payments
        .get(bettor.id(), PaymentKind::Withdrawal, path.id.into())
        .await?;
    Ok(Json(payment.into()))
}

/// Why a webhook was refused: a fixed set, for the metric's label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookRefusal {
    /// The signature did not verify.
    Signature(SignatureRefusal),
    /// The body is not a notice.
    MalformedBody,
    /// No payment of the notice's kind has its reference.
    UnknownReference,
    /// The amount or currency is not the payment's.
    Mismatch,
    /// The payment is final the other way.
    ContradictsFinal,
    /// The event id came before with other content.
    EventIdReused,
    /// The wallet cannot hold the credit.
    BalanceLimit,
}

impl WebhookRefusal {
    /// The reason as a metric label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Signature(refusal) => refusal.label(),
            Self::MalformedBody => "malformed_body",
            Self::UnknownReference => "unknown_reference",
            Self::Mismatch => "amount_mismatch",
            Self::ContradictsFinal => "contradicts_final",
            Self::EventIdReused => "event_id_reused",
            Self::BalanceLimit => "balance_limit",
        }
    }
}

/// The refusal logged and counted, as a problem document.
fn refused(refusal: WebhookRefusal, problem: Problem) -> Problem {
    metrics::counter!("payment_webhook_refusals_total", "reason" => refusal.label()).increment(1);
    tracing::warn!(reason = refusal.label(), status = problem.status.as_u16(), detail = %problem.detail, "payment webhook refused");
    problem
}

/// A body that could not be read (413 past [`MAX_WEBHOOK_BYTES`]).
pub fn unreadable(status: StatusCode, detail: &str) -> Problem {
    Problem::new(status, "unreadable-body", "Unreadable request body", detail)
}

/// 401 for a signature that does not verify.
pub fn bad_signature(refusal: SignatureRefusal) -> Problem {
    Problem::new(
        StatusCode::UNAUTHORIZED,
        "bad-signature",
        "Unauthorized",
        refusal.to_string(),
    )
}

/// The notice a verified body holds, or why it holds none.
pub fn read_notice(body: &[u8]) -> Result<ProviderNotice, Problem> {
    let malformed = |detail: String| Problem::malformed_body(detail);
    let notice: WebhookBody = serde_json::from_slice(body)
        .map_err(|error| malformed(format!("not a payment notice: {error}")))?;
    let outcome = ProviderOutcome::parse(&notice.kind).ok_or_else(|| {
        malformed(format!(
            "unknown type {:?}: one of deposit.succeeded, deposit.failed, withdrawal.paid, withdrawal.failed",
            notice.kind
        ))
    })?;
    if notice.created < 0 {
        return Err(malformed("created must be unix seconds".to_owned()));
    }
    if notice.id.is_empty() || notice.id.chars().count() > MAX_EVENT_ID_CHARS {
        return Err(malformed(format!(
            "id must be 1 to {MAX_EVENT_ID_CHARS} characters"
        )));
    }
    // The amount of a payment, and a currency: the domain's rules.
    let amount = BetSum::new(notice.data.amount.value(), MAX_BALANCE)
        .map_err(|rule| malformed(format!("data.amount {rule}")))?;
    let currency = Currency::parse(&notice.data.currency)
        .map_err(|rule| malformed(format!("data.currency: {rule}")))?;
    Ok(ProviderNotice {
        event_id: notice.id,
        outcome,
        reference: notice.data.reference,
        amount: amount.value(),
        currency: currency.as_str().to_owned(),
    })
}

/// The payment provider's notice of a deposit's or withdrawal's outcome,
/// signed (`Payments-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of
/// "<t>.<body>">`). Applied exactly once per provider event id.
#[utoipa::path(
    post, path = "/payments/webhook", tag = "payments",
    security(("payments_signature" = [])),
    request_body(content = WebhookBody, description = "The provider's notice; its exact bytes are what the signature covers", example = json!(pay::webhook_body())),
    responses(
        (status = 200, description = "Applied now, or before (the same event id again, or another saying the same): nothing moves twice",
            body = WebhookAck, example = json!(WebhookAck { result: WebhookResult::Applied })),
        (status = 400, description = "The body is not a notice", body = Problem, content_type = "application/problem+json",
            example = json!(pay::malformed_notice())),
        (status = 401, description = "The signature is missing, wrong, or its `t` outside the tolerance (a replay)", body = Problem, content_type = "application/problem+json",
            examples(
                ("Missing" = (summary = "No Payments-Signature header", value = json!(bad_signature(SignatureRefusal::Missing)))),
                ("Wrong" = (summary = "No v1 verifies with an accepted secret", value = json!(bad_signature(SignatureRefusal::Mismatch)))),
                ("Stale" = (summary = "t is too far from now", value = json!(bad_signature(SignatureRefusal::Stale)))),
            )),
        (status = 404, description = "No deposit (or withdrawal) has the reference", body = Problem, content_type = "application/problem+json",
            example = json!(pay::unknown_reference())),
        (status = 409, description = "The amount or currency is not the payment's; or the payment is final the other way (a `succeeded` after a `failed`); or the event id came before with other content. Nothing moves.", body = Problem, content_type = "application/problem+json",
            examples(
                ("Amount mismatch" = (summary = "Not the payment's amount", value = json!(pay::amount_mismatch()))),
                ("Contradicts final" = (summary = "Final the other way", value = json!(pay::contradicts_final()))),
            )),
        (status = 413, description = "The body is larger than 16 KiB", body = Problem, content_type = "application/problem+json",
            example = json!(unreadable(StatusCode::PAYLOAD_TOO_LARGE, "Failed to buffer the request body: length limit exceeded"))),
        (status = 503, description = "The database is unavailable: the provider retries", body = Problem, content_type = "application/problem+json",
            example = json!(examples::unavailable())),
    )
)]
async fn webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<WebhookAck>, Problem> {
    let body = body.map_err(|rejection| {
        refused(
            WebhookRefusal::MalformedBody,
            unreadable(rejection.status(), &rejection.body_text()),
        )
    })?;
    let signature = headers
        .get(HEADER)
        .map(|value| value.to_str().unwrap_or(""));
    state
        .webhooks
        .verify(signature, &body, state.payments.now().timestamp())
        .map_err(|refusal| refused(WebhookRefusal::Signature(refusal), bad_signature(refusal)))?;
    let notice =
        read_notice(&body).map_err(|problem| refused(WebhookRefusal::MalformedBody, problem))?;
    let outcome = state.payments.notify(&notice).await?;
    if let NoticeOutcome::Applied(payment) = &outcome {
        metrics::counter!("payment_notices_applied_total", "type" => notice.outcome.as_str())
            .increment(1);
        tracing::info!(event_id = %notice.event_id, payment_id = %payment.id, status = payment.status.as_str(), "payment notice applied");
    }
    answer(&notice, outcome)
        .map(|result| Json(WebhookAck { result }))
        .map_err(|refusal| {
            let (refusal, problem) = *refusal;
            refused(refusal, problem)
        })
}

/// What the provider is told of `outcome`: what became of its notice, or
/// why it was refused (the examples of the OpenAPI document come from
/// here too).
pub fn answer(
    notice: &ProviderNotice,
    outcome: NoticeOutcome,
) -> Result<WebhookResult, Box<(WebhookRefusal, Problem)>> {
    let kind = notice.outcome.kind().as_str();
    Err(Box::new(match outcome {
        NoticeOutcome::Applied(_) => return Ok(WebhookResult::Applied),
        NoticeOutcome::Duplicate => return Ok(WebhookResult::Duplicate),
        NoticeOutcome::AlreadyThere(_) => return Ok(WebhookResult::AlreadyFinal),
        NoticeOutcome::UnknownReference => (
            WebhookRefusal::UnknownReference,
            Problem::not_found(format!("no {kind} {}", notice.reference)),
        ),
        NoticeOutcome::Mismatch { amount, currency } => (
            WebhookRefusal::Mismatch,
            Problem::conflict(
                "payment-mismatch",
                format!(
                    "the {kind} is {amount} {currency}, not {} {}",
                    notice.amount, notice.currency
                ),
            ),
        ),
        NoticeOutcome::Contradicts(contrary) => (
            WebhookRefusal::ContradictsFinal,
            Problem::conflict("payment-final", contrary.to_string()),
        ),
        NoticeOutcome::EventIdReused => (
            WebhookRefusal::EventIdReused,
            Problem::conflict(
                "event-id-reused",
                format!(
                    "the event id {} came before with other content",
                    notice.event_id
                ),
            ),
        ),
        NoticeOutcome::BalanceLimit => (
            WebhookRefusal::BalanceLimit,
            Problem::conflict("balance-limit", "the wallet cannot hold this deposit"),
        ),
    }))
}
