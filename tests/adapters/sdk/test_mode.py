"""The publisher's mode as plain transitions: every (state, event) row and the controller around them."""

from __future__ import annotations

import random

import pytest

from adapters.sdk.mode import (Accept, Action, BrokerLost, Close, DrainRequested, Forwarded, Mode, ModeController,
                               ModeState, ProbeTick, SendFailed, SpoolClosed, Step, transition)
from bus.retry import RetryPolicy

D, S = Mode.DIRECT, Mode.SPOOLING
A = Action

DIRECT = ModeState(D)
SPOOLING = ModeState(S)
FORWARDING = ModeState(S, forwarding=True)
NO_SPOOL = ModeState(D, spool=False)
CLOSING_DIRECT = ModeState(D, closed=True)  # close() began, the spool still open
CLOSING_SPOOLING = ModeState(S, closed=True)
CLOSED = ModeState(S, spool=False, closed=True)  # the spool closed too

DUE = dict(due=True, in_flight=0, taken_back=0, spool_depth=0)


def tick(**facts: int | bool) -> ProbeTick:
    return ProbeTick(**{**DUE, **facts})


# (name, state, event, new state, actions)
ROWS = [
    # a new event
    ("accept while direct: produce", DIRECT, Accept(), DIRECT, (A.PRODUCE,)),
    ("accept while spooling: behind what is in flight and spooled", SPOOLING, Accept(), SPOOLING,
     (A.RESERVE_AHEAD, A.SPOOL)),
    ("accept while forwarding: still behind the spool", FORWARDING, Accept(), FORWARDING,
     (A.RESERVE_AHEAD, A.SPOOL)),
    ("accept after close: refused", CLOSING_DIRECT, Accept(), CLOSING_DIRECT, (A.REFUSE,)),
    ("accept after close while spooling: refused", CLOSED, Accept(), CLOSED, (A.REFUSE,)),
    # a delivery report or produce() failed
    ("retriable failure while direct: to spooling, the record spooled", DIRECT, SendFailed(True), SPOOLING,
     (A.SPOOL,)),
    ("retriable failure while spooling: spooled", SPOOLING, SendFailed(True), SPOOLING, (A.SPOOL,)),
    ("non-retriable error while direct: failed, still direct", DIRECT, SendFailed(False), DIRECT, (A.FAIL,)),
    ("non-retriable error while spooling: failed", SPOOLING, SendFailed(False), SPOOLING, (A.FAIL,)),
    ("retriable failure without a spool: failed, still direct", NO_SPOOL, SendFailed(True), NO_SPOOL, (A.FAIL,)),
    ("failure while closing: the open spool takes it back", CLOSING_DIRECT, SendFailed(True),
     ModeState(S, closed=True), (A.SPOOL,)),
    ("report after close (spool closed): failed, nothing spooled", CLOSED, SendFailed(True), CLOSED, (A.FAIL,)),
    # every broker gone
    # (what is in flight stays in the producer: a purged record may have been written already)
    ("broker lost while direct: spooling, nothing purged", DIRECT, BrokerLost(), SPOOLING, ()),
    ("broker lost while spooling: nothing more", SPOOLING, BrokerLost(), SPOOLING, ()),
    ("broker lost without a spool: purge, still direct", NO_SPOOL, BrokerLost(), NO_SPOOL, (A.PURGE_DIRECT,)),
    ("broker lost after close: nothing (close purges)", CLOSING_SPOOLING, BrokerLost(), CLOSING_SPOOLING, ()),
    ("broker lost during a drain: the batch goes on waiting for its reports", FORWARDING, BrokerLost(),
     FORWARDING, ()),
    # drain() asked for
    ("drain while direct: spooling, so the forwarder runs", DIRECT, DrainRequested(), SPOOLING, ()),
    ("drain while spooling: the next probe at once", SPOOLING, DrainRequested(), SPOOLING, (Action.RESET_BACKOFF,)),
    ("drain without a spool: unchanged", NO_SPOOL, DrainRequested(), NO_SPOOL, ()),
    ("drain after close: unchanged", CLOSING_DIRECT, DrainRequested(), CLOSING_DIRECT, ()),
    # the background loop's probe
    ("probe not due: wait", SPOOLING, tick(due=False, spool_depth=5), SPOOLING, ()),
    ("probe while records are in flight: settle them first", SPOOLING, tick(in_flight=3, spool_depth=5), SPOOLING,
     (A.RESERVE_AHEAD,)),
    ("probe while taken-back records are unspooled: wait for them", SPOOLING, tick(taken_back=2, spool_depth=5),
     SPOOLING, ()),
    ("probe succeeds with a spool to send: forward a batch", SPOOLING, tick(spool_depth=5), FORWARDING,
     (A.FORWARD,)),
    ("probe on an empty spool, nothing in flight: direct again", SPOOLING, tick(), DIRECT, (A.RESET_BACKOFF,)),
    ("probe while a batch is out: nothing", FORWARDING, tick(spool_depth=5), FORWARDING, ()),
    ("probe while direct: nothing", DIRECT, tick(spool_depth=5), DIRECT, ()),
    ("probe after close while spooling: nothing", CLOSING_SPOOLING, tick(spool_depth=5), CLOSING_SPOOLING, ()),
    # a forward batch ended
    ("batch complete: the next at once", FORWARDING, Forwarded(True), SPOOLING, (A.RESET_BACKOFF,)),
    ("batch failed mid-way or probe refused: back off", FORWARDING, Forwarded(False), SPOOLING, (A.DEFER_PROBE,)),
    ("batch ended after close: nothing more", ModeState(S, closed=True, forwarding=True), Forwarded(False),
     CLOSING_SPOOLING, ()),
    # close
    ("close while direct: purge what is in flight into the spool", DIRECT, Close(), CLOSING_DIRECT,
     (A.PURGE_DIRECT,)),
    ("close while spooling: the spool keeps its records", SPOOLING, Close(), CLOSING_SPOOLING, (A.PURGE_DIRECT,)),
    ("close while forwarding: purge (the stop event ends the batch)", FORWARDING, Close(),
     ModeState(S, closed=True, forwarding=True), (A.PURGE_DIRECT,)),
    ("close twice: nothing", CLOSING_DIRECT, Close(), CLOSING_DIRECT, ()),
    ("spool closed: nothing can be spooled any more", CLOSING_SPOOLING, SpoolClosed(), CLOSED, ()),
]


