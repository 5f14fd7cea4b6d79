"""A fake network label printer for tests: a TCP server on 127.0.0.1 that keeps what it gets."""

from __future__ import annotations

import socket
import threading
from typing import Self


class FakePrinter:
    """Listen on 127.0.0.1 (``port`` 0: any free port); keep each connection's bytes in ``jobs``.

    Use as a context manager; ``port`` is the port it listens on.
    """

    def __init__(self, port: int = 0) -> None:
        self.jobs: list[bytes] = []
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", port))
        self._sock.listen(5)
        self._sock.settimeout(0.2)
        self.port = self._sock.getsockname()[1]
        self._stop = threading.Event()
        self._received = threading.Condition()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(5)
        self._sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                chunks = []
                while True:
                    try:
                        chunk = conn.recv(65536)
                    except OSError:
                        break
                    if not chunk:
                        break
                    chunks.append(chunk)
            with self._received:
                self.jobs.append(b"".join(chunks))
                self._received.notify_all()

    def wait_for(self, count: int, timeout: float = 5) -> list[bytes]:
        """Return the jobs once ``count`` have arrived (or what arrived within ``timeout``)."""
        with self._received:
            self._received.wait_for(lambda: len(self.jobs) >= count, timeout)
            return list(self.jobs)


def closed_port() -> int:
    """Return a port on 127.0.0.1 where nothing listens (a connection is refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SilentPrinter:
    """A printer that never answers: its backlog is full and it never accepts.

    Linux drops a SYN to a listener whose accept queue is full, so a new connection waits until
    the client's timeout.
    """

    def __enter__(self) -> Self:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(0)
        self.port = self._sock.getsockname()[1]
        self._fillers = []
        for _ in range(3):
            filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            filler.setblocking(False)
            try:
                filler.connect(("127.0.0.1", self.port))
            except BlockingIOError:
                pass
            self._fillers.append(filler)
        return self

    def __exit__(self, *exc) -> None:
        for filler in self._fillers:
            filler.close()
        self._sock.close()
