//! Cursor pagination as the application sees it: a page request (how many
//! items, after which one), the opaque cursor that names the last item of a
//! page, and splitting the rows a query fetched into a page. Reading the
//! `?limit=` and `?cursor=` parameters is HTTP's job
//! (`shared_kernel::http::PageQuery`).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use uuid::Uuid;

/// Page size when `limit` is absent.
pub const DEFAULT_LIMIT: u32 = 50;
/// The largest page a client may ask for.
pub const MAX_LIMIT: u32 = 500;

/// A validated page request: how many items, after which one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// 1 to [`MAX_LIMIT`].
    pub limit: u32,
    /// The id of the last item already seen.
    pub after: Option<Uuid>,
}

/// The cursor that continues after the item with this id.
pub fn encode_cursor(last_id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(last_id.as_bytes())
}

/// The id a cursor this API returned names; `None` for anything else.
pub fn decode_cursor(cursor: &str) -> Option<Uuid> {
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
        assert_eq!(decode_cursor(&encode_cursor(id)), Some(id));
        assert_eq!(decode_cursor("not-a-cursor"), None);
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
