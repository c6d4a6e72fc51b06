//! Prints the event catalogue: `cargo run -p raptor-shared --bin events > docs/events.json`.

fn main() {
    print!("{}", raptor_shared::model::events::catalogue_json());
}
