"""What a Kafka client says about its connection, made readable: one line per problem.

librdkafka reports a refused password, a failed TLS handshake or a broker
that is not there by logging a line on stderr every retry (``%3|...|FAIL|...``)
and by error events; a failed call then raises a bare ``KafkaException`` whose
text (``Local: Broker transport failure``) hides the cause. This module is the
one place that turns all of that into something an operator can act on:

* :class:`ClientWatch` is the ``logger`` and the ``error_cb`` of every client
  :meth:`bus.settings.EgovSettings.librdkafka_config` builds (a caller's own
  ``error_cb`` is still called; a caller's own ``logging.Logger`` still gets
  the lines). librdkafka's lines go to Python logging at DEBUG, a line
  repeated within :data:`DEDUP_WINDOW_S` logged once with its count; the
  watch remembers the most telling problem it saw.
* :func:`classify` sorts a librdkafka error into a :class:`Problem`;
  :func:`connection_error` builds its error (a
  :class:`~bus.kafka.exceptions.KafkaConnectionError`) with a one-line
  message naming the broker and the principal, never the password.
* :func:`check_connection` is the preflight of the commands: a metadata
  request that raises the right error within ``request_timeout_s``.
* :data:`outages` logs, for a long-running service that enables it, a lost
  broker once and its return once, not every retry.
"""

from __future__ import annotations

import enum
import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from confluent_kafka import KafkaError, KafkaException

from bus.kafka.exceptions import (
    BrokerUnavailableError,
    KafkaAuthenticationError,
    KafkaAuthorizationError,
    KafkaClientError,
    KafkaConnectionError,
    KafkaTlsError,
)

LOG = logging.getLogger("egov.librdkafka")
#: A librdkafka line repeated within this many seconds is logged once, then once more with its count.
DEDUP_WINDOW_S = 30.0
#: How long a preflight with ``unreachable_ok`` waits for a broker that is not answering.
UNREACHABLE_OK_WAIT_S = 2.0
_DEDUP_KEYS = 256  # distinct lines remembered per client (librdkafka's vocabulary is small)


class Problem(enum.IntEnum):
    """What went wrong, by how much it tells (a higher value wins over a lower one)."""

    UNREACHABLE = 1
    TLS = 2
    PROTOCOL = 3  # the listener closed the connection before its first answer: another security protocol
    AUTHENTICATION = 4
    AUTHORIZATION = 5


_UNREACHABLE_CODES = frozenset({
    KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN, KafkaError._RESOLVE, KafkaError._TIMED_OUT,
    KafkaError._MSG_TIMED_OUT, KafkaError.REQUEST_TIMED_OUT,
})
_AUTHORIZATION_CODES = frozenset({
    KafkaError.TOPIC_AUTHORIZATION_FAILED, KafkaError.GROUP_AUTHORIZATION_FAILED,
    KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, KafkaError.CLUSTER_AUTHORIZATION_FAILED,
})
# librdkafka puts the cause of a _TRANSPORT error (and of its log lines) in the text only.
_TLS_TEXT = re.compile(r"SSL handshake failed|certificate verify failed|ssl\.ca\.location|SSL routines", re.I)
_SASL_TEXT = re.compile(r"SASL authentication error|Authentication failed|SASL handshake", re.I)
_PROTOCOL_TEXT = re.compile(r"Disconnected.*in state APIVERSION_QUERY|incorrect security\.protocol", re.I)
_AUTHORIZATION_TEXT = re.compile(r"authorization failed", re.I)
_VOLATILE = re.compile(r"\(after \d+ms in state [^)]*\)|\d+ identical error\(s\) suppressed|\d+/\d+ brokers")


