"""HTTP/1.1 from a plain socket, for requests no client library sends: a body larger than
the server reads, a header or body trickled in one byte at a time."""

import select
import socket
import threading
import time
from dataclasses import dataclass
from typing import Dict, Optional


@dataclass
class Answer:
    status: int  # 0: the server closed the connection without answering
    body: bytes
    seconds: float


def request_head(method: str, path: str, headers: Dict[str, str], length: Optional[int]) -> bytes:
    lines = [
        f"{method} {path} HTTP/1.1",
        "Host: localhost",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def read_answer(sock: socket.socket, started: float) -> Answer:
    data = b""
    while b"\r\n\r\n" not in data:
        try:
            chunk = sock.recv(65536)
        except OSError:
            chunk = b""
        if not chunk:
            return Answer(0, data, time.monotonic() - started)
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = next(
        (
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        ),
        0,
    )
    while len(body) < length:
        try:
            chunk = sock.recv(65536)
        except OSError:
            break
        if not chunk:
            break
        body += chunk
    return Answer(status, body, time.monotonic() - started)


def send(
    port: int,
    method: str,
    path: str,
    headers: Dict[str, str],
    body: bytes = b"",
    length: Optional[int] = None,
    timeout: float = 60,
) -> Answer:
    """Send a request, its body from another thread so that an answer the server gives
    before reading all of it (a 413) is read; `length` declares another Content-Length."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request_head(method, path, headers, len(body) if length is None else length))

        def send_body() -> None:
            try:
                for start in range(0, len(body), 65536):
                    sock.sendall(body[start : start + 65536])
            except OSError:
                pass  # the server stopped reading: its answer says why

        sender = threading.Thread(target=send_body, daemon=True)
        sender.start()
        answer = read_answer(sock, started)
        sender.join(timeout)
        return answer


def trickle(port: int, data: bytes, stop_after: float, interval: float = 1.0) -> Answer:
    """Send `data` one byte every `interval` seconds until the server answers or closes
    the connection (status 0), or `stop_after` seconds pass with it still open (status -1)."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=stop_after) as sock:
        for byte in data:
            if time.monotonic() - started > stop_after:
                break
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                return Answer(0, b"", time.monotonic() - started)
            readable, _, _ = select.select([sock], [], [], interval)
            if readable:
                return read_answer(sock, started)
        return Answer(-1, b"", time.monotonic() - started)
