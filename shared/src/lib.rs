//! The Raptor Comply domain crate: everything true of the product, whichever Lambda runs it.
//!
//! Layers, each importing only those below it (`docs/architecture.md`; `tests/layers.rs`
//! checks it):
//! 1. the ground floor: `error`, `ids`, `time`, `permissions`, `validation`, `patch`, `json`, `pagination`;
//! 2. `model`: the records and the rules that need no I/O;
//! 3. `store`: DynamoDB keys, item mapping, queries and transactions; `mail` (SES) beside it;
//! 4. `operations`: what a handler calls (authorize, load, decide, write);
//! 5. the edge for handlers: `http`, `routes`, `app`, `idempotency` (the `Idempotency-Key` guard),
//!    `openapi` and `api_reference` (the document and the page that renders it), and `rest`
//!    (the REST door's bodies and views over the commands); `scim` and `xapi` are doors of
//!    their own over the same commands.

pub mod clock;
pub mod error;
pub mod ids;
pub mod json;
pub mod pagination;
pub mod patch;
pub mod permissions;
pub mod time;
pub mod validation;

pub mod model;

pub mod export_files;
pub mod mail;
pub mod signing;
pub mod store;
pub mod webhook_client;
pub mod webhook_queue;

pub mod operations;

pub mod api_reference;
pub mod app;
pub mod asyncapi;
pub mod http;
pub mod idempotency;
pub mod openapi;
pub mod rest;
pub mod routes;
pub mod scim;
pub mod webhook_events;
pub mod xapi;
