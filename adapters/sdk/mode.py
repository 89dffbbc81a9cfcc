"""Direct or spooling: the publisher's mode as a state machine of plain functions.

While the broker answers, new events go straight to the producer (DIRECT). A
retriable failure or a lost link switches to SPOOLING: new events go to the
spool, and what is still in the producer keeps places ahead of them (reserved
sequence numbers): the producer goes on retrying it, and what fails in the end
is spooled in those places. The forwarder replays the spool oldest-first once
nothing is in flight; once the spool is empty the publisher is DIRECT again.
That keeps one region's events in order across an outage, and a record the
broker wrote but whose acknowledgement was lost is not sent a second time.

Each transition is a plain function ``(state, event) -> Step(new state,
actions)``: no I/O, no clock, no lock, so every one of them is tested from a
table (tests/adapters/sdk/test_mode.py). The publisher performs the actions.
:class:`ModeController` holds the one current state under one lock (delivery
reports run on librdkafka's callback threads and go through it like everyone
else) and owns the probe schedule, with its delays from :mod:`bus.retry`.
"""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import NamedTuple

from bus.retry import RetryPolicy


class Mode(str, enum.Enum):
    """Where new events go."""

    DIRECT = "direct"
    SPOOLING = "spooling"


class Action(str, enum.Enum):
    """What the publisher must do after a transition, in the order given."""

    PRODUCE = "produce"  # send the new event to the direct producer
    RESERVE_AHEAD = "reserve_ahead"  # places in the spool ahead of the new event for what is still in flight
    SPOOL = "spool"  # write the event (a new one, or one taken back after a failure) to the spool
    FAIL = "fail"  # the record is refused for good: count it, report it to its caller and to flush()
    REFUSE = "refuse"  # the publisher is closed: raise PublisherClosedError
    PURGE_DIRECT = "purge_direct"  # take back now what waits in the direct producer (closing, or no spool)
    FORWARD = "forward"  # send the next batch from the spool
    DEFER_PROBE = "defer_probe"  # the next probe after the next backoff delay
    RESET_BACKOFF = "reset_backoff"  # the link works: the next failure starts from the first delay


@dataclass(frozen=True, slots=True)
class ModeState:
    """The whole state: ``spool`` (store-and-forward available), ``closed``, a forward batch out."""

    mode: Mode = Mode.DIRECT
    spool: bool = True
    closed: bool = False
    forwarding: bool = False


class Step(NamedTuple):
    """The outcome of one transition."""

    state: ModeState
    actions: tuple[Action, ...] = ()


# -- events --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Accept:
    """A new event is to be sent."""


@dataclass(frozen=True, slots=True)
class SendFailed:
    """A delivery report (or ``produce`` itself) failed; ``retriable=False``: refused for good."""

    retriable: bool


@dataclass(frozen=True, slots=True)
class BrokerLost:
    """librdkafka reports every broker down on the direct producer, and no broker answers."""


@dataclass(frozen=True, slots=True)
class DrainRequested:
    """``drain()`` was called: send what is spooled even though new events flow directly."""


@dataclass(frozen=True, slots=True)
class ProbeTick:
    """The background loop's turn while spooling: what it sees when it looks."""

    due: bool  # the backoff delay since the last failed probe has passed
    in_flight: int  # records in the direct producer
    taken_back: int  # records back from failures, not spooled yet
    spool_depth: int


@dataclass(frozen=True, slots=True)
class Forwarded:
    """A forward batch ended: ``complete`` when every record was acknowledged or settled."""

    complete: bool


@dataclass(frozen=True, slots=True)
class Close:
    """``close()`` begins: refuse new events; the spool stays open to take back what is in flight."""


@dataclass(frozen=True, slots=True)
class SpoolClosed:
    """The spool is closed: nothing can be spooled any more (a later report fails its record)."""


Event = Accept | SendFailed | BrokerLost | DrainRequested | ProbeTick | Forwarded | Close | SpoolClosed

# -- transitions ------------------------------------------------------------------------------


def on_accept(state: ModeState, _event: Accept) -> Step:
    """Route a new event: directly, or behind everything spooled (failure mid-batch included)."""
    if state.closed:
        return Step(state, (Action.REFUSE,))
    if state.mode is Mode.DIRECT:
        return Step(state, (Action.PRODUCE,))
    return Step(state, (Action.RESERVE_AHEAD, Action.SPOOL))


def on_send_failed(state: ModeState, event: SendFailed) -> Step:
    """A retriable failure takes the record back into the spool and switches to spooling."""
    if not event.retriable or not state.spool:
        return Step(state, (Action.FAIL,))
    return Step(replace(state, mode=Mode.SPOOLING), (Action.SPOOL,))


def on_broker_lost(state: ModeState, event: BrokerLost) -> Step:
    """Every broker is down: new events go to the spool; what is in the producer stays there.

    Not purged: a record on the wire may have been written by a broker whose answer was cut off.
    The producer retries it under its producer id and sequence number when the link returns, and
    the broker writes it once; taken back and sent again from the spool, it would be written twice.
    What is still unacknowledged at the delivery timeout fails and is spooled in its reserved place.
    Without a spool the purge helps the caller: it hears of the failure now, not at the timeout.
    """
    if state.closed:
        return Step(state)  # close() purges anyway
    if state.spool:
        return Step(replace(state, mode=Mode.SPOOLING))
    return Step(state, (Action.PURGE_DIRECT,))


