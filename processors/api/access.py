"""Who may read which rows of the views API: bearer tokens with a scope, stored only as hashes.

A token is a random 256-bit string (``egv_…``) shown once when it is minted; the
tokens file keeps its SHA-256 (``sha256:<64 hex>``), a name and a scope:

* ``nation``: every row, every roll-up;
* ``province:<code>``: that province's own rows (the province government and its
  kabupaten/kota) and its province roll-up, nothing else.

As with the gateway's API keys (``adapters/gateway/auth.py``; processors may not
import adapters, so the few lines of hashing are repeated here), a fast hash is
enough: a 256-bit random token cannot be brute-forced from its hash.

The file is a YAML list::

    - name: bappeda-jabar
      token_hash: "sha256:…"
      scope: province:32
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from processors.api.exceptions import ViewTokensConfigError
from schemas import regions

_PREFIX = "egv_"
_SCHEME = "sha256:"
_HASH = re.compile(r"^sha256:[0-9a-f]{64}$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
NATION = "nation"


def new_token() -> str:
    """A fresh random bearer token (shown once, never stored)."""
    return _PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The stored form of ``token``: ``sha256:<64 hex>``."""
    return _SCHEME + hashlib.sha256(token.encode()).hexdigest()


def parse_scope(text: str) -> str | None:
    """The province code of a ``province:<code>`` scope, ``None`` for ``nation``.

    Raises :class:`ValueError` with the reason for anything else (the caller names the entry).
    """
    text = str(text).strip()
    if text == NATION:
        return None
    kind, sep, code = text.partition(":")
    if kind != "province" or not sep:
        raise ValueError(f"unknown scope {text!r}; scopes are 'nation' or 'province:<code>', e.g. province:32")
    found = regions.region(code)
    if found is None or found.level != 1:
        kabupaten = " (a kabupaten/kota: scopes are whole provinces)" if found is not None else ""
        raise ValueError(f"scope {text!r}: {code} is not a current Kemendagri province code{kabupaten}")
    return code


@dataclass(frozen=True)
class ViewToken:
    """One token's owner and scope; ``province`` is ``None`` for a nation-wide token."""

    name: str
    province: str | None

    @property
    def scope(self) -> str:
        """The scope as written in the tokens file."""
        return NATION if self.province is None else f"province:{self.province}"

    def may_read_province(self, code: str) -> bool:
        """True when the rows of province ``code`` are within this token's scope."""
        return self.province is None or self.province == code


