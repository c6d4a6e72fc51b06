//! The offline verifier of the audit trail (`docs/audit.md`) and of evidence packages
//! (`docs/evidence.md`): checks a bundle exported from the API (`scripts/audit-bundle`), or
//! a package's zip, with the public key alone, trusting nothing the server says about
//! itself. Prints the report as JSON.
//!
//! Usage: verify-audit BUNDLE.json [--public-key KEY.pem]
//!        verify-audit --package PACKAGE.zip [--public-key KEY.pem]
//! Exit status: 0 verified, 1 not verified (the report says what), 2 unreadable input.
//! Without `--public-key` the key in the bundle (the package) is used, which only shows it
//! is consistent with itself: pin the key you fetched when the trail was young.

use std::process::ExitCode;

use raptor_shared::model::audit_digest::{AuditBundle, PublicKey, verify_bundle};
use raptor_shared::model::evidence_files::read_package;
use raptor_shared::model::evidence_manifest::verify_package;

const USAGE: &str = "usage: verify-audit BUNDLE.json [--public-key KEY.pem]\n       verify-audit --package PACKAGE.zip [--public-key KEY.pem]";

fn read_key(path: &str) -> Result<PublicKey, String> {
    let pem = std::fs::read_to_string(path).map_err(|error| format!("{path}: {error}"))?;
    PublicKey::from_pem(path.to_string(), &pem).map_err(|error| format!("{error:?}"))
}

fn print(report: &impl serde::Serialize) -> Result<(), String> {
    println!(
        "{}",
        serde_json::to_string_pretty(report).map_err(|error| error.to_string())?
    );
    Ok(())
}

fn verify_zip(path: &str, key_path: Option<String>) -> Result<bool, String> {
    let zip = std::fs::read(path).map_err(|error| format!("{path}: {error}"))?;
    let key = match key_path {
        Some(key_path) => read_key(&key_path)?,
        None => {
            eprintln!("verify-audit: no --public-key; using the package's own audit/public-key.pem");
            let files = read_package(&zip).map_err(|error| format!("{path}: {error}"))?;
            let pem = files
                .iter()
                .find(|(name, _)| name == "audit/public-key.pem")
                .ok_or_else(|| format!("{path}: no audit/public-key.pem"))?;
            PublicKey::from_pem(path.to_string(), &String::from_utf8_lossy(&pem.1))
                .map_err(|error| format!("{error:?}"))?
        }
    };
    let report = verify_package(&zip, &key).map_err(|error| format!("{path}: {error}"))?;
    print(&report)?;
    Ok(report.verified)
}

fn run() -> Result<bool, String> {
    let mut args = std::env::args().skip(1);
    let (mut bundle_path, mut package_path, mut key_path) = (None, None, None);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--public-key" => key_path = Some(args.next().ok_or("--public-key needs a PEM file")?),
            "--package" => package_path = Some(args.next().ok_or("--package needs a zip file")?),
            other if bundle_path.is_none() && !other.starts_with("--") => bundle_path = Some(other.to_string()),
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    match (bundle_path, package_path) {
        (None, Some(package)) => verify_zip(&package, key_path),
        (Some(bundle_path), None) => {
            let text = std::fs::read_to_string(&bundle_path).map_err(|error| format!("{bundle_path}: {error}"))?;
            let bundle: AuditBundle = serde_json::from_str(&text).map_err(|error| format!("{bundle_path}: {error}"))?;
            let trusted = match key_path {
                Some(path) => Some(read_key(&path)?),
                None => {
                    eprintln!("verify-audit: no --public-key; using the bundle's own key");
                    None
                }
            };
            let report = verify_bundle(&bundle, trusted.as_ref()).map_err(|error| format!("{error:?}"))?;
            print(&report)?;
            Ok(report.verified)
        }
        _ => Err(USAGE.to_string()),
    }
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