def classify(err: KafkaError | None, text: str = "") -> Problem | None:
    """The problem ``err`` (or a librdkafka log line ``text``) reports; None if it is none of these."""
    code = err.code() if err is not None else None
    text = text or (err.str() if err is not None else "")
    if code in _AUTHORIZATION_CODES or (code is None and _AUTHORIZATION_TEXT.search(text)):
        return Problem.AUTHORIZATION
    if code == KafkaError._AUTHENTICATION or _SASL_TEXT.search(text):
        return Problem.AUTHENTICATION
    if code == KafkaError._SSL or _TLS_TEXT.search(text):
        return Problem.TLS
    if _PROTOCOL_TEXT.search(text):
        return Problem.PROTOCOL
    if code in _UNREACHABLE_CODES:
        return Problem.UNREACHABLE
    return None


def is_authorization(err: KafkaError | None) -> bool:
    """True for an error that says the principal may not do this (never worth retrying)."""
    return err is not None and err.code() in _AUTHORIZATION_CODES


def principal(settings: Any) -> str:
    """Who the client is to the broker, as a user reads it: ``user region-32.01`` or ``no credentials (PLAINTEXT)``."""
    if getattr(settings, "sasl_username", None):
        return f"user {settings.sasl_username}"
    if getattr(settings, "ssl_certificate_location", None):
        return f"the TLS client certificate {settings.ssl_certificate_location}"
    return f"no credentials ({settings.security_protocol})"


def _as(who: str) -> str:
    """``as user x`` / ``with no credentials (PLAINTEXT)``: the principal inside a sentence."""
    return f"as {who}" if who.startswith("user ") else f"with {who}"


def _scrub(text: str, settings: Any) -> str:
    # librdkafka never prints the password; this guards against a future line that would.
    for secret in (getattr(settings, "sasl_password", None), getattr(settings, "ssl_key_password", None)):
        if secret is not None and secret.get_secret_value():
            text = text.replace(secret.get_secret_value(), "***")
    return text


def _reason(text: str) -> str:
    """The cause in a librdkafka error text, without its broker prefix and timing suffix."""
    text = _VOLATILE.sub("", text).strip()
    text = re.sub(r"^(?:[a-z_]+://)?[^\s:]+:\d+/(?:bootstrap|\d+): ", "", text)  # "sasl_ssl://host:port/bootstrap: "
    if "failed: " in text and "Connect to" in text:
        text = text.split("failed: ", 1)[1]
    if "certificate verify failed" in text:
        text = "the broker's certificate could not be verified (certificate verify failed)"
    text = text.rstrip(" .:")
    return text if len(text) <= 200 else text[:197] + "..."


def connection_error(settings: Any, problem: Problem, detail: str = "", *, code: str | None = None,
                     timeout: float | None = None) -> KafkaConnectionError:
    """The error for ``problem``: one line naming the broker and the principal, and what to do."""
    broker = settings.bootstrap_servers
    who = principal(settings)
    detail = _scrub(_reason(detail), settings)
    fields = {"broker": broker, "principal": who, "problem": problem.name.lower(), "code": code}
    if problem is Problem.AUTHORIZATION:
        return KafkaAuthorizationError(
            f"Kafka at {broker} refused {who}: not authorized ({detail or code}) — its ACLs do not allow this; "
            "compare `egov-bus acls list` with topics/acls.yaml (`egov-bus acls apply`)", **fields)
    if problem is Problem.AUTHENTICATION:
        return KafkaAuthenticationError(
            f"Kafka at {broker} refused {who}: SASL authentication failed (unknown user or wrong password) — "
            "check EGOV_SASL_USERNAME / EGOV_SASL_PASSWORD", **fields)
    if problem is Problem.PROTOCOL:
        return KafkaAuthenticationError(
            f"Kafka at {broker} closed the connection {_as(who)} before answering — the listener expects another "
            "security protocol (SASL_SSL?); check EGOV_SECURITY_PROTOCOL and EGOV_SASL_*", **fields)
    if problem is Problem.TLS:
        return KafkaTlsError(
            f"TLS handshake with Kafka at {broker} failed for {who}: {detail or 'handshake refused'} — check "
            "EGOV_SSL_CA_LOCATION (the CA that signed the broker's certificate) and EGOV_SECURITY_PROTOCOL",
            **fields)
    within = f" within {timeout:g} s" if timeout else ""
    because = f": {detail}" if detail else ""
    return BrokerUnavailableError(
        f"cannot reach Kafka at {broker}{within} (connecting {_as(who)}{because}) — is the stack up? egov-bus dev up",
        **fields)


