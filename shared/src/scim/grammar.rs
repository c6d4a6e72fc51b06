//! SCIM 2.0 filter and PATCH grammar (RFC 7644 §3.4.2.2 and §3.5.2).
//!
//! Self-contained: std + serde_json only. Nothing here panics on input:
//! parenthesis/bracket nesting is capped at [`MAX_NESTING`] and the number of
//! comparisons at [`MAX_TERMS`], so the recursive `Display`, [`matches`] and
//! `Drop` of a parsed [`Filter`] stay shallow.
//!
//! Grammar (RFC 7644 Figure 1, with errata 4690/7319 applied):
//! ```text
//! FILTER    = attrExp / logExp / valuePath / *1"not" "(" FILTER ")"
//! valuePath = attrPath "[" valFilter "]"        ; no nested valuePath inside
//! attrExp   = (attrPath SP "pr") / (attrPath SP compareOp SP compValue)
//! logExp    = FILTER SP ("and" / "or") SP FILTER ; "and" binds tighter
//! attrPath  = [URI ":"] ATTRNAME *1subAttr
//! PATH      = attrPath / valuePath [subAttr]     ; PATCH (Figure 2)
//! ```

use serde_json::{Map, Number, Value};
use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt::{self, Write as _};

/// Deepest allowed nesting of `(`, `not (` and `[`.
pub const MAX_NESTING: usize = 32;
/// Most comparisons (`attr op value`, `attr pr`, `attr[...]`) in one filter.
pub const MAX_TERMS: usize = 1000;
/// Most operations accepted in one PATCH request.
pub const MAX_PATCH_OPERATIONS: usize = 1000;
/// The `schemas` value every PATCH request must carry.
pub const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// Attributes of core schemas live at the top level of a resource, not under their URN.
const CORE_SCHEMA_PREFIX: &str = "urn:ietf:params:scim:schemas:core:";

// ---------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------

/// `[uri:]name[.subAttr]`. Names are kept as written; compare them case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AttrPath {
    pub uri: Option<String>,
    pub name: String,
    pub sub_attr: Option<String>,
}

impl AttrPath {
    /// A plain attribute name without URI or sub-attribute.
    pub fn new(name: impl Into<String>) -> Self {
        AttrPath {
            uri: None,
            name: name.into(),
            sub_attr: None,
        }
    }

    /// `name.sub` without URI.
    pub fn with_sub(name: impl Into<String>, sub: impl Into<String>) -> Self {
        AttrPath {
            uri: None,
            name: name.into(),
            sub_attr: Some(sub.into()),
        }
    }

    /// True when this path is `name` (any case) with no sub-attribute; the URI is ignored.
    pub fn is(&self, name: &str) -> bool {
        self.sub_attr.is_none() && self.name.eq_ignore_ascii_case(name)
    }

    /// True when this path is `name.sub` (any case); the URI is ignored.
    pub fn is_sub(&self, name: &str, sub: &str) -> bool {
        self.name.eq_ignore_ascii_case(name) && self.sub_attr.as_deref().is_some_and(|s| s.eq_ignore_ascii_case(sub))
    }
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(uri) = &self.uri {
            write!(f, "{uri}:")?;
        }
        f.write_str(&self.name)?;
        if let Some(sub) = &self.sub_attr {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Lt,
    Ge,
    Le,
}

impl CompareOp {
    /// Reads an operator keyword in any case (`eq`, `Eq`, `EQ`).
    pub fn from_keyword(word: &str) -> Option<Self> {
        const ALL: [CompareOp; 9] = [
            CompareOp::Eq,
            CompareOp::Ne,
            CompareOp::Co,
            CompareOp::Sw,
            CompareOp::Ew,
            CompareOp::Gt,
            CompareOp::Lt,
            CompareOp::Ge,
            CompareOp::Le,
        ];
        ALL.into_iter().find(|op| op.as_str().eq_ignore_ascii_case(word))
    }

    /// The canonical lowercase keyword.
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Co => "co",
            CompareOp::Sw => "sw",
            CompareOp::Ew => "ew",
            CompareOp::Gt => "gt",
            CompareOp::Lt => "lt",
            CompareOp::Ge => "ge",
            CompareOp::Le => "le",
        }
    }
}

impl fmt::Display for CompareOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `compValue = false / null / true / number / string` (JSON literals).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompValue {
    String(String),
    Number(Number),
    Bool(bool),
    Null,
}

impl fmt::Display for CompValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompValue::String(s) => write_json_string(f, s),
            CompValue::Number(n) => write!(f, "{n}"),
            CompValue::Bool(b) => write!(f, "{b}"),
            CompValue::Null => f.write_str("null"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    Compare {
        path: AttrPath,
        op: CompareOp,
        value: CompValue,
    },
    Present(AttrPath),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    /// `emails[type eq "work"]`; also Entra ID's non-standard
    /// `emails[type eq "work"].value eq "a@b"`, which is
    /// `ValuePath { attr: emails, filter: type eq "work", then: Some(("value", Eq, "a@b")) }`.
    ValuePath {
        attr: AttrPath,
        filter: Box<Filter>,
        then: Option<(String, CompareOp, CompValue)>,
    },
}

/// Canonical text: lowercase keywords, single spaces, only the parentheses the
/// tree needs. `parse_filter` reads it back to an equal `Filter`.
impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_filter(self, f, PREC_OR)
    }
}

/// A syntax error with a human-readable reason naming the position (0-based
/// character index) or token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrammarError {
    pub message: String,
}

impl fmt::Display for GrammarError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for GrammarError {}

/// A PATCH `path`: `attrPath` or `valuePath [subAttr]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatchPath {
    Attr(AttrPath),
    Value {
        attr: AttrPath,
        filter: Filter,
        sub_attr: Option<String>,
    },
}

impl fmt::Display for PatchPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PatchPath::Attr(attr) => write!(f, "{attr}"),
            PatchPath::Value { attr, filter, sub_attr } => {
                write!(f, "{attr}[{filter}]")?;
                if let Some(sub) = sub_attr {
                    write!(f, ".{sub}")?;
                }
                Ok(())
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PatchOpKind {
    Add,
    Remove,
    Replace,
}

impl PatchOpKind {
    /// Reads an op name in any case ("add", "Replace" as Entra ID sends it, ...).
    pub fn from_name(name: &str) -> Option<Self> {
        [PatchOpKind::Add, PatchOpKind::Remove, PatchOpKind::Replace]
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(name))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PatchOpKind::Add => "add",
            PatchOpKind::Remove => "remove",
            PatchOpKind::Replace => "replace",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct PatchOp {
    pub op: PatchOpKind,
    pub path: Option<PatchPath>,
    pub value: Option<Value>,
}

/// A PATCH request error; `scim_type` is the RFC 7644 §3.12 `scimType`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatchError {
    /// "invalidSyntax" | "invalidPath" | "noTarget" | "invalidValue"
    pub scim_type: &'static str,
    pub message: String,
}

impl PatchError {
    fn new(scim_type: &'static str, message: impl Into<String>) -> Self {
        PatchError {
            scim_type,
            message: message.into(),
        }
    }
}

impl fmt::Display for PatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.scim_type, self.message)
    }
}

impl std::error::Error for PatchError {}

// ---------------------------------------------------------------------------
// Entry points
// ---------------------------------------------------------------------------

/// Parses a `filter=` expression.
pub fn parse_filter(text: &str) -> Result<Filter, GrammarError> {
    let mut parser = Parser::new(text, "filter")?;
    let filter = parser.parse_or(false)?;
    parser.finish()?;
    Ok(filter)
}