class TokenStore:
    """Hashed tokens -> :class:`ViewToken`; :meth:`authenticate` maps a presented token to its owner."""

    def __init__(self) -> None:
        self._by_hash: dict[str, ViewToken] = {}

    def __len__(self) -> int:
        return len(self._by_hash)

    def tokens(self) -> list[ViewToken]:
        """The tokens' owners and scopes, in file order."""
        return list(self._by_hash.values())

    def add(self, token_hash: str, name: str, scope: str, *, where: str = "views API token") -> ViewToken:
        """One entry; ``where`` prefixes every error so that it names the entry."""
        if not isinstance(name, str) or not _NAME.match(name):
            raise ViewTokensConfigError(
                f"{where}: 'name' must be 1-64 letters, digits, '.', '_' or '-' (it appears in 403 answers), got {name!r}"
            )
        if any(t.name == name for t in self._by_hash.values()):
            raise ViewTokensConfigError(f"{where}: another entry already has the name {name!r}; names must be unique", name=name)
        key = str(token_hash).strip().lower()
        if not _HASH.match(key):
            raise ViewTokensConfigError(
                f"{where}: 'token_hash' must be 'sha256:<64 hex>', never the token itself "
                "(mint one with `egov-bus dashboard token --scope ... --name ...`)",
                name=name,
            )
        if key in self._by_hash:
            raise ViewTokensConfigError(f"{where}: the same token hash as {self._by_hash[key].name!r}", name=name)
        try:
            province = parse_scope(scope)
        except ValueError as exc:
            raise ViewTokensConfigError(f"{where}: {exc}", name=name) from None
        token = ViewToken(name=name, province=province)
        self._by_hash[key] = token
        return token

    def authenticate(self, presented: str | None) -> ViewToken | None:
        """The owner of ``presented``, or ``None`` for a missing or unknown token."""
        if not presented or not presented.strip():
            return None
        return self._by_hash.get(hash_token(presented.strip()))

    # -- loading --------------------------------------------------------------------

    @classmethod
    def load_file(cls, path: Path | str) -> "TokenStore":
        """The tokens file (a YAML list of ``{name, token_hash, scope}``); every entry is checked."""
        path = Path(path)
        store = cls()
        for index, entry in enumerate(_read_entries(path)):
            label = f"views API tokens file {path}: entry {index + 1}"
            if not isinstance(entry, dict):
                raise ViewTokensConfigError(f"{label}: expected a mapping with name, token_hash, scope", path=str(path))
            if entry.get("name"):
                label += f" ({entry['name']!r})"
            missing = [k for k in ("name", "token_hash", "scope") if entry.get(k) in (None, "")]
            unknown = sorted(set(entry) - {"name", "token_hash", "scope"})
            if missing or unknown:
                what = (f"needs {', '.join(missing)}" if missing else "") + (
                    ("; " if missing else "") + f"unknown key(s) {', '.join(map(str, unknown))}" if unknown else "")
                raise ViewTokensConfigError(f"{label}: {what}", path=str(path))
            store.add(str(entry["token_hash"]), entry["name"], str(entry["scope"]), where=label)
        return store

    @classmethod
    def from_settings(cls, settings: Any) -> "TokenStore":
        """The store of ``views_api_tokens_file``; refuses to start without one or with an empty one."""
        path = getattr(settings, "views_api_tokens_file", None)
        if not path:
            raise ViewTokensConfigError(
                "the views API has no access tokens: set EGOV_VIEWS_API_TOKENS_FILE (mint one with "
                "`egov-bus dashboard token`) or serve open data with `egov-bus dashboard --public`"
            )
        store = cls.load_file(path)
        if not store:
            raise ViewTokensConfigError(
                f"views API tokens file {path} has no tokens: add one with `egov-bus dashboard token`, "
                "or serve without access control with --public",
                path=str(path),
            )
        return store


def _read_entries(path: Path) -> list[Any]:
    try:
        text = path.read_text()
    except OSError as exc:
        raise ViewTokensConfigError(f"cannot read views API tokens file {path}: {exc.strerror}", path=str(path)) from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ViewTokensConfigError(f"views API tokens file {path} does not parse: {exc}", path=str(path)) from exc
    if data is None:
        return []
    if not isinstance(data, list):
        raise ViewTokensConfigError(
            f"views API tokens file {path}: expected a YAML list of {{name, token_hash, scope}}", path=str(path)
        )
    return data


def mint_token(path: Path | str, name: str, scope: str) -> tuple[str, ViewToken]:
    """A new token for ``name`` with ``scope``, its hash appended to the tokens file at ``path``.

    The file is created with mode 0600 when it does not exist; an existing one is
    checked first (a bad entry, a name already used) and only appended to, so
    comments and other entries stay as they are. Returns the token (to be shown
    once) and its owner.
    """
    path = Path(path)
    existing = TokenStore.load_file(path) if path.exists() else TokenStore()
    token = new_token()
    owner = existing.add(hash_token(token), name, scope, where=f"new token for {path}")
    entry = f"- name: \"{owner.name}\"\n  token_hash: \"{hash_token(token)}\"\n  scope: {owner.scope}\n"
    old = path.read_text() if path.exists() else ""
    separator = "" if not old or old.endswith("\n") else "\n"
    # A flow-style list (`[...]`) cannot take a block item after it: check before touching the file.
    try:
        appended = yaml.safe_load(old + separator + entry)
    except yaml.YAMLError:
        appended = None
    if not isinstance(appended, list) or len(appended) != len(existing):
        raise ViewTokensConfigError(
            f"cannot append to views API tokens file {path}: write it as a YAML block list ('- name: ...')",
            path=str(path),
        )
    # O_CREAT with 0600: the file never exists with wider permissions, not even for a moment.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "a") as out:
        out.write(separator + entry)
    return token, owner
