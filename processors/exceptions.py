"""Errors of the central processors. Each names the pipeline stage it belongs to."""

from bus.errors import EgovBusError


class ProcessorError(EgovBusError):
    """Base class: an event could not go through the pipeline."""

    stage = "process"


class TransformError(ProcessorError):
    """The transformer refused an event (e.g. a value shaped like a raw NIK)."""

    stage = "transform"


class RoutingRulesError(ProcessorError):
    """The routing rules file is invalid."""

    stage = "route"


class AggregationError(ProcessorError):
    """An aggregator could not apply an event."""

    stage = "aggregate"


class TopologyError(ProcessorError):
    """The catalogue's theme topics cannot be processed by one worker set (e.g. their partition counts differ)."""


class UnknownAggregateError(AggregationError):
    """A view name that no aggregator knows (a programming error: the views are fixed in code)."""
