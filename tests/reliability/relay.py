"""A TCP relay a fault test puts between one region and the cluster, to cut that region's network.

:class:`Relay` listens on a loopback port and forwards every connection to a target port, both
directions, on one thread of its own (a selector loop; no thread per connection, so a cut is one
step of that loop and nothing races it). :meth:`Relay.cut` closes every open connection and closes
the listening socket, so new connections are refused until :meth:`Relay.restore` listens again on
the same port (the port the broker advertises to the cut region must stay the same). Both return
once the loop has done it.

:class:`Relays` is the region's whole link: one relay per broker node of a dev stack started with
``relay=True`` (``info.nodes[i]["relay_port"]`` → ``info.nodes[i]["relay_target_port"]``); cutting
all of them cuts that region and nobody else.
"""

from __future__ import annotations

import selectors
import socket
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from bus.errors import EgovBusError

HOST = "127.0.0.1"
_CHUNK = 1 << 16
# Stop reading a side while this much waits to be written to its peer (backpressure, bounded memory).
_HIGH_WATER = 1 << 20
_COMMAND_TIMEOUT_S = 10.0


class RelayError(EgovBusError):
    """The relay could not listen, or its loop did not answer a command."""


class _Pipe:
    """One relayed connection: the client's socket, the target's, and what waits to be written to each."""

    __slots__ = ("client", "server", "pending", "interest")

    def __init__(self, client: socket.socket, server: socket.socket) -> None:
        self.client, self.server = client, server
        self.pending: dict[socket.socket, bytearray] = {client: bytearray(), server: bytearray()}
        #: The selector events each side is registered for (0: not registered).
        self.interest: dict[socket.socket, int] = {client: 0, server: 0}

    def peer(self, sock: socket.socket) -> socket.socket:
        return self.server if sock is self.client else self.client


