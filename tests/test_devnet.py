"""Our Starknet code against a real node: starknet-devnet (tests/devnet.py starts it).

Reading with failover, sending a signed transaction and following it, a reorg, the dry-run revert
and the Integrity read, each through the same functions the service uses, with devnet's own answers.
No database: nothing here is marked django_db.
"""

import socket

import pytest
from starknet_py.hash.selector import get_selector_from_name
from starknet_py.net.client_errors import ClientError
from starknet_py.net.client_models import Call
from starknet_py.net.schemas.broadcasted_txn import BroadcastedTransactionSchema

from allocations import chain, risk_engine
from proofs import integrity
from tests.devnet import CHAIN_ID, STRK, running_devnet

TRANSFER = get_selector_from_name("transfer")
NOTHING_DEPLOYED = 0xDEADBEEF  # an address no contract lives at on a fresh devnet


def on(devnet, read):
    """``read`` through the service's own client path (chain.read_with_failover) against devnet."""
    result, _ = chain.read_with_failover(read, rpc_urls=[devnet.url], timeout=30)
    return result


def signed_transfer(devnet, amount: int = 1) -> tuple[dict, int, int]:
    """A STRK transfer from the first predeployed account to the second, signed, in wire format."""
    sender, receiver = devnet.accounts[0], devnet.accounts[1]

    async def sign(client):
        account = sender.bind(client, CHAIN_ID)
        invoke = await account.sign_invoke_v3(
            Call(to_addr=STRK, selector=TRANSFER, calldata=[receiver.address, amount, 0]), auto_estimate=True
        )
        return BroadcastedTransactionSchema().dump(invoke), invoke.calculate_hash(CHAIN_ID), invoke.nonce

    return on(devnet, sign)


def send(devnet, transaction: dict, tx_hash: int) -> None:
    on(devnet, lambda client: risk_engine.send_execution(client, transaction, tx_hash))


def progress(devnet, tx_hash: int) -> risk_engine.Progress:
    sender = devnet.accounts[0].address
    return on(devnet, lambda client: risk_engine.read_progress(client, tx_hash=tx_hash, sender=sender))


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"  # nothing listens there any more


def test_devnet_speaks_the_rpc_version_and_chain_starknet_py_0_30_expects(devnet):
    async def read(client):
        return await client.spec_version(), await client.get_chain_id()

    assert on(devnet, read) == ("0.10.2", hex(CHAIN_ID))


def test_a_dead_first_node_fails_over_to_the_next(devnet):
    _, node = chain.read_with_failover(
        lambda client: client.get_block_number(), rpc_urls=[closed_port_url(), devnet.url], timeout=10
    )
    assert node == devnet.url


def test_a_signed_transaction_sent_as_stored_lands_and_its_receipt_is_read(devnet):
    transaction, tx_hash, _ = signed_transfer(devnet)
    send(devnet, transaction, tx_hash)

    landed = progress(devnet, tx_hash)
    assert (landed.state, landed.revert_reason) == ("succeeded", "")
    assert landed.block_number >= 1 and landed.fee > 0


def test_resending_a_landed_transaction_is_answered_59_so_it_counts_as_sent(devnet):
    transaction, tx_hash, _ = signed_transfer(devnet)
    send(devnet, transaction, tx_hash)

    with pytest.raises(risk_engine.AlreadyReceived, match="code 59"):
        send(devnet, transaction, tx_hash)


def test_a_hash_the_node_never_saw_is_unknown_with_the_accounts_nonce(devnet):
    _, tx_hash, nonce = signed_transfer(devnet)  # signed, never sent

    assert progress(devnet, tx_hash) == risk_engine.Progress("unknown", account_nonce=nonce)


def test_a_reorg_that_drops_the_block_makes_the_transaction_unknown_again(devnet):
    transaction, tx_hash, nonce = signed_transfer(devnet)
    send(devnet, transaction, tx_hash)
    landed = progress(devnet, tx_hash)

    assert devnet.abort_blocks(landed.block_number) == [landed.block_hash]
    assert progress(devnet, tx_hash) == risk_engine.Progress("unknown", account_nonce=nonce)


def test_a_call_to_no_contract_is_refused_by_the_dry_run_with_the_nodes_reason(devnet):
    call = risk_engine.DecisionCall(risk_engine=NOTHING_DEPLOYED, decision_id=1, output=[0x2] * 41)
    operator = devnet.accounts[0]

    with pytest.raises(risk_engine.WouldRevert) as refused:
        on(devnet, lambda client: risk_engine.sign_execution(client, operator, call))
    assert "not deployed" in refused.value.reason


def test_an_address_without_a_fact_registry_never_verifies_a_fact(devnet):
    with pytest.raises(ClientError, match="Contract not found"):
        integrity.check_fact(
            0x1C446D13EFC5A3A16387EEEC2C9347E9FD44E195B178916E1BD27C0A18220F1,
            rpc_urls=[devnet.url],
            registry=NOTHING_DEPLOYED,
            min_security_bits=96,
            accepted_configs=[integrity.VerifierConfig.parse("recursive:keccak_160_lsb:stone6:relaxed")],
            timeout=30,
        )


def test_a_transaction_waiting_for_its_block_is_pending_until_the_block_is_made():
    """On a chain that makes blocks on demand a sent transaction is PRE_CONFIRMED first: still to follow."""
    with running_devnet("--block-generation-on", "demand") as node:
        transaction, tx_hash, _ = signed_transfer(node)
        send(node, transaction, tx_hash)
        assert progress(node, tx_hash).state == "pending"

        node.rpc("devnet_createBlock")
        landed = progress(node, tx_hash)
        assert landed.state == "succeeded" and landed.block_number == 1
