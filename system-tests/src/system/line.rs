//! What a test does through line-provider: an operator changing the line.

use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{Value, json};
use shared_kernel::testing::{PATIENCE, count, eventually, expect_json};
use uuid::Uuid;

use super::{OPERATOR_TOKEN, System};
use crate::line_provider_support;

impl System {
    /// A request to line-provider with the operator's token.
    pub fn operator(&self, method: Method, path: &str) -> RequestBuilder {
        self.line_provider
            .request(method, path)
            .bearer_auth(OPERATOR_TOKEN)
    }

    /// Creates an event closing in an hour; returns line-provider's JSON.
    pub async fn create_event(&self, coefficient: &str) -> Value {
        line_provider_support::create_event(&self.line_provider, OPERATOR_TOKEN, coefficient).await
    }

    /// Changes an open event's coefficient; returns the changed event.
    pub async fn change_coefficient(&self, event_id: Uuid, coefficient: &str) -> Value {
        self.patch_event(event_id, &json!({ "coefficient": coefficient }))
            .await
    }

    /// `PATCH /events/{id}` with `body`, expecting 200; returns the event.
    pub async fn patch_event(&self, event_id: Uuid, body: &Value) -> Value {
        let response = self
            .operator(Method::PATCH, &format!("/events/{event_id}"))
            .json(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("PATCH /events/{event_id}: {e}"));
        expect_json(response, StatusCode::OK).await
    }

    /// Sets an event's final status (`FINISHED_WIN`, `FINISHED_LOSE` or
    /// `CANCELLED`), expecting 200; returns the event.
    pub async fn finish_event(&self, event_id: Uuid, status: &str) -> Value {
        let response = self
            .operator(Method::PUT, &format!("/events/{event_id}/status"))
            .json(&json!({ "status": status }))
            .send()
            .await
            .unwrap_or_else(|e| panic!("PUT /events/{event_id}/status: {e}"));
        expect_json(response, StatusCode::OK).await
    }

    /// Waits until line-provider has published every change it recorded.
    pub async fn wait_until_all_published(&self) {
        let unpublished = "SELECT count(*) FROM outbox WHERE published_at IS NULL";
        eventually(
            "line-provider publishing every outbox row",
            PATIENCE,
            || async {
                (count(&self.line_provider_db.connection, unpublished).await == 0).then_some(())
            },
        )
        .await;
    }
}
