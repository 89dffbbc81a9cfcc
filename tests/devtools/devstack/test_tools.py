"""Unit tests: missing prerequisites give messages that say what to install."""

from __future__ import annotations

import pytest

from devtools.devstack import tools
from devtools.devstack.exceptions import PrerequisiteError


def test_missing_java_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.delenv("EGOV_JAVA_HOME", raising=False)
    monkeypatch.setattr(tools.shutil, "which", lambda _name: None)
    monkeypatch.setattr(tools.glob, "glob", lambda _pattern: [])
    with pytest.raises(PrerequisiteError) as info:
        tools.find_java(17, "Apache Kafka")
    message = str(info.value)
    assert "needs Java 17 or newer" in message and "no Java at all" in message
    assert "JAVA_HOME" in message


def test_too_old_java_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setattr(tools, "_candidates", lambda _env: ["/opt/jdk11/bin/java"])
    monkeypatch.setattr(tools.os, "access", lambda *_a: True)
    monkeypatch.setattr(tools, "java_major", lambda _java: 11)
    with pytest.raises(PrerequisiteError, match=r"/opt/jdk11/bin/java \(Java 11\)"):
        tools.find_java(21, "Apicurio Registry")


def test_missing_maven(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tools.shutil, "which", lambda _name: None)
    with pytest.raises(PrerequisiteError, match="apt-get install maven"):
        tools.find_maven()


def test_java_on_this_machine_is_found() -> None:
    assert tools.java_major(tools.find_java(17, "Kafka")) >= 17
