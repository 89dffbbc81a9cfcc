"""The views API's token store: hashing, scopes, the tokens file and its errors, minting (unit)."""

from __future__ import annotations

import stat
from types import SimpleNamespace

import pytest
import yaml

from bus.errors import EgovBusError
from processors.api.access import TokenStore, ViewToken, hash_token, mint_token, new_token, parse_scope
from processors.api.exceptions import ViewTokensConfigError

HASH_A = hash_token("egv_a")
HASH_B = hash_token("egv_b")


def write(tmp_path, text: str):
    path = tmp_path / "tokens.yaml"
    path.write_text(text)
    return path


def test_tokens_are_random_and_stored_as_sha256_hex():
    token = new_token()
    assert token.startswith("egv_") and len(token) == 4 + 43 and token != new_token()
    assert hash_token("abc") == "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert len(hash_token(token)) == len("sha256:") + 64 and token not in hash_token(token)


@pytest.mark.parametrize(("scope", "province"), [("nation", None), ("province:32", "32"), (" province:91 ", "91")])
def test_scopes_nation_and_current_provinces(scope, province):
    assert parse_scope(scope) == province


@pytest.mark.parametrize(
    ("scope", "message"),
    [
        ("region:32.01", "unknown scope 'region:32.01'; scopes are 'nation' or 'province:<code>', e.g. province:32"),
        ("province", "unknown scope 'province'; scopes are 'nation' or 'province:<code>', e.g. province:32"),
        ("Nation", "unknown scope 'Nation'; scopes are 'nation' or 'province:<code>', e.g. province:32"),
        ("province:99", "scope 'province:99': 99 is not a current Kemendagri province code"),
        ("province:3201", "scope 'province:3201': 3201 is not a current Kemendagri province code"),
        ("province:32.01", "scope 'province:32.01': 32.01 is not a current Kemendagri province code "
                           "(a kabupaten/kota: scopes are whole provinces)"),
    ],
)
def test_other_scopes_are_refused_with_the_reason(scope, message):
    with pytest.raises(ValueError) as caught:
        parse_scope(scope)
    assert str(caught.value) == message


def test_a_file_loads_and_authenticates_by_hash(tmp_path):
    path = write(tmp_path, f"""
# Comments are fine.
- name: bappeda-jabar
  token_hash: "{HASH_A.upper().replace('SHA256:', 'sha256:')}"
  scope: province:32
- {{name: kemendagri, token_hash: "{HASH_B}", scope: nation}}
""")
    store = TokenStore.load_file(path)
    assert store.tokens() == [ViewToken("bappeda-jabar", "32"), ViewToken("kemendagri", None)]
    assert store.authenticate("egv_a") == ViewToken("bappeda-jabar", "32")
    assert store.authenticate(" egv_b ") == ViewToken("kemendagri", None)
    assert [store.authenticate(t) for t in (None, "", "  ", "egv_c", HASH_A)] == [None] * 5
    assert [(t.scope, t.may_read_province("32"), t.may_read_province("33")) for t in store.tokens()] == [
        ("province:32", True, False), ("nation", True, True)]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("keys: []", "expected a YAML list of {name, token_hash, scope}"),
        ("- [a, b]", "entry 1: expected a mapping with name, token_hash, scope"),
        (f"- {{name: a, token_hash: '{HASH_A}'}}", "entry 1 ('a'): needs scope"),
        (f"- {{name: a, token_hash: '{HASH_A}', scope: nation, rate: 3}}", "entry 1 ('a'): unknown key(s) rate"),
        ("- {name: a, token_hash: egv_the_token_itself, scope: nation}",
         "entry 1 ('a'): 'token_hash' must be 'sha256:<64 hex>', never the token itself "
         "(mint one with `egov-bus dashboard token --scope ... --name ...`)"),
        (f"- {{name: a, token_hash: '{HASH_A[:-1]}x', scope: nation}}", "entry 1 ('a'): 'token_hash' must be"),
        (f"- {{name: a, token_hash: '{HASH_A}', scope: nation}}\n- {{name: b, token_hash: '{HASH_B}', scope: province:33.01}}",
         "entry 2 ('b'): scope 'province:33.01': 33.01 is not a current Kemendagri province code"),
        (f"- {{name: a, token_hash: '{HASH_A}', scope: 'province:77'}}",
         "entry 1 ('a'): scope 'province:77': 77 is not a current Kemendagri province code"),
        (f"- {{name: a, token_hash: '{HASH_A}', scope: nation}}\n- {{name: a, token_hash: '{HASH_B}', scope: nation}}",
         "entry 2 ('a'): another entry already has the name 'a'; names must be unique"),
        (f"- {{name: a, token_hash: '{HASH_A}', scope: nation}}\n- {{name: b, token_hash: '{HASH_A}', scope: nation}}",
         "entry 2 ('b'): the same token hash as 'a'"),
        (f"- {{name: 'two words', token_hash: '{HASH_A}', scope: nation}}",
         "entry 1 ('two words'): 'name' must be 1-64 letters, digits, '.', '_' or '-' (it appears in 403 answers), got 'two words'"),
        ("- {name: a, token_hash: [", "does not parse"),
    ],
)
def test_a_bad_entry_is_refused_naming_the_file_and_the_entry(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ViewTokensConfigError) as caught:
        TokenStore.load_file(path)
    assert isinstance(caught.value, EgovBusError)
    assert str(caught.value).startswith(f"views API tokens file {path}")
    assert message in str(caught.value)


