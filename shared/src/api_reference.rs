//! The API reference page (`GET /docs`): Redoc renders `docs/openapi.json` (`GET
//! /openapi.json`) in the browser. Redoc's script is vendored (`shared/vendor/redoc`) and
//! served by the same function, so the page needs no other host, and its
//! content-security-policy lets the browser load nothing from one. The smoke test loads it
//! in Chromium and fails on any request that leaves 127.0.0.1.

use std::sync::LazyLock;

use crate::http::Reply;

macro_rules! redoc_version {
    () => {
        "2.5.4"
    };
}

/// The vendored Redoc's version (`shared/vendor/redoc/README.md`).
pub const REDOC_VERSION: &str = redoc_version!();

/// The script's path names Redoc's version, so a browser may keep it for a year: an
/// upgrade is a new path, never a stale script under the old one.
pub const SCRIPT_PATH: &str = concat!("/docs/redoc-", redoc_version!(), ".standalone.js");

/// Relative addresses, so the page works under any base path (an API Gateway stage, a
/// custom domain's mapping): from `/docs`, `openapi.json` is `/openapi.json`.
const PAGE: &str = concat!(
    r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Raptor Comply API reference</title>
<link rel="icon" href="data:,">
<style>body { margin: 0; }</style>
</head>
<body>
<noscript>This reference is rendered by JavaScript; the OpenAPI document it shows is <a href="openapi.json">openapi.json</a>.</noscript>
<redoc spec-url="openapi.json"></redoc>
<script src="docs/redoc-"#,
    redoc_version!(),
    r#".standalone.js"></script>
</body>
</html>
"#
);

/// Only this origin. Scripts are 'self' alone; styles also allow inline ones because Redoc
/// styles itself with styled-components, which writes `<style>` elements; search runs in a
/// worker Redoc makes from a `blob:`; the favicon is an empty `data:` image (no request).
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; worker-src blob:; object-src 'none'; base-uri 'none'; form-action 'none'; \
     frame-ancestors 'none'";

/// Redoc as published on npm, byte for byte.
const REDOC: &str = include_str!("../vendor/redoc/redoc.standalone.js");

/// Redoc's sidebar ends with "API docs by Redocly" and a logo it loads from Redocly's CDN,
/// whatever its options say. An empty address loads nothing (the image's error handler
/// then hides it); the link text stays.
const REDOCLY_LOGO: &str = r#"src:"https://cdn.redoc.ly/redoc/logo-mini.svg""#;

/// The script as served: the vendored bundle without the logo's outside address.
static SCRIPT: LazyLock<String> = LazyLock::new(|| REDOC.replacen(REDOCLY_LOGO, r#"src:"""#, 1));

/// `GET /docs`: the page, never cached without asking, so a new deployment's script path
/// reaches browsers at once.
pub fn page() -> Reply {
    Reply {
        status: 200,
        content_type: "text/html; charset=utf-8",
        headers: vec![
            ("content-security-policy", CONTENT_SECURITY_POLICY.to_string()),
            ("cache-control", "no-cache".to_string()),
            ("x-content-type-options", "nosniff".to_string()),
            // The page links out to Redocly; it need not say where the reader came from.
            ("referrer-policy", "no-referrer".to_string()),
        ],
        body: PAGE.to_string(),
        bytes: None,
    }
}

/// `GET /docs/redoc-<version>.standalone.js`: Redoc, cacheable for a year (see `SCRIPT_PATH`).
pub fn script() -> Reply {
    Reply {
        status: 200,
        content_type: "text/javascript; charset=utf-8",
        headers: vec![
            ("cache-control", "public, max-age=31536000, immutable".to_string()),
            ("x-content-type-options", "nosniff".to_string()),
        ],
        body: SCRIPT.clone(),
        bytes: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_vendored_bundle_is_the_version_the_script_path_names() {
        let notices = include_str!("../vendor/redoc/redoc.standalone.js.LICENSE.txt");
        assert!(notices.contains(&format!("Version: \"{REDOC_VERSION}\"")));
        let readme = include_str!("../vendor/redoc/README.md");
        assert!(readme.contains(&format!("redoc@{REDOC_VERSION}")));
    }

    /// An upgrade that moves or drops the logo's address fails here, not in a browser.
    #[test]
    fn the_served_script_loads_no_logo_from_another_host() {
        assert_eq!(REDOC.matches(REDOCLY_LOGO).count(), 1);
        assert!(!SCRIPT.contains("cdn.redoc.ly"));
        assert_eq!(SCRIPT.len(), REDOC.len() - REDOCLY_LOGO.len() + r#"src:"""#.len());
    }

    #[test]
    fn the_page_loads_the_served_script_and_the_document_relative_to_itself() {
        let script = SCRIPT_PATH.trim_start_matches('/');
        assert!(PAGE.contains(&format!(r#"<script src="{script}"></script>"#)));
        assert!(PAGE.contains(r#"spec-url="openapi.json""#));
        assert!(!PAGE.contains("http://") && !PAGE.contains("https://"));
    }
}