def explain(settings: Any, exc: BaseException, watch: "ClientWatch | None" = None,
            timeout: float | None = None) -> KafkaClientError:
    """The classified error for a ``KafkaException`` (what ``watch`` saw first, if it tells more)."""
    err = exc.args[0] if exc.args and isinstance(exc.args[0], KafkaError) else None
    problem = classify(err, str(exc) if err is None else "")
    if watch is not None and watch.problem is not None and (problem is None or watch.problem[0] >= problem):
        found, detail, code = watch.problem
        return connection_error(settings, found, detail, code=code, timeout=timeout)
    if problem is None:
        return KafkaClientError(f"Kafka at {settings.bootstrap_servers} ({principal(settings)}): "
                                f"{_scrub(err.str() if err is not None else str(exc), settings)}",
                                broker=settings.bootstrap_servers, code=err.name() if err is not None else None)
    return connection_error(settings, problem, err.str() if err is not None else str(exc),
                            code=err.name() if err is not None else None, timeout=timeout)


class OutageLog:
    """Logs a lost broker once and its return once (for long-running services; off until enabled)."""

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self._log = logger or logging.getLogger("egov.kafka.outage")
        self._enabled = False
        self._down: dict[str, float] = {}
        self._lock = threading.Lock()

    def enable(self) -> None:
        """Start logging outages (a service's start-up; commands fail on the first problem instead)."""
        self._enabled = True

    def down(self, settings: Any, detail: str) -> None:
        """The broker of ``settings`` is unreachable (librdkafka retries on its own)."""
        with self._lock:
            if not self._enabled or settings.bootstrap_servers in self._down:
                return
            self._down[settings.bootstrap_servers] = time.monotonic()
        self._log.warning("lost Kafka at %s (%s); retrying, the end of the outage will be logged",
                          settings.bootstrap_servers, _scrub(_reason(detail), settings))

    def up(self, settings: Any) -> None:
        """The broker answered again (a cheap call: a dict lookup when nothing is down)."""
        if not self._down:
            return
        with self._lock:
            since = self._down.pop(settings.bootstrap_servers, None)
        if since is not None:
            self._log.warning("Kafka at %s is back after %.0f s", settings.bootstrap_servers, time.monotonic() - since)

    def is_down(self, settings: Any) -> bool:
        return settings.bootstrap_servers in self._down


#: The process's outage log (see :class:`OutageLog`).
outages = OutageLog()


