"""egov-bus runtime core: settings, Avro serde, Kafka producer/consumer, errors.

Everything else builds on this package. ``bus`` may import ``schemas`` and the
standard/third-party libraries only; it never imports ``topics``,
``adapters`` or ``processors`` (see the dependency direction in
ARCHITECTURE.md). Command groups of the other packages are plugged into the
CLI by entry point, not by import.
"""

from bus.errors import EgovBusError

__all__ = ["EgovBusError"]
__version__ = "0.1.0"
