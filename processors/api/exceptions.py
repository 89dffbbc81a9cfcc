"""Errors of the views API."""

from bus.errors import EgovBusError


class ViewsApiError(EgovBusError):
    """Base class of the views API's errors."""


class UnknownViewError(ViewsApiError):
    """The requested view is not one of the central views (HTTP 404)."""


class ViewFilterError(ViewsApiError):
    """A query filter is malformed or names nothing that exists (HTTP 422).

    ``fields["loc"]`` is the FastAPI-style field path, e.g. ``["query", "province"]``.
    """


class RollupLevelError(ViewFilterError, ValueError):
    """A roll-up level that is not ``province`` or ``nation`` (HTTP 422 on ``level``; a ValueError too, as before)."""


class ViewStoreError(ViewsApiError):
    """The view store cannot read the view topics (missing topic, broker unreachable)."""


class ViewsAccessError(ViewsApiError):
    """A request without a valid bearer token (HTTP 401 with ``WWW-Authenticate: Bearer``)."""


class ViewsForbiddenError(ViewsApiError):
    """A valid token asking for rows outside its scope (HTTP 403)."""


class ViewTokensConfigError(ViewsApiError):
    """The views API's tokens file is missing, unreadable or has a bad entry (refused at start-up)."""
