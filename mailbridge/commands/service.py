"""`mailbridge status`: is the service working, and if not, what needs an admin."""
from __future__ import annotations

import click

from mailbridge.app import App
from mailbridge.errors import MailbridgeError


class NeedsAdmin(MailbridgeError):
    """`status` found something an admin must look at (exit 3)."""

    exit_code = 3


@click.command("status")
@click.option("--json", "as_json", is_flag=True, help="One JSON object (see CONTRACT.md).")
@click.pass_obj
def status_cmd(app: App, as_json: bool) -> None:
    """Health of the service: exit 0 when healthy, 3 when something needs an admin."""
    from mailbridge.commands.ledger import emit_json
    from mailbridge.service.status import report

    data = report(app.config, app.db)
    if as_json:
        emit_json(data)
    else:
        _print(data)
    if not data["healthy"]:
        raise NeedsAdmin(f"{len(data['problems'])} problem(s) need an admin; see above.")


def _print(data: dict) -> None:
    runner = data["runner"]
    click.echo(f"mailbridge {data['version']}, database {data['database']}")
    click.echo(f"daemon: running on {runner['host']} (pid {runner['pid']}) since {runner['since']}"
               if runner["running"] else "daemon: not running")
    for box in data["mailboxes"]:
        state = f"FAILING since {box['error_since']}: {box['error']}" if box["error"] else "ok"
        click.echo(f"mailbox {box['name']}: {state}; last poll ok {box['last_success_at'] or 'never'}; "
                   f"last new mail {box['last_new_mail_at'] or 'never'}; {box['waiting']} waiting")
    click.echo(f"outbox: {data['outbox']['pending']} pending, {data['outbox']['failed']} failed; "
               f"quarantine: {data['quarantined']}")
    for job in data["jobs"]:
        click.echo(f"job {job['id']}: next run {job['next_run_at'] or '-'}")
    for problem in data["problems"]:
        click.echo(f"problem: {problem}")
    for outage in data["database_outages"]:
        click.echo(f"database outage {outage['from']} to {outage['to']}: {outage['detail']}")
    click.echo("healthy" if data["healthy"] else "NEEDS AN ADMIN")
