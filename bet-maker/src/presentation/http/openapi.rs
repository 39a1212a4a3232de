//! The OpenAPI 3.1 document, generated from the handlers' annotations.

use shared_kernel::http::{FieldError, Problem};
use utoipa::OpenApi;

/// The document's fixed parts; the paths come from the routes.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "bet-maker",
        description = "Bets on the line of sporting events: the events open for betting, placing \
                       bets at locked odds, and their history. Bets are settled exactly once when \
                       line-provider publishes an event's result, and void (the stake paid back) \
                       when it cancels the event.",
        license(name = "MIT", identifier = "MIT"),
    ),
    tags(
        (name = "events", description = "Events open for betting"),
        (name = "bets", description = "Placing bets and following them"),
    ),
    components(schemas(Problem, FieldError)),
)]
pub struct ApiDoc;

/// The complete document, as served at `/openapi.json`.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    super::api().split_for_parts().1
}
