"""Unit tests of the wiring: Faust runs the worker, but none of its Kafka services (no aiokafka on the data path).

These pin the two pieces of faust-streaming the worker relies on beyond its
documented decorators (``app.service``, ``app.timer``): an ``App`` subclass's
``BootStrategy`` attribute with ``enable_kafka``/``enable_web`` switched off.
If a faust-streaming release changes either, these tests fail.
"""

from __future__ import annotations

import faust
from mode import Service

from bus.settings import load_settings
from processors.app import NoKafkaBoot, build_app


def test_the_worker_boots_no_faust_kafka_services() -> None:
    app = build_app(load_settings(env_file="/dev/null", processor_data_dir="/tmp/egov-unit-never-used"))
    assert isinstance(app, faust.App) and isinstance(app.boot_strategy, NoKafkaBoot)
    started = list(app.boot_strategy.server())
    names = {type(s).__module__ + "." + type(s).__name__ for s in started}
    assert not [n for n in names if "transport" in n or "tables" in n or "web" in n], names


def test_the_stream_loop_is_a_service_of_the_app() -> None:
    app = build_app(load_settings(env_file="/dev/null", processor_data_dir="/tmp/egov-unit-never-used"))
    services = list(app._extra_services)  # what app.service() registered
    assert len(services) == 1 and issubclass(services[0], Service)
    assert app.egov_stream.interval_s == 0.1 and app.egov_stream.exactly_once