@pytest.mark.parametrize(("state", "event", "new_state", "actions"), [row[1:] for row in ROWS],
                         ids=[row[0] for row in ROWS])
def test_transition(state: ModeState, event: object, new_state: ModeState, actions: tuple[Action, ...]) -> None:
    assert transition(state, event) == Step(new_state, actions)


def run(state: ModeState, *events: object) -> tuple[ModeState, list[tuple[Action, ...]]]:
    done = []
    for event in events:
        state, actions = transition(state, event)
        done.append(actions)
    return state, done


def test_failure_mid_batch_sends_the_rest_behind_it() -> None:
    # A batch of three: the first is produced, its report fails retriably, the next two are spooled
    # behind it after what is still in flight.
    state, actions = run(DIRECT, Accept(), SendFailed(True), Accept(), Accept())
    assert actions == [(A.PRODUCE,), (A.SPOOL,), (A.RESERVE_AHEAD, A.SPOOL), (A.RESERVE_AHEAD, A.SPOOL)]
    assert state == SPOOLING


def test_an_outage_from_loss_to_direct_again() -> None:
    state, actions = run(
        DIRECT,
        BrokerLost(),  # spooling; what is in flight stays in the producer
        SendFailed(True),  # one of them timed out: spooled in its place
        tick(due=False, spool_depth=1),  # backing off
        tick(spool_depth=1),  # probe: forward
        BrokerLost(),  # lost again during the drain
        Forwarded(False),
        tick(spool_depth=1),
        Forwarded(True),
        tick(),  # empty: direct
        Accept(),
    )
    assert actions == [(), (A.SPOOL,), (), (A.FORWARD,), (), (A.DEFER_PROBE,),
                       (A.FORWARD,), (A.RESET_BACKOFF,), (A.RESET_BACKOFF,), (A.PRODUCE,)]
    assert state == DIRECT


