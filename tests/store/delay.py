"""A delay line for the store tests and ``benchmarks/bench_s3.py``: responses arrive ``DELAY`` seconds late.

``python tests/store/delay.py UPSTREAM_PORT DELAY_SECONDS`` listens on
127.0.0.1 (a port the kernel picks, printed on the first line), forwards
each connection to ``127.0.0.1:UPSTREAM_PORT``, sends requests straight
on and hands every chunk of every response to the client ``DELAY`` seconds
after it arrived (order kept, bandwidth not limited): the latency of a
store far away, without ``tc qdisc ... netem`` (not in this machine's
kernel). Stops when its standard input closes.
"""

from __future__ import annotations

import asyncio
import sys


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    """Copy ``reader`` to ``writer``, each chunk written ``delay`` seconds after it was read."""
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
            line.put_nowait((loop.time() + delay, data))
    except ConnectionError:
        pass
    line.put_nowait((loop.time() + delay, b""))
    try:
        await sender
    except ConnectionError:
        pass


async def _proxy(upstream_port: int, delay: float) -> None:
    async def handle(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            server_reader, server_writer = await asyncio.open_connection("127.0.0.1", upstream_port)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(
            _pipe(client_reader, server_writer, 0.0),  # requests go straight through
            _pipe(server_reader, client_writer, delay),  # responses are delayed
        )

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


async def main(upstream_port: int, delay: float) -> None:
    serving = asyncio.create_task(_proxy(upstream_port, delay))
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until stdin closes
    serving.cancel()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), float(sys.argv[2])))
