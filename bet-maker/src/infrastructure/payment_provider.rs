//! The payment provider's two adapters.
//!
//! - [`WebhookProvider`] (production): nothing to send; the provider
//!   learns of a payment from the bettor on its own payment page, and
//!   answers with its signed webhook.
//! - [`SandboxProvider`] (development): plays the provider. Each payment
//!   asked for is confirmed after a delay (a deposit succeeds, a withdrawal
//!   is paid) by a signed webhook sent over HTTP to this very service, so
//!   it goes through the same verification, inbox and ledger as the
//!   provider's would.

use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use serde_json::json;
use shared_kernel::webhook_signature::{HEADER, WebhookSecret, header_value};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::application::ports::{Payment, PaymentProvider};
use crate::domain::{PaymentKind, ProviderOutcome};

/// The production adapter: the provider's webhook does the work.
#[derive(Debug, Clone, Copy, Default)]
pub struct WebhookProvider;

#[async_trait]
impl PaymentProvider for WebhookProvider {
    async fn requested(&self, _payment: &Payment) {}
}

/// The most payments waiting for the sandbox; past it a request is left
/// pending (and said so in the log), never blocking the bettor's call.
const QUEUE: usize = 10_000;

/// How often the sandbox tries to deliver one webhook.
const ATTEMPTS: u32 = 5;

/// The development adapter: hands each payment to [`SandboxWorker`].
#[derive(Debug, Clone)]
pub struct SandboxProvider {
    queue: mpsc::Sender<(Instant, Payment)>,
}

/// Confirms the sandbox's payments: see the module's documentation.
#[derive(Debug)]
pub struct SandboxWorker {
    queue: mpsc::Receiver<(Instant, Payment)>,
    secret: WebhookSecret,
    delay: Duration,
    client: reqwest::Client,
}

/// The sandbox's two halves: the adapter for the use cases, and the worker
/// to run once the service listens.
pub fn sandbox(secret: WebhookSecret, delay: Duration) -> (SandboxProvider, SandboxWorker) {
    let (sender, receiver) = mpsc::channel(QUEUE);
    (
        SandboxProvider { queue: sender },
        SandboxWorker {
            queue: receiver,
            secret,
            delay,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap_or_default(),
        },
    )
}

#[async_trait]
impl PaymentProvider for SandboxProvider {
    async fn requested(&self, payment: &Payment) {
        if self
            .queue
            .try_send((Instant::now(), payment.clone()))
            .is_err()
        {
            tracing::warn!(payment_id = %payment.id, "the sandbox provider is full: the payment stays pending");
        }
    }
}

impl SandboxWorker {
    /// Confirms payments, in the order they were asked for, each `delay`
    /// after it was, by webhooks posted to `webhook_url`, until `stop`.
    pub async fn run(mut self, webhook_url: String, stop: CancellationToken) {
        loop {
            let (asked, payment) = tokio::select! {
                () = stop.cancelled() => return,
                next = self.queue.recv() => match next {
                    Some(next) => next,
                    None => return,
                },
            };
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep_until(asked + self.delay) => {}
            }
            self.confirm(&webhook_url, &payment, &stop).await;
        }
    }

    /// Posts the webhook that confirms `payment`, retrying a failure.
    async fn confirm(&self, url: &str, payment: &Payment, stop: &CancellationToken) {
        let outcome = match payment.kind {
            PaymentKind::Deposit => ProviderOutcome::DepositSucceeded,
            PaymentKind::Withdrawal => ProviderOutcome::WithdrawalPaid,
        };
        let body = json!({
            "id": format!("sandbox_{}", payment.id),
            "type": outcome.as_str(),
            "created": Utc::now().timestamp(),
            "data": {
                "reference": payment.id,
                "amount": payment.amount.to_string(),
                "currency": payment.currency,
            },
        })
        .to_string();
        for attempt in 1..=ATTEMPTS {
            let signature = header_value(
                std::slice::from_ref(&self.secret),
                Utc::now().timestamp(),
                body.as_bytes(),
            );
            let sent = self
                .client
                .post(url)
                .header(HEADER, signature)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.clone())
                .send()
                .await;
            match sent {
                Ok(response) if response.status().is_success() => {
                    tracing::debug!(payment_id = %payment.id, "sandbox confirmed the payment");
                    return;
                }
                Ok(response) => {
                    tracing::warn!(payment_id = %payment.id, status = %response.status(), attempt, "the sandbox's webhook was refused");
                }
                Err(error) => {
                    tracing::warn!(payment_id = %payment.id, error = %error, attempt, "the sandbox's webhook failed");
                }
            }
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(Duration::from_millis(200 << attempt)) => {}
            }
        }
        tracing::error!(payment_id = %payment.id, "the sandbox gave up confirming the payment: it stays pending");
    }
}