def on_drain_requested(state: ModeState, _event: DrainRequested) -> Step:
    """Spooled leftovers (e.g. of a previous run) while new events flow directly: spool and forward.

    While spooling already, the next probe is due at once: a caller waiting for the spool to empty
    (a one-shot job before it exits) must not sit out a backoff of up to ``max_backoff_s`` drawn
    while the cluster was away.
    """
    if state.closed or not state.spool:
        return Step(state)
    if state.mode is Mode.SPOOLING:
        return Step(state, (Action.RESET_BACKOFF,))
    return Step(replace(state, mode=Mode.SPOOLING))


def on_probe_tick(state: ModeState, event: ProbeTick) -> Step:
    """While spooling: wait for what is in flight, forward a batch, or go direct on an empty spool."""
    if state.closed or state.mode is Mode.DIRECT or state.forwarding or not event.due:
        return Step(state)
    if event.taken_back:
        return Step(state)  # spooled by the next poll, ahead of the spool's tail: look again then
    if event.in_flight:
        # Records of the direct path go ahead of the spool: forward nothing until each has its outcome.
        return Step(state, (Action.RESERVE_AHEAD,))
    if event.spool_depth == 0:
        return Step(replace(state, mode=Mode.DIRECT), (Action.RESET_BACKOFF,))
    return Step(replace(state, forwarding=True), (Action.FORWARD,))


def on_forwarded(state: ModeState, event: Forwarded) -> Step:
    """A batch that went through resets the backoff (forward the next at once); one that did not defers."""
    state = replace(state, forwarding=False)
    if state.closed:
        return Step(state)
    return Step(state, (Action.RESET_BACKOFF,) if event.complete else (Action.DEFER_PROBE,))


def on_close(state: ModeState, _event: Close) -> Step:
    """Close while direct or spooling: take back what is in flight; the spool keeps it.

    A forward batch is stopped by the publisher's stop event; its records stay spooled.
    """
    if state.closed:
        return Step(state)
    return Step(replace(state, closed=True), (Action.PURGE_DIRECT,))


def on_spool_closed(state: ModeState, _event: SpoolClosed) -> Step:
    """Nothing can be spooled from now on."""
    return Step(replace(state, spool=False))


TRANSITIONS: dict[type, Callable[[ModeState, object], Step]] = {
    Accept: on_accept,
    SendFailed: on_send_failed,
    BrokerLost: on_broker_lost,
    DrainRequested: on_drain_requested,
    ProbeTick: on_probe_tick,
    Forwarded: on_forwarded,
    Close: on_close,
    SpoolClosed: on_spool_closed,
}


def transition(state: ModeState, event: Event) -> Step:
    """The one entry point: the transition of ``event``'s kind."""
    return TRANSITIONS[type(event)](state, event)


class ModeController:
    """The current :class:`ModeState`, changed only by :meth:`handle`, under one lock.

    ``direct`` is a plain attribute mirroring "DIRECT and open" for the
    publishing hot path, which reads it once per event without the lock (a
    read of one attribute is atomic; a stale read is caught by the send path,
    which re-checks under its own lock). The probe schedule lives here too:
    ``DEFER_PROBE`` draws the next delay from ``policy`` (full jitter, capped),
    ``RESET_BACKOFF`` makes the next probe due at once.
    """

    def __init__(self, *, spool: bool, spooling: bool, policy: RetryPolicy,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._state = ModeState(Mode.SPOOLING if spool and spooling else Mode.DIRECT, spool=spool)
        self.direct = self._state.mode is Mode.DIRECT
        self._backoff = policy.backoff()
        self._clock = clock
        self._next_probe = 0.0

    @property
    def state(self) -> ModeState:
        """The current state (an immutable snapshot)."""
        return self._state

    @property
    def mode(self) -> Mode:
        """Where new events go now."""
        return self._state.mode

    @property
    def next_probe_at(self) -> float:
        """When (on ``clock``) the next probe is due."""
        return self._next_probe

    def handle(self, event: Event, before: Callable[[tuple[Action, ...]], None] | None = None) -> tuple[Action, ...]:
        """Apply ``event``'s transition; returns the actions left for the caller (backoff ones done here).

        ``before(actions)`` runs under the lock before the new state becomes
        visible, for work nobody may overtake: a record taken back after a
        failure gets its place in line before anyone sees SPOOLING and spools
        a new event behind it. Keep it short (no I/O).
        """
        with self._lock:
            return self._apply(event, before)

    def tick(self, *, in_flight: int, taken_back: int, spool_depth: int) -> tuple[Action, ...]:
        """A :class:`ProbeTick`, ``due`` by the probe schedule."""
        with self._lock:
            due = self._clock() >= self._next_probe
            return self._apply(ProbeTick(due, in_flight, taken_back, spool_depth))

    def _apply(self, event: Event, before: Callable[[tuple[Action, ...]], None] | None = None) -> tuple[Action, ...]:
        step = transition(self._state, event)
        if before is not None:
            before(step.actions)
        self._state = step.state
        self.direct = step.state.mode is Mode.DIRECT and not step.state.closed
        for action in step.actions:
            if action is Action.DEFER_PROBE:
                self._next_probe = self._clock() + self._backoff.next_delay()
            elif action is Action.RESET_BACKOFF:
                self._backoff.reset()
                self._next_probe = 0.0
        return step.actions
