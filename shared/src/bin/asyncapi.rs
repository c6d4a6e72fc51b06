//! Prints the AsyncAPI document of the domain events:
//! `cargo run -p raptor-shared --bin asyncapi > docs/asyncapi.json`.

fn main() {
    print!("{}", raptor_shared::asyncapi::document_json());
}