/// Parses a PATCH `path` (RFC 7644 Figure 2: `attrPath / valuePath [subAttr]`).
pub fn parse_patch_path(text: &str) -> Result<PatchPath, GrammarError> {
    let mut parser = Parser::new(text, "path")?;
    let (word, pos) = match parser.bump() {
        Some(Token {
            tok: Tok::Word(word),
            pos,
        }) => (word, pos),
        Some(t) => {
            return Err(error(format!(
                "expected an attribute path at position {}, found {}",
                t.pos,
                t.tok.describe()
            )));
        }
        None => return Err(error("empty path".into())),
    };
    let attr = attr_path_at(&word, pos)?;
    let open = match parser.peek() {
        Some(Token {
            tok: Tok::LBracket,
            pos,
        }) => *pos,
        _ => {
            parser.finish()?;
            return Ok(PatchPath::Attr(attr));
        }
    };
    parser.next += 1;
    let filter = parser.parse_value_filter(open)?;
    let sub_attr = parser.parse_dot_sub()?.map(|(sub, _)| sub);
    parser.finish()?;
    Ok(PatchPath::Value { attr, filter, sub_attr })
}

/// Parses a bare attribute path `[uri:]name[.sub]` (e.g. a key of a path-less
/// PATCH value, or an entry of `attributes=`).
pub fn parse_attr_path(text: &str) -> Result<AttrPath, GrammarError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(error("empty attribute path".into()));
    }
    if let Some((i, c)) = trimmed
        .chars()
        .enumerate()
        .find(|(_, c)| c.is_whitespace() || matches!(c, '(' | ')' | '[' | ']' | '"'))
    {
        return Err(error(format!(
            "unexpected {c:?} at position {i} in attribute path '{}'",
            shorten(trimmed)
        )));
    }
    let lead = text.chars().take_while(|c| c.is_whitespace()).count();
    attr_path_at(trimmed, lead)
}

/// Reads a PatchOp request body (RFC 7644 §3.5.2).
///
/// `schemas` must contain [`PATCH_OP_SCHEMA`]; `Operations` (key matched in any
/// case) must be a non-empty array of at most [`MAX_PATCH_OPERATIONS`]; op
/// names are case-insensitive. `remove` without `path` is `noTarget`; `add` /
/// `replace` without a non-null `value` is `invalidValue`; a path-less `add` /
/// `replace` needs an object value that [`expand_pathless_value`] accepts.
pub fn parse_patch_request(body: &Value) -> Result<Vec<PatchOp>, PatchError> {
    let Some(obj) = body.as_object() else {
        return Err(PatchError::new(
            "invalidSyntax",
            "PatchOp request body must be a JSON object",
        ));
    };
    let has_schema = get_ci(obj, "schemas").and_then(Value::as_array).is_some_and(|schemas| {
        schemas
            .iter()
            .any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(PATCH_OP_SCHEMA)))
    });
    if !has_schema {
        return Err(PatchError::new(
            "invalidSyntax",
            format!("'schemas' must contain \"{PATCH_OP_SCHEMA}\""),
        ));
    }
    let operations = match get_ci(obj, "Operations") {
        Some(Value::Array(ops)) => ops,
        Some(_) => {
            return Err(PatchError::new("invalidSyntax", "'Operations' must be an array"));
        }
        None => return Err(PatchError::new("invalidSyntax", "missing 'Operations'")),
    };
    if operations.is_empty() {
        return Err(PatchError::new("invalidSyntax", "'Operations' must not be empty"));
    }
    if operations.len() > MAX_PATCH_OPERATIONS {
        return Err(PatchError::new(
            "invalidSyntax",
            format!(
                "too many operations: {} (at most {MAX_PATCH_OPERATIONS})",
                operations.len()
            ),
        ));
    }
    operations
        .iter()
        .enumerate()
        .map(|(i, op)| parse_patch_operation(i, op))
        .collect()
}

/// Expands a path-less PATCH value (as Entra ID sends it) into one
/// `(AttrPath, value)` pair per leaf attribute:
/// - `"name.givenName": "A"` and `"urn:...:User:department": "X"` are paths as written;
/// - `"name": {"givenName": "A"}` becomes `name.givenName`;
/// - `"urn:...:enterprise:2.0:User": {"employeeNumber": "7"}` becomes
///   `urn:...:enterprise:2.0:User:employeeNumber`. A key counts as such a schema
///   URN when its last `:` segment starts with an uppercase letter (schema names
///   are `User`, `Group`, ...; attribute names are camelCase);
/// - arrays (emails, members) and scalars stay whole.
pub fn expand_pathless_value(value: &Map<String, Value>) -> Result<Vec<(AttrPath, Value)>, PatchError> {
    let mut out = Vec::new();
    for (key, val) in value {
        match val {
            Value::Object(inner) if is_schema_urn(key) => {
                for (inner_key, inner_val) in inner {
                    let mut path = pathless_key(inner_key)?;
                    if let Some(uri) = &path.uri
                        && !uri.eq_ignore_ascii_case(key)
                    {
                        return Err(PatchError::new(
                            "invalidPath",
                            format!("attribute '{inner_key}' is not in schema '{key}'"),
                        ));
                    }
                    path.uri = Some(key.clone());
                    push_expanded(&mut out, path, inner_val)?;
                }
            }
            _ => push_expanded(&mut out, pathless_key(key)?, val)?,
        }
    }
    Ok(out)
}

/// Entra ID sends booleans as strings: JSON `true`/`false`, or the strings
/// "True"/"False"/"true"/"false" (any case) give `Some(bool)`; anything else `None`.
pub fn coerce_bool(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) => bool_from_str(s),
        _ => None,
    }
}

/// Evaluates `filter` against a SCIM resource in JSON form.
///
/// - attribute names match in any case; a URN-prefixed path looks inside the
///   object keyed by that URN (core-schema URNs also fall back to the top level);
/// - a multi-valued attribute matches if any element matches; a complex value
///   compared without a sub-attribute (`emails co "x"`) uses its `value`;
/// - `case_exact(path)` decides string case sensitivity (for `emails[type eq ..]`
///   the path passed is `emails.type`);
/// - `ne` is the negation of `eq` (so it matches an absent attribute), `eq null`
///   matches an absent or null attribute;
/// - `gt/lt/ge/le`: strings lexicographically, numbers numerically, else false.
pub fn matches(filter: &Filter, resource: &Value, case_exact: &dyn Fn(&AttrPath) -> bool) -> bool {
    eval(filter, resource, None, case_exact)
}

// ---------------------------------------------------------------------------
// Tokenizer
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LParen,
    RParen,
    LBracket,
    RBracket,
    /// Any run of characters other than whitespace, `()[]` and `"`: attribute
    /// paths, keywords, numbers, literals, and `.sub` after `]`.
    Word(String),
    /// A JSON string literal, already unescaped.
    Str(String),
}

impl Tok {
    fn describe(&self) -> String {
        match self {
            Tok::LParen => "'('".into(),
            Tok::RParen => "')'".into(),
            Tok::LBracket => "'['".into(),
            Tok::RBracket => "']'".into(),
            Tok::Word(w) => format!("'{}'", shorten(w)),
            Tok::Str(_) => "a string".into(),
        }
    }
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    /// 0-based character index in the input, for error messages.
    pos: usize,
}

fn tokenize(text: &str) -> Result<Vec<Token>, GrammarError> {
    let mut tokens = Vec::new();
    let mut chars = text.char_indices().enumerate().peekable();
    while let Some((pos, (start, c))) = chars.next() {
        let tok = match c {
            c if c.is_whitespace() => continue,
            '(' => Tok::LParen,
            ')' => Tok::RParen,
            '[' => Tok::LBracket,
            ']' => Tok::RBracket,
            '"' => {
                // Find the closing quote, skipping escaped characters; serde_json
                // then does the real JSON unescaping (\uXXXX, surrogate pairs).
                let mut escaped = false;
                let mut end = None;
                for (_, (byte, ch)) in chars.by_ref() {
                    if escaped {
                        escaped = false;
                    } else if ch == '\\' {
                        escaped = true;
                    } else if ch == '"' {
                        end = Some(byte);
                        break;
                    }
                }
                let raw = end
                    .and_then(|end| text.get(start..=end))
                    .ok_or_else(|| error(format!("unterminated string starting at position {pos}")))?;
                let s = serde_json::from_str::<String>(raw)
                    .map_err(|e| error(format!("invalid string starting at position {pos}: {e}")))?;
                Tok::Str(s)
            }
            _ => {
                let mut end = start + c.len_utf8();
                while let Some(&(_, (byte, ch))) = chars.peek() {
                    if ch.is_whitespace() || matches!(ch, '(' | ')' | '[' | ']' | '"') {
                        break;
                    }
                    end = byte + ch.len_utf8();
                    chars.next();
                }
                Tok::Word(text.get(start..end).unwrap_or_default().to_string())
            }
        };
        tokens.push(Token { tok, pos });
    }
    Ok(tokens)
}

