//! Lists: `{"data": [...], "nextCursor": "…" | null}`, `limit` 1–100 (default 50), and an
//! opaque cursor bound to the caller's organization and the query it came from.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ApiResult};
use crate::ids::OrgId;

pub const DEFAULT_LIMIT: usize = 50;
pub const MAX_LIMIT: usize = 100;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListPage<T> {
    pub data: Vec<T>,
    pub next_cursor: Option<String>,
}

/// What the client asked for: how many, and after which position.
#[derive(Debug, Clone)]
pub struct PageRequest {
    pub limit: usize,
    pub after: Option<BTreeMap<String, String>>,
    org: OrgId,
    query: String,
}

#[derive(Serialize, Deserialize)]
struct CursorContent {
    /// Organization the cursor was issued to.
    o: String,
    /// The list and filters it belongs to.
    q: String,
    /// Key of the last item returned.
    k: BTreeMap<String, String>,
}

impl PageRequest {
    /// `query` names the list and its filters (e.g. `users?status=active`): a cursor only
    /// continues the query it came from.
    pub fn parse(limit: Option<&str>, cursor: Option<&str>, org: &OrgId, query: String) -> ApiResult<PageRequest> {
        let limit = match limit {
            None => DEFAULT_LIMIT,
            Some(text) => match text.parse::<usize>() {
                Ok(limit) if (1..=MAX_LIMIT).contains(&limit) => limit,
                _ => {
                    return Err(ApiError::validation(
                        "limit",
                        format!("`limit` must be an integer from 1 to {MAX_LIMIT}"),
                    ));
                }
            },
        };
        let after = match cursor {
            None => None,
            Some(cursor) => Some(decode(cursor, org, &query)?),
        };
        Ok(PageRequest {
            limit,
            after,
            org: org.clone(),
            query,
        })
    }

    pub fn next_cursor(&self, next: Option<BTreeMap<String, String>>) -> Option<String> {
        next.map(|key| {
            let content = CursorContent {
                o: self.org.to_string(),
                q: self.query.clone(),
                k: key,
            };
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&content).unwrap_or_default())
        })
    }
}

fn decode(cursor: &str, org: &OrgId, query: &str) -> ApiResult<BTreeMap<String, String>> {
    let invalid = || ApiError::validation("cursor", "`cursor` is not a cursor this list issued for this query");
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let content: CursorContent = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    if content.o != org.as_str() || content.q != query {
        return Err(invalid());
    }
    Ok(content.k)
}
