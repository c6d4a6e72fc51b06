//! Prints the OpenAPI document: `cargo run -p raptor-shared --bin openapi > docs/openapi.json`.

fn main() {
    print!("{}", raptor_shared::openapi::document_json());
}