// ---------------------------------------------------------------------------
// Parser
// ---------------------------------------------------------------------------

struct Parser {
    tokens: Vec<Token>,
    next: usize,
    depth: usize,
    terms: usize,
}

impl Parser {
    fn new(text: &str, what: &str) -> Result<Self, GrammarError> {
        let tokens = tokenize(text)?;
        if tokens.is_empty() {
            return Err(error(format!("empty {what}")));
        }
        Ok(Parser {
            tokens,
            next: 0,
            depth: 0,
            terms: 0,
        })
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.next)
    }

    fn peek_tok(&self) -> Option<&Tok> {
        self.peek().map(|t| &t.tok)
    }

    fn bump(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.next).cloned();
        if token.is_some() {
            self.next += 1;
        }
        token
    }

    fn peek_keyword(&self, keyword: &str) -> bool {
        matches!(self.peek_tok(), Some(Tok::Word(w)) if w.eq_ignore_ascii_case(keyword))
    }

    /// Everything must be consumed; name the leftover precisely.
    fn finish(&self) -> Result<(), GrammarError> {
        match self.peek() {
            None => Ok(()),
            Some(Token { tok: Tok::RParen, pos }) => Err(error(format!("unbalanced ')' at position {pos}"))),
            Some(Token {
                tok: Tok::RBracket,
                pos,
            }) => Err(error(format!("unbalanced ']' at position {pos}"))),
            Some(t) => Err(error(format!(
                "unexpected trailing input at position {}: {} (expected 'and', 'or' or the end)",
                t.pos,
                t.tok.describe()
            ))),
        }
    }

    fn enter(&mut self, pos: usize) -> Result<(), GrammarError> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(error(format!(
                "nesting too deep at position {pos} (at most {MAX_NESTING} levels of '(' or '[')"
            )));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// `or` chains; loops rather than recursing, left-associative.
    fn parse_or(&mut self, in_brackets: bool) -> Result<Filter, GrammarError> {
        let mut left = self.parse_and(in_brackets)?;
        while self.peek_keyword("or") {
            self.next += 1;
            let right = self.parse_and(in_brackets)?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn parse_and(&mut self, in_brackets: bool) -> Result<Filter, GrammarError> {
        let mut left = self.parse_unary(in_brackets)?;
        while self.peek_keyword("and") {
            self.next += 1;
            let right = self.parse_unary(in_brackets)?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn parse_unary(&mut self, in_brackets: bool) -> Result<Filter, GrammarError> {
        let Some(token) = self.bump() else {
            return Err(error(
                "expected an attribute path, '(' or 'not (' at end of input".into(),
            ));
        };
        match token.tok {
            Tok::LParen => self.parse_group(token.pos, in_brackets),
            // `not` is only an operator before `(`; otherwise it is an attribute name.
            Tok::Word(w) if w.eq_ignore_ascii_case("not") && matches!(self.peek_tok(), Some(Tok::LParen)) => {
                let open = self.peek().map_or(token.pos, |t| t.pos);
                self.next += 1;
                Ok(Filter::Not(Box::new(self.parse_group(open, in_brackets)?)))
            }
            Tok::Word(w) => self.parse_attr_expr(&w, token.pos, in_brackets),
            other => Err(error(format!(
                "expected an attribute path, '(' or 'not (' at position {}, found {}",
                token.pos,
                other.describe()
            ))),
        }
    }

    /// The rest of `( FILTER )` after the opening parenthesis.
    fn parse_group(&mut self, open: usize, in_brackets: bool) -> Result<Filter, GrammarError> {
        self.enter(open)?;
        let inner = self.parse_or(in_brackets)?;
        self.expect_close(&Tok::RParen, ')', '(', open)?;
        self.leave();
        Ok(inner)
    }

    /// The rest of `[ valFilter ]` after the opening bracket.
    fn parse_value_filter(&mut self, open: usize) -> Result<Filter, GrammarError> {
        self.enter(open)?;
        let inner = self.parse_or(true)?;
        self.expect_close(&Tok::RBracket, ']', '[', open)?;
        self.leave();
        Ok(inner)
    }

    fn expect_close(&mut self, close: &Tok, close_ch: char, open_ch: char, open: usize) -> Result<(), GrammarError> {
        match self.bump() {
            Some(t) if &t.tok == close => Ok(()),
            Some(t) => Err(error(format!(
                "expected '{close_ch}' to close '{open_ch}' at position {open}, found {} at position {}",
                t.tok.describe(),
                t.pos
            ))),
            None => Err(error(format!(
                "missing '{close_ch}' to close '{open_ch}' at position {open}"
            ))),
        }
    }

    /// `attrPath pr`, `attrPath op value`, or `attrPath [ valFilter ] [.sub op value]`.
    fn parse_attr_expr(&mut self, word: &str, pos: usize, in_brackets: bool) -> Result<Filter, GrammarError> {
        let path = attr_path_at(word, pos)?;
        self.terms += 1;
        if self.terms > MAX_TERMS {
            return Err(error(format!(
                "too many comparisons at position {pos} (at most {MAX_TERMS})"
            )));
        }
        let Some(token) = self.bump() else {
            return Err(error(format!(
                "expected an operator after '{}' at end of input",
                shorten(word)
            )));
        };
        match token.tok {
            Tok::LBracket => {
                if in_brackets {
                    return Err(error(format!(
                        "nested '[' at position {} is not allowed inside a value filter",
                        token.pos
                    )));
                }
                let filter = self.parse_value_filter(token.pos)?;
                let then = self.parse_then()?;
                Ok(Filter::ValuePath {
                    attr: path,
                    filter: Box::new(filter),
                    then,
                })
            }
            Tok::Word(op) if op.eq_ignore_ascii_case("pr") => Ok(Filter::Present(path)),
            Tok::Word(op) => match CompareOp::from_keyword(&op) {
                Some(op) => {
                    let value = self.parse_comp_value(op)?;
                    Ok(Filter::Compare { path, op, value })
                }
                None if word.eq_ignore_ascii_case("not") => {
                    Err(error(format!("expected '(' after 'not' at position {pos}")))
                }
                None => Err(error(format!(
                    "unknown operator '{}' at position {} (expected eq, ne, co, sw, ew, gt, lt, ge, le or pr)",
                    shorten(&op),
                    token.pos
                ))),
            },
            other => Err(error(format!(
                "expected an operator after '{}' at position {}, found {}",
                shorten(word),
                token.pos,
                other.describe()
            ))),
        }
    }

    /// Optional `.sub` right after `]`.
    fn parse_dot_sub(&mut self) -> Result<Option<(String, usize)>, GrammarError> {
        let (word, pos) = match self.peek() {
            Some(Token { tok: Tok::Word(w), pos }) if w.starts_with('.') => (w.clone(), *pos),
            _ => return Ok(None),
        };
        self.next += 1;
        let sub = word.strip_prefix('.').unwrap_or_default();
        check_name(sub, pos + 1, &word)?;
        Ok(Some((sub.to_string(), pos)))
    }

    /// Entra ID's `].sub op value` after a value filter.
    fn parse_then(&mut self) -> Result<Option<(String, CompareOp, CompValue)>, GrammarError> {
        let Some((sub, pos)) = self.parse_dot_sub()? else {
            return Ok(None);
        };
        match self.bump() {
            Some(Token {
                tok: Tok::Word(op),
                pos: op_pos,
            }) => {
                if op.eq_ignore_ascii_case("pr") {
                    return Err(error(format!(
                        "'pr' at position {op_pos} is not supported after '].{sub}'; write 'attr[{sub} pr]'"
                    )));
                }
                let op = CompareOp::from_keyword(&op).ok_or_else(|| {
                    error(format!(
                        "unknown operator '{}' at position {op_pos} (expected eq, ne, co, sw, ew, gt, lt, ge or le)",
                        shorten(&op)
                    ))
                })?;
                let value = self.parse_comp_value(op)?;
                Ok(Some((sub, op, value)))
            }
            Some(t) => Err(error(format!(
                "expected an operator after '.{sub}' at position {}, found {}",
                t.pos,
                t.tok.describe()
            ))),
            None => Err(error(format!(
                "expected an operator after '.{sub}' (position {pos}) at end of input"
            ))),
        }
    }

    fn parse_comp_value(&mut self, op: CompareOp) -> Result<CompValue, GrammarError> {
        let Some(token) = self.bump() else {
            return Err(error(format!("missing comparison value after '{op}' at end of input")));
        };
        match token.tok {
            Tok::Str(s) => Ok(CompValue::String(s)),
            Tok::Word(w) => parse_literal(&w).ok_or_else(|| {
                error(format!(
                    "invalid comparison value '{}' at position {} (expected a \"quoted string\", a number, true, false or null)",
                    shorten(&w),
                    token.pos
                ))
            }),
            other => Err(error(format!(
                "missing comparison value after '{op}' at position {}, found {}",
                token.pos,
                other.describe()
            ))),
        }
    }
}

/// Splits `[uri:]name[.sub]`: the URI is everything before the last ':'.
fn attr_path_at(word: &str, pos: usize) -> Result<AttrPath, GrammarError> {
    let (uri, rest, rest_pos) = match word.rsplit_once(':') {
        Some((uri, rest)) => {
            if uri.is_empty() {
                return Err(error(format!(
                    "empty schema URI before ':' at position {pos} in '{}'",
                    shorten(word)
                )));
            }
            (Some(uri.to_string()), rest, pos + uri.chars().count() + 1)
        }
        None => (None, word, pos),
    };
    let (name, sub) = match rest.split_once('.') {
        Some((name, sub)) => (name, Some(sub)),
        None => (rest, None),
    };
    check_name(name, rest_pos, word)?;
    if let Some(sub) = sub {
        let sub_pos = rest_pos + name.chars().count() + 1;
        if sub.contains('.') {
            return Err(error(format!(
                "too many '.' at position {sub_pos} in '{}' (at most one sub-attribute)",
                shorten(word)
            )));
        }
        check_name(sub, sub_pos, word)?;
    }
    Ok(AttrPath {
        uri,
        name: name.to_string(),
        sub_attr: sub.map(str::to_string),
    })
}

/// ATTRNAME = ALPHA *(nameChar); a leading '$' is also accepted for `$ref`.
fn is_attr_name(name: &str) -> bool {
    let body = name.strip_prefix('$').unwrap_or(name);
    let mut chars = body.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn check_name(name: &str, pos: usize, word: &str) -> Result<(), GrammarError> {
    if is_attr_name(name) {
        return Ok(());
    }
    Err(error(format!(
        "invalid attribute name '{}' at position {pos} in '{}' (a name starts with a letter and has only letters, digits, '-' or '_')",
        shorten(name),
        shorten(word)
    )))
}

fn parse_literal(word: &str) -> Option<CompValue> {
    if word.eq_ignore_ascii_case("true") {
        Some(CompValue::Bool(true))
    } else if word.eq_ignore_ascii_case("false") {
        Some(CompValue::Bool(false))
    } else if word.eq_ignore_ascii_case("null") {
        Some(CompValue::Null)
    } else {
        parse_json_number(word).map(CompValue::Number)
    }
}

/// A JSON number (RFC 8259 §6). Integers stay integers; fractions go through
/// std's correctly rounded `f64` parser so `Display` (shortest round-trip form)
/// reads back to the same value whatever serde_json features are enabled.
fn parse_json_number(word: &str) -> Option<Number> {
    let bytes = word.as_bytes();
    let mut i = 0;
    let digits_from = |mut i: usize| {
        while bytes.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        i
    };
    if bytes.first() == Some(&b'-') {
        i += 1;
    }
    match bytes.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => i = digits_from(i),
        _ => return None,
    }
    let mut integer = true;
    if bytes.get(i) == Some(&b'.') {
        let end = digits_from(i + 1);
        if end == i + 1 {
            return None;
        }
        i = end;
        integer = false;
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(bytes.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let end = digits_from(i);
        if end == i {
            return None;
        }
        i = end;
        integer = false;
    }
    if i != bytes.len() {
        return None;
    }
    if integer {
        if let Ok(n) = word.parse::<u64>() {
            return Some(n.into());
        }
        if let Ok(n) = word.parse::<i64>() {
            return Some(n.into());
        }
    }
    word.parse::<f64>().ok().and_then(Number::from_f64)
}

// ---------------------------------------------------------------------------
// Display helpers
// ---------------------------------------------------------------------------

const PREC_OR: u8 = 0;
const PREC_AND: u8 = 1;
const PREC_PRIMARY: u8 = 2;

/// Writes `filter`, parenthesised when it binds looser than `min`.
fn write_filter(filter: &Filter, f: &mut fmt::Formatter<'_>, min: u8) -> fmt::Result {
    let own = match filter {
        Filter::Or(..) => PREC_OR,
        Filter::And(..) => PREC_AND,
        _ => PREC_PRIMARY,
    };
    if own < min {
        f.write_char('(')?;
        write_filter(filter, f, PREC_OR)?;
        return f.write_char(')');
    }
    match filter {
        // Left-associative: a right operand of the same level needs parentheses.
        Filter::Or(a, b) => {
            write_filter(a, f, PREC_OR)?;
            f.write_str(" or ")?;
            write_filter(b, f, PREC_AND)
        }
        Filter::And(a, b) => {
            write_filter(a, f, PREC_AND)?;
            f.write_str(" and ")?;
            write_filter(b, f, PREC_PRIMARY)
        }
        Filter::Not(inner) => {
            f.write_str("not (")?;
            write_filter(inner, f, PREC_OR)?;
            f.write_char(')')
        }
        Filter::Present(path) => write!(f, "{path} pr"),
        Filter::Compare { path, op, value } => write!(f, "{path} {op} {value}"),
        Filter::ValuePath { attr, filter, then } => {
            write!(f, "{attr}[")?;
            write_filter(filter, f, PREC_OR)?;
            f.write_char(']')?;
            if let Some((sub, op, value)) = then {
                write!(f, ".{sub} {op} {value}")?;
            }
            Ok(())
        }
    }
}

fn write_json_string(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    f.write_char('"')?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            '\u{8}' => f.write_str("\\b")?,
            '\u{c}' => f.write_str("\\f")?,
            c if u32::from(c) < 0x20 => write!(f, "\\u{:04x}", u32::from(c))?,
            c => f.write_char(c)?,
        }
    }
    f.write_char('"')
}

fn error(message: String) -> GrammarError {
    GrammarError { message }
}

/// Keeps error messages short when the offending text is huge.
fn shorten(s: &str) -> Cow<'_, str> {
    const MAX: usize = 40;
    match s.char_indices().nth(MAX) {
        Some((cut, _)) => Cow::Owned(format!("{}…", s.get(..cut).unwrap_or_default())),
        None => Cow::Borrowed(s),
    }
}

// ---------------------------------------------------------------------------
// PATCH helpers
// ---------------------------------------------------------------------------

fn parse_patch_operation(index: usize, op: &Value) -> Result<PatchOp, PatchError> {
    let at = |msg: &str| format!("Operations[{index}]: {msg}");
    let Some(obj) = op.as_object() else {
        return Err(PatchError::new("invalidSyntax", at("operation must be a JSON object")));
    };
    let kind = match get_ci(obj, "op") {
        Some(Value::String(name)) => PatchOpKind::from_name(name).ok_or_else(|| {
            PatchError::new(
                "invalidSyntax",
                at(&format!(
                    "unknown op \"{}\" (expected add, remove or replace)",
                    shorten(name)
                )),
            )
        })?,
        Some(_) => {
            return Err(PatchError::new("invalidSyntax", at("'op' must be a string")));
        }
        None => return Err(PatchError::new("invalidSyntax", at("missing 'op'"))),
    };
    let path = match get_ci(obj, "path") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => {
            Some(parse_patch_path(text).map_err(|e| PatchError::new("invalidPath", at(&e.message)))?)
        }
        Some(_) => {
            return Err(PatchError::new("invalidPath", at("'path' must be a string")));
        }
    };
    let value = match get_ci(obj, "value") {
        None | Some(Value::Null) => None,
        Some(v) => Some(v.clone()),
    };
    match kind {
        PatchOpKind::Remove if path.is_none() => {
            return Err(PatchError::new("noTarget", at("'remove' requires a 'path'")));
        }
        PatchOpKind::Add | PatchOpKind::Replace if value.is_none() => {
            return Err(PatchError::new(
                "invalidValue",
                at(&format!("'{}' requires a non-null 'value'", kind.as_str())),
            ));
        }
        _ => {}
    }
    if path.is_none() {
        // Without a path the target is the resource itself: the value must be
        // an object of attributes. Validate it now so errors surface early.
        match &value {
            Some(Value::Object(map)) => {
                expand_pathless_value(map).map_err(|e| PatchError::new(e.scim_type, at(&e.message)))?;
            }
            Some(_) => {
                return Err(PatchError::new(
                    "invalidValue",
                    at("without a 'path', 'value' must be an object of attributes"),
                ));
            }
            None => {}
        }
    }
    Ok(PatchOp { op: kind, path, value })
}

