"""``egov-bus dashboard`` start-up refusals and ``egov-bus dashboard token``, as processes (no broker needed)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import yaml

from processors.api.access import TokenStore, ViewToken

EGOV = str(Path(sys.executable).with_name("egov-bus"))


def egov(*args: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("EGOV_")}
    # No broker is listening on port 9: a start that got past the token check would fail differently.
    clean.update(EGOV_ENV_FILE="/dev/null", EGOV_BOOTSTRAP_SERVERS="127.0.0.1:9", COLUMNS="400", **env)
    return subprocess.run([EGOV, *args], capture_output=True, text=True, env=clean, cwd=tmp_path, timeout=60)


def test_without_tokens_or_public_the_dashboard_refuses_to_start_naming_both_ways_out(tmp_path):
    result = egov("dashboard", "--port", "9", tmp_path=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "error: the views API has no access tokens: set EGOV_VIEWS_API_TOKENS_FILE (mint one with "
        "`egov-bus dashboard token`) or serve open data with `egov-bus dashboard --public`"
    )
    assert "Uvicorn running" not in result.stdout + result.stderr


def test_a_bad_tokens_file_refuses_to_start_naming_the_entry(tmp_path):
    tokens = tmp_path / "tokens.yaml"
    tokens.write_text("- {name: bappeda-papua, token_hash: 'sha256:" + "0" * 64 + "', scope: 'province:99'}\n")
    result = egov("dashboard", tmp_path=tmp_path, EGOV_VIEWS_API_TOKENS_FILE=str(tokens))
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"error: views API tokens file {tokens}: entry 1 ('bappeda-papua'): "
        "scope 'province:99': 99 is not a current Kemendagri province code"
    )


def test_token_prints_the_token_once_on_stdout_and_appends_its_hash(tmp_path):
    first = egov("dashboard", "token", "--scope", "province:32", "--name", "bappeda-jabar", "--file", "tokens.yaml",
                 tmp_path=tmp_path)
    assert first.returncode == 0, first.stderr
    token = first.stdout.strip()
    assert token.startswith("egv_") and first.stdout == token + "\n"
    assert "views API token for bappeda-jabar (province:32), hash added to tokens.yaml" in first.stderr
    path = tmp_path / "tokens.yaml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and token not in path.read_text()
    # The default file is EGOV_VIEWS_API_TOKENS_FILE.
    second = egov("dashboard", "token", "--scope", "nation", "--name", "kemendagri", tmp_path=tmp_path,
                  EGOV_VIEWS_API_TOKENS_FILE=str(path))
    assert second.returncode == 0, second.stderr
    assert [e["name"] for e in yaml.safe_load(path.read_text())] == ["bappeda-jabar", "kemendagri"]
    store = TokenStore.load_file(path)
    assert (store.authenticate(token), store.authenticate(second.stdout.strip())) == (
        ViewToken("bappeda-jabar", "32"), ViewToken("kemendagri", None))


def test_token_refusals_are_one_line_errors(tmp_path):
    no_file = egov("dashboard", "token", "--scope", "nation", "--name", "x", tmp_path=tmp_path)
    assert (no_file.returncode, no_file.stderr.strip()) == (
        1, "error: no tokens file: pass --file <tokens.yaml> or set EGOV_VIEWS_API_TOKENS_FILE")
    bad = egov("dashboard", "token", "--scope", "region:32.01", "--name", "x", "--file", "t.yaml", tmp_path=tmp_path)
    assert bad.returncode == 1 and bad.stdout == ""
    assert bad.stderr.strip() == ("error: new token for t.yaml: unknown scope 'region:32.01'; "
                                  "scopes are 'nation' or 'province:<code>', e.g. province:32")
    assert not (tmp_path / "t.yaml").exists()
