"""The schemas the fakes are held to refuse what the real services never answer, and the chain proxy in
front of devnet forwards faithfully and fails exactly as planned.

Every answer of the fake Atlantic is checked against its schemas while the other tests run (a fake
that answers otherwise fails the test when it stops), and every JSON-RPC error the chain proxy injects
must be one starknet-specs lets that method answer; here each check plays the smallest departure from
the spec and must catch it. The proxy tests need devnet; none needs the database.
"""

import httpx
import pytest

from tests import chain_proxy as proxy_faults
from tests.devnet import STRK
from tests.fakes import atlantic_schemas, rpc_schemas


def error(code: int, message: str) -> dict:
    return {"jsonrpc": "2.0", "id": 1, "error": {"code": code, "message": message}}


@pytest.mark.parametrize(
    "method,body",
    [
        ("starknet_addInvokeTransaction", error(59, "A transaction with the same hash already exists in the mempool")),
        ("starknet_addInvokeTransaction", error(52, "Invalid transaction nonce")),
        ("starknet_getTransactionStatus", error(29, "Transaction hash not found")),
        ("starknet_getEvents", error(-32603, "Internal error")),
    ],
)
def test_errors_the_spec_allows_pass(method, body):
    assert rpc_schemas.problems(method, body) == []


@pytest.mark.parametrize(
    "method,body",
    [
        ("starknet_addInvokeTransaction", error(52, "Invalid nonce")),  # another message
        ("starknet_addInvokeTransaction", error(29, "Transaction hash not found")),  # not one of its errors
        ("starknet_getTransactionStatus", error(59, "A transaction with the same hash already exists in the mempool")),
        ("starknet_getNonce", {"jsonrpc": "2.0", "id": 1}),  # not an error answer
    ],
)
def test_errors_the_spec_does_not_allow_are_caught(method, body):
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


# ---------------------------------------------------------------------------------------------
# The chain proxy (tests/chain_proxy.py)
# ---------------------------------------------------------------------------------------------


def rpc(url: str, method: str, params=None, *, timeout: float = 10) -> httpx.Response:
    body = {"jsonrpc": "2.0", "id": 7, "method": method, "params": params or {}}
    return httpx.post(url, json=body, timeout=timeout)


def balance_of(address: str) -> dict:
    """A view call of the fee token devnet predeploys."""
    from starknet_py.hash.selector import get_selector_from_name

    request = {"contract_address": hex(STRK), "entry_point_selector": hex(get_selector_from_name("balance_of")),
               "calldata": [address]}  # fmt: skip
    return {"request": request, "block_id": "latest"}


def test_the_proxy_answers_what_devnet_answers(devnet, chain_proxy):
    account = hex(devnet.accounts[0].address)
    no_contract = {**balance_of(account)["request"], "contract_address": "0x9"}
    requests = [
        ("starknet_specVersion", {}),
        ("starknet_blockNumber", {}),
        ("starknet_getBlockWithTxHashes", {"block_id": {"block_number": 0}}),
        ("starknet_call", balance_of(account)),
        ("starknet_call", {**balance_of(account), "request": no_contract}),
    ]
    for method, params in requests:
        direct, proxied = rpc(devnet.url, method, params), rpc(chain_proxy.url, method, params)
        assert (proxied.status_code, proxied.json()) == (direct.status_code, direct.json()), method
    assert "error" in direct.json()  # the last one: devnet's own "Contract not found", forwarded as is
    assert chain_proxy.requests == [method for method, _ in requests] and chain_proxy.faulted == []


def test_http_faults_are_answered_once_each_then_devnet_again(devnet, chain_proxy):
    chain_proxy.fail(proxy_faults.status(503)).fail(proxy_faults.status(429, retry_after=3))
    unavailable, limited = rpc(chain_proxy.url, "starknet_blockNumber"), rpc(chain_proxy.url, "starknet_blockNumber")
    assert (unavailable.status_code, limited.status_code, limited.headers["retry-after"]) == (503, 429, "3")
    assert rpc(chain_proxy.url, "starknet_blockNumber").json() == rpc(devnet.url, "starknet_blockNumber").json()


def test_a_hang_outlasts_the_client_and_a_drop_answers_nothing(chain_proxy):
    chain_proxy.fail(proxy_faults.HANG).fail(proxy_faults.DROP)
    with pytest.raises(httpx.ReadTimeout):
        rpc(chain_proxy.url, "starknet_blockNumber", timeout=0.3)
    with pytest.raises(httpx.RemoteProtocolError):
        rpc(chain_proxy.url, "starknet_blockNumber")


def test_a_json_rpc_error_answers_only_its_method_with_the_spec_code_and_message(devnet, chain_proxy):
    chain_proxy.fail(proxy_faults.rpc_error("BLOCK_NOT_FOUND"), method="starknet_call", times=None)
    assert "result" in rpc(chain_proxy.url, "starknet_blockNumber").json()
    for _ in range(2):
        answer = rpc(chain_proxy.url, "starknet_call", balance_of(hex(devnet.accounts[0].address))).json()
        assert answer == {"jsonrpc": "2.0", "id": 7, "error": {"code": 24, "message": "Block not found"}}
        assert rpc_schemas.problems("starknet_call", answer) == []


@pytest.mark.parametrize(
    "fault,method",
    [
        (proxy_faults.rpc_error("TXN_HASH_NOT_FOUND"), "starknet_call"),  # a real error, not one of starknet_call's
        (proxy_faults.rpc_error("CONTRACT_NOT_FOUND"), None),  # an error answers a method
    ],
)
def test_the_proxy_refuses_an_error_the_spec_does_not_allow(chain_proxy, fault, method):
    with pytest.raises(ValueError):
        chain_proxy.fail(fault, method=method)


def test_a_planned_fault_never_met_is_reported(devnet):
    proxy = proxy_faults.ChainProxy(devnet.url)
    try:
        proxy.fail(proxy_faults.status(503), method="starknet_call", times=2)
        rpc(proxy.url, "starknet_call", balance_of(hex(devnet.accounts[0].address)))
        [unmet] = proxy.unmet()
        assert unmet.endswith("for starknet_call: met 1 of 2")
    finally:
        proxy.stop()
