"""The network side of printing: send bytes to a printer's raw TCP port (JetDirect, 9100).

Kept apart from the print-job service so that the service can be pointed at another sender
(``send=``) and the tests at a fake printer listening on 127.0.0.1.
"""

from __future__ import annotations

import socket
from collections.abc import Callable

DEFAULT_TIMEOUT_SECONDS = 5.0


class PrinterUnreachable(Exception):
    """The printer refused the connection, timed out or dropped it; ``str()`` says which."""


Sender = Callable[[str, int, bytes, float], None]


def send_raw(host: str, port: int, payload: bytes, timeout: float) -> None:
    """Open a TCP connection to ``host:port``, send ``payload`` whole, and close it.

    ``timeout`` bounds the connection and each send. Raw port 9100 has no reply: the printer
    has the job once every byte is written and the connection closed cleanly.

    :raise PrinterUnreachable: with the reason (refused, timed out, unknown host, reset).
    """
    try:
        with socket.create_connection((host, port), timeout=timeout) as conn:
            conn.sendall(payload)
            conn.shutdown(socket.SHUT_WR)
    except TimeoutError:
        raise PrinterUnreachable(
            f"no answer from {host}:{port} within {timeout:g} s (timed out)"
        ) from None
    except ConnectionRefusedError:
        raise PrinterUnreachable(f"{host}:{port} refused the connection") from None
    except socket.gaierror as exc:
        raise PrinterUnreachable(f"the host name {host} cannot be resolved ({exc})") from None
    except OSError as exc:
        raise PrinterUnreachable(
            f"sending to {host}:{port} failed: {exc.strerror or exc}"
        ) from None
