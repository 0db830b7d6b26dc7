"""django-q2 entry points; the services hold the logic."""

from django.conf import settings

from . import execution, services


def index_chain_events() -> dict[str, int]:
    """One poll of every indexed contract; the last block indexed for each."""
    indexed = {}
    for address in services.indexed_contracts():
        cursor = services.chain_events_index(contract_address=address)
        if cursor:
            indexed[cursor.contract_address] = cursor.last_block
    return indexed


def follow_execution(execution_id: int) -> str:
    """Queued right after a transaction is sent: waits for its receipt a while, then leaves it to the schedule."""
    return execution.execution_wait(execution_id, seconds=settings.EXECUTION_FOLLOW_SECONDS).status


def follow_executions() -> dict[str, int]:
    return execution.executions_follow_open()
