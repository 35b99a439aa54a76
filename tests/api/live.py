"""The app served by a real uvicorn on a loopback port, in the test's own event loop, for
tests that need real sockets (WebSockets, truly parallel requests)."""

import asyncio
import contextlib
from collections.abc import AsyncIterator

import uvicorn
from litestar import Litestar

from tests.servers import free_port


@contextlib.asynccontextmanager
async def live_server(app: Litestar) -> AsyncIterator[str]:
    """Serve `app` until the block ends; yields its base URL (`http://127.0.0.1:<port>`)."""
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_config=None, lifespan="on", ws="websockets-sansio"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
                msg = "uvicorn stopped before it started"
                raise RuntimeError(msg)
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
