"""`manage.py chain_deploy` on devnet, and the admin's on-chain approval of a model version."""

import json
import logging
import os
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command

from allocations import deployment
from allocations.selectors import policy_get
from proofs import integrity
from registry.models import ModelVersion
from tests.fakes.servers import dead_url

pytestmark = pytest.mark.django_db


def settings_with(env_file, *names) -> dict:
    """The named settings as a fresh process of the application reads them with this CHAIN_ENV_FILE."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("STARKNET_", "RISK_ENGINE", "INTEGRITY_"))}
    code = f"from django.conf import settings; import json; print(json.dumps({{n: getattr(settings, n) for n in {names!r}}}))"
    out = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        env=environment | {"CHAIN_ENV_FILE": str(env_file), "DJANGO_SETTINGS_MODULE": "obsqra.settings"},
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return json.loads(out.stdout.splitlines()[-1])


def engine_view(devnet, address: int, function: str, *calldata: int) -> list[int]:
    call = {"contract_address": hex(address), "entry_point_selector": hex(deployment.call(0, function).selector),
            "calldata": [hex(felt) for felt in calldata]}  # fmt: skip
    return [int(felt, 16) for felt in devnet.rpc("starknet_call", {"request": call, "block_id": "latest"})]


def test_on_devnet_it_deploys_configures_and_writes_the_settings(devnet, tmp_path, current_version, capsys):
    env_file = tmp_path / "chain.env"
    call_command("chain_deploy", rpc_url=devnet.url, env_file=str(env_file))

    written = settings_with(env_file, "STARKNET_RPC_URLS", "STARKNET_ACCOUNT_ADDRESS", "STARKNET_OWNER_ADDRESS",
                            "RISK_ENGINE_ADDRESS", "INTEGRITY_FACT_REGISTRY_ADDRESS", "PROVER_SERVICE",
                            "INTEGRITY_VERIFIER_CONFIGS", "STARKNET_EXPLORER_URL", "JEDISWAP_POOL_ADDRESS", "EKUBO_CORE_ADDRESS",
                            "EKUBO_POOL_KEY")  # fmt: skip
    owner, executor = devnet.accounts[:2]
    assert written["STARKNET_RPC_URLS"] == [devnet.url]
    assert int(written["STARKNET_ACCOUNT_ADDRESS"], 16) == executor.address
    assert int(written["STARKNET_OWNER_ADDRESS"], 16) == owner.address
    engine, registry = int(written["RISK_ENGINE_ADDRESS"], 16), int(written["INTEGRITY_FACT_REGISTRY_ADDRESS"], 16)

    assert engine_view(devnet, engine, "is_model_approved", int(current_version.model_hash, 16)) == [1]
    other = ModelVersion.objects.exclude(pk=current_version.pk).first()
    assert engine_view(devnet, engine, "is_model_approved", int(other.model_hash, 16)) == [0]
    assert engine_view(devnet, engine, "policy") == policy_get(None).terms.to_elements()
    assert engine_view(devnet, engine, "owner") == [owner.address]
    assert engine_view(devnet, engine, "executor") == [executor.address]
    assert engine_view(devnet, engine, "fact_registry") == [registry]
    assert engine_view(devnet, registry, "owner") == [owner.address]  # the local stand-in, owned by the owner
    # No Integrity on devnet: the local registrar, whose configuration the engine accepts.
    assert written["PROVER_SERVICE"] == "local"
    assert written["STARKNET_EXPLORER_URL"] == "/chain"
    assert str(integrity.LOCAL_VERIFIER_CONFIG) in written["INTEGRITY_VERIFIER_CONFIGS"]
    local = integrity.LOCAL_VERIFIER_CONFIG.felts()
    assert engine_view(devnet, engine, "is_verifier_config_accepted", *local) == [1]
    # The pools the metrics reader is pointed at answer with their first state.
    pair, core = int(written["JEDISWAP_POOL_ADDRESS"], 16), int(written["EKUBO_CORE_ADDRESS"], 16)
    assert engine_view(devnet, pair, "get_reserves")[:4] == [16 * 10**9, 0, 16 * 10**9, 0]
    key = [int(felt, 16) for felt in written["EKUBO_POOL_KEY"]]
    assert engine_view(devnet, core, "get_pool_liquidity", *key) == [10**13]

    out = capsys.readouterr().out
    assert "RISK_ENGINE_ADDRESS=" in out and "PRIVATE_KEY" not in out


def test_a_node_urls_api_key_is_neither_printed_nor_logged(devnet, chain_proxy, tmp_path, capsys, caplog):
    caplog.set_level(logging.INFO)
    call_command("chain_deploy", rpc_url=f"{chain_proxy.url}/rpc/v0_10/s3cr3t-api-key", env_file=str(tmp_path / "e"))
    assert "s3cr3t-api-key" not in capsys.readouterr().out + caplog.text
    assert "s3cr3t-api-key" in (tmp_path / "e").read_text()  # the setting itself, where the operator keeps it


def test_off_devnet_it_needs_the_owner_and_executor_configured(settings, tmp_path, monkeypatch):
    settings.STARKNET_OWNER_ADDRESS = ""
    monkeypatch.delenv("STARKNET_OWNER_PRIVATE_KEY", raising=False)
    with pytest.raises(CommandError, match="not a devnet: set STARKNET_OWNER_ADDRESS"):
        call_command("chain_deploy", rpc_url=dead_url(), env_file=str(tmp_path / "chain.env"))
    assert not (tmp_path / "chain.env").exists()


def test_without_a_node_it_says_so(settings, tmp_path):
    settings.STARKNET_RPC_URLS = []
    with pytest.raises(CommandError, match="no node"):
        call_command("chain_deploy", env_file=str(tmp_path / "chain.env"))


@pytest.fixture
def admin_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("admin", password="pw-admin-1"))
    return client


def make_current(admin_client, version: ModelVersion):
    return admin_client.post(
        "/admin/registry/modelversion/", {"action": "make_current", "_selected_action": [version.pk]}, follow=True
    )


def test_activating_a_version_the_engine_does_not_approve_says_so(onchain, admin_client):
    other = ModelVersion.objects.get(version="2.0.0")
    page = make_current(admin_client, other).content.decode()
    assert "2.0.0 is now the current model version" in page
    assert f"does not approve {other.model_hash} yet" in page


def approve_on_chain(admin_client, settings, monkeypatch, version: ModelVersion, *, key_of) -> str:
    """The admin action, with ``key_of``'s account configured as the engine's owner; the page it leads to."""
    settings.STARKNET_OWNER_ADDRESS = hex(key_of.address)
    monkeypatch.setenv("STARKNET_OWNER_PRIVATE_KEY", hex(key_of.private_key))
    return admin_client.post(
        "/admin/registry/modelversion/", {"action": "approve_on_chain", "_selected_action": [version.pk]}, follow=True
    ).content.decode()


def test_the_admin_approves_a_version_on_chain_with_the_owners_key(onchain, admin_client, settings, monkeypatch):
    other = ModelVersion.objects.get(version="2.0.0")
    page = approve_on_chain(admin_client, settings, monkeypatch, other, key_of=onchain.operator)

    assert "2.0.0 approved on the RiskEngine in transaction 0x" in page
    assert onchain.view(onchain.deployed.risk_engine, "is_model_approved", [int(other.model_hash, 16)]) == [1]
    assert "does not approve" not in make_current(admin_client, other).content.decode()


def test_the_executors_key_cannot_approve_a_model(onchain, admin_client, settings, monkeypatch):
    """Only the owner changes the engine's rules: the service's own key is refused by the contract."""
    other = ModelVersion.objects.get(version="2.0.0")
    page = approve_on_chain(admin_client, settings, monkeypatch, other, key_of=onchain.executor)

    assert "2.0.0 not approved on chain: the RiskEngine refused: the account is not the RiskEngine&#x27;s owner" in page
    assert onchain.view(onchain.deployed.risk_engine, "is_model_approved", [int(other.model_hash, 16)]) == [0]
