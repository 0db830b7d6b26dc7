"""The L1 check of a SHARP fact: GpsFactRegistry.isValid(bytes32) on Ethereum, over plain JSON-RPC.

No Django here. SHARP settles on Ethereum, so a SHARP job is verified only when an Ethereum node
says the registry holds its keccak fact. Nodes are tried in order on network errors.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import httpx
from eth_hash.auto import keccak

from allocations.chain import ChainUnavailable, node_name

from .integrity import MalformedAnswer

IS_VALID_SELECTOR = keccak(b"isValid(bytes32)")[:4].hex()


@dataclasses.dataclass(frozen=True)
class L1FactCheck:
    fact_hash: int
    valid: bool
    block_number: int
    node_url: str


def _rpc(client: httpx.Client, url: str, method: str, params: list):
    response = client.post(url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
    response.raise_for_status()
    body = response.json()
    if "result" not in body:
        raise MalformedAnswer(f"{method}: {body.get('error')}")
    return body["result"]


def is_valid_fact(fact_hash: int, *, rpc_urls: Sequence[str], registry: str, timeout: float) -> L1FactCheck:
    if not rpc_urls:
        raise ChainUnavailable("no Ethereum RPC URL configured (ETHEREUM_RPC_URLS)")
    data = "0x" + IS_VALID_SELECTOR + f"{fact_hash:064x}"
    errors = []
    for url in rpc_urls:
        try:
            with httpx.Client(timeout=timeout) as client:
                block = int(_rpc(client, url, "eth_blockNumber", []), 16)
                result = _rpc(client, url, "eth_call", [{"to": registry, "data": data}, hex(block)])
        except (httpx.HTTPError, ValueError) as exc:
            errors.append(f"{node_name(url)}: {type(exc).__name__}"[:300])
            continue
        if not isinstance(result, str) or len(result) != 66:
            raise MalformedAnswer(f"isValid returned {result!r}")
        return L1FactCheck(fact_hash, int(result, 16) == 1, block, node_name(url))
    raise ChainUnavailable("; ".join(errors))
