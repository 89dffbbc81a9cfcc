"""The subscriber: typed events from theme topics, committed only when the caller is done.

Semantics, in short (details on :class:`Subscriber`):

* consumer group, ``enable.auto.commit=False`` and ``enable.auto.offset.store=False``:
  an offset is stored only by :meth:`Subscriber.done` (or a ``with`` block that
  ends normally), and committed from the stored offsets (every
  ``commit_interval_s`` while polling, on a rebalance and on close);
* at-least-once: an event that was handed out and not marked done is read
  again after a restart or a rebalance;
* undecodable records are never dropped silently: they are logged, counted
  (``stats`` and the ``egov_subscriber_records_total`` counter) and passed to
  ``on_undecodable``; with ``yield_undecodable=True`` they are yielded as
  :class:`Undecodable` items instead.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any

from confluent_kafka import OFFSET_END, Consumer, KafkaError, KafkaException, Message, TopicPartition

from bus.kafka import connectivity
from bus.kafka.exceptions import BrokerUnavailableError, ConsumeError
from bus.serde import make_registry_client
from bus.subscriber.consumer import check_topics, group_consumer
from bus.subscriber.exceptions import ReplayError, SubscriberClosedError, SubscriberError, TransientDecodeError
from bus.subscriber.filters import EventFilter, theme_event_types
from bus.subscriber.offsets import TP, Assignment
from bus.subscriber.records import Item, RecordDecoder, Undecodable
from bus.subscriber.stats import SubscriberStats
from bus.subscriber.timeparse import to_epoch_ms
from schemas.topic_names import theme_topic

log = logging.getLogger("egov.subscriber")


class _Handling:
    """``with sub.next(timeout) as ev``: marks ``ev`` done when the block ends without an exception."""

    def __init__(self, subscriber: "Subscriber", item: Item | None) -> None:
        self._subscriber = subscriber
        self.item = item

    def __enter__(self) -> Item | None:
        return self.item

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool:
        if exc_type is None and self.item is not None:
            self._subscriber.done(self.item)
        return False


class Subscriber:
    """Typed events of chosen themes, in a consumer group, committed after the caller is done.

    The consumer loop and commits live here; :mod:`bus.subscriber.records` decodes records,
    :mod:`bus.subscriber.offsets` keeps the per-partition bookkeeping,
    :mod:`bus.subscriber.consumer` configures librdkafka and :mod:`bus.subscriber.stats` counts.

    ::

        with Subscriber(settings, "finance-dashboard", ["budgeting", "treasury"]) as sub:
            while running:
                with sub.next(timeout=1.0) as ev:       # ev is None when nothing came in time
                    if ev is not None:
                        handle(ev.event)                  # an exception here: not committed
            # or: for ev in sub.processing(): handle(ev.event)
            # or: ev = sub.poll(1.0); ...; sub.done(ev)

    Parameters:

    ``themes``
        Theme slugs; their topics are ``egov.<theme>.events`` (``<topic_prefix>.`` before
        it when given: :func:`schemas.topic_names.theme_topic`). An unknown theme raises
        :class:`UnknownThemeError`, a missing topic :class:`TopicMissingError`.
    ``feed``
        Read one routed feed instead of the theme topics: a province's
        (:func:`schemas.topic_names.province_feed_topic`, what a ``province-<code>`` principal may
        read) or a ministry's. It carries events of every theme; ``themes`` then filters them.
    ``from_time``
        A tz-aware datetime: on the first assignment of each partition the subscriber looks up
        the first offset whose broker timestamp is ``>= from_time`` (``offsets_for_times``)
        and starts there, whatever the group had committed; a partition with no such record
        starts at its end. Later reassignments (rebalances) resume from the committed offsets,
        so a rebalance never replays twice.
    ``event_types``, ``region_prefix``
        Client-side filters (:class:`EventFilter`); what they pass over counts as done.
    ``on_undecodable``
        Called with each :class:`Undecodable` record (e.g. to send it to a dead-letter topic).
        Such records are always logged and counted. If the callback raises, the subscriber
        seeks back so the record is read again, and the exception propagates. Otherwise the
        record counts as done, unless ``yield_undecodable=True``, in which case it is yielded
        like an event and the caller marks it done.
    ``commit_offsets``
        False: never store or commit offsets (throwaway groups, ``egov-bus tail``).
    ``auto_offset_reset``
        Where a group without committed offsets starts: ``earliest`` (default) or ``latest``.

    Records whose decoding fails for a passing reason (registry unreachable) are not skipped:
    the subscriber seeks back to them and raises :class:`TransientDecodeError`.

    Threading: poll/iterate from one thread; :meth:`done` may be called from any thread.
    Every blocking call is bounded: polls by their timeout, broker and registry requests by
    ``settings.request_timeout_s``; the synchronous commit and leaving the group (on a
    rebalance and on close) by librdkafka's request and session timeouts.
    """

    def __init__(
        self,
        settings: Any,
        group_id: str,
        themes: Sequence[str],
        *,
        topic_prefix: str | None = None,
        feed: str | None = None,
        from_time: datetime | None = None,
        event_types: Iterable[str] | None = None,
        region_prefix: str | None = None,
        on_undecodable: Callable[[Undecodable], None] | None = None,
        yield_undecodable: bool = False,
        commit_offsets: bool = True,
        commit_interval_s: float = 5.0,
        auto_offset_reset: str = "earliest",
        **overrides: Any,
    ) -> None:
        by_theme = theme_event_types(themes)
        if feed is not None and not event_types:
            # A feed carries every theme: pass only the chosen themes' event types.
            event_types = [et.name for ets in by_theme.values() for et in ets]
        self.filter = EventFilter.build(list(by_theme), event_types, region_prefix)
        self.themes = list(by_theme)
        # A feed's records name their theme themselves (None: learnt from each record's schema).
        self.topics: dict[str, str | None] = (
            {feed: None} if feed is not None else {theme_topic(theme, topic_prefix): theme for theme in by_theme})
        self._from_ms = to_epoch_ms(from_time) if from_time is not None else None
        self._settings = settings
        self._timeout = float(settings.request_timeout_s)
        self._on_undecodable = on_undecodable
        self._yield_undecodable = yield_undecodable
        self._commit_offsets = commit_offsets
        self._commit_interval_s = commit_interval_s
        self.stats = SubscriberStats()
        self._decode = RecordDecoder(make_registry_client(settings), self.topics, by_theme)
        self._partitions = Assignment()
        self._dirty = False
        self._last_commit = time.monotonic()
        self._callback_error: BaseException | None = None
        self._brokers_down: KafkaError | None = None
        self._closed = False

        self._consumer = group_consumer(
            settings, group_id, auto_offset_reset=auto_offset_reset, error_cb=self._on_error,
            on_commit=self._on_commit, overrides=overrides,
        )
        try:
            check_topics(self._consumer, self.topics, settings, self._timeout)
            self._consumer.subscribe(
                list(self.topics), on_assign=self._on_assign, on_revoke=self._on_revoke, on_lost=self._on_lost
            )
        except BaseException:
            self._consumer.close()
            raise

    # -- rebalance and client callbacks --------------------------------------------------

    def _on_error(self, err: KafkaError) -> None:
        if err.code() in (KafkaError._ALL_BROKERS_DOWN, KafkaError._TRANSPORT):
            self._brokers_down = err
        elif connectivity.is_authorization(err):
            # Raised from the next poll: librdkafka would retry a refused group or topic forever.
            self._callback_error = self._refused(err)
        else:
            log.warning("consumer error: %s", err.str())

    def _refused(self, err: KafkaError) -> Exception:
        return connectivity.connection_error(self._settings, connectivity.Problem.AUTHORIZATION, err.str(),
                                             code=err.name())

    def _on_commit(self, err: KafkaError | None, partitions: list[TopicPartition]) -> None:
        if err is not None and err.code() != KafkaError._NO_OFFSET:
            # Not fatal: the stored offsets stay and go with the next commit.
            log.warning("offset commit failed: %s", err.str())
            self._dirty = True

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        try:
            self._partitions.assign((tp.topic, tp.partition) for tp in partitions)
            fresh = self._partitions.not_replayed((tp.topic, tp.partition) for tp in partitions)
            if self._from_ms is None or not fresh:
                return
            wanted = [TopicPartition(topic, partition, self._from_ms) for topic, partition in fresh]
            try:
                found = consumer.offsets_for_times(wanted, timeout=self._timeout)
            except KafkaException as exc:
                raise ReplayError(
                    f"the broker did not find offsets for the replay start within {self._timeout}s: {exc}"
                ) from exc
            starts = {(tp.topic, tp.partition): tp.offset for tp in found}
            for tp in partitions:
                key = (tp.topic, tp.partition)
                if key in starts:
                    # -1: no record at or after from_time: start at the end (nothing to replay).
                    tp.offset = starts[key] if starts[key] >= 0 else OFFSET_END
                    self._partitions.replayed(key)
            consumer.assign(partitions)
        except BaseException as exc:  # raised again from the poll that ran this callback
            self._callback_error = exc

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # Commit what is done before another member takes the partitions over.
        if self._commit_offsets and self._dirty:
            try:
                self._commit_sync()
            except SubscriberError as exc:  # the new owner re-reads from the last commit: duplicates, no loss
                log.warning("commit before rebalance failed: %s", exc)
        self._partitions.forget((tp.topic, tp.partition) for tp in partitions)

    def _on_lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # The group already gave these away: committing now would fail.
        self._partitions.forget((tp.topic, tp.partition) for tp in partitions)

    # -- reading ---------------------------------------------------------------------

    def poll(self, timeout: float = 1.0) -> Item | None:
        """The next event (or :class:`Undecodable`, if yielded), or None when none came within ``timeout``."""
        if self._closed:
            raise SubscriberClosedError("the subscriber is closed")
        deadline = time.monotonic() + timeout
        while True:
            self._maybe_commit()
            left = max(0.0, deadline - time.monotonic())
            msg = self._consumer.poll(min(left, 0.5))
            if self._callback_error is not None:
                err, self._callback_error = self._callback_error, None
                raise err
            if msg is None:
                if self._brokers_down is not None:
                    err_, self._brokers_down = self._brokers_down, None
                    raise BrokerUnavailableError(f"lost every broker: {err_.str()}", code=err_.name())
            else:
                item = self._handle(msg)
                if item is not None:
                    return item
            if time.monotonic() >= deadline:
                return None

    def _handle(self, msg: Message) -> Item | None:
        err = msg.error()
        key = (msg.topic(), msg.partition())
        if err is not None:
            if err.code() == KafkaError._PARTITION_EOF:
                self._partitions.at_end(key)
                return None
            if connectivity.is_authorization(err):
                raise self._refused(err)
            raise ConsumeError(f"consumer error on {msg.topic()}: {err.str()}", code=err.name(), topic=msg.topic())
        self._brokers_down = None
        connectivity.outages.up(self._settings)  # a service that enabled the outage log hears the end once
        self._partitions.handed_out(key, msg.offset())
        try:
            item = self._decode(msg)
        except TransientDecodeError:
            self._seek_back(msg)
            raise
        if isinstance(item, Undecodable):
            self.stats.record(item.theme, "undecodable")
            log.warning(
                "undecodable record %s[%d]@%d: %s: %s",
                item.topic, item.partition, item.offset, item.error_class, item.reason,
            )
            if self._on_undecodable is not None:
                try:
                    self._on_undecodable(item)
                except BaseException:
                    self._seek_back(msg)
                    raise
            if self._yield_undecodable:
                return item
            self.done(item)
            return None
        if not self.filter.accepts(item.event_type, item.region_code):
            self.stats.record(item.theme, "filtered")
            self.done(item)
            return None
        self.stats.record(item.theme, "event")
        return item

    def _seek_back(self, msg: Message) -> None:
        self._partitions.withdraw((msg.topic(), msg.partition()), msg.offset())
        try:
            self._consumer.seek(TopicPartition(msg.topic(), msg.partition(), msg.offset()))
        except KafkaException as exc:  # partition revoked meanwhile: its new owner reads it
            log.warning("could not seek back to %s[%d]@%d: %s", msg.topic(), msg.partition(), msg.offset(), exc)

    def next(self, timeout: float = 1.0) -> _Handling:
        """Poll up to ``timeout`` seconds; use as ``with sub.next(t) as ev:``.

        ``ev`` is None when nothing arrived. The event is marked done when the
        block ends normally, and not when it raises (it is then read again
        after a restart or rebalance).
        """
        return _Handling(self, self.poll(timeout))

    def iter(
        self,
        *,
        until_end: bool = False,
        idle_timeout: float | None = None,
        poll_timeout: float = 0.5,
        stop: Callable[[], bool] | None = None,
    ) -> Iterator[Item]:
        """Yield events as they come; the caller marks each done.

        ``until_end``: stop once every assigned partition has been read up to the end
        it had when first seen (new records arriving meanwhile may or may not be included).
        ``idle_timeout``: stop after this many seconds without a record.
        ``stop``: checked after every poll (at most ``poll_timeout`` apart); iteration
        ends once it returns true, e.g. set from a signal handler.
        Without any of these, iterate until the caller stops.
        """
        ends: dict[TP, int] = {}
        last_record = time.monotonic()
        while stop is None or not stop():
            item = self.poll(poll_timeout)
            if item is not None:
                last_record = time.monotonic()
                yield item
            elif idle_timeout is not None and time.monotonic() - last_record >= idle_timeout:
                return
            if until_end and self._caught_up(ends):
                return

    def __iter__(self) -> Iterator[Item]:
        return self.iter()

    def processing(self, **kwargs: Any) -> Iterator[Item]:
        """Like :meth:`iter`, but an event is marked done when the loop body finished with it.

        ``for ev in sub.processing(): handle(ev)`` -- the event is done when the loop
        asks for the next one; an exception or ``break`` in the body leaves it not done.
        """
        for item in self.iter(**kwargs):
            yield item
            self.done(item)

    def _caught_up(self, ends: dict[TP, int]) -> bool:
        return self._partitions.caught_up(ends, self._end_offset)

    def _end_offset(self, key: TP) -> int:
        try:
            _low, high = self._consumer.get_watermark_offsets(TopicPartition(*key), timeout=self._timeout, cached=False)
        except KafkaException as exc:
            raise ConsumeError(f"no end offset for {key[0]}[{key[1]}] within {self._timeout}s: {exc}") from exc
        return high

    @property
    def assignment(self) -> list[tuple[str, int]]:
        """The (topic, partition) pairs this member reads now."""
        return self._partitions.owned()

    # -- done and commits --------------------------------------------------------------

    def done(self, item: Item) -> None:
        """Mark an event (or undecodable record) finished; its offset becomes committable.

        Offsets are committed in order per partition: the committed position stops at
        the lowest event still not done. Calling ``done`` twice is harmless; for a
        partition this member no longer owns it does nothing (the new owner reads the
        event again).
        """
        owned, position = self._partitions.done((item.topic, item.partition), item.offset)
        if not owned:
            log.debug("done() for %s[%d]@%d: partition not assigned any more", item.topic, item.partition, item.offset)
            return
        self.stats.done += 1
        if position is None or not self._commit_offsets:
            return
        try:
            self._consumer.store_offsets(offsets=[TopicPartition(item.topic, item.partition, position)])
        except KafkaException as exc:  # revoked between the check and the store
            log.debug("could not store offset %d for %s[%d]: %s", position, item.topic, item.partition, exc)
            return
        self._dirty = True

    def _maybe_commit(self) -> None:
        if not (self._commit_offsets and self._dirty):
            return
        if time.monotonic() - self._last_commit < self._commit_interval_s:
            return
        self._dirty = False
        self._last_commit = time.monotonic()
        try:
            self._consumer.commit(asynchronous=True)
            self.stats.commits += 1
        except KafkaException as exc:
            self._dirty = True
            log.warning("offset commit failed: %s", exc)

    def _commit_sync(self) -> None:
        # Synchronous commit of the stored offsets; librdkafka bounds it by socket.timeout.ms
        # (settings.request_timeout_s).
        try:
            self._consumer.commit(asynchronous=False)
            self.stats.commits += 1
            self._dirty = False
        except KafkaException as exc:
            err = exc.args[0] if exc.args else None
            if isinstance(err, KafkaError) and err.code() == KafkaError._NO_OFFSET:
                self._dirty = False
                return
            raise SubscriberError(f"offset commit failed: {exc}") from exc

    def commit(self) -> None:
        """Commit the offsets of everything marked done so far, now (synchronously)."""
        if self._closed:
            raise SubscriberClosedError("the subscriber is closed")
        if self._commit_offsets:
            self._commit_sync()

    def close(self) -> None:
        """Commit what is done (synchronously) and leave the group. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        try:
            if self._commit_offsets and self._dirty:
                self._commit_sync()
        finally:
            self._consumer.close()

    def __enter__(self) -> "Subscriber":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