fn pathless_key(key: &str) -> Result<AttrPath, PatchError> {
    parse_attr_path(key).map_err(|e| {
        PatchError::new(
            "invalidPath",
            format!("invalid attribute '{}' in value: {e}", shorten(key)),
        )
    })
}

/// `name: {givenName: ..}` → `name.givenName`; anything else is one leaf.
fn push_expanded(out: &mut Vec<(AttrPath, Value)>, path: AttrPath, value: &Value) -> Result<(), PatchError> {
    match value {
        Value::Object(fields) if path.sub_attr.is_none() && !fields.is_empty() => {
            for (sub, sub_value) in fields {
                if !is_attr_name(sub) {
                    return Err(PatchError::new(
                        "invalidPath",
                        format!("invalid sub-attribute '{}' of '{path}' in value", shorten(sub)),
                    ));
                }
                let mut sub_path = path.clone();
                sub_path.sub_attr = Some(sub.clone());
                out.push((sub_path, sub_value.clone()));
            }
        }
        _ => out.push((path, value.clone())),
    }
    Ok(())
}

fn is_schema_urn(key: &str) -> bool {
    key.rsplit_once(':')
        .is_some_and(|(_, last)| last.starts_with(|c: char| c.is_ascii_uppercase()))
}

fn bool_from_str(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// Object lookup by key in any case, exact match first.
fn get_ci<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    map.get(key)
        .or_else(|| map.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v))
}

