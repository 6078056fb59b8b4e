"""The load generator's HTTP client: aiohttp by default, httpx on request (``--client``).

The load generator runs on the same two cores as the pipeline it measures, so every
millisecond it spends is taken from the system under test. Measured on the development
machine against a trivial ASGI app (uvicorn, 3,000 POSTs of an event body): httpx 0.28 spent
3.8 ms of CPU per request with 32 connections (1.6 ms with one) and topped out at 265
requests/s; aiohttp 3.14 spent 0.22 ms and served 4,400/s. With httpx the bench process was
the largest CPU consumer of a run (docs/BENCHMARKS.md). Both clients are kept behind one
small interface so a run can still be made with either.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType
from typing import Any, Protocol

import aiohttp
import httpx
import orjson

CLIENTS = ("aiohttp", "httpx")
TIMEOUT_SECONDS = 30.0


class TransportFailure(Exception):
    """The request never got an answer (connection refused or broken, timeout)."""


@dataclass(frozen=True)
class Reply:
    status_code: int
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode(errors="replace")


class LoadClient(Protocol):
    async def request(self, method: str, url: str, *, json: Any = None) -> Reply: ...

    async def __aenter__(self) -> LoadClient: ...

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None: ...


class AiohttpClient:
    def __init__(self, base_url: str, headers: dict[str, str], concurrency: int) -> None:
        self._args = (base_url, headers, concurrency)
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> AiohttpClient:
        base_url, headers, concurrency = self._args
        self._session = aiohttp.ClientSession(
            base_url,
            headers=headers,
            connector=aiohttp.TCPConnector(limit=concurrency),
            timeout=aiohttp.ClientTimeout(total=TIMEOUT_SECONDS),
            json_serialize=lambda value: orjson.dumps(value).decode(),
        )
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._session is not None:
            await self._session.close()

    async def request(self, method: str, url: str, *, json: Any = None) -> Reply:
        assert self._session is not None, "use the client as an async context manager"
        try:
            async with self._session.request(method, url, json=json) as response:
                return Reply(response.status, await response.read())
        except (TimeoutError, aiohttp.ClientError) as error:
            raise TransportFailure(str(error)) from error


class HttpxClient:
    def __init__(self, base_url: str, headers: dict[str, str], concurrency: int) -> None:
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        self._client = httpx.AsyncClient(
            base_url=base_url, headers=headers, limits=limits, timeout=httpx.Timeout(TIMEOUT_SECONDS)
        )

    async def __aenter__(self) -> HttpxClient:
        await self._client.__aenter__()
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self._client.__aexit__(*exc_info)

    async def request(self, method: str, url: str, *, json: Any = None) -> Reply:
        try:
            response = await self._client.request(method, url, json=json)
        except httpx.TransportError as error:
            raise TransportFailure(str(error)) from error
        return Reply(response.status_code, response.content)


def make_client(kind: str, base_url: str, api_key: str, concurrency: int) -> LoadClient:
    headers = {"Authorization": f"Bearer {api_key}"}
    if kind == "httpx":
        return HttpxClient(base_url, headers, concurrency)
    return AiohttpClient(base_url, headers, concurrency)
