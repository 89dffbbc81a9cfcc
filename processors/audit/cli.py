"""``egov-bus audit verify|receipt|check-receipt``: the auditor's and the region's commands."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

audit_app = typer.Typer(help="Verify the centre's audit chain (egov.audit.log) and issue or check receipts.",
                        no_args_is_help=True)


def _theme_topics(prefix: str | None, themes: list[str] | None) -> list[str]:
    from schemas.topic_names import theme_topic
    from topics.catalog import load_catalog

    known = {t.theme: t.name for t in load_catalog(prefix=prefix).of_kind("theme")}
    if not themes:
        return sorted(known.values())
    unknown = sorted(set(themes) - set(known))
    if unknown:
        raise typer.BadParameter(f"unknown theme(s) {', '.join(unknown)}", param_hint="--theme")
    return [theme_topic(t, prefix) for t in themes]


def run_verify(settings: Any, *, prefix: str | None = None, themes: list[str] | None = None,
               since: datetime | None = None, source_topic_suffix: str | None = None) -> Any:
    """Verify the chains of ``themes`` (default: all); returns a :class:`~processors.audit.verify.Report`."""
    from bus.keys.register import KeyRegister
    from processors.audit.reader import TopicReader
    from processors.audit.verify import Report, check_links, parse_links, verify_chain
    from schemas.topic_names import audit_topic

    wanted = set(_theme_topics(prefix, themes))
    ring = KeyRegister(settings, prefix=prefix).read()
    report = Report()
    log_topic = audit_topic(prefix)
    with TopicReader(settings) as reader:
        msgs = [m for p in reader.partitions(log_topic) for m in reader.read(log_topic, p)]
        for key, links in sorted(parse_links(msgs).items()):
            topic = key.rsplit(":", 1)[0]
            if topic not in wanted:
                continue
            report.chains += 1
            records = check_links(links, ring.lookup, report, since)
            source = topic + source_topic_suffix if source_topic_suffix else None
            verify_chain(reader, records, source, report)
    return report


@audit_app.command("verify")
def verify(
    theme: Annotated[Optional[list[str]], typer.Option(help="Only this theme (repeatable) [default: all]")] = None,
    from_: Annotated[Optional[str], typer.Option("--from", help="Only audit records from this ISO 8601 time on")] = None,
    prefix: Annotated[Optional[str], typer.Option(help="Topic-name prefix (as for topics apply)")] = None,
    source_topic_suffix: Annotated[Optional[str], typer.Option(
        help="Read each theme topic's records from <topic><suffix>, a copy or export, offsets mapped by position")] = None,
) -> None:
    """Recompute the audit chain from the theme topics; one line per altered, missing, inserted or reordered
    record and per broken link or signature. Exit 0 when everything holds, 1 otherwise."""
    from bus.kafka.connectivity import check_connection
    from bus.settings import load_settings

    since = None
    if from_:
        try:
            since = datetime.fromisoformat(from_)
        except ValueError:
            raise typer.BadParameter(f"{from_!r} is not an ISO 8601 time", param_hint="--from") from None
        if since.tzinfo is None:
            raise typer.BadParameter("give the time with its UTC offset, e.g. 2026-01-01T00:00:00+07:00",
                                     param_hint="--from")
    report = run_verify(check_connection(load_settings()), prefix=prefix, themes=theme, since=since,
                        source_topic_suffix=source_topic_suffix)
    for line in report.problems:
        typer.echo(line)
    for line in report.notes:
        typer.echo(f"note: {line}")
    typer.echo(report.summary())
    raise typer.Exit(0 if report.ok else 1)


def find_receipt(settings: Any, event_id: str, *, prefix: str | None = None, themes: list[str] | None = None) -> dict:
    """The receipt of the event whose ``ce_id`` is ``event_id``; :class:`AuditError` when it cannot be made."""
    from bus.keys.register import KeyRegister
    from processors.audit.chain import AuditRecord, entry_of
    from processors.audit.exceptions import AuditError
    from processors.audit.reader import TopicReader
    from processors.audit.receipt import build_receipt
    from schemas.cloudevents import HEADER_ID
    from schemas.signing import read_signature
    from schemas.topic_names import audit_topic

    wanted = event_id.encode()
    with TopicReader(settings) as reader:
        found = None
        for topic in _theme_topics(prefix, themes):
            for p in reader.partitions(topic):
                for msg in reader.read(topic, p):
                    if any(name == HEADER_ID and value == wanted for name, value in msg.headers() or ()):
                        found = msg
                        break
                if found is not None:
                    break
            if found is not None:
                break
        if found is None:
            raise AuditError(f"no event {event_id} in the theme topics")
        log_topic = audit_topic(prefix)
        key = f"{found.topic()}:{found.partition()}".encode()
        audit = None
        for p in reader.partitions(log_topic):
            for msg in reader.read(log_topic, p):
                if msg.key() == key:
                    record = AuditRecord.decode(msg.value())
                    if record.first_offset <= found.offset() <= record.last_offset and \
                            found.offset() in record.offsets_held():
                        audit = record
    if audit is None:
        raise AuditError(f"event {event_id} ({found.topic()}[{found.partition()}]@{found.offset()}) is in no audit "
                         "record (not processed yet, or the audit log was off)")
    if dict(audit.entry_list()).get(found.offset()) != entry_of(found)[1]:
        raise AuditError(f"event {event_id} differs from what the centre audited at its offset")
    ring = KeyRegister(settings, prefix=prefix).read()
    signature = read_signature(found.headers())
    keys = [ring.lookup(kid) for kid in ((signature.key_id if signature else None), audit.kid) if kid]
    if len([k for k in keys if k is not None]) != 2:
        raise AuditError("the event is unsigned, the audit record unsigned, or a key is not in the register")
    return build_receipt(found, audit, keys)


@audit_app.command("receipt")
def receipt(
    event_id: Annotated[str, typer.Argument(help="The event's id (its ce_id header, the envelope's event_id)")],
    theme: Annotated[Optional[list[str]], typer.Option(help="Look only in this theme (repeatable)")] = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write the receipt here [default: stdout]")] = None,
    prefix: Annotated[Optional[str], typer.Option(help="Topic-name prefix (as for topics apply)")] = None,
) -> None:
    """Print a self-contained receipt of one event: the event and its signature, its audit record and the
    centre's signature, and the public keys (checked offline by `egov-bus audit check-receipt`)."""
    from bus.kafka.connectivity import check_connection
    from bus.settings import load_settings
    from processors.audit.exceptions import AuditError
    from processors.audit.receipt import dumps

    try:
        text = dumps(find_receipt(check_connection(load_settings()), event_id, prefix=prefix, themes=theme))
    except AuditError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text)
        typer.echo(f"wrote the receipt of {event_id} to {output}")


@audit_app.command("check-receipt")
def check_receipt_command(
    file: Annotated[Path, typer.Argument(help="A receipt written by `egov-bus audit receipt`", exists=True, dir_okay=False)],
) -> None:
    """Verify a receipt offline (no broker): the region's signature, the event's entry in its audit record,
    the record's hash and the centre's signature. Exit 0 when it holds, 1 with the reason otherwise."""
    from processors.audit.exceptions import ReceiptError
    from processors.audit.receipt import check_receipt

    try:
        typer.echo(check_receipt(file.read_bytes()))
    except ReceiptError as exc:
        typer.echo(f"receipt invalid: {exc}")
        raise typer.Exit(1) from None
