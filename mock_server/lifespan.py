"""Lifespan layers: `CloseStoreOnShutdown` closes the session store when the server shuts down
(SIGINT/SIGTERM); `FreezeHeapAfterStartup` keeps the collector off the start-up heap.

uvicorn re-raises the signal that stopped it once it has shut down, so code after `Server.run`
never runs; the ASGI lifespan's shutdown is the last moment the app is sure to see.
"""

from __future__ import annotations

import gc

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reference_impl.store import SessionStore


class CloseStoreOnShutdown:
    def __init__(self, app: ASGIApp, store: SessionStore) -> None:
        self.app = app
        self.store = store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        async def send_closing_store(message: Message) -> None:
            if message["type"] == "lifespan.shutdown.complete":
                await self.store.close()
            await send(message)

        await self.app(scope, receive, send_closing_store)


class FreezeHeapAfterStartup:
    """At the end of start-up, `gc.freeze()`: the collector never walks the objects alive then again.

    Those are the parsed spec, Connexion's middleware stack and operations, and the seeded
    sessions: tens of thousands of objects that live as long as the server. A full collection
    over them took about 100 ms (measured in-process), a pause that every answer in flight waits
    for, so it showed in the tail latency. Frozen, a full collection walks only what came after.

    What comes after is mostly stored sessions, and a full collection walks every one of them: with
    tens of thousands stored, each pass stalled the answers in flight for 20-40 ms, and p99 grew with
    the store. So full (generation 2) collections also run less often: at most once per
    `FULL_COLLECTION_EVERY` collections of generation 1 (CPython's default is 10), i.e. every few
    seconds under load instead of several times a second. Stored sessions hold no reference cycles
    (their data is parsed JSON) and are freed by reference counting; only cyclic garbage waits
    longer for the collector. Meant for the server process (the `session-mock` command), not for
    apps built in a test run.
    """

    FULL_COLLECTION_EVERY = 1000

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        async def send_freezing_heap(message: Message) -> None:
            if message["type"] == "lifespan.startup.complete":
                gc.collect()
                gc.freeze()
                young, middle, _ = gc.get_threshold()
                gc.set_threshold(young, middle, self.FULL_COLLECTION_EVERY)
            await send(message)

        await self.app(scope, receive, send_freezing_heap)
