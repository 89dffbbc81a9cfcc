"""The whole flow on the secured stack, every component as its own principal, views exact.

The operator (super user) applies the topics and registers the schemas and
the regions' public keys; two regions are enrolled with `egov-bus users add`
and publish with their own credentials and signing keys through the
simulator, the importer and the outbox relay; the gateway publishes for a
third region as the ``gateway`` principal, signing with that region's key; the
processors verify every signature and aggregate as ``processors``; the views
API serves as ``views-api``. The views must equal a recomputation from
what the theme topics hold, and no log, no process argument and no
`dev status` output may hold a password.

This test alone uses the stack's unprefixed topics and its own principals
(``principals/*.env`` written by `dev up --secure`), as a deployment would.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from adapters.gateway import hash_api_key, new_api_key
from datetime import datetime, timezone

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from adapters.outbox import ddl
from bus.keys import write_signing_key
from bus.keys.register import KeyRegister
from schemas.signing import KeyRecord, SigningKey, raw_public_key, read_signature
from bus.subscriber import Subscriber
from bus.retry import RetryPolicy
from bus.serde import AvroDeserializer, make_registry_client
from devtools.devstack import process
from processors.api.access import mint_token
from schemas.cloudevents import HEADER_TYPE, header_text, parse_ce_type
from schemas.event_types import THEMES
from schemas.topic_names import province_feed_topic, theme_topic
from tests.fixtures.processors import EGOV, read_topic
from tests.fixtures.secure import file_settings

pytestmark = pytest.mark.integration

REGIONS = ("32.01", "73.71")
GATEWAY_REGION = "35.78"
GATEWAY_EVENTS = 20
IMPORTED = 10
RELAYED = 5
PSEUDONYM_KEY = "secure-flow-test-key-not-a-secret"
_WAIT = RetryPolicy(initial_s=0.2, cap_s=2.0, floor_s=0.1)


def _env(env_file: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EGOV_")}
    env.update(EGOV_ENV_FILE=str(env_file), EGOV_PSEUDONYM_KEY=PSEUDONYM_KEY, COLUMNS="200", **extra)
    return env


def _run(args: list[str], env: dict[str, str], cwd: Path, timeout: float = 180) -> subprocess.CompletedProcess:
    done = subprocess.run([EGOV, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"egov-bus {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done


def _expected_views(operator, registry) -> tuple[dict[str, int], dict[str, tuple[Decimal, Decimal]], int]:
    """integration_index events per region|theme and budget_absorption per region|year, from the topics."""
    decode = AvroDeserializer(registry)
    counts: Counter[str] = Counter()
    budget: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    total = 0
    for theme in THEMES:
        for msg in read_topic(operator, theme_topic(theme)):
            region = msg.key().decode()
            counts[f"{region}|{theme}"] += 1
            total += 1
            parsed = parse_ce_type(header_text(msg.headers(), HEADER_TYPE) or "")
            name = parsed[1] if parsed else None
            if name in ("BudgetAllocated", "BudgetRealizationPosted"):
                value = decode(msg.value()).value
                row = budget[f"{region}|{value['fiscal_year']}"]
                row[0 if name == "BudgetAllocated" else 1] += Decimal(str(value["amount"]))
    return dict(counts), {k: (a, r) for k, (a, r) in budget.items()}, total


def _view(url: str, token: str, name: str) -> dict | None:
    answer = httpx.get(f"{url}/views/{name}", params={"level": "region"}, timeout=10,
                       headers={"Authorization": f"Bearer {token}"})
    return answer.json() if answer.status_code == 200 else None


@pytest.mark.timeout(900)
def test_the_whole_flow_on_the_secured_stack(secure_stack, tmp_path: Path) -> None:
    state = secure_stack.state_dir
    principals = state / "principals"
    operator_env = _env(secure_stack.operator_env)
    records: list[process.ProcessRecord] = []
    logs: list[Path] = []
    outputs: list[str] = []
    try:
        # The operator: topics and schemas (registry writes are the operator's only), two regions enrolled.
        outputs.append(_run(["topics", "apply"], operator_env, tmp_path).stdout)
        outputs.append(_run(["schemas", "register"], operator_env, tmp_path).stdout)
        region_env = {}
        for code in REGIONS:
            region_env[code] = tmp_path / f"region-{code}.env"
            added = _run(["users", "add", "--region", code, "--env-file", str(region_env[code])], operator_env, tmp_path)
            outputs.append(added.stdout + added.stderr)
            assert f"user region-{code} created with 31 ACLs" in " ".join(added.stdout.split())

        # Each region's signing key (the gateway holds its region's); the operator registers the public keys.
        keys = tmp_path / "keys"
        keys.mkdir()
        signing = {code: SigningKey(code, Ed25519PrivateKey.generate()) for code in (*REGIONS, GATEWAY_REGION)}
        for key in signing.values():
            write_signing_key(keys, key)
        KeyRegister(secure_stack.operator).write(*(
            KeyRecord(k.key_id, k.region_code, raw_public_key(k.private_key), datetime(2000, 1, 1, tzinfo=timezone.utc))
            for k in signing.values()))

        # The processors (verifying every signature) and the views API, each as its own principal.
        worker_log = tmp_path / "worker.log"
        records.append(process.start("worker", [EGOV, "process", "--log-level", "info"], worker_log,
                                     env=_env(principals / "processors.env", EGOV_PROCESSOR_DATA_DIR=str(tmp_path / "w")),
                                     cwd=tmp_path))
        logs.append(worker_log)
        tokens_file = tmp_path / "views-tokens.yaml"
        token, _ = mint_token(tokens_file, "flow-test", "nation")
        views_port = process.free_port()
        views_log = tmp_path / "views.log"
        records.append(process.start("views", [EGOV, "dashboard", "--port", str(views_port), "--log-level", "info"],
                                     views_log, env=_env(principals / "views-api.env",
                                                         EGOV_VIEWS_API_TOKENS_FILE=str(tokens_file)), cwd=tmp_path))
        logs.append(views_log)
        views_url = f"http://127.0.0.1:{views_port}"

        # Two regions publish through the simulator with their own credentials.
        for i, code in enumerate(REGIONS):
            spool = tmp_path / f"spool-{code}"
            done = _run(["simulate", "--regions", code, "--rate", "400", "--duration", "1", "--seed", str(11 + i)],
                        _env(region_env[code], EGOV_SPOOL_DIR=str(spool),
                             EGOV_SIGNING_KEY_FILE=str(keys / f"{code}.key")), tmp_path)
            outputs.append(done.stdout + done.stderr)
            assert re.search(r"simulated 400 events", done.stdout), done.stdout
            assert "still spooled" not in done.stdout

        # The gateway publishes for a third region as the gateway principal.
        key = new_api_key()
        keys_file = tmp_path / "gateway-keys.json"
        keys_file.write_text(json.dumps({"keys": [{"region_code": GATEWAY_REGION, "name": "flow",
                                                   "hash": hash_api_key(key)}]}))
        gw_port = process.free_port()
        gw_log = tmp_path / "gateway.log"
        records.append(process.start("gateway", [EGOV, "gateway", "--port", str(gw_port), "--log-level", "info"], gw_log,
                                     env=_env(principals / "gateway.env", EGOV_GATEWAY_API_KEYS_FILE=str(keys_file),
                                              EGOV_SPOOL_DIR=str(tmp_path / "gw-spool"),
                                              EGOV_SIGNING_KEYS_DIR=str(keys)), cwd=tmp_path))
        logs.append(gw_log)
        gw_url = f"http://127.0.0.1:{gw_port}"

        def gateway_up() -> bool:
            assert process.is_running(records[-1]), process.log_tail(gw_log)
            try:
                return httpx.get(f"{gw_url}/healthz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        assert _WAIT.wait_until(gateway_up, 90), process.log_tail(gw_log)
        batch = [{"event_type": "BudgetAllocated", "occurred_at": "2026-03-01T10:00:00+07:00", "source_system": "simda",
                  "allocation_id": f"DPA-{i}", "fiscal_year": 2026, "agency_code": "1.02.0.00.0.00.01.0000",
                  "program_code": "1.02.02", "activity_code": "1.02.02.2.01", "amount": "1500000.50"}
                 for i in range(GATEWAY_EVENTS)]
        answer = httpx.post(f"{gw_url}/v1/batch", json={"events": batch}, timeout=60,
                            headers={"Authorization": f"Bearer {key}"})
        assert answer.status_code == 202, answer.text

        # A region's importer and outbox relay, with that region's credentials.
        csv_file = tmp_path / "alokasi.csv"
        csv_file.write_text("region_code,source_system,occurred_at,allocation_id,fiscal_year,agency_code,program_code,"
                            "activity_code,amount\n" + "".join(
                                f"{REGIONS[0]},simda,2026-02-01T08:00:{i:02d}+07:00,IMP-{i},2026,1.02.0.00.0.00.01.0000,"
                                f"1.02.02,1.02.02.2.01,{1000 + i}.25\n" for i in range(IMPORTED)))
        imported = _run(["import", str(csv_file), "--event-type", "BudgetAllocated"],
                        _env(region_env[REGIONS[0]], EGOV_SPOOL_DIR=str(tmp_path / "imp-spool"),
                             EGOV_SIGNING_KEY_FILE=str(keys / f"{REGIONS[0]}.key")), tmp_path)
        outputs.append(imported.stdout + imported.stderr)
        assert f"{IMPORTED} rows: {IMPORTED} published, 0 spooled, 0 failed" in imported.stdout
        outbox = tmp_path / "app.db"
        with sqlite3.connect(outbox) as conn:
            conn.executescript(ddl("sqlite"))
            conn.executemany("INSERT INTO egov_outbox (event_type, region_code, source_system, payload) VALUES (?, ?, ?, ?)",
                             [("PermitApplied", REGIONS[1], "oss", json.dumps({"permit_id": f"P-{i}", "permit_type": "PBG",
                                                                               "applicant_kind": "perorangan"}))
                              for i in range(RELAYED)])
        conn.close()
        relayed = _run(["outbox-relay", "--dsn", f"sqlite:///{outbox}", "--exit-when-empty"],
                       _env(region_env[REGIONS[1]], EGOV_SPOOL_DIR=str(tmp_path / "relay-spool"),
                            EGOV_SIGNING_KEY_FILE=str(keys / f"{REGIONS[1]}.key")), tmp_path)
        outputs.append(relayed.stdout + relayed.stderr)
        assert f"{RELAYED} sent, 0 rejected" in relayed.stdout

        # What the theme topics hold is what was accepted; the views must say exactly that.
        operator = secure_stack.operator
        counts, budget, total = _expected_views(operator, make_registry_client(operator))
        assert total == 400 * len(REGIONS) + GATEWAY_EVENTS + IMPORTED + RELAYED
        # Every publishing path signed: each record carries its region's key id.
        for theme in THEMES:
            for msg in read_topic(operator, theme_topic(theme)):
                sig = read_signature(msg.headers())
                assert sig is not None and sig.key_id == signing[msg.key().decode()].key_id, (theme, msg.key())
        assert {k.split("|")[0] for k in counts} == {*REGIONS, GATEWAY_REGION}
        assert budget[f"{GATEWAY_REGION}|2026"][0] >= Decimal("1500000.50") * GATEWAY_EVENTS

        def views_match() -> bool:
            ii = _view(views_url, token, "integration_index")
            ba = _view(views_url, token, "budget_absorption")
            if ii is None or ba is None:
                return False
            got = {f"{r['region_code']}|{r['theme']}": r["events_total"] for r in ii["rows"]}
            got_budget = {f"{r['region_code']}|{r['fiscal_year']}": (Decimal(str(r["allocated"])), Decimal(str(r["realised"])))
                          for r in ba["rows"]}
            return got == counts and got_budget == budget

        for record, log in zip(records[:2], logs[:2]):
            assert process.is_running(record), process.log_tail(log)
        assert _WAIT.wait_until(views_match, 240), (
            f"views never matched the topics; worker log:\n{process.log_tail(worker_log)}\n"
            f"views log:\n{process.log_tail(views_log)}")

        # A province's consumer reads its own routed feed through the subscriber SDK: exactly the gateway's events.
        province_env = tmp_path / "province-35.env"
        outputs.append(_run(["users", "add", "--province", "35", "--env-file", str(province_env)], operator_env,
                            tmp_path).stdout)
        province = file_settings(province_env)
        seen = []
        with Subscriber(province, "province-35.flow-test", list(THEMES), feed=province_feed_topic("35")) as sub:
            def all_read() -> bool:
                ev = sub.poll(0.5)
                if ev is not None:
                    seen.append(ev)
                    sub.done(ev)
                return len(seen) >= GATEWAY_EVENTS
            assert _WAIT.wait_until(all_read, 120), f"read {len(seen)} of {GATEWAY_EVENTS} from the province feed"
            assert sub.poll(2.0) is None
        assert {(ev.key, ev.event_type, ev.theme) for ev in seen} == {(GATEWAY_REGION, "BudgetAllocated", "budgeting")}

        # The operator's tools on the secured stack.
        # Filtered: the first records of the topic may be the simulator's other budgeting events.
        tailed = _run(["tail", "budgeting", "--event-type", "BudgetAllocated", "--limit", "3"], operator_env, tmp_path)
        assert len([line for line in tailed.stdout.splitlines() if "BudgetAllocated" in line]) == 3, tailed.stdout
        outputs.append(tailed.stdout + tailed.stderr)
        outputs.append(_run(["dlq", "inspect", "budgeting"], operator_env, tmp_path).stdout)
        shown = _run(["views", "budget_absorption", "--region", GATEWAY_REGION], operator_env, tmp_path)
        assert "35.78" in shown.stdout, shown.stdout
        outputs.append(shown.stdout + shown.stderr)

        status = subprocess.run([EGOV, "dev", "status", "--state-dir", str(state)], capture_output=True, text=True,
                                env=operator_env, timeout=60)
        outputs.append(status.stdout + status.stderr)
        assert "SASL_SSL" in status.stdout
        cmdlines = [Path(f"/proc/{r.pid}/cmdline").read_bytes().decode(errors="replace") for r in records
                    if process.is_running(r)]
        broker = secure_stack_broker_cmdline(state)
    finally:
        for record in records:
            process.stop(record, timeout=30)

    # No password or SCRAM secret anywhere: logs (ours and the stack's), outputs, process arguments.
    secrets = _passwords([*principals.glob("*.env"), secure_stack.operator_env, *tmp_path.glob("region-*.env")])
    secrets += list(json.loads((state / "secrets" / "super-users.json").read_text()).values())
    assert len(secrets) >= 9
    texts = {str(p): p.read_text(errors="replace") for p in [*logs, *secure_stack.logs()] if p.is_file()}
    texts.update({f"output {i}": text for i, text in enumerate(outputs)})
    texts.update({f"cmdline {i}": text for i, text in enumerate([*cmdlines, broker])})
    leaks = [(where, secret[:4] + "…") for secret in secrets for where, text in texts.items() if secret in text]
    assert not leaks, leaks


def _passwords(files: list[Path]) -> list[str]:
    found = []
    for path in files:
        for line in path.read_text().splitlines():
            if line.startswith("EGOV_SASL_PASSWORD="):
                found.append(line.partition("=")[2])
    return found


def secure_stack_broker_cmdline(state: Path) -> str:
    """The running broker's and registry's arguments, as `ps` shows them."""
    info = json.loads((state / "dev.json").read_text())
    return " ".join(Path(f"/proc/{rec['pid']}/cmdline").read_bytes().decode(errors="replace")
                    for rec in info["processes"].values())
