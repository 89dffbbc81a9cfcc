"""The generated models are current, and any drift between a model and its .avsc fails."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from pydantic import Field

import schemas
from schemas import codegen
from schemas.avro_files import AVRO_DIR
from schemas.lint import model_drift
from schemas.models import BudgetAllocated
from schemas.types import Text


def test_generated_models_are_current():
    stale = codegen.stale_files()
    assert stale == [], f"run `python -m schemas.codegen`; stale: {stale}"


def test_codegen_check_cli(capsys):
    assert codegen.main(["--check"]) == 0
    assert "schemas/models is current" in capsys.readouterr().out


@pytest.mark.parametrize("name", list(schemas.EVENT_TYPES))
def test_model_matches_its_avsc(name):
    et = schemas.event_type(name)
    assert model_drift(et.model, et.avro_schema) == []


def test_field_added_to_model_but_not_avsc_is_drift():
    class WithExtra(BudgetAllocated):
        note: Text = Field(description="not in the avsc")

    assert model_drift(WithExtra, schemas.event_type("BudgetAllocated").avro_schema) == [
        "BudgetAllocated.note: in model WithExtra but not in the .avsc"
    ]


def test_field_added_to_avsc_but_not_model_is_drift():
    schema = json.loads(json.dumps(schemas.event_type("BudgetAllocated").avro_schema))
    schema["fields"].append({"name": "note", "type": ["null", "string"], "default": None, "doc": "new"})
    assert model_drift(BudgetAllocated, schema) == ["BudgetAllocated.note: in the .avsc but not in model BudgetAllocated"]


def test_type_default_and_optionality_changes_are_drift():
    schema = json.loads(json.dumps(schemas.event_type("ApbdAdopted").avro_schema))
    fields = {f["name"]: f for f in schema["fields"]}
    fields["regulation_number"]["type"] = "int"
    fields["is_amendment"]["default"] = True
    fields["fiscal_year"]["default"] = 2025
    problems = "\n".join(model_drift(schemas.event_type("ApbdAdopted").model, schema))
    assert "ApbdAdopted.regulation_number: type differs" in problems
    assert "ApbdAdopted.is_amendment: default differs: avsc True, model False" in problems
    assert "ApbdAdopted.fiscal_year: the .avsc has a default but the model field is required" in problems


def test_editing_an_avsc_makes_the_generated_code_stale(tmp_path: Path):
    avro = tmp_path / "avro"
    shutil.copytree(AVRO_DIR, avro)
    models = tmp_path / "models"
    codegen.write(models, avro)
    assert codegen.stale_files(models, avro) == []
    path = avro / "licensing" / "PermitRejected.avsc"
    schema = json.loads(path.read_text())
    schema["fields"].append({"name": "appeal_possible", "type": "boolean", "default": False, "doc": "d"})
    path.write_text(json.dumps(schema))
    assert codegen.stale_files(models, avro) == ["licensing.py"]
    # and a hand edit of a generated file is stale too
    codegen.write(models, avro)
    (models / "budgeting.py").write_text((models / "budgeting.py").read_text() + "\n# hand edit\n")
    assert codegen.stale_files(models, avro) == ["budgeting.py"]
