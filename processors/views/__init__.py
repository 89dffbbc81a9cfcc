"""The four central views: state, event-time aggregation and rendering."""

from processors.views.aggregates import VIEWS, apply_event, render_row

__all__ = ["VIEWS", "apply_event", "render_row"]
