"""``egov-bus catalog``: export the catalogue as AsyncAPI 3.0, Strimzi KafkaTopic or KafkaUser resources, or Markdown."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
import yaml

from topics.acls import load_acl_policy
from topics.catalog import load_catalog
from topics.exports import asyncapi, markdown, strimzi_user_templates_yaml, strimzi_users_yaml, strimzi_yaml

app = typer.Typer(help="Export the event and topic catalogue.", no_args_is_help=True)

OutputOpt = Annotated[Optional[Path], typer.Option("--output", "-o", help="Write here ('-' or none: standard output)")]
PrefixOpt = Annotated[Optional[str], typer.Option("--prefix", help="Topic-name prefix, as for `egov-bus topics apply --prefix`")]
DEFAULT_MARKDOWN = Path("docs/events.md")


def _write(text: str, output: Path | None) -> None:
    if output is None or str(output) == "-":
        sys.stdout.write(text)
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    typer.echo(f"wrote {output}", err=True)


@app.command("asyncapi")
def asyncapi_cmd(
    output: OutputOpt = None,
    prefix: PrefixOpt = None,
    fmt: Annotated[str, typer.Option("--format", help="yaml or json")] = "yaml",
    version: Annotated[str, typer.Option(help="info.version of the document")] = "1.0.0",
) -> None:
    """AsyncAPI 3.0 document: a channel per topic, a message per event type (Avro payload, key, CloudEvents headers)."""
    if fmt not in ("yaml", "json"):
        raise typer.BadParameter("must be yaml or json", param_hint="--format")
    doc = asyncapi(load_catalog(prefix=prefix), version=version)
    text = json.dumps(doc, indent=2, ensure_ascii=False) + "\n" if fmt == "json" else yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    _write(text, output)


@app.command("strimzi")
def strimzi_cmd(
    cluster: Annotated[str, typer.Option("--cluster", help="Strimzi Kafka cluster name (label strimzi.io/cluster)")] = "egov",
    namespace: Annotated[Optional[str], typer.Option("--namespace", help="metadata.namespace of the resources")] = None,
    output: OutputOpt = None,
    prefix: PrefixOpt = None,
) -> None:
    """KafkaTopic resources (kafka.strimzi.io/v1beta2) for every catalogue topic."""
    _write(strimzi_yaml(load_catalog(prefix=prefix), cluster, namespace), output)


@app.command("strimzi-users")
def strimzi_users_cmd(
    cluster: Annotated[str, typer.Option("--cluster", help="Strimzi Kafka cluster name (label strimzi.io/cluster)")] = "egov",
    namespace: Annotated[Optional[str], typer.Option("--namespace", help="metadata.namespace of the resources")] = None,
    region: Annotated[Optional[list[str]], typer.Option("--region", help="A region's user (Kemendagri code, e.g. 32.01); repeatable")] = None,
    province: Annotated[Optional[list[str]], typer.Option("--province", help="A province consumer's user (e.g. 32); repeatable")] = None,
    app_id: Annotated[str, typer.Option("--app-id", help="The processors' application id (EGOV_PROCESSOR_APP_ID)")] = "egov-processors",
    templates: Annotated[bool, typer.Option("--templates", help="The Helm chart's form (files/users.yaml): {app_id}, {region_code}, {province_code} left as placeholders")] = False,
    output: OutputOpt = None,
    prefix: PrefixOpt = None,
) -> None:
    """KafkaUser resources (kafka.strimzi.io/v1beta2, SCRAM-SHA-512) with the ACLs of topics/acls.yaml."""
    policy = load_acl_policy(prefix=prefix, app_id=app_id)
    if templates:
        if region or province or namespace:
            raise typer.BadParameter("the template form takes no --region, --province or --namespace", param_hint="--templates")
        _write(strimzi_user_templates_yaml(policy, cluster), output)
        return
    _write(strimzi_users_yaml(policy, cluster, namespace, region or (), province or ()), output)


@app.command("markdown")
def markdown_cmd(
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write ('-' for standard output)")] = DEFAULT_MARKDOWN,
) -> None:
    """The readable event catalogue (kept in docs/events.md)."""
    _write(markdown(load_catalog()), output)
