//! How deposits and withdrawals are completed: by a payment provider's
//! signed webhook, or, in development, by bet-maker playing the provider.

use std::time::Duration;

use shared_kernel::webhook_signature::{SecretTooShort, WebhookSecret, WebhookVerifier};

/// Who completes payments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ProviderKind {
    /// Production: wait for the provider's webhook.
    Webhook,
    /// Development: bet-maker sends itself the provider's signed webhook
    /// (deposits succeed, withdrawals are paid), through the same
    /// verification as the provider's.
    Sandbox,
}

/// The payment provider and its webhook.
#[derive(Debug, Clone, clap::Args)]
pub struct PaymentSettings {
    /// `webhook` (production: wait for the provider) or `sandbox`
    /// (development: bet-maker confirms every payment itself).
    #[arg(
        long = "payments-provider",
        env = "BET_MAKER_PAYMENTS_PROVIDER",
        value_name = "BET_MAKER_PAYMENTS_PROVIDER",
        value_enum,
        default_value = "webhook"
    )]
    pub provider: ProviderKind,
    /// The secrets the provider signs its webhooks with (comma-separated,
    /// each at least 32 bytes; several while one is rotated). Required with
    /// `webhook`; the sandbox signs with the first, or with a random one
    /// when none is set.
    #[arg(
        long = "payments-webhook-secrets",
        env = "BET_MAKER_PAYMENTS_WEBHOOK_SECRETS",
        value_name = "BET_MAKER_PAYMENTS_WEBHOOK_SECRETS",
        value_delimiter = ',',
        value_parser = |text: &str| WebhookSecret::parse(text),
        hide_env_values = true
    )]
    pub webhook_secrets: Vec<WebhookSecret>,
    /// How far, in seconds, a webhook's signed time may be from this
    /// server's clock, either way (older is a replay: 401).
    #[arg(
        long = "payments-webhook-tolerance-secs",
        env = "BET_MAKER_PAYMENTS_WEBHOOK_TOLERANCE_SECS",
        value_name = "BET_MAKER_PAYMENTS_WEBHOOK_TOLERANCE_SECS",
        default_value_t = 300,
        value_parser = clap::value_parser!(u32).range(1..=86_400)
    )]
    pub tolerance_secs: u32,
    /// How long, in milliseconds, the sandbox waits before it confirms a
    /// payment.
    #[arg(
        long = "payments-sandbox-delay-ms",
        env = "BET_MAKER_PAYMENTS_SANDBOX_DELAY_MS",
        value_name = "BET_MAKER_PAYMENTS_SANDBOX_DELAY_MS",
        default_value_t = 500,
        value_parser = clap::value_parser!(u64).range(0..=600_000)
    )]
    pub sandbox_delay_ms: u64,
}

/// The webhook cannot be verified as configured.
#[derive(Debug, thiserror::Error)]
pub enum PaymentSettingsError {
    /// `webhook` without a secret: no webhook could ever be verified.
    #[error(
        "BET_MAKER_PAYMENTS_WEBHOOK_SECRETS is required with BET_MAKER_PAYMENTS_PROVIDER=webhook (the secrets the provider signs its webhooks with; `openssl rand -hex 32` makes one), or set BET_MAKER_PAYMENTS_PROVIDER=sandbox in development"
    )]
    NoSecret,
    /// A secret too short.
    #[error("BET_MAKER_PAYMENTS_WEBHOOK_SECRETS: {0}")]
    Secret(#[from] SecretTooShort),
}

impl PaymentSettings {
    /// The verifier of the provider's webhooks: its secrets, or a fresh
    /// random one for a sandbox configured without any.
    pub fn verifier(&self) -> Result<WebhookVerifier, PaymentSettingsError> {
        let secrets = match (self.provider, self.webhook_secrets.is_empty()) {
            (ProviderKind::Webhook, true) => return Err(PaymentSettingsError::NoSecret),
            (ProviderKind::Sandbox, true) => vec![WebhookSecret::random()],
            (_, false) => self.webhook_secrets.clone(),
        };
        Ok(WebhookVerifier::new(secrets, self.tolerance_secs))
    }

    /// The sandbox's delay.
    pub fn sandbox_delay(&self) -> Duration {
        Duration::from_millis(self.sandbox_delay_ms)
    }
}

impl Default for PaymentSettings {
    /// The provider's webhook, with no secret yet (a test sets one).
    fn default() -> Self {
        Self {
            provider: ProviderKind::Webhook,
            webhook_secrets: Vec::new(),
            tolerance_secs: 300,
            sandbox_delay_ms: 500,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn production_refuses_to_start_without_a_secret_and_the_sandbox_makes_one() {
        let production = PaymentSettings::default();
        assert!(matches!(
            production.verifier(),
            Err(PaymentSettingsError::NoSecret)
        ));
        let sandbox = PaymentSettings {
            provider: ProviderKind::Sandbox,
            ..PaymentSettings::default()
        };
        let verifier = sandbox.verifier().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(verifier.secrets().len(), 1);
    }
}
