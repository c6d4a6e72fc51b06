#!/usr/bin/env python3
"""Reads the API reference page (GET /docs) of a running API as a person would: in headless
Chromium (Debian's, /usr/bin/chromium; Playwright never downloads a browser here), and checks

- that every operation of the OpenAPI document (the route table's, a test keeps them equal) is
  on the page, under its operationId's anchor and with its summary;
- that the page asked no host but the API's own for anything (a blob: or data: address stays
  in the browser), and that nothing it asked for failed or was refused;
- that the browser reported no error (a content-security-policy violation is one);

and saves a screenshot. Exits non-zero naming what is wrong.

Usage: check_api_reference.py --url http://127.0.0.1:PORT --document docs/openapi.json
                              --screenshot FILE.png
"""

import argparse
import json
import os
import sys
from urllib.parse import urlsplit

from playwright.sync_api import sync_playwright

# Chromium's own services (component updates, sync, Google look-ups) are switched off: they are
# the browser's requests, not the page's, and without internet they only fail and stall.
CHROMIUM_ARGS = [
    "--no-sandbox",  # root, as on CI
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def operations(document_path: str) -> list[tuple[str, str, str, str]]:
    """(method, path, operationId, summary) of every operation of the document."""
    with open(document_path) as file:
        document = json.load(file)
    found = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                found.append((method.upper(), path, operation["operationId"], operation["summary"]))
    return found


def outside(url: str, host: str) -> bool:
    """Whether loading `url` reaches a host other than the API's."""
    parts = urlsplit(url)
    if parts.scheme == "data":
        return False
    if parts.scheme == "blob":  # blob:http://127.0.0.1:PORT/uuid: made by the page itself
        parts = urlsplit(parts.path)
    return parts.scheme not in {"http", "https", "ws", "wss"} or parts.hostname != host


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True, help="the API's base URL, e.g. http://127.0.0.1:9000")
    parser.add_argument("--document", required=True, help="the OpenAPI document the page should show")
    parser.add_argument("--screenshot", required=True)
    parser.add_argument("--chromium", default=os.environ.get("CHROMIUM", "/usr/bin/chromium"))
    args = parser.parse_args()
    host = urlsplit(args.url).hostname
    expected = operations(args.document)

    requests, failures, errors = [], [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.on("request", lambda request: requests.append(request.url))
            page.on("requestfailed", lambda request: failures.append(f"{request.url}: {request.failure}"))
            page.on("response", lambda r: r.status >= 400 and failures.append(f"{r.url}: {r.status}"))
            page.on("console", lambda message: message.type == "error" and errors.append(message.text))
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(f"{args.url}/docs", wait_until="networkidle", timeout=120_000)
            # Redoc renders every operation as a section whose id names its tag and operationId.
            last = expected[-1]
            page.locator(f'[data-section-id$="/operation/{last[2]}"]').wait_for(state="attached", timeout=60_000)
            page.wait_for_load_state("networkidle")
            sections = page.locator("[data-section-id*='/operation/']").evaluate_all(
                "sections => sections.map(s => [s.getAttribute('data-section-id'), s.querySelector('h2')?.textContent ?? ''])"
            )
            page.screenshot(path=args.screenshot)
        finally:
            browser.close()

    rendered = {section.rsplit("/operation/", 1)[1]: heading for section, heading in sections}
    problems = []
    for method, path, operation_id, summary in expected:
        if operation_id not in rendered:
            problems.append(f"{method} {path} ({operation_id}) is not on the page")
        elif rendered[operation_id].strip() != summary:
            problems.append(f"{operation_id} is headed {rendered[operation_id]!r}, not its summary {summary!r}")
    problems += [f"a request to another host: {url}" for url in requests if outside(url, host)]
    problems += [f"a request failed: {failure}" for failure in failures]
    problems += [f"the browser reported: {error}" for error in errors]
    if problems:
        print("\n".join(problems), file=sys.stderr)
        print(f"requests the page made: {requests}", file=sys.stderr)
        return 1
    print(f"{len(expected)} operations listed; {len(requests)} requests, all to {host}; screenshot {args.screenshot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
