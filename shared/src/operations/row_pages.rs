//! Rows read page by page, on demand: what a door streams (an export) reads through this,
//! so it holds one page at a time whatever the total.

use crate::error::ApiResult;
use crate::time::Date;

pub trait RowPages {
    type Row;
    /// The day the rows are read as of: statuses, and the names of files made of them.
    fn today(&self) -> Date;
    /// No page is left to read.
    fn is_done(&self) -> bool;
    /// The next page, `None` past the last.
    fn next_page(&mut self) -> impl std::future::Future<Output = ApiResult<Option<Vec<Self::Row>>>>;
}
