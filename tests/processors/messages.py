"""A stand-in for a confluent-kafka ``Message``: the parts the pipeline reads (unit tests only)."""

from __future__ import annotations


class Msg:
    """The parts of a confluent-kafka ``Message`` the pipeline reads."""

    def __init__(self, value: bytes, key: bytes, headers: list, offset: int) -> None:
        self._v, self._k, self._h, self._o = value, key, headers, offset

    def value(self) -> bytes:
        return self._v

    def key(self) -> bytes:
        return self._k

    def headers(self) -> list:
        return self._h

    def offset(self) -> int:
        return self._o
