"""Open data (Satu Data): datasets published and their metadata updated."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from adapters.simulator import catalog as C
from adapters.simulator.state import RegionState
from adapters.simulator.themes.base import ThemeEvent

if TYPE_CHECKING:
    from adapters.simulator.generator import EventGenerator


def generate(sim: EventGenerator, state: RegionState, now: datetime) -> ThemeEvent:
    """The next opendata event of the region: ``(event type name, fields)``."""
    rng = sim.rng
    datasets = state.open_items["dataset"]
    if datasets and rng.random() < 0.4:
        index = rng.randrange(len(datasets))
        dataset_id, version = datasets[index]
        datasets[index] = (dataset_id, version + 1)
        return "DatasetMetadataUpdated", {
            "dataset_id": dataset_id, "metadata_version": version + 1,
            "changed_fields": rng.sample(C.METADATA_FIELDS, rng.randint(1, 3)),
        }
    dataset_id = state.next_id("DS")
    datasets.append((dataset_id, 1))
    slug = dataset_id.lower()
    return "DatasetPublished", {
        "dataset_id": dataset_id, "title": sim.choice(C.DATASETS),
        "producer_agency_code": sim.choice(C.AGENCIES)[0], "license": "CC-BY-4.0",
        "update_frequency": sim.choice(C.FREQUENCIES),
        "url": f"https://data.go.id/dataset/{slug}", "keywords": rng.sample(C.KEYWORDS, rng.randint(1, 3)),
    }
