//! The `?limit=` and `?cursor=` query parameters, read into the
//! application's [`PageRequest`] or a `400` naming every bad parameter.

use serde::Deserialize;
use utoipa::IntoParams;
use validator::Validate;

use super::{FieldError, Problem, field_errors};
use crate::pagination::{DEFAULT_LIMIT, PageRequest, decode_cursor};

/// The `limit` and `cursor` query parameters, as sent. `limit`'s range is
/// declared here; the cursor is checked by decoding it.
#[derive(Debug, Clone, Default, Deserialize, IntoParams, Validate)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items per page, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500, example = 50)]
    #[validate(range(min = 1, max = 500, message = "must be between 1 and 500"))]
    pub limit: Option<u32>,
    /// `next_cursor` from the previous page; absent for the first page.
    pub cursor: Option<String>,
}

impl PageQuery {
    /// The page asked for; `400` listing every invalid parameter otherwise.
    pub fn parse(&self) -> Result<PageRequest, Problem> {
        let mut errors = self
            .validate()
            .err()
            .map(|errors| field_errors(&errors))
            .unwrap_or_default();
        let after = match self.cursor.as_deref() {
            None => None,
            Some(cursor) => {
                let id = decode_cursor(cursor);
                if id.is_none() {
                    errors.push(FieldError::new(
                        "cursor",
                        "is not a cursor this API returned",
                    ));
                }
                id
            }
        };
        if errors.is_empty() {
            Ok(PageRequest {
                limit: self.limit.unwrap_or(DEFAULT_LIMIT),
                after,
            })
        } else {
            Err(Problem::bad_parameters(errors))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pagination::{MAX_LIMIT, encode_cursor};
    use uuid::Uuid;

    fn errors_of(limit: Option<u32>, cursor: Option<&str>) -> Vec<FieldError> {
        let query = PageQuery {
            limit,
            cursor: cursor.map(str::to_owned),
        };
        query.parse().err().map(|p| p.errors).unwrap_or_default()
    }

    #[test]
    fn a_cursor_round_trips() {
        let id = Uuid::now_v7();
        let query = PageQuery {
            limit: Some(10),
            cursor: Some(encode_cursor(id)),
        };
        assert_eq!(
            query.parse().map_err(|p| p.detail),
            Ok(PageRequest {
                limit: 10,
                after: Some(id)
            })
        );
    }

    #[test]
    fn the_limit_defaults_and_its_bounds_are_accepted() {
        let parse = |limit| {
            PageQuery {
                limit,
                cursor: None,
            }
            .parse()
            .map(|p| p.limit)
            .ok()
        };
        assert_eq!(parse(None), Some(DEFAULT_LIMIT));
        assert_eq!(parse(Some(1)), Some(1));
        assert_eq!(parse(Some(MAX_LIMIT)), Some(MAX_LIMIT));
    }

    #[test]
    fn bad_limits_and_cursors_are_all_named() {
        assert_eq!(
            errors_of(Some(501), Some("not-a-cursor")),
            [
                FieldError::new("limit", "must be between 1 and 500"),
                FieldError::new("cursor", "is not a cursor this API returned"),
            ]
        );
        assert_eq!(
            errors_of(Some(0), None),
            [FieldError::new("limit", "must be between 1 and 500")]
        );
    }
}
