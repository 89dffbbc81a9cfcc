"""The fault suite's TCP relay, against a real echo server on loopback (no services needed)."""

from __future__ import annotations

import hashlib
import socket
import threading
from collections.abc import Iterator

import pytest

from tests.reliability.relay import Relay, RelayError, Relays, relays_for

TIMEOUT_S = 10


class EchoServer:
    """Echoes every byte back, one thread per connection, until stopped."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self._threads: list[threading.Thread] = []
        self._accepting = threading.Thread(target=self._accept, daemon=True)
        self._accepting.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            thread = threading.Thread(target=self._echo, args=(conn,), daemon=True)
            thread.start()
            self._threads.append(thread)

    @staticmethod
    def _echo(conn: socket.socket) -> None:
        with conn:
            while data := conn.recv(1 << 16):
                conn.sendall(data)

    def stop(self) -> None:
        self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        self._accepting.join(TIMEOUT_S)


@pytest.fixture
def echo() -> Iterator[EchoServer]:
    server = EchoServer()
    yield server
    server.stop()


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_S)
    sock.settimeout(TIMEOUT_S)
    return sock


def roundtrip(sock: socket.socket, data: bytes) -> bytes:
    sock.sendall(data)
    got = bytearray()
    while len(got) < len(data):
        chunk = sock.recv(1 << 16)
        if not chunk:
            break
        got += chunk
    return bytes(got)


def test_relays_both_ways(echo: EchoServer) -> None:
    with Relay(echo.port) as relay:
        with connect(relay.port) as sock:
            assert roundtrip(sock, b"hello") == b"hello"
            assert relay.open_connections() == 1
        assert relay.accepted == 1


def test_a_large_transfer_arrives_whole_and_in_order(echo: EchoServer) -> None:
    # More than the relay buffers before it stops reading: backpressure, not loss.
    data = hashlib.shake_256(b"relay").digest(6 << 20)
    with Relay(echo.port) as relay, connect(relay.port) as sock:
        received = bytearray()

        def read() -> None:
            while len(received) < len(data) and (chunk := sock.recv(1 << 16)):
                received.extend(chunk)

        reader = threading.Thread(target=read)
        reader.start()
        sock.sendall(data)
        reader.join(TIMEOUT_S * 3)
        assert bytes(received) == data


def test_cut_closes_open_connections_and_refuses_new_ones_until_restored(echo: EchoServer) -> None:
    with Relay(echo.port) as relay:
        before = connect(relay.port)
        assert roundtrip(before, b"one") == b"one"
        relay.cut()
        assert relay.is_cut and relay.open_connections() == 0
        assert before.recv(16) == b""  # closed by the relay: the client sees the end of the stream
        before.close()
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", relay.port), timeout=TIMEOUT_S)
        port = relay.port
        relay.restore()
        assert not relay.is_cut and relay.port == port
        with connect(relay.port) as after:
            assert roundtrip(after, b"two") == b"two"


def test_a_target_that_is_down_closes_the_client_connection() -> None:
    unused = socket.create_server(("127.0.0.1", 0))
    port = unused.getsockname()[1]
    unused.close()
    with Relay(port) as relay, connect(relay.port) as sock:
        assert sock.recv(16) == b""
        assert relay.accepted == 0


def test_a_port_in_use_is_a_clear_error() -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        relay = Relay(1, taken.getsockname()[1])
        with pytest.raises(RelayError, match="cannot listen on 127.0.0.1:"):
            relay.start()


def test_relays_of_nodes_cut_and_restore_together(echo: EchoServer) -> None:
    with socket.create_server(("127.0.0.1", 0)) as a, socket.create_server(("127.0.0.1", 0)) as b:
        ports = [a.getsockname()[1], b.getsockname()[1]]
    nodes = [{"relay_port": p, "relay_target_port": echo.port} for p in ports]
    with relays_for(nodes) as relays:
        assert isinstance(relays, Relays)
        assert relays.bootstrap_servers == f"127.0.0.1:{ports[0]},127.0.0.1:{ports[1]}"
        socks = [connect(p) for p in ports]
        assert [roundtrip(s, b"x") for s in socks] == [b"x", b"x"]
        relays.cut()
        assert relays.open_connections() == 0 and [s.recv(1) for s in socks] == [b"", b""]
        relays.restore()
        with connect(ports[1]) as again:
            assert roundtrip(again, b"y") == b"y"
        for sock in socks:
            sock.close()
