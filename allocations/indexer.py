"""What the node says about one contract's recent blocks: reorg check, then the events of a block range.

No Django here: services.chain_events_index passes in what is stored and writes what comes back.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from starknet_py.net.client_models import EmittedEvent
from starknet_py.net.full_node_client import FullNodeClient

# The events the indexer acts on; INDEXER_EVENT_NAMES adds those it only stores (the RiskEngine's
# governance events by default). Only recognised events are asked of the node.
ALLOCATION_EXECUTED = "AllocationExecuted"  # the RiskEngine's: keys decision id, model hash
FACT_REGISTERED = "FactRegistered"  # Integrity's FactRegistry: keys fact hash, verifier, bits, config, verification


@dataclasses.dataclass(frozen=True)
class Window:
    head: int
    orphaned_from: int | None  # lowest stored block whose hash the node no longer has
    from_block: int
    to_block: int | None  # None: nothing new to read
    to_block_hash: int | None
    events: list[EmittedEvent]


async def block_hash(client: FullNodeClient, number: int) -> int:
    return (await client.get_block_with_tx_hashes(block_number=number)).block_hash


async def read_window(
    client: FullNodeClient,
    *,
    address: int,
    from_block: int,
    stored_blocks: Sequence[tuple[int, int]],
    selectors: Sequence[int],
    max_blocks: int,
    chunk_size: int,
) -> Window:
    """Checks the stored (block number, hash) pairs against the node, then reads the events named by
    ``selectors`` from the lowest orphaned block (or ``from_block``) up to at most ``max_blocks``
    blocks, all pages.

    The node filters: ``keys`` is a list of positions, each a list of accepted felts (OR), an event
    matching every position; only position 0, the selector, is constrained here."""
    if not selectors:
        raise ValueError("no event selectors: an empty keys position would match every event")
    head = await client.get_block_number()
    orphaned_from = None
    for number, stored_hash in sorted(stored_blocks, reverse=True):
        # A block above the head is not checked: this node lags behind the one that answered before.
        if number <= head and await block_hash(client, number) != stored_hash:
            orphaned_from = number
    start = min(from_block, orphaned_from) if orphaned_from is not None else from_block
    to_block = min(head, start + max_blocks - 1)
    if to_block < start:
        return Window(head, orphaned_from, start, None, None, [])
    events, token = [], None
    while True:
        chunk = await client.get_events(
            address=address,
            keys=[list(selectors)],
            from_block_number=start,
            to_block_number=to_block,
            chunk_size=chunk_size,
            continuation_token=token,
        )
        events += chunk.events
        token = chunk.continuation_token
        if not token:
            break
    return Window(head, orphaned_from, start, to_block, await block_hash(client, to_block), events)
