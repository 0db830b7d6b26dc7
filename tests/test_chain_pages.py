"""The explorer pages of a local chain: a transaction and a block, read from devnet as the service reads it."""

import pytest

from allocations import deployment
from tests.fakes.servers import dead_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def approval(onchain, settings):
    """A real transaction of the engine's owner, which emits ModelApproved; links go to our pages, as
    chain_deploy on devnet sets them."""
    settings.STARKNET_EXPLORER_URL = "/chain"
    tx_hash = onchain.invoke(deployment.call(onchain.deployed.risk_engine, "approve_model", [0xABC]))
    receipt = onchain.devnet.rpc("starknet_getTransactionReceipt", {"transaction_hash": hex(tx_hash)})
    return f"0x{tx_hash:064x}", receipt["block_number"]


def test_a_transaction_page_shows_the_receipt_and_names_the_events(client, onchain, approval):
    tx_hash, block = approval
    page = client.get(f"/chain/tx/{tx_hash}").content.decode()
    assert "SUCCEEDED" in page and "ACCEPTED_ON_L2" in page
    assert f'href="/chain/block/{block}"' in page
    assert "ModelApproved" in page
    assert f"0x{onchain.operator.address:064x}" in page  # the sender


def test_a_block_page_lists_its_transactions_and_links_the_parent(client, onchain, approval):
    tx_hash, block = approval
    page = client.get(f"/chain/block/{block}").content.decode()
    assert f'href="/chain/tx/{tx_hash}"' in page and f'href="/chain/block/{block - 1}"' in page


@pytest.mark.parametrize("path", ["/chain/tx/0x1234", "/chain/tx/not-hex", "/chain/tx/0x" + "f" * 64, "/chain/block/999999"])
def test_what_the_node_does_not_know_is_404(client, onchain, path):
    assert client.get(path).status_code == 404


def test_without_a_node_the_page_says_so(client, onchain, settings, approval):
    settings.STARKNET_RPC_URLS = [dead_url()]
    response = client.get(f"/chain/tx/{approval[0]}")
    assert response.status_code == 503 and "No node answered" in response.content.decode()