def test_no_file_or_an_empty_file_refuses_to_start_naming_both_ways_out(tmp_path):
    with pytest.raises(ViewTokensConfigError) as caught:
        TokenStore.from_settings(SimpleNamespace(views_api_tokens_file=None))
    assert str(caught.value) == (
        "the views API has no access tokens: set EGOV_VIEWS_API_TOKENS_FILE (mint one with "
        "`egov-bus dashboard token`) or serve open data with `egov-bus dashboard --public`"
    )
    empty = write(tmp_path, "# nobody yet\n")
    with pytest.raises(ViewTokensConfigError, match=r"has no tokens: add one with `egov-bus dashboard token`, "
                                                    r"or serve without access control with --public"):
        TokenStore.from_settings(SimpleNamespace(views_api_tokens_file=str(empty)))
    with pytest.raises(ViewTokensConfigError, match=r"cannot read views API tokens file .*missing.yaml: No such file"):
        TokenStore.from_settings(SimpleNamespace(views_api_tokens_file=str(tmp_path / "missing.yaml")))


def test_minting_creates_the_file_0600_and_appends_keeping_comments(tmp_path):
    path = tmp_path / "tokens.yaml"
    token, owner = mint_token(path, "bappeda-jabar", "province:32")
    assert owner == ViewToken("bappeda-jabar", "32")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert token not in path.read_text()
    path.write_text("# managed by the platform team\n" + path.read_text())
    second, _ = mint_token(path, "kemendagri", "nation")
    assert path.read_text().startswith("# managed by the platform team\n")
    assert yaml.safe_load(path.read_text()) == [
        {"name": "bappeda-jabar", "token_hash": hash_token(token), "scope": "province:32"},
        {"name": "kemendagri", "token_hash": hash_token(second), "scope": "nation"},
    ]
    store = TokenStore.load_file(path)
    assert (store.authenticate(token), store.authenticate(second)) == (owner, ViewToken("kemendagri", None))


@pytest.mark.parametrize(
    ("name", "scope", "message"),
    [
        ("bappeda-jabar", "nation", "another entry already has the name 'bappeda-jabar'"),
        ("bappeda-jateng", "province:33.01", "33.01 is not a current Kemendagri province code"),
        ("dinas kominfo", "nation", "'name' must be 1-64 letters"),
    ],
)
def test_minting_refuses_a_bad_token_and_leaves_the_file_as_it_was(tmp_path, name, scope, message):
    path = tmp_path / "tokens.yaml"
    mint_token(path, "bappeda-jabar", "province:32")
    before = path.read_text()
    with pytest.raises(ViewTokensConfigError, match=message):
        mint_token(path, name, scope)
    assert path.read_text() == before


def test_minting_refuses_a_flow_style_file_it_cannot_append_to(tmp_path):
    path = write(tmp_path, f"[{{name: a, token_hash: '{HASH_A}', scope: nation}}]\n")
    with pytest.raises(ViewTokensConfigError, match=r"cannot append to views API tokens file .*: write it as a YAML block list"):
        mint_token(path, "b", "nation")
    assert len(TokenStore.load_file(path)) == 1
