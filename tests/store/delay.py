"""A delay line for the store tests and ``benchmarks/bench_s3.py``: responses arrive ``DELAY`` seconds late.

``python tests/store/delay.py UPSTREAM_PORT DELAY_SECONDS [LOG]`` listens on
127.0.0.1 (a port the kernel picks, printed on the first line), forwards
each connection to ``127.0.0.1:UPSTREAM_PORT``, sends requests straight
on and hands every chunk of every response to the client ``DELAY`` seconds
after it arrived (order kept, bandwidth not limited): the latency of a
store far away, without ``tc qdisc ... netem`` (not in this machine's
kernel). With ``LOG``, the request line of every GET and HEAD that passes
(what a scan sends: no request bodies) is appended to that file, so a test
can tell which objects were fetched. Stops when its standard input closes.
"""

from __future__ import annotations

import asyncio
import re
import sys
from typing import IO

_REQUEST = re.compile(rb"(?:^|\r\n)((?:GET|HEAD) \S+) HTTP/1\.[01]\r\n")


async def _pipe(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float, log: IO[bytes] | None = None
) -> None:
    """Copy ``reader`` to ``writer``, each chunk written ``delay`` seconds after it was read (and logged)."""
    loop = asyncio.get_running_loop()
    line: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def drain() -> None:
        while True:
            due, data = await line.get()
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if not data:
                break
            writer.write(data)
            await writer.drain()
        writer.close()

    sender = asyncio.create_task(drain())
    try:
        while data := await reader.read(1 << 16):
            if log is not None:
                for request in _REQUEST.findall(data):
                    log.write(request + b"\n")
                log.flush()
            line.put_nowait((loop.time() + delay, data))
    except ConnectionError:
        pass
    line.put_nowait((loop.time() + delay, b""))
    try:
        await sender
    except ConnectionError:
        pass


async def _proxy(upstream_port: int, delay: float, log: IO[bytes] | None = None) -> None:
    async def handle(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            server_reader, server_writer = await asyncio.open_connection("127.0.0.1", upstream_port)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(
            _pipe(client_reader, server_writer, 0.0, log),  # requests go straight through
            _pipe(server_reader, client_writer, delay),  # responses are delayed
        )

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


async def main(upstream_port: int, delay: float, log: IO[bytes] | None) -> None:
    serving = asyncio.create_task(_proxy(upstream_port, delay, log))
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until stdin closes
    serving.cancel()


if __name__ == "__main__":
    log = open(sys.argv[3], "ab") if len(sys.argv) > 3 else None
    asyncio.run(main(int(sys.argv[1]), float(sys.argv[2]), log))
