//! The offline verifier of the audit trail (`docs/audit.md`): checks a bundle exported
//! from the API (`scripts/audit-bundle`) with the public key alone, trusting nothing the
//! server says about itself. Prints the verification report as JSON.
//!
//! Usage: verify-audit BUNDLE.json [--public-key KEY.pem]
//! Exit status: 0 verified, 1 not verified (the report says what), 2 unreadable input.
//! Without `--public-key` the key in the bundle is used, which only shows the bundle is
//! consistent with itself: pin the key you fetched when the trail was young.

use std::process::ExitCode;

use raptor_shared::model::audit_digest::{AuditBundle, PublicKey, verify_bundle};

fn run() -> Result<bool, String> {
    let mut args = std::env::args().skip(1);
    let (mut bundle_path, mut key_path) = (None, None);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--public-key" => key_path = Some(args.next().ok_or("--public-key needs a PEM file")?),
            other if bundle_path.is_none() && !other.starts_with("--") => bundle_path = Some(other.to_string()),
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    let bundle_path = bundle_path.ok_or("usage: verify-audit BUNDLE.json [--public-key KEY.pem]")?;
    let text = std::fs::read_to_string(&bundle_path).map_err(|error| format!("{bundle_path}: {error}"))?;
    let bundle: AuditBundle = serde_json::from_str(&text).map_err(|error| format!("{bundle_path}: {error}"))?;
    let trusted = match key_path {
        Some(path) => {
            let pem = std::fs::read_to_string(&path).map_err(|error| format!("{path}: {error}"))?;
            Some(PublicKey::from_pem(path, &pem).map_err(|error| format!("{error:?}"))?)
        }
        None => {
            eprintln!("verify-audit: no --public-key; using the bundle's own key");
            None
        }
    };
    let report = verify_bundle(&bundle, trusted.as_ref()).map_err(|error| format!("{error:?}"))?;
    println!(
        "{}",
        serde_json::to_string_pretty(&report).map_err(|error| error.to_string())?
    );
    Ok(report.verified)
}

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(message) => {
            eprintln!("verify-audit: {message}");
            ExitCode::from(2)
        }
    }
}
