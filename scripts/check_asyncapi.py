"""Validates an AsyncAPI document against the official AsyncAPI JSON schema.

usage: check_asyncapi.py SCHEMA DOCUMENT  (scripts/test passes @asyncapi/specs' 3.0.0.json
and docs/asyncapi.json). Exits 1 and prints each violation when the document is invalid.
"""

import json
import sys

import jsonschema


def main() -> int:
    schema_path, document_path = sys.argv[1], sys.argv[2]
    with open(schema_path, encoding="utf-8") as file:
        schema = json.load(file)
    with open(document_path, encoding="utf-8") as file:
        document = json.load(file)
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = sorted(validator.iter_errors(document), key=lambda error: list(error.path))
    for error in errors:
        print(f"{document_path}: /{'/'.join(map(str, error.path))}: {error.message[:500]}", file=sys.stderr)
    if errors:
        return 1
    print(f"{document_path}: valid AsyncAPI {document.get('asyncapi')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
