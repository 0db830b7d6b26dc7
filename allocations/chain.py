"""Reading Starknet through the configured nodes, one after the other on network trouble.

No Django here: callers pass the URLs and timeout from settings. The failover rule: move on for
transport errors, rate limits and 5xx, never for a node's answer.
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar
from urllib.parse import urlsplit

import aiohttp
from starknet_py.net.client_errors import ClientError
from starknet_py.net.full_node_client import FullNodeClient
from starknet_py.net.http_client import ServerError

T = TypeVar("T")


class ChainUnavailable(Exception):
    """No configured node answered (network errors, rate limits, 5xx on every URL)."""


def node_name(url: str) -> str:
    """scheme://host[:port] only: hosted node URLs often carry an API key in the path or query."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


def is_network_failure(exc: Exception) -> bool:
    """Fail over on transport trouble, rate limits and 5xx; not on a node's JSON-RPC answer."""
    if isinstance(exc, (aiohttp.ClientError, asyncio.TimeoutError, OSError, ServerError, ValueError)):
        return True
    if isinstance(exc, ClientError):
        code = str(exc.code)
        return code.isdigit() and (int(code) >= 500 or int(code) in (404, 429))
    return False



async def _read_one(url: str, read: Callable[[FullNodeClient], Awaitable[T]], timeout: float) -> T:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session:
        client = FullNodeClient(node_url=url, session=session)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the spec-version warning; answers are parsed by schema anyway
            return await read(client)


def read_with_failover(
    read: Callable[[FullNodeClient], Awaitable[T]], *, rpc_urls: Sequence[str], timeout: float
) -> tuple[T, str]:
    """``read`` run against the first node that answers, and that node's name (no path: it may hold a key)."""
    if not rpc_urls:
        raise ChainUnavailable("no Starknet RPC URL configured (STARKNET_RPC_URLS)")
    errors = []
    for url in rpc_urls:
        try:
            return asyncio.run(_read_one(url, read, timeout)), node_name(url)
        except Exception as exc:
            if not is_network_failure(exc):
                raise
            errors.append(f"{node_name(url)}: {type(exc).__name__}: {str(exc).replace(url, node_name(url))}"[:300])
    raise ChainUnavailable("; ".join(errors))