// ---------------------------------------------------------------------------
// Evaluation
// ---------------------------------------------------------------------------

/// `parent` is set inside `attr[...]`, where paths name sub-attributes of the
/// current element.
fn eval(filter: &Filter, scope: &Value, parent: Option<&AttrPath>, case_exact: &dyn Fn(&AttrPath) -> bool) -> bool {
    match filter {
        Filter::And(a, b) => eval(a, scope, parent, case_exact) && eval(b, scope, parent, case_exact),
        Filter::Or(a, b) => eval(a, scope, parent, case_exact) || eval(b, scope, parent, case_exact),
        Filter::Not(inner) => !eval(inner, scope, parent, case_exact),
        Filter::Present(path) => resolve(scope, path, parent.is_some()).into_iter().any(is_present),
        Filter::Compare { path, op, value } => {
            let values = resolve(scope, path, parent.is_some());
            compare_all(&values, *op, value, case_exact(&full_path(path, parent)))
        }
        Filter::ValuePath { attr, filter, then } => {
            let outer = full_path(attr, parent);
            resolve(scope, attr, parent.is_some())
                .into_iter()
                .filter(|element| element.is_object())
                .any(|element| {
                    eval(filter, element, Some(&outer), case_exact)
                        && then.as_ref().is_none_or(|(sub, op, value)| {
                            let sub_path = AttrPath::new(sub.clone());
                            let values = resolve(element, &sub_path, true);
                            let exact = case_exact(&full_path(&sub_path, Some(&outer)));
                            compare_all(&values, *op, value, exact)
                        })
                })
        }
    }
}

/// The path as the caller's `case_exact` should see it: inside `emails[...]`,
/// `type` is `emails.type`.
fn full_path(path: &AttrPath, parent: Option<&AttrPath>) -> AttrPath {
    match parent {
        Some(p) => AttrPath {
            uri: p.uri.clone(),
            name: p.name.clone(),
            sub_attr: Some(path.name.clone()),
        },
        None => path.clone(),
    }
}

/// All values at `path`, with arrays flattened one level.
fn resolve<'a>(scope: &'a Value, path: &AttrPath, in_element: bool) -> Vec<&'a Value> {
    let mut out = Vec::new();
    let base = match &path.uri {
        Some(uri) if !in_element => match field(scope, uri) {
            Some(ext) if ext.is_object() => ext,
            _ if starts_with_ci(uri, CORE_SCHEMA_PREFIX) => scope,
            _ => return out,
        },
        _ => scope,
    };
    let Some(value) = field(base, &path.name) else {
        return out;
    };
    match &path.sub_attr {
        None => push_flat(&mut out, value),
        Some(sub) => {
            let mut parents = Vec::new();
            push_flat(&mut parents, value);
            for item in parents {
                if let Some(v) = field(item, sub) {
                    push_flat(&mut out, v);
                }
            }
        }
    }
    out
}

fn push_flat<'a>(out: &mut Vec<&'a Value>, value: &'a Value) {
    match value {
        Value::Array(items) => out.extend(items.iter()),
        other => out.push(other),
    }
}

fn field<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    value.as_object().and_then(|map| get_ci(map, key))
}

fn starts_with_ci(s: &str, prefix: &str) -> bool {
    s.get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
}

/// RFC 7644: `pr` matches a non-empty value, or a complex value with a non-empty node.
fn is_present(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(items) => !items.is_empty(),
        Value::Object(fields) => fields.values().any(|v| match v {
            Value::Null => false,
            Value::String(s) => !s.is_empty(),
            Value::Array(items) => !items.is_empty(),
            _ => true,
        }),
        _ => true,
    }
}

fn compare_all(values: &[&Value], op: CompareOp, expected: &CompValue, case_exact: bool) -> bool {
    match (op, expected) {
        (CompareOp::Ne, _) => !compare_all(values, CompareOp::Eq, expected, case_exact),
        (CompareOp::Eq, CompValue::Null) => values.iter().all(|v| v.is_null()),
        _ => values.iter().any(|v| compare_one(v, op, expected, case_exact)),
    }
}

fn compare_one(actual: &Value, op: CompareOp, expected: &CompValue, case_exact: bool) -> bool {
    // A complex element compared without a sub-attribute uses its "value".
    let actual = match actual {
        Value::Object(_) => match field(actual, "value") {
            Some(v) => v,
            None => return false,
        },
        other => other,
    };
    match (actual, expected) {
        (Value::String(a), CompValue::String(b)) => compare_strings(a, b, op, case_exact),
        (Value::Number(a), CompValue::Number(b)) => compare_numbers(a, b).is_some_and(|ord| ordering_matches(ord, op)),
        (Value::Bool(a), CompValue::Bool(b)) => op == CompareOp::Eq && a == b,
        // Entra ID may filter booleans as strings ("True").
        (Value::Bool(a), CompValue::String(b)) => op == CompareOp::Eq && bool_from_str(b) == Some(*a),
        (Value::Null, CompValue::Null) => op == CompareOp::Eq,
        _ => false,
    }
}

