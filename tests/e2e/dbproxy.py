"""A TCP proxy in front of PostgreSQL that a test can break: the network between one worker
and the database, failing the way real networks do (connections refused, or silence)."""

import asyncio
import contextlib
import enum
import threading
from collections.abc import Iterator

from sqlalchemy.engine import make_url

from services.embedded import free_port


class Mode(enum.Enum):
    pass_through = "pass"
    refuse = "refuse"  # open connections are cut, new ones closed at once
    stall = "stall"  # nothing goes through in either direction until the mode changes


class DatabaseProxy:
    def __init__(self, database_url: str) -> None:
        url = make_url(database_url)
        self.database_url = database_url
        host = url.query.get("host")  # a socket directory (the embedded PostgreSQL)
        socket_dir = host if isinstance(host, str) else (host[0] if host else "")
        self.unix_path = f"{socket_dir}/.s.PGSQL.{url.port or 5432}" if socket_dir else None
        self.target = (url.host or "127.0.0.1", url.port or 5432)
        self.port = free_port()
        self.mode = Mode.pass_through
        self._loop = asyncio.new_event_loop()
        self._flowing = asyncio.Event()
        self._writers: set[asyncio.StreamWriter] = set()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    @property
    def url(self) -> str:
        """The database URL, through this proxy."""
        url = make_url(self.database_url)
        query = {k: v for k, v in url.query.items() if k != "host"}
        return url.set(host="127.0.0.1", port=self.port, query=query).render_as_string(
            hide_password=False
        )

    def start(self) -> None:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._serve(), self._loop).result(10)

    def stop(self) -> None:
        self.set_mode(Mode.refuse)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def set_mode(self, mode: Mode) -> None:
        asyncio.run_coroutine_threadsafe(self._set_mode(mode), self._loop).result(10)

    async def _set_mode(self, mode: Mode) -> None:
        self.mode = mode
        if mode is Mode.pass_through:
            self._flowing.set()
            return
        self._flowing.clear()
        if mode is Mode.refuse:
            for writer in list(self._writers):
                writer.close()
            self._writers.clear()

    async def _serve(self) -> None:
        self._flowing.set()
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.mode is Mode.refuse:
            writer.close()
            return
        self._writers.add(writer)
        await self._flowing.wait()
        try:
            if self.unix_path:
                up_reader, up_writer = await asyncio.open_unix_connection(self.unix_path)
            else:
                up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._writers.add(up_writer)
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while data := await reader.read(65536):
                await self._flowing.wait()  # stalled: hold what was sent
                if writer.is_closing():
                    break
                writer.write(data)
                await writer.drain()
        writer.close()


@contextlib.contextmanager
def database_proxy(database_url: str) -> Iterator[DatabaseProxy]:
    proxy = DatabaseProxy(database_url)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.stop()
