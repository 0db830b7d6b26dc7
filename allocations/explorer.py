"""What a node says about one transaction or one block, for the explorer pages of a local chain.

No Django here: allocations.selectors passes the nodes in. starknet-devnet has no block explorer, so
the pages read the node the service uses; on a public network STARKNET_EXPLORER_URL points at one.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from starknet_py.net.client_errors import ClientError
from starknet_py.net.full_node_client import FullNodeClient

# starknet-specs v0.10.2 starknet_api_openrpc.json: TXN_HASH_NOT_FOUND, BLOCK_NOT_FOUND.
NOT_FOUND = {"29", "24"}


@dataclasses.dataclass(frozen=True)
class ChainEventView:
    from_address: int
    keys: list[int]
    data: list[int]
    name: str = ""  # the event's name, when the caller recognises its selector


@dataclasses.dataclass(frozen=True)
class TransactionView:
    tx_hash: int
    finality: str
    execution: str
    block_number: int | None
    block_hash: int | None
    sender: int | None
    nonce: int | None
    fee: int | None
    fee_unit: str
    revert_reason: str
    events: list[ChainEventView]


@dataclasses.dataclass(frozen=True)
class BlockView:
    number: int
    block_hash: int
    parent_hash: int
    timestamp: int
    status: str
    transactions: list[int]

    @property
    def time(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp, UTC)


def _missing(exc: ClientError) -> bool:
    return str(exc.code) in NOT_FOUND


async def read_transaction(client: FullNodeClient, tx_hash: int, event_names: dict[int, str]) -> TransactionView | None:
    """The transaction's status, receipt and events (named by selector); None when the node does not know it."""
    try:
        receipt = await client.get_transaction_receipt(tx_hash)
        transaction = await client.get_transaction(tx_hash)
    except ClientError as exc:
        if _missing(exc):
            return None
        raise
    return TransactionView(
        tx_hash=tx_hash,
        finality=receipt.finality_status.value,
        execution=receipt.execution_status.value,
        block_number=receipt.block_number,
        block_hash=receipt.block_hash,
        sender=getattr(transaction, "sender_address", None),
        nonce=getattr(transaction, "nonce", None),
        fee=receipt.actual_fee.amount,
        fee_unit=receipt.actual_fee.unit.value,
        revert_reason=receipt.revert_reason or "",
        events=[
            ChainEventView(e.from_address, list(e.keys), list(e.data), event_names.get(e.keys[0], "") if e.keys else "")
            for e in receipt.events
        ],
    )


async def read_block(client: FullNodeClient, number: int) -> BlockView | None:
    try:
        block = await client.get_block_with_tx_hashes(block_number=number)
    except ClientError as exc:
        if _missing(exc):
            return None
        raise
    return BlockView(
        number=block.block_number,
        block_hash=block.block_hash,
        parent_hash=block.parent_hash,
        timestamp=block.timestamp,
        status=block.status.value,
        transactions=list(block.transactions),
    )
