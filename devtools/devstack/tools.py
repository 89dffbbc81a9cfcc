"""Finding Java and Maven, with messages that say what to install."""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
from pathlib import Path

from devtools.devstack.exceptions import PrerequisiteError

_VERSION = re.compile(r'version "(\d+)(?:\.(\d+))?')


def java_major(java: str) -> int | None:
    """Major version of a ``java`` binary, or ``None`` if it does not run."""
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = _VERSION.search(out.stderr + out.stdout)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


def _candidates(env_var: str) -> list[str]:
    found: list[str] = []
    for home in (os.environ.get(env_var), os.environ.get("JAVA_HOME")):
        if home:
            found.append(str(Path(home) / "bin" / "java"))
    on_path = shutil.which("java")
    if on_path:
        found.append(on_path)
    found += sorted(glob.glob("/usr/lib/jvm/*/bin/java"), reverse=True)
    seen: set[str] = set()
    return [c for c in found if not (c in seen or seen.add(c))]


def find_java(min_major: int, purpose: str, env_var: str = "EGOV_JAVA_HOME") -> str:
    """Path of a ``java`` with at least ``min_major``; else :class:`PrerequisiteError`."""
    tried = []
    for candidate in _candidates(env_var):
        if not os.access(candidate, os.X_OK):
            continue
        major = java_major(candidate)
        tried.append(f"{candidate} ({'Java ' + str(major) if major else 'does not run'})")
        if major is not None and major >= min_major:
            return candidate
    raise PrerequisiteError(
        f"{purpose} needs Java {min_major} or newer; found "
        + (", ".join(tried) if tried else "no Java at all")
        + f". Install a JDK {min_major}+ (e.g. Debian: apt-get install openjdk-{max(min_major, 17)}-jdk-headless,"
        f" or Eclipse Temurin) and point {env_var} or JAVA_HOME at it.",
        min_major=min_major,
        tried=tried,
    )


def find_maven() -> str:
    """Path of ``mvn``; else :class:`PrerequisiteError`."""
    mvn = shutil.which("mvn")
    if not mvn:
        raise PrerequisiteError(
            "Maven (mvn) is needed to fetch Kafka and Apicurio Registry from Maven Central and was not found on"
            " PATH. Install Maven 3.8+ (Debian: apt-get install maven).",
        )
    return mvn
