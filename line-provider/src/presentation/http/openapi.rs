//! The OpenAPI 3.1 document, generated from the handlers' annotations.

use shared_kernel::http::{FieldError, Problem};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// The document's fixed parts; the paths come from the routes.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "line-provider",
        description = "The line of sporting events. Anyone can read it; operators (with the bearer \
                       token) create events, move their coefficient or deadline while they are open \
                       (a deadline that has passed stays), suspend and resume betting on them, set \
                       their result or cancel them, and correct a final status with a reason. Every \
                       change is published to RabbitMQ.",
        license(name = "MIT", identifier = "MIT"),
    ),
    tags((name = "events", description = "Sporting events and their results")),
    components(schemas(Problem, FieldError)),
    modifiers(&OperatorSecurity),
)]
pub struct ApiDoc;

/// Registers the bearer scheme behind Swagger UI's Authorize button.
struct OperatorSecurity;

impl Modify for OperatorSecurity {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "operator_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The operator token, `LINE_PROVIDER_ADMIN_TOKEN` in `.env`",
                    ))
                    .build(),
            ),
        );
    }
}

/// The complete document, as served at `/openapi.json`.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    super::events::router().split_for_parts().1
}
