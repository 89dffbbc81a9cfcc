"""``egov-bus acls`` and ``egov-bus users``: who may do what on the bus (``topics/acls.yaml``).

Both act with the caller's settings, which must be a super user's (the
operator's ``dev.env`` on the dev stack): only a super user may read and
change ACLs and SCRAM credentials.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from confluent_kafka.admin import AdminClient
from rich.console import Console
from rich.table import Table

from bus.settings import EgovSettings
from topics.acls import AclPolicy, load_acl_policy

acls_app = typer.Typer(help="The broker's ACLs from topics/acls.yaml: create them, report and fix drift. "
                       "Needs a super user's settings (the operator's).", no_args_is_help=True)
users_app = typer.Typer(help="SCRAM users on the broker: enrol a region or a province, rotate a password, list, "
                        "remove. Needs a super user's settings (the operator's).", no_args_is_help=True)

# show_default as text: a "[default: ...]" inside help would be read as Rich markup and vanish.
AclsOpt = Annotated[Optional[Path], typer.Option("--acls", help="ACL file", show_default="the packaged topics/acls.yaml")]
PrefixOpt = Annotated[Optional[str], typer.Option(
    "--prefix", help="Namespace: prefix every topic and user name with '<prefix>.' (staging, tests)")]


def _setup(acls_path: Path | None, prefix: str | None) -> tuple[AdminClient, AclPolicy, EgovSettings]:
    from bus.kafka.connectivity import check_connection
    from bus.settings import load_settings

    from topics.users import require_cluster_admin

    settings = check_connection(load_settings())
    policy = load_acl_policy(acls_path, prefix=prefix, app_id=settings.processor_app_id)
    admin = AdminClient(settings.librdkafka_config())
    require_cluster_admin(admin, settings)
    return admin, policy, settings


@acls_app.command("apply")
def apply_cmd(
    fix: Annotated[bool, typer.Option("--fix", help="Also delete the namespace's ACLs that the policy does not grant")] = False,
    acls_path: AclsOpt = None,
    prefix: PrefixOpt = None,
) -> None:
    """Create the policy's ACLs for the service users and every enrolled region and province. Idempotent.

    Exit code 0 when the cluster matches the policy afterwards, 2 when ACLs the
    policy does not grant are left (drift; delete them with --fix).
    """
    from topics.acl_provision import apply_acls, describe

    console = Console()
    admin, policy, settings = _setup(acls_path, prefix)
    report = apply_acls(admin, policy, fix=fix, timeout=settings.request_timeout_s,  
                        progress=lambda m: console.print(f"[dim]{m}[/]"))
    for entry in report.created:
        console.print(f"[green]created[/] {entry}")
    for binding in report.removed:
        console.print(f"[green]removed[/] {describe(binding)}")
    for binding in report.drift:
        console.print(f"[red]drift[/] {describe(binding)} (not in the policy)")
    console.print(report.summary())
    if report.drift:
        console.print(f"run with --fix to delete {len(report.drift)} of them")
        raise typer.Exit(2)


@acls_app.command("list")
def list_cmd(acls_path: AclsOpt = None, prefix: PrefixOpt = None) -> None:
    """Show each user of the namespace with its ACLs: held, missing, or not in the policy."""
    from topics.acl_provision import describe, plan_acls

    console = Console()
    admin, policy, settings = _setup(acls_path, prefix)
    current = plan_acls(admin, policy, timeout=settings.request_timeout_s)  
    missing = set(current.missing)
    table = Table("user", "role", "ACLs", "missing", title=f"{len(current.users)} users")
    for user, entries in current.users.items():
        matched = policy.match(user)
        table.add_row(user, matched[0].key if matched else "", str(len(entries)), str(len(entries & missing)))
    console.print(table)
    for binding in current.extra:
        console.print(f"[red]drift[/] {describe(binding)} (not in the policy)")
    console.print(f"super users (broker config, no ACLs): {', '.join(sorted(policy.super_user_names()))}")


def _user_for(policy: AclPolicy, region: str | None, province: str | None, principal: str | None) -> str:
    chosen = [x for x in (region, province, principal) if x]
    if len(chosen) != 1:
        raise typer.BadParameter("give exactly one of --region, --province, --principal")
    if region:
        return policy.region_user(region)
    if province:
        return policy.province_user(province)
    user = policy.user(principal or "")
    if policy.match(user) is None:
        from topics.exceptions import AclPolicyError

        raise AclPolicyError(f"{user!r} is no principal of {policy.source}; principals: "
                             f"{', '.join(policy.service_users())}, region-<code>, province-<code>", user=user)
    return user


@users_app.command("add")
def add_cmd(
    region: Annotated[Optional[str], typer.Option("--region", help="Enrol a kabupaten/kota, e.g. 32.01")] = None,
    province: Annotated[Optional[str], typer.Option("--province", help="Enrol a province's feed consumer, e.g. 32")] = None,
    principal: Annotated[Optional[str], typer.Option("--principal", help="A service principal, e.g. gateway")] = None,
    env_file: Annotated[Optional[Path], typer.Option(
        "--env-file", help="Write the user's connection settings (password included) to this owner-only file "
        "instead of printing the password")] = None,
    acls_path: AclsOpt = None,
    prefix: PrefixOpt = None,
) -> None:
    """Create a SCRAM-SHA-512 user and its ACLs; the password is shown once (or only written to --env-file).

    For a user that exists, a new password replaces the old one (rotation); its ACLs stay.
    """
    from topics.acl_provision import apply_acls
    from topics.users import add_user, list_users, write_user_env

    console = Console()
    admin, policy, settings = _setup(acls_path, prefix)
    user = _user_for(policy, region, province, principal)
    password = add_user(admin, user, settings.request_timeout_s)  
    expected = policy.expected([user])[user]
    enrolled = sorted({*list_users(admin, settings.request_timeout_s), user})
    report = apply_acls(admin, policy, timeout=settings.request_timeout_s, enrolled=enrolled)
    created = len([e for e in report.created if e in expected])
    if env_file is not None:
        write_user_env(env_file, settings, user, password)
        console.print(f"user {user} created with {len(expected)} ACLs ({created} new); settings in {env_file} "
                      "(owner-only; EGOV_ENV_FILE=... to use them)")
        return
    console.print(f"user {user} created with {len(expected)} ACLs ({created} new)")
    console.print("password (shown once, not stored anywhere):")
    typer.echo(password)


@users_app.command("list")
def list_users_cmd(acls_path: AclsOpt = None, prefix: PrefixOpt = None) -> None:
    """The broker's SCRAM users with the role the policy gives each."""
    from topics.users import list_users

    console = Console()
    admin, policy, settings = _setup(acls_path, prefix)
    table = Table("user", "role")
    for user in list_users(admin, settings.request_timeout_s):  
        matched = policy.match(user)
        role = "super user" if user in policy.super_user_names() else (matched[0].key if matched else "-")
        table.add_row(user, role)
    console.print(table)


@users_app.command("remove")
def remove_cmd(
    region: Annotated[Optional[str], typer.Option("--region", help="A kabupaten/kota's user, e.g. 32.01")] = None,
    province: Annotated[Optional[str], typer.Option("--province", help="A province consumer's user, e.g. 32")] = None,
    principal: Annotated[Optional[str], typer.Option("--principal", help="A service principal, e.g. gateway")] = None,
    acls_path: AclsOpt = None,
    prefix: PrefixOpt = None,
) -> None:
    """Delete a user's SCRAM credential; its ACLs become drift for `acls apply --fix`."""
    from topics.users import remove_user

    admin, policy, settings = _setup(acls_path, prefix)
    user = _user_for(policy, region, province, principal)
    remove_user(admin, user, settings.request_timeout_s)  
    Console().print(f"user {user} removed; run `egov-bus acls apply --fix` to delete its ACLs")
