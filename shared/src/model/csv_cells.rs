//! What every CSV file we write shares, whichever door writes it (the REST exports, the
//! evidence package): cells a spreadsheet opens as the text they are.

/// OWASP CSV injection: a spreadsheet runs a cell that starts with one of these as a
/// formula, so such a cell is prefixed with a quote and shows as the text it is.
pub fn neutralise(cell: String) -> String {
    if starts_a_formula(&cell) {
        format!("'{cell}")
    } else {
        cell
    }
}

/// Whether a spreadsheet would run this cell (`neutralise`).
pub fn starts_a_formula(cell: &str) -> bool {
    cell.starts_with(['=', '+', '-', '@', '\t', '\r'])
}

/// An optional value as a CSV cell: empty when absent.
pub fn text(value: Option<impl ToString>) -> String {
    value.map(|value| value.to_string()).unwrap_or_default()
}

/// Several values in one cell (facility ids and names, roles), in their order.
pub const LIST_SEPARATOR: &str = "; ";