class Relay:
    """Forwards ``listen_port`` (0: a free one) on loopback to ``target_port``; cut and restored at will.

    For a test's conditions: :attr:`accepted` (connections relayed so far), :meth:`open_connections`
    (relayed now) and :attr:`is_cut`.
    """

    def __init__(self, target_port: int, listen_port: int = 0, *, target_host: str = HOST) -> None:
        self.target = (target_host, target_port)
        self.port = listen_port
        self.accepted = 0
        self._selector = selectors.DefaultSelector()
        self._listener: socket.socket | None = None
        self._pipes: dict[socket.socket, _Pipe] = {}
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._selector.register(self._wake_r, selectors.EVENT_READ, None)
        # (name, done, errors): the loop sets done, with the reason in errors if it could not.
        self._commands: list[tuple[str, threading.Event, list[str]]] = []
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stopped = False
        self.is_cut = False

    # -- control (any thread) ------------------------------------------------------------------

    def start(self) -> "Relay":
        """Listen and start the loop; returns self."""
        self._listen()
        self._thread = threading.Thread(target=self._run, name=f"relay-{self.port}", daemon=True)
        self._thread.start()
        return self

    def cut(self) -> None:
        """Close every relayed connection and stop listening (new connections are refused)."""
        self._command("cut")

    def restore(self) -> None:
        """Listen again on the same port."""
        self._command("restore")

    def stop(self) -> None:
        """Close everything and end the loop (idempotent)."""
        if self._thread is None or self._stopped:
            return
        self._command("stop")
        self._thread.join(_COMMAND_TIMEOUT_S)
        self._wake_r.close()
        self._wake_w.close()
        self._selector.close()

    def open_connections(self) -> int:
        """Connections relayed right now."""
        with self._lock:
            return len({id(p) for p in self._pipes.values()})

    def __enter__(self) -> "Relay":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _command(self, name: str) -> None:
        if self._thread is None or not self._thread.is_alive():
            raise RelayError(f"the relay on port {self.port} is not running")
        done, errors = threading.Event(), []
        with self._lock:
            self._commands.append((name, done, errors))
        self._wake_w.send(b"x")
        if not done.wait(_COMMAND_TIMEOUT_S):
            raise RelayError(f"the relay on port {self.port} did not {name} within {_COMMAND_TIMEOUT_S:g}s")
        if errors:
            raise RelayError(errors[0])

    # -- the loop (its own thread only) --------------------------------------------------------

    def _listen(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # The same port again right after a cut, while the cut connections sit in TIME_WAIT.
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind((HOST, self.port))
        except OSError as exc:
            listener.close()
            raise RelayError(f"the relay cannot listen on {HOST}:{self.port}: {exc.strerror}") from None
        listener.listen(128)
        listener.setblocking(False)
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._selector.register(listener, selectors.EVENT_READ, "listener")
        self.is_cut = False

    def _run(self) -> None:
        while True:
            for key, events in self._selector.select():
                if key.fileobj is self._wake_r:
                    if self._serve_commands():
                        return
                elif key.data == "listener":
                    self._accept()
                elif key.fileobj in self._pipes:  # may have been closed earlier in this round
                    self._serve(key.fileobj, events)  # type: ignore[arg-type]

    def _serve_commands(self) -> bool:
        try:
            self._wake_r.recv(4096)
        except BlockingIOError:
            pass
        with self._lock:
            commands, self._commands = self._commands, []
        stop = False
        for name, done, errors in commands:
            if name in ("cut", "stop"):
                self._close_all()
                stop = stop or name == "stop"
                self.is_cut = name == "cut"
            elif name == "restore" and self._listener is None:
                try:
                    self._listen()
                except RelayError as exc:
                    errors.append(exc.message)
            done.set()
        if stop:
            self._stopped = True
        return stop

    def _close_all(self) -> None:
        if self._listener is not None:
            self._selector.unregister(self._listener)
            self._listener.close()
            self._listener = None
        for pipe in {id(p): p for p in self._pipes.values()}.values():
            self._close(pipe)

    def _accept(self) -> None:
        assert self._listener is not None
        try:
            client, _addr = self._listener.accept()
        except BlockingIOError:
            return
        try:
            server = socket.create_connection(self.target, timeout=5)
        except OSError:
            client.close()  # the target is down: the client sees its connection closed, as it would
            return
        for sock in (client, server):
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        pipe = _Pipe(client, server)
        with self._lock:
            self._pipes[client] = self._pipes[server] = pipe
        self.accepted += 1
        self._watch(pipe)

    def _serve(self, sock: socket.socket, events: int) -> None:
        pipe = self._pipes[sock]
        peer = pipe.peer(sock)
        try:
            if events & selectors.EVENT_WRITE:
                self._write(pipe, sock)
            if events & selectors.EVENT_READ and len(pipe.pending[peer]) < _HIGH_WATER:
                data = sock.recv(_CHUNK)
                if not data:
                    self._close(pipe)
                    return
                pipe.pending[peer] += data
                self._write(pipe, peer)
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            self._close(pipe)
            return
        self._watch(pipe)

    @staticmethod
    def _write(pipe: _Pipe, sock: socket.socket) -> None:
        buffer = pipe.pending[sock]
        if buffer:
            try:
                del buffer[:sock.send(buffer)]
            except BlockingIOError:
                pass

    def _watch(self, pipe: _Pipe) -> None:
        """Watch each side for writing while something waits for it, and for reading unless too much
        waits for its peer (then the sender's TCP window fills: backpressure, bounded memory)."""
        for sock in (pipe.client, pipe.server):
            want = ((selectors.EVENT_READ if len(pipe.pending[pipe.peer(sock)]) < _HIGH_WATER else 0)
                    | (selectors.EVENT_WRITE if pipe.pending[sock] else 0))
            have = pipe.interest[sock]
            if want == have:
                continue
            if not have:
                self._selector.register(sock, want, pipe)
            elif not want:
                self._selector.unregister(sock)
            else:
                self._selector.modify(sock, want, pipe)
            pipe.interest[sock] = want

    def _close(self, pipe: _Pipe) -> None:
        with self._lock:
            for sock in (pipe.client, pipe.server):
                self._pipes.pop(sock, None)
        for sock in (pipe.client, pipe.server):
            if pipe.interest[sock]:
                self._selector.unregister(sock)
                pipe.interest[sock] = 0
            sock.close()


class Relays:
    """One region's link to a cluster: a :class:`Relay` per node, cut and restored together."""

    def __init__(self, routes: Iterable[tuple[int, int]]) -> None:
        self.relays = [Relay(target, listen) for listen, target in routes]

    @classmethod
    def for_nodes(cls, nodes: Iterable[Mapping[str, Any]]) -> "Relays":
        """The relays of a dev stack's nodes (``relay_port`` → ``relay_target_port`` each)."""
        return cls((int(n["relay_port"]), int(n["relay_target_port"])) for n in nodes)

    @property
    def bootstrap_servers(self) -> str:
        """``127.0.0.1:<port>,...``: what the region's clients are configured with."""
        return ",".join(f"{HOST}:{r.port}" for r in self.relays)

    def start(self) -> "Relays":
        started: list[Relay] = []
        try:
            for relay in self.relays:
                started.append(relay.start())
        except BaseException:
            for relay in started:
                relay.stop()
            raise
        return self

    def cut(self) -> None:
        """Cut every node's relay."""
        for relay in self.relays:
            relay.cut()

    def restore(self) -> None:
        """Listen on every node's relay again."""
        for relay in self.relays:
            relay.restore()

    def stop(self) -> None:
        for relay in self.relays:
            relay.stop()

    def open_connections(self) -> int:
        return sum(r.open_connections() for r in self.relays)


@contextmanager
def relays_for(nodes: Iterable[Mapping[str, Any]]) -> Iterator[Relays]:
    """The running relays of ``nodes`` until the block ends (stopped also on failure)."""
    relays = Relays.for_nodes(nodes).start()
    try:
        yield relays
    finally:
        relays.stop()