def test_every_event_kind_has_a_transition_from_every_state() -> None:
    states = [DIRECT, SPOOLING, FORWARDING, NO_SPOOL, CLOSING_DIRECT, CLOSING_SPOOLING, CLOSED]
    events = [Accept(), SendFailed(True), SendFailed(False), BrokerLost(),
              DrainRequested(), tick(spool_depth=1), Forwarded(True), Close(), SpoolClosed()]
    for state in states:
        for event in events:
            step = transition(state, event)
            assert isinstance(step.state, ModeState) and all(isinstance(a, Action) for a in step.actions)
            assert not (state.closed and not step.state.closed), "nothing reopens a closed publisher"
            assert step.state.spool <= state.spool, "nothing reopens the spool"
            if not state.spool:
                assert A.SPOOL not in step.actions and step.state.mode == state.mode


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def controller(spooling: bool = False, spool: bool = True) -> tuple[ModeController, Clock]:
    clock = Clock()
    return ModeController(spool=spool, spooling=spooling, policy=RetryPolicy(initial_s=1.0, cap_s=8.0),
                          clock=clock), clock


def test_controller_starts_spooling_on_leftovers_and_mirrors_direct() -> None:
    ctl, _ = controller(spooling=True)
    assert ctl.mode is S and not ctl.direct
    assert ctl.tick(in_flight=0, taken_back=0, spool_depth=0) == (A.RESET_BACKOFF,)
    assert ctl.mode is D and ctl.direct
    assert ctl.handle(Close()) == (A.PURGE_DIRECT,)
    assert ctl.mode is D and not ctl.direct and ctl.state.closed
    assert controller(spooling=True, spool=False)[0].mode is D  # leftovers need a spool


def test_probe_backs_off_with_full_jitter_capped_and_resets() -> None:
    random.seed(7)
    ctl, clock = controller(spooling=True)
    delays = []
    for _ in range(6):
        assert ctl.tick(in_flight=0, taken_back=0, spool_depth=1) == (A.FORWARD,)
        assert ctl.handle(Forwarded(False)) == (A.DEFER_PROBE,)
        delays.append(ctl.next_probe_at - clock.now)
        assert ctl.tick(in_flight=0, taken_back=0, spool_depth=1) == ()  # not due yet
        clock.now = ctl.next_probe_at
    bounds = [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert all(0.0 <= d <= b for d, b in zip(delays, bounds)), delays
    assert ctl.tick(in_flight=0, taken_back=0, spool_depth=1) == (A.FORWARD,)
    assert ctl.handle(Forwarded(True)) == (A.RESET_BACKOFF,)
    assert ctl.next_probe_at == 0.0  # due at once
    assert ctl.tick(in_flight=0, taken_back=0, spool_depth=1) == (A.FORWARD,)
    ctl.handle(Forwarded(False))
    assert 0.0 <= ctl.next_probe_at - clock.now <= 1.0  # from the first delay again


def test_before_runs_under_the_lock_before_the_new_mode_is_visible() -> None:
    ctl, _ = controller()
    seen = []
    actions = ctl.handle(SendFailed(True), lambda acts: seen.append((acts, ctl.direct, ctl.mode)))
    assert actions == (A.SPOOL,)
    assert seen == [((A.SPOOL,), True, D)]  # the taken-back record is in line before anyone sees SPOOLING
    assert ctl.mode is S and not ctl.direct


def test_a_failing_before_leaves_the_state_unchanged() -> None:
    ctl, _ = controller()

    def boom(_actions: tuple[Action, ...]) -> None:
        raise MemoryError

    with pytest.raises(MemoryError):
        ctl.handle(SendFailed(True), boom)
    assert ctl.state == DIRECT and ctl.direct
