"""The schemas the fake servers are held to refuse what the real services never answer.

Every answer of the fake Starknet node and the fake Atlantic is checked against these schemas while
the other tests run (a fake that answers otherwise fails the test when it stops); here each check
plays the smallest departure from the spec and must catch it. No database.
"""

import pytest

from tests.fakes import atlantic_schemas, rpc_schemas


def ok(result) -> dict:
    return {"jsonrpc": "2.0", "id": 1, "result": result}


def error(code: int, message: str) -> dict:
    return {"jsonrpc": "2.0", "id": 1, "error": {"code": code, "message": message}}


RECEIPT = {
    "type": "INVOKE", "transaction_hash": "0x1f", "actual_fee": {"amount": "0x10", "unit": "FRI"},
    "execution_status": "SUCCEEDED", "finality_status": "ACCEPTED_ON_L2", "block_hash": "0xb", "block_number": 7,
    "messages_sent": [], "events": [], "execution_resources": {"l1_gas": 0, "l1_data_gas": 224, "l2_gas": 900000},
}  # fmt: skip


@pytest.mark.parametrize(
    "method,body",
    [
        ("starknet_addInvokeTransaction", ok({"transaction_hash": "0x1f"})),
        ("starknet_addInvokeTransaction", error(59, "A transaction with the same hash already exists in the mempool")),
        ("starknet_addInvokeTransaction", error(52, "Invalid transaction nonce")),
        ("starknet_getTransactionStatus", ok({"finality_status": "RECEIVED"})),
        ("starknet_getTransactionStatus", error(29, "Transaction hash not found")),
        ("starknet_getTransactionReceipt", ok(RECEIPT)),
        ("starknet_getEvents", error(-32603, "Internal error")),
    ],
)
def test_answers_the_spec_allows_pass(method, body):
    assert rpc_schemas.problems(method, body) == []


@pytest.mark.parametrize(
    "method,body",
    [
        ("starknet_addInvokeTransaction", ok({"transaction_hash": "0x01f"})),  # a felt with a leading zero
        ("starknet_addInvokeTransaction", ok({})),
        ("starknet_addInvokeTransaction", error(52, "Invalid nonce")),  # another message
        ("starknet_addInvokeTransaction", error(29, "Transaction hash not found")),  # not one of its errors
        ("starknet_getTransactionStatus", error(59, "A transaction with the same hash already exists in the mempool")),
        ("starknet_getTransactionStatus", ok({"finality_status": "PENDING"})),  # a status of older specs
        ("starknet_getTransactionReceipt", ok({**RECEIPT, "execution_status": "REVERTED"})),  # no revert_reason
        ("starknet_getTransactionReceipt", ok({k: v for k, v in RECEIPT.items() if k != "execution_resources"})),
        ("starknet_specVersion", ok("0.8.1")),
        ("starknet_blockNumber", ok("0x10")),
        ("starknet_getNonce", {"jsonrpc": "2.0", "id": 1}),  # neither result nor error
    ],
)
def test_answers_the_spec_does_not_allow_are_caught(method, body):
    assert rpc_schemas.problems(method, body) != []


QUERY = {
    "id": "q-1", "status": "DONE", "steps": ["TRACE_GENERATION"], "submittedByClient": "c", "projectId": "p",
    "createdAt": "2026-01-01T00:00:00.000Z", "isJobSizeValid": True, "programHash": "0xabc", "jobSize": "S",
}  # fmt: skip


def test_an_atlantic_query_its_clients_decode_passes():
    assert atlantic_schemas.problems("poll", {"atlanticQuery": QUERY, "metadataUrls": []}) == []
    assert atlantic_schemas.problems("lookup", {"atlanticQuery": QUERY}) == []
    assert atlantic_schemas.problems("submit", {"atlanticQueryId": "q-1"}) == []


@pytest.mark.parametrize(
    "kind,body",
    [
        ("poll", {"atlanticQuery": QUERY}),  # no metadataUrls
        ("poll", {"atlanticQuery": {**QUERY, "status": "PROVING"}, "metadataUrls": []}),
        ("poll", {"atlanticQuery": {**QUERY, "jobSize": "XS"}, "metadataUrls": []}),
        ("lookup", {"atlanticQuery": {k: v for k, v in QUERY.items() if k != "projectId"}}),
        ("submit", {"id": "q-1"}),
    ],
)
def test_atlantic_answers_its_clients_would_not_decode_are_caught(kind, body):
    assert atlantic_schemas.problems(kind, body) != []
