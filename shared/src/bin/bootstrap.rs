//! Creates an organization, its first admin and an admin API key against any DynamoDB
//! endpoint (the local emulator or an AWS account), and prints the key once. Running it
//! twice with the same organization name says the organization exists and changes nothing.
//!
//! Usage: bootstrap [--create-table] --organization NAME --admin-email EMAIL [--admin-name NAME]
//! Reads TABLE_NAME and the usual AWS_* configuration (AWS_ENDPOINT_URL for the emulator).

use std::process::ExitCode;

use raptor_shared::app::App;
use raptor_shared::model::organizations::{BootstrapOutcome, NewOrganization};
use raptor_shared::model::secret_tokens::ExposeSecret;
use raptor_shared::operations::organizations;
use raptor_shared::store::table;

struct Arguments {
    create_table: bool,
    organization: String,
    admin_email: String,
    admin_name: String,
}

fn parse_arguments() -> Result<Arguments, String> {
    let mut create_table = false;
    let (mut organization, mut admin_email, mut admin_name) = (None, None, None);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--create-table" => create_table = true,
            "--organization" => organization = args.next(),
            "--admin-email" => admin_email = args.next(),
            "--admin-name" => admin_name = args.next(),
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    Ok(Arguments {
        create_table,
        organization: organization.ok_or("--organization NAME is required")?,
        admin_email: admin_email.ok_or("--admin-email EMAIL is required")?,
        admin_name: admin_name.unwrap_or_else(|| "Administrator".into()),
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    let arguments = match parse_arguments() {
        Ok(arguments) => arguments,
        Err(message) => {
            eprintln!(
                "bootstrap: {message}\nusage: bootstrap [--create-table] --organization NAME --admin-email EMAIL [--admin-name NAME]"
            );
            return ExitCode::from(2);
        }
    };
    match run(arguments).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("bootstrap failed: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(arguments: Arguments) -> Result<(), String> {
    let app = App::from_env().await.map_err(|error| error.to_string())?;
    let store = &app.store;
    if arguments.create_table {
        let created = table::ensure_table(store).await.map_err(describe)?;
        println!(
            "Table {}: {}",
            store.table(),
            if created { "created" } else { "exists" }
        );
    }
    let input = NewOrganization::parse(&arguments.organization, &arguments.admin_email, &arguments.admin_name)
        .map_err(describe)?;
    let outcome = organizations::bootstrap(store, input).await.map_err(describe)?;
    match outcome {
        BootstrapOutcome::Created {
            organization,
            admin,
            api_key,
        } => {
            println!("Organization {} created: {}", organization.name, organization.id);
            println!("Admin user: {admin}");
            println!("API key: {}", api_key.expose_secret());
            println!("(The key is shown only once; store it now.)");
        }
        BootstrapOutcome::AlreadyExists { organization } => {
            println!("Organization exists: {organization} (nothing changed; no new key issued)");
        }
    }
    Ok(())
}

fn describe(error: raptor_shared::error::ApiError) -> String {
    match error {
        raptor_shared::error::ApiError::Internal { detail } => detail,
        other => other.to_string(),
    }
}
