"""``egov-bus keys``: a region makes its signing key; the operator keeps the public keys in ``egov.keys``.

``keys new`` runs at the region and needs no broker: it writes the private key
(owner-only) and prints the public key record, one JSON line, which the region
sends to the operator. ``register``, ``rotate``, ``revoke`` and ``list`` run
with the operator's settings (only the operator may write the register) and
check the broker first, like every command.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import TypeAdapter, ValidationError
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bus.keys.exceptions import KeyRegisterError
from bus.keys.files import write_signing_key
from bus.keys.register import KeyRegister, check_region, now_utc
from bus.keys.ring import key_state
from schemas.signing import CENTRE_CODE, KeyRecord, SignatureError, SigningKey

app = typer.Typer(help="Region signing keys: a region makes its key (new); the operator registers, rotates, revokes "
                  "and lists the public keys in egov.keys (needs the operator's settings).", no_args_is_help=True)

PrefixOpt = Annotated[Optional[str], typer.Option(
    "--prefix", help="Namespace: the register is <prefix>.egov.keys (staging, tests)")]
_STATE_STYLE = {"valid": "green", "expired": "dim", "revoked": "red", "not yet": "yellow"}


def _register(prefix: str | None) -> KeyRegister:
    from bus.kafka.connectivity import check_connection
    from bus.settings import load_settings

    return KeyRegister(check_connection(load_settings()), prefix=prefix)


def _time(text: str | None, option: str) -> datetime | None:
    if text is None:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise KeyRegisterError(f"{option} {text!r} is not an ISO 8601 time (e.g. 2026-07-01T00:00:00+07:00)") from None
    if when.tzinfo is None:
        raise KeyRegisterError(f"{option} {text!r} needs a UTC offset (e.g. 2026-07-01T00:00:00+07:00 or ...Z)")
    return when


def _public_line(source: str, valid_from: datetime, valid_until: datetime | None = None) -> KeyRecord:
    """The record of the JSON line ``keys new`` printed (a file, or ``-`` for standard input)."""
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise KeyRegisterError(f"cannot read {source}: {exc.strerror}") from None
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) != 1:
        raise KeyRegisterError(f"{source}: expected the one JSON line of `egov-bus keys new`, got {len(lines)} lines")
    try:
        data = json.loads(lines[0])
    except ValueError as exc:
        raise KeyRegisterError(f"{source}: not a JSON line: {exc}") from None
    if not isinstance(data, dict) or not {"key_id", "region_code", "public_key"} <= set(data):
        raise KeyRegisterError(f"{source}: a public key record has key_id, region_code and public_key")
    if "private" in json.dumps(data).lower():
        raise KeyRegisterError(f"{source}: holds something private; only the public key line is sent to the operator")
    try:
        record = KeyRecord.from_json({
            "key_id": data["key_id"], "region_code": data["region_code"], "public_key": data["public_key"],
            "valid_from": valid_from.isoformat(), "valid_until": valid_until.isoformat() if valid_until else None,
        })
    except SignatureError as exc:
        raise KeyRegisterError(f"{source}: refused: {exc}") from None
    check_region(record.region_code)
    return record


def _describe(record: KeyRecord) -> str:
    until = f" until {record.valid_until.isoformat()}" if record.valid_until else ""
    return f"{record.key_id} (region {record.region_code}), valid from {record.valid_from.isoformat()}{until}"


@app.command("new")
def new_cmd(
    region: Annotated[Optional[str], typer.Option("--region", help="The region's Kemendagri code, e.g. 32.01")] = None,
    centre: Annotated[bool, typer.Option("--centre", help=f"The centre's own key ({CENTRE_CODE}.key): the processors "
                                         "sign the audit log with it")] = False,
    directory: Annotated[Optional[Path], typer.Option(
        "--dir", help="Where to write <region>.key", show_default="EGOV_SIGNING_KEYS_DIR, else the current directory")] = None,
) -> None:
    """Make a region's fresh Ed25519 key (run at the region; no broker needed).

    The private key goes to <dir>/<region>.key (owner-only, never overwritten); the public key record is printed as
    one JSON line, for the operator's `egov-bus keys register`. Nothing secret is printed.
    """
    if (region is None) == (not centre):
        raise typer.BadParameter("give one of --region 32.01 or --centre", param_hint="--region")
    code = check_region(CENTRE_CODE if centre else str(region))
    if directory is None:
        from bus.settings import load_settings

        directory = Path(load_settings().signing_keys_dir or ".")
    key = SigningKey(code, Ed25519PrivateKey.generate())
    path = write_signing_key(directory, key)
    typer.echo(json.dumps({"key_id": key.key_id, "region_code": code, "public_key": key.public_b64()}))
    typer.echo(f"wrote {path} (owner-only; back it up offline, never send it). Send the line above to the operator: "
               f"egov-bus keys register FILE", err=True)


@app.command("register")
def register_cmd(
    source: Annotated[str, typer.Argument(metavar="FILE|-", help="The JSON line of `egov-bus keys new` ('-': stdin)")],
    valid_from: Annotated[Optional[str], typer.Option("--valid-from", help="ISO 8601 time with offset",
                                                      show_default="now")] = None,
    valid_until: Annotated[Optional[str], typer.Option("--valid-until", help="ISO 8601 time with offset",
                                                       show_default="open-ended")] = None,
    prefix: PrefixOpt = None,
) -> None:
    """Register a region's public key in egov.keys (operator).

    Refuses an id that does not belong to its public key and region, and one registered already with another key or
    validity.
    """
    record = _public_line(source, _time(valid_from, "--valid-from") or now_utc(), _time(valid_until, "--valid-until"))
    register = _register(prefix)
    ring = register.read()
    existing = ring.lookup(record.key_id)
    if existing is not None and valid_from is None and valid_until is None:
        # The same line sent twice: "now" is not a change of validity.
        record = replace(record, valid_from=existing.valid_from, valid_until=existing.valid_until)
    if register.register(record, ring):
        typer.echo(f"registered {_describe(record)}")
    else:
        typer.echo(f"{record.key_id} is registered already as given: nothing written")


@app.command("rotate")
def rotate_cmd(
    region: Annotated[str, typer.Option("--region", help="The region whose key is replaced, e.g. 32.01")],
    new: Annotated[str, typer.Option("--new", metavar="FILE|-", help="The new key's JSON line (`keys new`; '-': stdin)")],
    overlap: Annotated[str, typer.Option("--overlap", help="How long the old keys stay valid (ISO 8601 duration)")] = "P7D",
    prefix: PrefixOpt = None,
) -> None:
    """Replace a region's key (operator): the new one valid from now, the others ending at now + overlap.

    During the overlap both keys are accepted.
    """
    try:
        span = TypeAdapter(timedelta).validate_python(overlap)
    except ValidationError:
        raise KeyRegisterError(f"--overlap {overlap!r} is not a duration (e.g. P7D, PT12H)") from None
    now = now_utc()
    record = _public_line(new, now)
    if record.region_code != check_region(region):
        raise KeyRegisterError(f"the new key {record.key_id} is region {record.region_code}'s, not {region}'s")
    rotation = _register(prefix).rotate(record, span, now=now)
    typer.echo(f"registered {_describe(rotation.new)}")
    for old in rotation.ended:
        typer.echo(f"ends {_describe(old)}")
    if not rotation.ended:
        typer.echo(f"region {region} had no other valid key")


@app.command("revoke")
def revoke_cmd(
    key_id: Annotated[str, typer.Argument(help="The key id, e.g. 32.01:1f2e3d4c5b6a7988")],
    reason: Annotated[Optional[str], typer.Option("--reason", help="Why (kept with the record, shown by list)")] = None,
    prefix: PrefixOpt = None,
) -> None:
    """Revoke a key from now on (operator): the centre accepts nothing signed with it afterwards, whatever its time."""
    revoked = _register(prefix).revoke(key_id, reason)
    assert revoked.revoked_at is not None
    typer.echo(f"revoked {revoked.key_id} (region {revoked.region_code}) at {revoked.revoked_at.isoformat()}")


@app.command("list")
def list_cmd(
    region: Annotated[Optional[str], typer.Option("--region", help="Only this region's keys")] = None,
    prefix: PrefixOpt = None,
) -> None:
    """Show the registered keys: id, region, validity, revocation and state now."""
    ring = _register(prefix).read()
    now = now_utc()
    records = ring.keys_of(check_region(region)) if region else ring.records()
    table = Table("key id", "region", "valid from", "valid until", "revoked", "state",
                  title=f"{len(records)} key(s) in {KeyRegister(None, prefix).topic}")
    for r in records:
        revoked: Any = "-"
        if r.revoked_at is not None:
            why = ring.reason_of(r.key_id)
            revoked = escape(r.revoked_at.isoformat() + (f" ({why})" if why else ""))
        state = key_state(r, now)
        table.add_row(r.key_id, r.region_code, r.valid_from.isoformat(),
                      r.valid_until.isoformat() if r.valid_until else "-", revoked,
                      f"[{_STATE_STYLE[state]}]{state}[/]")
    Console(width=200).print(table)
    if ring.skipped:
        typer.echo(f"{ring.skipped} malformed record(s) skipped (see the log)", err=True)
