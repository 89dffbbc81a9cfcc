"""Fetch pinned Kafka and Apicurio Registry artifacts from Maven Central, cached.

The cache lives in ``$EGOV_CACHE_DIR`` (default ``$XDG_CACHE_HOME/egov-bus``,
i.e. ``~/.cache/egov-bus``). Each artifact is prepared in a temporary folder
and renamed into place only when complete, so an interrupted fetch never
leaves a half-filled cache entry behind.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from devtools.devstack.exceptions import ArtifactError
from devtools.devstack.tools import find_maven

KAFKA_VERSION = "4.1.1"
SCALA_VERSION = "2.13"
# Kafka's tarball ships this SLF4J 1.7 -> log4j2 binding; its POM does not.
LOG4J_VERSION = "2.24.3"
APICURIO_VERSION = "3.3.3"

_KAFKA_POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>id.go.egov.devstack</groupId>
  <artifactId>kafka-libs</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId><artifactId>kafka_{scala}</artifactId><version>{kafka}</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>{log4j}</version>
    </dependency>
  </dependencies>
</project>
"""


def cache_dir() -> Path:
    """Root of the download cache."""
    explicit = os.environ.get("EGOV_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "egov-bus"


def _run_maven(args: list[str], cwd: Path, what: str) -> None:
    mvn = find_maven()
    proc = subprocess.run([mvn, "-B", "-q", *args], cwd=cwd, capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise ArtifactError(f"fetching {what} with Maven failed (exit {proc.returncode}):\n{tail}", what=what)


def kafka_libs(progress=print) -> Path:
    """Folder of Kafka broker jars (``libs/*`` classpath), fetched on first use."""
    target = cache_dir() / f"kafka_{SCALA_VERSION}-{KAFKA_VERSION}"
    if (target / ".complete").exists():
        return target / "libs"
    target.parent.mkdir(parents=True, exist_ok=True)
    progress(f"fetching Apache Kafka {KAFKA_VERSION} jars from Maven Central into {target} ...")
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".kafka-") as tmp:
        work = Path(tmp)
        (work / "pom.xml").write_text(_KAFKA_POM.format(scala=SCALA_VERSION, kafka=KAFKA_VERSION, log4j=LOG4J_VERSION))
        _run_maven(
            ["dependency:copy-dependencies", "-DoutputDirectory=libs", "-DincludeScope=runtime"],
            work,
            f"org.apache.kafka:kafka_{SCALA_VERSION}:{KAFKA_VERSION}",
        )
        if not any((work / "libs").glob(f"kafka_{SCALA_VERSION}-{KAFKA_VERSION}.jar")):
            raise ArtifactError("Maven finished but the Kafka jar is missing", what="kafka")
        (work / ".complete").write_text(KAFKA_VERSION)
        shutil.rmtree(target, ignore_errors=True)
        os.rename(work, target)
        # TemporaryDirectory cleanup must not fail on the moved folder.
        work.mkdir()
    return target / "libs"


def apicurio_home(progress=print) -> Path:
    """Unpacked Apicurio Registry app (Quarkus fast-jar layout), fetched on first use."""
    target = cache_dir() / f"apicurio-registry-{APICURIO_VERSION}"
    if (target / ".complete").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    progress(f"fetching Apicurio Registry {APICURIO_VERSION} from Maven Central into {target} ...")
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".apicurio-") as tmp:
        work = Path(tmp)
        coords = f"io.apicurio:apicurio-registry-app:{APICURIO_VERSION}:tar.gz:all"
        _run_maven(["dependency:copy", f"-Dartifact={coords}", "-DoutputDirectory=dl"], work, coords)
        archives = list((work / "dl").glob("*.tar.gz"))
        if not archives:
            raise ArtifactError(f"Maven finished but no archive for {coords}", what="apicurio")
        app = work / "app"
        app.mkdir()
        with tarfile.open(archives[0]) as tar:
            tar.extractall(app, filter="data")
        runner = next(app.rglob("quarkus-run.jar"), None)
        if runner is None:
            raise ArtifactError("quarkus-run.jar not found in the Apicurio archive", what="apicurio")
        (runner.parent / ".complete").write_text(APICURIO_VERSION)
        shutil.rmtree(target, ignore_errors=True)
        os.rename(runner.parent, target)
    return target