class ClientWatch:
    """The ``error_cb`` and ``logger`` of one librdkafka client (see the module doc).

    Both run in whichever thread serves the client (``poll``, ``flush``,
    ``consume``). ``problem`` is the most telling ``(Problem, text, code)``
    seen so far; ``refused`` the last authorization error, for loops that must
    stop on one.
    """

    def __init__(self, settings: Any, chained: Callable[[KafkaError], None] | None = None, *,
                 target: logging.Logger = LOG, window: float = DEDUP_WINDOW_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self.chained = chained
        self.target = target
        self.window = window
        self.clock = clock
        self.problem: tuple[Problem, str, str | None] | None = None
        self.refused: KafkaError | None = None
        self._seen: OrderedDict[str, list[float]] = OrderedDict()  # line -> [first logged at, repeats since]

    def _note(self, problem: Problem | None, text: str, code: str | None) -> None:
        if problem is not None and (self.problem is None or problem >= self.problem[0]):
            self.problem = (problem, text, code)

    # error_cb
    def __call__(self, err: KafkaError) -> None:
        problem = classify(err)
        self._note(problem, err.str(), err.name())
        if problem is Problem.AUTHORIZATION:
            self.refused = err
        elif problem is Problem.UNREACHABLE:
            outages.down(self.settings, err.str())
        if self.chained is not None:
            self.chained(err)

    # logger: confluent-kafka calls ``logger.log(level, "%s [%s] %s", facility, name, text)``
    def log(self, level: int, msg: str, *args: Any, **_kwargs: Any) -> None:
        text = msg % args if args else msg
        if level >= logging.INFO:  # librdkafka's ERR/WARN/NOTICE lines; its debug lines say nothing of this kind
            self._note(classify(None, text), text, None)
        if not self.target.isEnabledFor(logging.DEBUG):
            return
        key = _VOLATILE.sub("", text)
        now = self.clock()
        seen = self._seen.get(key)
        if seen is not None and now - seen[0] < self.window:
            seen[1] += 1
            return
        repeats = f" (and {int(seen[1])} more like it in {now - seen[0]:.0f} s)" if seen and seen[1] else ""
        self._seen[key] = [now, 0]
        self._seen.move_to_end(key)
        while len(self._seen) > _DEDUP_KEYS:
            self._seen.popitem(last=False)
        self.target.debug("librdkafka: %s%s", _scrub(text, self.settings), repeats)


def instrument(settings: Any, conf: dict[str, Any]) -> dict[str, Any]:
    """Give ``conf`` a :class:`ClientWatch` as ``error_cb`` and ``logger`` (keeping the caller's own)."""
    watch = conf.get("error_cb")
    if not isinstance(watch, ClientWatch):
        watch = ClientWatch(settings, chained=watch)
        conf["error_cb"] = watch
    logger = conf.get("logger")
    if logger is None:
        conf["logger"] = watch
    elif isinstance(logger, logging.Logger):
        watch.target = logger  # the caller's name, our level and de-duplication
        conf["logger"] = watch
    return conf


def watch_of(conf: dict[str, Any]) -> ClientWatch | None:
    """The watch :func:`instrument` put into ``conf`` (None for a configuration built elsewhere)."""
    watch = conf.get("error_cb")
    return watch if isinstance(watch, ClientWatch) else None


def check_connection(settings: Any, timeout: float | None = None, *, client: Any = None,
                     watch: ClientWatch | None = None, unreachable_ok: bool = False) -> Any:
    """Raise the classified :class:`KafkaConnectionError` unless a broker answers a metadata request.

    Returns ``settings`` (``settings = check_connection(load_settings())``).
    Uses an ``AdminClient`` of its own unless given ``client`` (something with
    ``list_topics`` and ``poll``, not yet subscribed: its poll must not hand
    out records) and its ``watch``. A refused credential or a failed TLS
    handshake is reported as soon as the broker says so; an unreachable broker
    after ``timeout`` (default ``settings.request_timeout_s``). With
    ``unreachable_ok`` (publishers that spool: an outage is their normal
    case) only a refusal raises, and an unreachable broker returns after at
    most :data:`UNREACHABLE_OK_WAIT_S`.
    """
    from confluent_kafka.admin import AdminClient

    timeout = timeout or settings.request_timeout_s
    if unreachable_ok:
        timeout = min(timeout, UNREACHABLE_OK_WAIT_S)
    if client is None:
        conf = settings.librdkafka_config()
        watch = watch_of(conf)
        client = AdminClient(conf)
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        try:
            # Short slices: a refusal is known within a round trip, not after the whole timeout.
            client.list_topics(timeout=max(0.05, min(1.0, left)))
            return settings
        except KafkaException as exc:
            last = exc
        client.poll(0)  # serves the error events and log lines the watch classifies
        if watch is not None and watch.problem is not None and watch.problem[0] > Problem.UNREACHABLE:
            raise explain(settings, last, watch, timeout) from None
        if time.monotonic() >= deadline:
            if unreachable_ok:
                return settings
            raise explain(settings, last, watch, timeout) from None
