#!/usr/bin/env python3
"""What an integration developer does with our OpenAPI document: generate a Python client from
it with openapi-python-client, then use that client, and nothing else, against a running API:
create a user, invite one (the email goes out through the emulator's SES), create a training
module and assign it to the user, record the completion, and export the assignments as CSV.

A document a generator cannot read without a warning fails here (--fail-on-warning), and so
does one whose generated client cannot do the scenario: a renamed field, a lost operation, a
response the client cannot parse.

Usage: client_scenario.py --document docs/openapi.json --url http://127.0.0.1:PORT --key KEY
                          --emulator http://127.0.0.1:PORT --workdir DIR
"""

import argparse
import csv
import datetime
import io
import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

PACKAGE = "raptor_comply_client"


def generate(document: str, workdir: Path) -> None:
    """Generates the client into workdir/PACKAGE, failing on any warning about the document."""
    bin_dir = Path(sys.executable).parent
    # Its formatting hook runs ruff, installed beside it in the same venv.
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    result = subprocess.run(
        [
            str(bin_dir / "openapi-python-client"),
            "generate",
            "--path",
            document,
            "--meta",
            "none",
            "--output-path",
            str(workdir / PACKAGE),
            "--fail-on-warning",
        ],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        cwd=workdir,
    )
    output = result.stdout + result.stderr
    if result.returncode != 0 or "warning" in output.lower() or "error" in output.lower():
        sys.exit(f"openapi-python-client could not generate a clean client from {document}:\n{output}")
    print(f"client generated from {document} by openapi-python-client")


def expect(response, status: int, what: str):
    if response.status_code != status:
        sys.exit(f"{what}: {response.status_code}, not {status}: {response.content[:500]!r}")
    return response.parsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--document", required=True)
    parser.add_argument("--url", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--emulator", required=True, help="the emulator, whose SES keeps the sent emails")
    parser.add_argument("--workdir", required=True, type=Path)
    args = parser.parse_args()

    generate(args.document, args.workdir)
    # The generated package exists only now, under workdir.
    sys.path.insert(0, str(args.workdir))
    from raptor_comply_client import AuthenticatedClient, models
    from raptor_comply_client.api.invitations import create_invitation
    from raptor_comply_client.api.training_assignments import (
        complete_training_assignment,
        create_training_assignment,
        export_training_assignments,
    )
    from raptor_comply_client.api.training_modules import create_training_module
    from raptor_comply_client.api.users import create_user

    client = AuthenticatedClient(base_url=args.url, token=args.key, prefix="", auth_header_name="X-API-Key", timeout=120)
    run = datetime.datetime.now(datetime.UTC).strftime("%Y%m%d%H%M%S%f")

    with client as client:
        user = expect(
            create_user.sync_detailed(
                client=client,
                body=models.CreateUser(email=f"client-{run}@example.com", display_name="Casey Client"),
            ),
            201,
            "createUser",
        )
        assert user.id.startswith("usr_") and user.email == f"client-{run}@example.com", user
        print(f"createUser: {user.id}")

        invitee = f"client-invitee-{run}@example.com"
        invitation = expect(
            create_invitation.sync_detailed(
                client=client, body=models.NewInvitation(email=invitee, send_email=True)
            ),
            201,
            "createInvitation",
        )
        assert invitation.id.startswith("inv_") and invitation.status.value == "pending", invitation
        sent = urllib.request.urlopen(f"{args.emulator}/moto-api/data.json?service=ses", timeout=30).read()
        assert invitee in json.dumps(json.loads(sent)), f"no invitation email to {invitee} in the emulator's SES"
        print(f"createInvitation: {invitation.id}, emailed to {invitee}")

        module = expect(
            create_training_module.sync_detailed(
                client=client,
                body=models.CreateTrainingModule(
                    title=f"CIP-004 cyber security awareness {run}", completion_interval_days=365
                ),
            ),
            201,
            "createTrainingModule",
        )
        assert module.id.startswith("tm_"), module
        print(f"createTrainingModule: {module.id}")

        due = (datetime.date.today() + datetime.timedelta(days=30)).isoformat()
        assignment = expect(
            create_training_assignment.sync_detailed(
                client=client,
                body=models.CreateTrainingAssignment(user_id=user.id, training_module_id=module.id, due_date=due),
            ),
            201,
            "createTrainingAssignment",
        )
        assert assignment.id.startswith("ta_") and assignment.status.value == "assigned", assignment
        assert assignment.user_id == user.id and assignment.training_module_id == module.id, assignment
        print(f"createTrainingAssignment: {assignment.id}, due {due}")

        completed = expect(
            complete_training_assignment.sync_detailed(
                id=assignment.id,
                client=client,
                body=models.CompleteTrainingAssignment(score=92, certificate_reference=f"CERT-{run}"),
            ),
            200,
            "completeTrainingAssignment",
        )
        assert completed.id == assignment.id and completed.status.value == "complete", completed
        print(f"completeTrainingAssignment: {completed.status.value}")

        exported = expect(
            export_training_assignments.sync_detailed(client=client, user_id=user.id),
            200,
            "exportTrainingAssignments",
        )
        rows = list(csv.DictReader(io.StringIO(exported)))
        assert [row["id"] for row in rows] == [assignment.id], f"the export for {user.id}:\n{exported}"
        row = rows[0]
        assert (row["userId"], row["trainingModuleId"], row["status"]) == (user.id, module.id, "complete"), row
        assert row["score"] == "92" and row["certificateReference"] == f"CERT-{run}", row
        print(f"exportTrainingAssignments: CSV with {assignment.id}, complete")
    print("client scenario: PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
