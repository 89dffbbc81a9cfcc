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