fn compare_strings(a: &str, b: &str, op: CompareOp, case_exact: bool) -> bool {
    let (a, b): (Cow<'_, str>, Cow<'_, str>) = if case_exact {
        (a.into(), b.into())
    } else {
        (a.to_lowercase().into(), b.to_lowercase().into())
    };
    match op {
        CompareOp::Eq => a == b,
        CompareOp::Ne => a != b,
        CompareOp::Co => a.contains(b.as_ref()),
        CompareOp::Sw => a.starts_with(b.as_ref()),
        CompareOp::Ew => a.ends_with(b.as_ref()),
        CompareOp::Gt => a > b,
        CompareOp::Lt => a < b,
        CompareOp::Ge => a >= b,
        CompareOp::Le => a <= b,
    }
}

fn compare_numbers(a: &Number, b: &Number) -> Option<Ordering> {
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
        return Some(x.cmp(&y));
    }
    if let (Some(x), Some(y)) = (a.as_u64(), b.as_u64()) {
        return Some(x.cmp(&y));
    }
    a.as_f64()?.partial_cmp(&b.as_f64()?)
}

fn ordering_matches(ord: Ordering, op: CompareOp) -> bool {
    match op {
        CompareOp::Eq => ord == Ordering::Equal,
        CompareOp::Ne => ord != Ordering::Equal,
        CompareOp::Gt => ord == Ordering::Greater,
        CompareOp::Ge => ord != Ordering::Less,
        CompareOp::Lt => ord == Ordering::Less,
        CompareOp::Le => ord != Ordering::Greater,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

    fn parse(text: &str) -> Filter {
        match parse_filter(text) {
            Ok(f) => f,
            Err(e) => panic!("{text:?} should parse: {e}"),
        }
    }

    fn parse_err(text: &str) -> String {
        match parse_filter(text) {
            Ok(f) => panic!("{text:?} should fail, got {f:?}"),
            Err(e) => e.message,
        }
    }

    fn s(v: &str) -> CompValue {
        CompValue::String(v.to_string())
    }

    fn cmp(path: AttrPath, op: CompareOp, value: CompValue) -> Filter {
        Filter::Compare { path, op, value }
    }

    fn round_trips(f: &Filter) {
        let text = f.to_string();
        assert_eq!(parse_filter(&text).as_ref(), Ok(f), "round trip of {text:?}");
    }

    #[test]
    fn simple_comparisons() {
        assert_eq!(
            parse(r#"userName eq "bjensen""#),
            cmp(AttrPath::new("userName"), CompareOp::Eq, s("bjensen"))
        );
        assert_eq!(
            parse(r#"userName Eq "john@example.com""#),
            cmp(AttrPath::new("userName"), CompareOp::Eq, s("john@example.com"))
        );
        assert_eq!(
            parse(r#"externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef""#),
            cmp(
                AttrPath::new("externalId"),
                CompareOp::Eq,
                s("0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef")
            )
        );
        assert_eq!(
            parse(r#"meta.lastModified gt "2011-05-13T04:42:34Z""#),
            cmp(
                AttrPath::with_sub("meta", "lastModified"),
                CompareOp::Gt,
                s("2011-05-13T04:42:34Z")
            )
        );
        assert_eq!(
            parse(r#"displayName eq "Group \"A\"""#),
            cmp(AttrPath::new("displayName"), CompareOp::Eq, s("Group \"A\""))
        );
        assert_eq!(
            parse(r#"x eq "a\\b\u00e9\ud83d\ude00""#),
            cmp(AttrPath::new("x"), CompareOp::Eq, s("a\\bé😀"))
        );
        assert_eq!(
            parse("$ref eq null"),
            cmp(AttrPath::new("$ref"), CompareOp::Eq, CompValue::Null)
        );
        assert_eq!(
            parse("active EQ True"),
            cmp(AttrPath::new("active"), CompareOp::Eq, CompValue::Bool(true))
        );
        assert_eq!(
            parse("loginCount ge -1.5e3"),
            cmp(
                AttrPath::new("loginCount"),
                CompareOp::Ge,
                CompValue::Number(Number::from_f64(-1500.0).unwrap())
            )
        );
        assert_eq!(
            parse("n lt 7"),
            cmp(AttrPath::new("n"), CompareOp::Lt, CompValue::Number(7.into()))
        );
        for op in ["eq", "ne", "co", "sw", "ew", "gt", "lt", "ge", "le", "NE", "Co"] {
            assert!(parse_filter(&format!("a {op} \"x\"")).is_ok(), "{op}");
        }
    }

    #[test]
    fn urn_paths() {
        assert_eq!(
            parse(r#"urn:ietf:params:scim:schemas:core:2.0:User:name.familyName co "O'Malley""#),
            cmp(
                AttrPath {
                    uri: Some("urn:ietf:params:scim:schemas:core:2.0:User".into()),
                    name: "name".into(),
                    sub_attr: Some("familyName".into()),
                },
                CompareOp::Co,
                s("O'Malley")
            )
        );
        assert_eq!(
            parse(&format!("{ENTERPRISE}:manager.value eq \"x\"")),
            cmp(
                AttrPath {
                    uri: Some(ENTERPRISE.into()),
                    name: "manager".into(),
                    sub_attr: Some("value".into())
                },
                CompareOp::Eq,
                s("x")
            )
        );
    }

    #[test]
    fn logic_and_precedence() {
        let title = Filter::Present(AttrPath::new("title"));
        let user_type = cmp(AttrPath::new("userType"), CompareOp::Eq, s("Employee"));
        assert_eq!(
            parse(r#"title pr and userType eq "Employee""#),
            Filter::And(Box::new(title.clone()), Box::new(user_type.clone()))
        );
        assert_eq!(
            parse(r#"title PR AND userType eq "Employee""#),
            Filter::And(Box::new(title.clone()), Box::new(user_type.clone()))
        );
        // and binds tighter than or
        assert_eq!(
            parse(r#"a pr or title pr and userType eq "Employee""#),
            Filter::Or(
                Box::new(Filter::Present(AttrPath::new("a"))),
                Box::new(Filter::And(Box::new(title.clone()), Box::new(user_type.clone())))
            )
        );
        assert_eq!(
            parse(r#"(a pr or title pr) and userType eq "Employee""#),
            Filter::And(
                Box::new(Filter::Or(
                    Box::new(Filter::Present(AttrPath::new("a"))),
                    Box::new(title.clone())
                )),
                Box::new(user_type)
            )
        );
        assert_eq!(
            parse(r#"not (userName eq "x")"#),
            Filter::Not(Box::new(cmp(AttrPath::new("userName"), CompareOp::Eq, s("x"))))
        );
        assert_eq!(parse(r#"NOT(userName eq "x")"#), parse(r#"not (userName eq "x")"#));
        // RFC example, with extra spaces
        let f = parse(
            r#"  userType ne "Employee"   and not ( emails co "example.com" or emails.value co "example.org" ) "#,
        );
        assert!(matches!(f, Filter::And(_, ref r) if matches!(**r, Filter::Not(_))));
        // keywords are ordinary attribute names where an attribute is expected
        assert_eq!(parse("not pr"), Filter::Present(AttrPath::new("not")));
        assert_eq!(
            parse("a pr or or pr"),
            Filter::Or(
                Box::new(Filter::Present(AttrPath::new("a"))),
                Box::new(Filter::Present(AttrPath::new("or")))
            )
        );
    }

    #[test]
    fn value_paths() {
        let work = cmp(AttrPath::new("type"), CompareOp::Eq, s("work"));
        assert_eq!(
            parse(r#"emails[type eq "work" and value co "@example.com"]"#),
            Filter::ValuePath {
                attr: AttrPath::new("emails"),
                filter: Box::new(Filter::And(
                    Box::new(work.clone()),
                    Box::new(cmp(AttrPath::new("value"), CompareOp::Co, s("@example.com")))
                )),
                then: None,
            }
        );
        assert_eq!(
            parse(r#"emails[type eq "work"].value eq "a@b.co""#),
            Filter::ValuePath {
                attr: AttrPath::new("emails"),
                filter: Box::new(work.clone()),
                then: Some(("value".into(), CompareOp::Eq, s("a@b.co"))),
            }
        );
        assert_eq!(
            parse(r#"members[value eq "usr_123"] or emails[not (type eq "work")]"#).to_string(),
            r#"members[value eq "usr_123"] or emails[not (type eq "work")]"#
        );
    }

    #[test]
    fn errors_name_the_problem() {
        let cases: &[(&str, &str)] = &[
            ("", "empty filter"),
            ("   ", "empty filter"),
            (r#"userName xx "a""#, "unknown operator 'xx' at position 9"),
            (r#"userName eq "abc"#, "unterminated string starting at position 12"),
            ("userName eq", "missing comparison value"),
            (r#"userName eq )"#, "missing comparison value"),
            (r#"userName eq "a" extra"#, "trailing input at position 16"),
            (r#"userName eq "a" "b""#, "trailing input"),
            (r#"(userName eq "a""#, "missing ')' to close '(' at position 0"),
            (r#"userName eq "a")"#, "unbalanced ')' at position 15"),
            (r#"emails[type eq "work""#, "missing ']' to close '[' at position 6"),
            (r#"emails[type eq "work")"#, "expected ']'"),
            (r#"emails[type eq "work"]]"#, "unbalanced ']'"),
            ("userName eq bjensen", "invalid comparison value 'bjensen'"),
            ("userName eq 01", "invalid comparison value '01'"),
            (r#"1abc eq "x""#, "invalid attribute name '1abc'"),
            (r#"a.b.c eq "x""#, "too many '.'"),
            (r#":a eq "x""#, "empty schema URI"),
            (r#"urn:x: eq "x""#, "invalid attribute name ''"),
            (r#"userName eq "a" and"#, "at end of input"),
            (r#"not userName eq "x""#, "expected '(' after 'not'"),
            (r#"userName eq "\x""#, "invalid string"),
            (r#"e[a[b eq 1]]"#, "nested '['"),
            (r#"e[type eq "w"].value pr"#, "'pr'"),
            ("userName", "expected an operator after 'userName'"),
            (r#""x" eq "y""#, "found a string"),
            ("()", "found ')'"),
        ];
        for (text, want) in cases {
            let msg = parse_err(text);
            assert!(msg.contains(want), "{text:?}: {msg:?} should mention {want:?}");
        }
    }

    #[test]
    fn nesting_and_size_are_bounded() {
        let ok = format!("{}a pr{}", "(".repeat(MAX_NESTING), ")".repeat(MAX_NESTING));
        assert!(parse_filter(&ok).is_ok());
        let deep = format!("{}a pr{}", "(".repeat(MAX_NESTING + 1), ")".repeat(MAX_NESTING + 1));
        assert!(parse_err(&deep).contains("nesting too deep"));
        assert!(parse_err(&"not (".repeat(10_000)).contains("nesting too deep"));
        assert!(parse_err(&"(".repeat(100_000)).contains("nesting too deep"));
        let brackets = format!("e[{}a pr{}]", "(".repeat(MAX_NESTING), ")".repeat(MAX_NESTING));
        assert!(parse_err(&brackets).contains("nesting too deep"));

        let chain = vec!["a eq 1"; MAX_TERMS].join(" and ");
        let f = parse(&chain);
        round_trips(&f);
        assert!(matches(&f, &json!({"a": 1}), &|_| false));
        let too_long = vec!["a eq 1"; MAX_TERMS + 1].join(" or ");
        assert!(parse_err(&too_long).contains("too many comparisons"));
    }

    #[test]
    fn display_is_canonical_and_round_trips() {
        let a = || Box::new(Filter::Present(AttrPath::new("a")));
        let b = || Box::new(Filter::Present(AttrPath::new("b")));
        let or = Filter::Or(a(), Box::new(Filter::Or(b(), a())));
        assert_eq!(or.to_string(), "a pr or (b pr or a pr)");
        let and = Filter::And(Box::new(Filter::Or(a(), b())), Box::new(Filter::And(a(), b())));
        assert_eq!(and.to_string(), "(a pr or b pr) and (a pr and b pr)");
        assert_eq!(parse("A Pr OR b PR and c pr").to_string(), "A pr or b pr and c pr");
        let tricky = cmp(AttrPath::new("x"), CompareOp::Eq, s("q\"b\\n\n\t\u{1}é😀 ) ] and"));
        assert_eq!(tricky.to_string(), r#"x eq "q\"b\\n\n\t\u0001é😀 ) ] and""#);
        for f in [or, and, tricky] {
            round_trips(&f);
        }
        for text in [
            r#"emails[type eq "work"].value eq "a@b.co""#,
            r#"not (a eq 1.5) and (b eq -3 or c eq 18446744073709551615)"#,
            r#"urn:ietf:params:scim:schemas:core:2.0:User:name.familyName co "O'Malley""#,
        ] {
            round_trips(&parse(text));
        }
    }

    #[test]
    fn patch_paths() {
        let ok = |t: &str| parse_patch_path(t).unwrap_or_else(|e| panic!("{t:?}: {e}"));
        assert_eq!(
            ok(r#"members[value eq "usr_123"]"#),
            PatchPath::Value {
                attr: AttrPath::new("members"),
                filter: cmp(AttrPath::new("value"), CompareOp::Eq, s("usr_123")),
                sub_attr: None,
            }
        );
        assert_eq!(
            ok("name.givenName"),
            PatchPath::Attr(AttrPath::with_sub("name", "givenName"))
        );
        assert_eq!(
            ok(&format!("{ENTERPRISE}:department")),
            PatchPath::Attr(AttrPath {
                uri: Some(ENTERPRISE.into()),
                name: "department".into(),
                sub_attr: None
            })
        );
        let p = ok(r#"emails[type eq "work"].value"#);
        assert!(matches!(&p, PatchPath::Value { sub_attr: Some(s), .. } if s == "value"));
        assert_eq!(p.to_string(), r#"emails[type eq "work"].value"#);
        assert_eq!(ok(&p.to_string()), p);
        assert_eq!(ok("name.givenName").to_string(), "name.givenName");

        for (text, want) in [
            ("", "empty path"),
            ("name.givenName extra", "trailing"),
            (r#"members[value eq "x""#, "missing ']'"),
            (r#"members[value eq "x"] eq 1"#, "trailing"),
            ("name.", "invalid attribute name"),
            (r#"emails[type eq "work"]."#, "invalid attribute name"),
            ("(a)", "expected an attribute path"),
        ] {
            match parse_patch_path(text) {
                Ok(p) => panic!("{text:?} should fail, got {p:?}"),
                Err(e) => assert!(e.message.contains(want), "{text:?}: {e}"),
            }
        }
    }

    #[test]
    fn attr_path_helpers() {
        let p = parse_attr_path(" name.GivenName ").unwrap();
        assert!(p.is_sub("NAME", "givenname"));
        assert!(!p.is("name"));
        assert!(AttrPath::new("userName").is("USERNAME"));
        assert!(parse_attr_path("a b").is_err());
        assert!(parse_attr_path("").is_err());
    }

    fn patch_body(ops: Value) -> Value {
        json!({"schemas": [PATCH_OP_SCHEMA], "Operations": ops})
    }

    #[test]
    fn patch_request_entra_style() {
        let body = patch_body(json!([
            {"op": "Replace", "value": {
                "name.givenName": "A",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "X",
                "active": "False",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "7"}
            }},
            {"op": "Add", "path": "emails[type eq \"work\"].value", "value": "a@b.co"},
            {"op": "Remove", "path": "members[value eq \"usr_123\"]"},
            {"op": "remove", "path": "members", "value": [{"value": "usr_1"}]}
        ]));
        let ops = parse_patch_request(&body).unwrap();
        assert_eq!(ops.len(), 4);
        assert_eq!(ops[0].op, PatchOpKind::Replace);
        assert!(ops[0].path.is_none());
        assert_eq!(ops[1].op, PatchOpKind::Add);
        assert!(matches!(&ops[1].path, Some(PatchPath::Value { sub_attr: Some(_), .. })));
        assert_eq!(ops[2].op, PatchOpKind::Remove);
        assert_eq!(ops[3].value, Some(json!([{"value": "usr_1"}])));

        // lower-case "operations" key is accepted too
        let lower = json!({"schemas": [PATCH_OP_SCHEMA], "operations": [{"op": "add", "path": "title", "value": "x"}]});
        assert_eq!(parse_patch_request(&lower).unwrap().len(), 1);
    }

    #[test]
    fn patch_request_errors() {
        let op_add = json!({"op": "add", "path": "title", "value": "x"});
        let cases: Vec<(Value, &str, &str)> = vec![
            (json!([1]), "invalidSyntax", "JSON object"),
            (json!({"Operations": [op_add.clone()]}), "invalidSyntax", "schemas"),
            (
                json!({"schemas": ["urn:other"], "Operations": [op_add.clone()]}),
                "invalidSyntax",
                "schemas",
            ),
            (
                json!({"schemas": [PATCH_OP_SCHEMA]}),
                "invalidSyntax",
                "missing 'Operations'",
            ),
            (patch_body(json!({})), "invalidSyntax", "must be an array"),
            (patch_body(json!([])), "invalidSyntax", "must not be empty"),
            (
                patch_body(Value::Array(vec![op_add.clone(); MAX_PATCH_OPERATIONS + 1])),
                "invalidSyntax",
                "too many",
            ),
            (
                patch_body(json!([{"op": "Delete", "path": "x"}])),
                "invalidSyntax",
                "unknown op",
            ),
            (patch_body(json!([{"path": "x"}])), "invalidSyntax", "missing 'op'"),
            (patch_body(json!([{"op": "Remove"}])), "noTarget", "requires a 'path'"),
            (
                patch_body(json!([{"op": "Add", "path": "title"}])),
                "invalidValue",
                "'add' requires",
            ),
            (
                patch_body(json!([{"op": "replace", "path": "title", "value": null}])),
                "invalidValue",
                "'replace' requires",
            ),
            (
                patch_body(json!([{"op": "replace", "path": "emails[type eq", "value": 1}])),
                "invalidPath",
                "Operations[0]",
            ),
            (
                patch_body(json!([{"op": "replace", "path": 5, "value": 1}])),
                "invalidPath",
                "must be a string",
            ),
            (
                patch_body(json!([{"op": "replace", "value": "x"}])),
                "invalidValue",
                "must be an object",
            ),
            (
                patch_body(json!([op_add, {"op": "add", "value": {"bad key": 1}}])),
                "invalidPath",
                "Operations[1]",
            ),
        ];
        for (body, scim_type, want) in cases {
            match parse_patch_request(&body) {
                Ok(ops) => panic!("{body} should fail, got {ops:?}"),
                Err(e) => {
                    assert_eq!(e.scim_type, scim_type, "{body}: {e}");
                    assert!(e.message.contains(want), "{body}: {e}");
                }
            }
        }
    }

    #[test]
    fn pathless_value_expansion() {
        let value = json!({
            "name.givenName": "A",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "X",
            "active": "False",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "7", "manager": {"value": "m1"}},
            "name": {"familyName": "B"},
            "emails": [{"value": "a@b.co", "type": "work"}],
        });
        let pairs = expand_pathless_value(value.as_object().unwrap()).unwrap();
        let ent = |name: &str, sub: Option<&str>| AttrPath {
            uri: Some(ENTERPRISE.into()),
            name: name.into(),
            sub_attr: sub.map(String::from),
        };
        let want = [
            (AttrPath::with_sub("name", "givenName"), json!("A")),
            (ent("department", None), json!("X")),
            (AttrPath::new("active"), json!("False")),
            (ent("employeeNumber", None), json!("7")),
            (ent("manager", Some("value")), json!("m1")),
            (AttrPath::with_sub("name", "familyName"), json!("B")),
            (AttrPath::new("emails"), json!([{"value": "a@b.co", "type": "work"}])),
        ];
        assert_eq!(pairs.len(), want.len(), "{pairs:?}");
        for pair in &want {
            assert!(pairs.contains(pair), "missing {pair:?} in {pairs:?}");
        }
        let bad = json!({ENTERPRISE: {"urn:other:x:dept": 1}});
        assert_eq!(
            expand_pathless_value(bad.as_object().unwrap()).unwrap_err().scim_type,
            "invalidPath"
        );
        let bad = json!({"name": {"given name": 1}});
        assert_eq!(
            expand_pathless_value(bad.as_object().unwrap()).unwrap_err().scim_type,
            "invalidPath"
        );
    }

    #[test]
    fn coerce_bool_accepts_entra_strings() {
        assert_eq!(coerce_bool(&json!(true)), Some(true));
        assert_eq!(coerce_bool(&json!("False")), Some(false));
        assert_eq!(coerce_bool(&json!("true")), Some(true));
        assert_eq!(coerce_bool(&json!("TRUE")), Some(true));
        assert_eq!(coerce_bool(&json!("yes")), None);
        assert_eq!(coerce_bool(&json!(1)), None);
        assert_eq!(coerce_bool(&Value::Null), None);
    }

    fn user() -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
            "id": "2819c223",
            "externalId": "ext-1",
            "userName": "BJensen@example.com",
            "name": {"familyName": "O'Malley", "givenName": "Barbara"},
            "title": "Tour Guide",
            "userType": "Employee",
            "nickName": "",
            "active": true,
            "loginCount": 5,
            "emails": [
                {"value": "bjensen@example.com", "type": "work", "primary": true},
                {"value": "babs@jensen.org", "type": "home"}
            ],
            "meta": {"lastModified": "2011-05-13T04:42:34Z"},
            ENTERPRISE: {"employeeNumber": "701984", "department": "Tour Operations", "manager": {"value": "26118915"}}
        })
    }

    #[test]
    fn matches_a_user() {
        let user = user();
        let case_exact = |p: &AttrPath| p.is("id") || p.is("externalId");
        let check = |text: &str, want: bool| {
            assert_eq!(matches(&parse(text), &user, &case_exact), want, "{text}");
        };
        check(r#"userName eq "bjensen@example.com""#, true);
        check(r#"USERNAME sw "BJENSEN""#, true);
        check(r#"id eq "2819C223""#, false);
        check(r#"id eq "2819c223""#, true);
        check(r#"emails[type eq "work" and value co "@example.com"]"#, true);
        check(r#"emails[type eq "home" and value co "@example.com"]"#, false);
        check(r#"emails[TYPE eq "WORK"]"#, true);
        check(r#"emails.value ew ".ORG""#, true);
        check(r#"emails co "jensen.org""#, true);
        check(r#"emails[type eq "work"].value eq "BJENSEN@example.com""#, true);
        check(r#"emails[type eq "home"].value eq "bjensen@example.com""#, false);
        check(&format!("{ENTERPRISE}:department eq \"tour operations\""), true);
        check(&format!("{ENTERPRISE}:manager.value eq \"26118915\""), true);
        check("urn:other:schema:department pr", false);
        check(
            r#"urn:ietf:params:scim:schemas:core:2.0:User:name.familyName co "O'Malley""#,
            true,
        );
        check(r#"meta.lastModified gt "2011-05-13T04:42:33Z""#, true);
        check(r#"meta.lastModified lt "2011-05-13T04:42:33Z""#, false);
        check("loginCount ge 5", true);
        check("loginCount gt 5", false);
        check("loginCount lt 5.5", true);
        check("active eq true", true);
        check(r#"active eq "True""#, true);
        check("active gt true", false);
        check(r#"title pr and userType eq "Employee""#, true);
        check("nickName pr", false);
        check("missing pr", false);
        check("missing eq null", true);
        check("title eq null", false);
        check(r#"not (userName eq "x")"#, true);
        check(r#"title ne "x""#, true);
        check(r#"title ne "tour guide""#, false);
        check(r#"userName eq "x" or title co "guide""#, true);
        check(r#"name[givenName sw "bar"]"#, true);
    }
}
