"""An LMS's side of the xAPI door, driven by a real xAPI client library (TinCanPython,
`tincan` on PyPI) configured as LRS clients are: our `/xapi/` as the endpoint, an API
key's id and the key as Basic credentials. Used by scripts/smoke-run-local.

It makes a learner, a module whose externalModuleUrl is the course's activity id and an
open assignment through the REST API, then sends `launched` (POST), `completed` with a
score (PUT, the statement carrying its id) and one for a stranger (POST of an array),
reads one back, and checks through the REST API what each did.

Usage: xapi_client.py --url http://127.0.0.1:9000 --key <admin key>
"""

import argparse
import json
import sys
import urllib.request
import uuid
from datetime import datetime, timedelta, timezone

from tincan import (
    Activity,
    ActivityDefinition,
    Agent,
    LanguageMap,
    RemoteLRS,
    Result,
    Score,
    Statement,
    Verb,
)

ACTIVITY = "https://lms.example.com/courses/cip-004-awareness"


def rest(url, key, method, path, body=None):
    request = urllib.request.Request(
        url + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"X-API-Key": key, "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read() or b"null")


def verb(name):
    return Verb(id=f"http://adlnet.gov/expapi/verbs/{name}", display=LanguageMap({"en-US": name}))


def course():
    return Activity(
        id=ACTIVITY,
        definition=ActivityDefinition(name=LanguageMap({"en-US": "CIP-004 awareness"})),
    )


def fail(message):
    sys.exit(f"xapi_client: {message}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--key", required=True)
    args = parser.parse_args()
    url, admin = args.url.rstrip("/"), args.key

    email = f"learner-{uuid.uuid4().hex[:8]}@utility.example"
    learner = rest(url, admin, "POST", "/users", {"email": email, "displayName": "Lee Learner"})
    module = rest(
        url,
        admin,
        "POST",
        "/training-modules",
        {"title": f"CIP-004 awareness {uuid.uuid4().hex[:6]}", "completionIntervalDays": 365, "externalModuleUrl": ACTIVITY},
    )
    due = (datetime.now(timezone.utc) + timedelta(days=30)).date().isoformat()
    assignment = rest(
        url,
        admin,
        "POST",
        "/training-assignments",
        {"userId": learner["id"], "trainingModuleId": module["id"], "dueDate": due},
    )
    key = rest(url, admin, "POST", "/api-keys", {"name": "LMS (xAPI)", "permissions": ["training:read", "training:write"]})

    lrs = RemoteLRS(version="1.0.3", endpoint=f"{url}/xapi/", username=key["id"], password=key["secret"])
    about = lrs.about()
    if not about.success or "1.0.3" not in about.content.version:
        fail(f"about: {about.response.status} {about.data}")
    actor = Agent(name="Lee Learner", mbox=f"mailto:{email}")

    launched = lrs.save_statement(Statement(actor=actor, verb=verb("launched"), object=course()))
    if not launched.success:
        fail(f"launched: {launched.response.status} {launched.data}")
    state = rest(url, admin, "GET", f"/training-assignments/{assignment['id']}")
    if state["status"] != "in_progress":
        fail(f"after launched the assignment is {state['status']}")

    statement_id = uuid.uuid4()
    completed = Statement(
        id=statement_id,
        actor=actor,
        verb=verb("completed"),
        object=course(),
        result=Result(score=Score(scaled=0.92), success=True, completion=True),
        timestamp=datetime.now(timezone.utc) - timedelta(minutes=5),
    )
    saved = lrs.save_statement(completed)
    if not saved.success or saved.response.status != 204:
        fail(f"completed (PUT): {saved.response.status} {saved.data}")
    state = rest(url, admin, "GET", f"/training-assignments/{assignment['id']}")
    if (state["status"], state.get("score"), state.get("sourceStatementId")) != ("complete", 92, str(statement_id)):
        fail(f"after completed the assignment is {state}")

    again = lrs.save_statement(completed)
    if not again.success:
        fail(f"the same statement again: {again.response.status} {again.data}")

    stranger = Statement(
        actor=Agent(mbox="mailto:nobody@utility.example"), verb=verb("completed"), object=course()
    )
    batch = lrs.save_statements([stranger])
    if not batch.success:
        fail(f"a batch: {batch.response.status} {batch.data}")

    read = lrs.retrieve_statement(statement_id)
    if not read.success or str(read.content.id) != str(statement_id) or read.content.result.score.scaled != 0.92:
        fail(f"reading the statement back: {read.response.status} {read.data}")

    request = urllib.request.Request(
        f"{url}/xapi/statements?unmatched=true",
        headers={"X-API-Key": key["secret"], "X-Experience-API-Version": "1.0.3"},
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        unmatched = json.loads(response.read())
    reasons = {outcome["statementId"]: outcome["unmatchedReason"] for outcome in unmatched["outcomes"]}
    if reasons.get(str(batch.content[0].id)) != "unknown_actor":
        fail(f"the stranger's statement is not listed as unmatched: {unmatched['outcomes']}")
    print("xapi_client: about, launched, completed (PUT, sent twice), a batch and a read-back through tincan")


if __name__ == "__main__":
    main()
