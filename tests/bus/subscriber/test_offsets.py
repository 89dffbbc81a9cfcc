from hypothesis import given, strategies as st

from bus.subscriber.offsets import PartitionProgress


def test_in_order():
    p = PartitionProgress()
    for o in range(10, 15):
        p.handed_out(o)
    assert p.done(10) == 11
    assert p.done(11) == 12
    assert p.pending == 3


def test_out_of_order_waits_for_the_lowest():
    p = PartitionProgress()
    for o in range(5):
        p.handed_out(o)
    assert p.done(1) is None
    assert p.done(3) is None
    assert p.committable is None
    assert p.done(0) == 2  # 0 and 1 done, 2 is not
    assert p.done(2) == 4
    assert p.done(4) == 5


def test_done_twice_and_unknown_offsets_change_nothing():
    p = PartitionProgress()
    p.handed_out(7)
    assert p.done(7) == 8
    assert p.done(7) is None
    assert p.done(99) is None
    assert p.committable == 8


def test_gaps_in_offsets_commit_past_the_gap():
    # Compacted topics and transaction markers leave holes: the position is the next offset to read.
    p = PartitionProgress()
    p.handed_out(3)
    p.handed_out(9)
    assert p.done(3) == 9
    assert p.done(9) == 10


def test_withdraw_after_seek_back():
    p = PartitionProgress()
    p.handed_out(0)
    p.handed_out(1)
    p.withdraw(1)
    assert p.done(0) == 1
    p.handed_out(1)
    assert p.done(1) == 2


@given(st.integers(1, 60).flatmap(lambda n: st.permutations(list(range(n)))))
def test_committable_is_the_lowest_not_done(order):
    p = PartitionProgress()
    for o in range(len(order)):
        p.handed_out(o)
    done: set[int] = set()
    for o in order:
        p.done(o)
        done.add(o)
        lowest_open = min(set(range(len(order))) - done, default=len(order))
        assert (p.committable or 0) == lowest_open


# -- Assignment: the member's partitions ----------------------------------------------------

from bus.subscriber.offsets import Assignment  # noqa: E402

A, B = ("egov.complaints.events", 0), ("egov.complaints.events", 1)


def test_assignment_done_only_for_owned_partitions():
    a = Assignment()
    a.assign([A])
    a.handed_out(A, 10)
    assert a.done(A, 10) == (True, 11)
    assert a.done(A, 10) == (True, None)  # twice: nothing moves
    assert a.done(B, 3) == (False, None)
    assert a.owned() == [A]


def test_assignment_forget_drops_progress():
    a = Assignment()
    a.assign([A, B])
    a.handed_out(B, 0)
    a.forget([B])
    assert a.owned() == [A]
    assert a.done(B, 0) == (False, None)


def test_reassignment_starts_fresh_progress():
    a = Assignment()
    a.assign([A])
    a.handed_out(A, 5)
    a.assign([A])  # a rebalance gave it back: resume from the committed offset
    assert a.done(A, 5) == (True, None)


def test_withdraw_reads_the_record_again():
    a = Assignment()
    a.assign([A])
    a.handed_out(A, 4)
    a.withdraw(A, 4)
    assert a.done(A, 4) == (True, None)
    a.handed_out(A, 4)
    assert a.done(A, 4) == (True, 5)


def test_replay_start_applies_once_per_partition():
    a = Assignment()
    assert a.not_replayed([A, B]) == [A, B]
    a.replayed(A)
    assert a.not_replayed([A, B]) == [B]
    a.forget([A])
    assert a.not_replayed([A]) == []  # a later reassignment resumes from the committed offsets


def test_caught_up_waits_for_the_end_seen_first():
    a = Assignment()
    assert a.caught_up({}, lambda key: 0) is False  # nothing assigned yet
    a.assign([A])
    asked = []

    def end_of(key):
        asked.append(key)
        return 2 if len(asked) == 1 else 99  # records arriving later are not waited for

    ends: dict = {}
    a.handed_out(A, 0)
    assert a.caught_up(ends, end_of) is False
    a.handed_out(A, 1)
    assert a.caught_up(ends, end_of) is True
    assert (asked, ends) == ([A], {A: 2})


def test_a_partition_at_its_end_is_caught_up():
    a = Assignment()
    a.assign([A, B])
    a.handed_out(A, 0)
    a.at_end(B)
    assert a.caught_up({}, lambda key: {A: 1, B: 50}[key]) is True


def test_at_end_is_cleared_by_a_new_record():
    a = Assignment()
    a.assign([A])
    a.at_end(A)
    assert a.caught_up({}, lambda key: 10) is True
    a.handed_out(A, 3)
    assert a.caught_up({}, lambda key: 10) is False
