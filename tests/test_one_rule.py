"""One rule in one place: topic names and CloudEvents header names are spelled only where they are defined.

A topic name (``egov.<theme>.events``, ``.dlq``, ``egov.view.<name>``, the feeds) is built by
``schemas/topic_names.py`` and a CloudEvents header name is a constant of
``schemas/cloudevents.py``; a string literal spelling one anywhere else in the runtime packages or
the bench is a second copy of the rule, which this test refuses with the file and line. (The
raw-NIK pattern has its own check in ``tests/schemas/test_privacy.py``.)
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from schemas.cloudevents import HEADER_NAMES

ROOT = Path(__file__).resolve().parent.parent
_SOURCES = ("schemas", "bus", "topics", "adapters", "processors", "devtools", "bench")
_DEFINED_IN = {Path("schemas/topic_names.py"), Path("schemas/cloudevents.py")}

#: A bus topic name, whole or as the literal part of an f-string: egov.<x>.events|dlq, egov.view.<x>, …
_TOPIC_NAME = re.compile(r"(^|[.}])egov\.([a-z_{}]+\.)*(events|dlq)$|(^|[.}])egov\.(view|province|ministry)\.")

#: Literals that look like a topic name but name something else (each with its reason).
_ALLOWED = {
    # The dev stack's smoke test writes its own throw-away topic, not a bus topic.
    (Path("devtools/devstack/smoke.py"), "egov.smoke.events"),
    # An AsyncAPI channel id (a key inside the document), not a topic.
    (Path("topics/exports/asyncapi_doc.py"), "egov.province.events"),
}


def _names_defined(node: ast.AST) -> set[str]:
    targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
    return {t.id for t in targets if isinstance(t, ast.Name)}


def _literals(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, text) of every string literal that is not a docstring, ``__all__`` or ``__slots__``.

    An f-string counts as one literal with ``{}`` for each placeholder (``f"egov.{t}.dlq"`` is
    ``egov.{}.dlq``).
    """
    skip: set[int] = set()
    found = []
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            skip.add(id(body[0].value))
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and _names_defined(node) & {"__all__", "__slots__"}:
            skip.update(id(n) for n in ast.walk(node))
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr) and id(node) not in skip:
            parts = [v.value if isinstance(v, ast.Constant) else "{}" for v in node.values]
            found.append((node.lineno, "".join(str(p) for p in parts)))
            skip.update(id(v) for v in node.values)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            found.append((node.lineno, node.value))
    return found


def _copies() -> list[str]:
    found = []
    for top in _SOURCES:
        for path in sorted((ROOT / top).rglob("*.py")):
            rel = path.relative_to(ROOT)
            if rel in _DEFINED_IN:
                continue
            for line, text in _literals(ast.parse(path.read_text(), str(path))):
                if _TOPIC_NAME.search(text) and (rel, text) not in _ALLOWED:
                    found.append(f"{rel}:{line}: topic name {text!r} (build it with schemas.topic_names)")
                if text in HEADER_NAMES:
                    found.append(f"{rel}:{line}: header name {text!r} (use the schemas.cloudevents constant)")
    return found


def test_topic_and_header_names_are_spelled_only_where_they_are_defined() -> None:
    assert _copies() == []


def test_the_check_sees_a_copy(tmp_path: Path) -> None:
    tree = ast.parse('TOPIC = f"{prefix}.egov.{theme}.dlq"\nHEADERS = [("ce_id", b"x")]\n"""egov.a.events"""\n')
    texts = [text for _line, text in _literals(tree)]
    assert [t for t in texts if _TOPIC_NAME.search(t)] == ["{}.egov.{}.dlq", "egov.a.events"]
    assert "ce_id" in texts
