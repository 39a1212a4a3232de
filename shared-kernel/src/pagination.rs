//! Cursor pagination: `?limit=` (default 50, at most 500) and an opaque
//! `?cursor=` that names the last item of the previous page.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use crate::http::{FieldError, Problem};

/// Page size when `limit` is absent.
pub const DEFAULT_LIMIT: u32 = 50;
/// The largest page a client may ask for.
pub const MAX_LIMIT: u32 = 500;

/// The `limit` and `cursor` query parameters, as sent.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items per page, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500, example = 50)]
    pub limit: Option<u32>,
    /// `next_cursor` from the previous page; absent for the first page.
    pub cursor: Option<String>,
}

/// A validated page request: how many items, after which one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// 1 to [`MAX_LIMIT`].
    pub limit: u32,
    /// The id of the last item already seen.
    pub after: Option<Uuid>,
}

impl PageQuery {
    /// Validates the parameters; `400` naming the field otherwise.
    pub fn parse(&self) -> Result<PageRequest, Problem> {
        let mut errors = Vec::new();
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            errors.push(FieldError::new(
                "limit",
                format!("must be between 1 and {MAX_LIMIT}"),
            ));
        }
        let after = match self.cursor.as_deref() {
            None => None,
            Some(cursor) => match decode_cursor(cursor) {
                Some(id) => Some(id),
                None => {
                    errors.push(FieldError::new(
                        "cursor",
                        "is not a cursor this API returned",
                    ));
                    None
                }
            },
        };
        if errors.is_empty() {
            Ok(PageRequest { limit, after })
        } else {
            Err(Problem::bad_parameters(errors))
        }
    }
}

/// The cursor that continues after the item with this id.
pub fn encode_cursor(last_id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(last_id.as_bytes())
}

fn decode_cursor(cursor: &str) -> Option<Uuid> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    Uuid::from_slice(&bytes).ok()
}

/// Splits the `limit + 1` rows a query fetched into the page and the cursor
/// of the next page (present only when there is more).
pub fn into_page<T>(
    mut rows: Vec<T>,
    request: PageRequest,
    id_of: impl Fn(&T) -> Uuid,
) -> (Vec<T>, Option<String>) {
    let limit = request.limit as usize;
    if rows.len() > limit {
        rows.truncate(limit);
        let next = rows.last().map(|row| encode_cursor(id_of(row)));
        (rows, next)
    } else {
        (rows, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn bad_limits_and_cursors_are_named() {
        let query = PageQuery {
            limit: Some(501),
            cursor: Some("not-a-cursor".to_owned()),
        };
        let fields: Vec<_> = query
            .parse()
            .err()
            .map(|p| p.errors)
            .unwrap_or_default()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["limit", "cursor"]);
        assert!(
            PageQuery {
                limit: Some(0),
                cursor: None
            }
            .parse()
            .is_err()
        );
    }

    #[test]
    fn a_next_cursor_is_given_only_when_there_is_more() {
        let ids: Vec<Uuid> = (0..3).map(|_| Uuid::now_v7()).collect();
        let request = PageRequest {
            limit: 2,
            after: None,
        };
        let (page, next) = into_page(ids.clone(), request, |id| *id);
        assert_eq!(page, ids[..2]);
        assert_eq!(next, Some(encode_cursor(ids[1])));
        let (page, next) = into_page(ids[..2].to_vec(), request, |id| *id);
        assert_eq!(page.len(), 2);
        assert_eq!(next, None);
    }
}
