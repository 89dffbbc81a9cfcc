"""Restore's re-ask of contradicting changelog watermarks (unit): the retry policy's delays, three asks at most."""

from __future__ import annotations

import pytest

from processors.state import restore


class _Consumer:
    def __init__(self, answers: list[tuple[int, int]]) -> None:
        self.answers = list(answers)
        self.asks = 0

    def get_watermark_offsets(self, tp, timeout: float) -> tuple[int, int]:
        self.asks += 1
        return self.answers.pop(0)


@pytest.fixture
def slept(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    out: list[float] = []
    monkeypatch.setattr(restore.time, "sleep", out.append)
    return out


def test_an_answer_that_contains_the_checkpoint_is_believed_at_once(slept) -> None:
    consumer = _Consumer([(0, 500)])
    assert restore._watermarks(consumer, "app-views-changelog", 3, 5.0, 120) == (0, 500)
    assert (consumer.asks, slept) == (1, [])


def test_a_contradicting_answer_is_asked_again_after_a_jittered_pause(slept) -> None:
    consumer = _Consumer([(0, 0), (0, 500)])
    assert restore._watermarks(consumer, "app-views-changelog", 3, 5.0, 120) == (0, 500)
    assert consumer.asks == 2
    assert len(slept) == 1 and 0.1 <= slept[0] <= 0.5


def test_three_contradicting_answers_give_the_last_one_without_a_pause_after_it(slept) -> None:
    consumer = _Consumer([(0, 0), (0, 0), (200, 300)])
    assert restore._watermarks(consumer, "app-views-changelog", 3, 5.0, 120) == (200, 300)
    assert consumer.asks == 3
    assert len(slept) == 2 and 0.1 <= slept[0] <= 0.5 and 0.1 <= slept[1] <= 1.0
