"""django-q2 entry points; the services hold the logic."""

from . import services


def index_chain_events() -> dict[str, int]:
    """One poll of every indexed contract; the last block indexed for each."""
    indexed = {}
    for address in services.indexed_contracts():
        cursor = services.chain_events_index(contract_address=address)
        if cursor:
            indexed[cursor.contract_address] = cursor.last_block
    return indexed
