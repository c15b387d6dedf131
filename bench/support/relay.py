"""Pieces shared by the websocket benchmarks: ports, server start-up, and the bare relay that
each benchmark runs beside daphne as its baseline."""

import asyncio
import socket
import subprocess
import time
import urllib.request
from collections import defaultdict
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def no_delay(ws) -> None:
    """Nagle off, as browsers and daphne do for websockets."""
    sock = ws.transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def wait_http(url: str, process: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited:\n{log.read_text()}")
        try:
            urllib.request.urlopen(url, timeout=2)  # noqa: S310 - loopback only
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"server did not start:\n{log.read_text()}")


def run_bare_relay(port: int) -> None:
    """The baseline: a plain `websockets` server relaying each frame to the other sockets on the
    same path. Runs in its own process, like daphne."""
    from websockets.asyncio.server import serve

    rooms: dict[str, set] = defaultdict(set)

    async def handler(ws):
        no_delay(ws)
        peers = rooms[ws.request.path]
        peers.add(ws)
        try:
            async for message in ws:
                for peer in list(peers):
                    if peer is not ws:
                        await peer.send(message)
        finally:
            peers.discard(ws)

    async def main():
        async with serve(handler, "127.0.0.1", port, max_size=2**16, ping_interval=None):
            await asyncio.Future()

    asyncio.run(main())
