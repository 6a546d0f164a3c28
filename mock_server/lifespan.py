"""`CloseStoreOnShutdown`: close the session store when the server shuts down (SIGINT/SIGTERM).

uvicorn re-raises the signal that stopped it once it has shut down, so code after `Server.run`
never runs; the ASGI lifespan's shutdown is the last moment the app is sure to see.
"""

from __future__ import annotations

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
