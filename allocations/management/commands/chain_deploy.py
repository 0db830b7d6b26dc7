"""Deploys our RiskEngine (and, on a local chain, the local fact registry) and writes where it is."""

import os

import httpx
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from allocations import risk_engine
from allocations.chain import node_name
from allocations.deployment import ArtifactsMissing
from allocations.services import contracts_deploy, contracts_verifier_configs, local_pools_deploy


def devnet_accounts(rpc_url: str) -> list[dict] | None:
    """starknet-devnet's predeployed accounts; None when the node is not a devnet."""
    try:
        answer = httpx.post(
            rpc_url, json={"jsonrpc": "2.0", "id": 1, "method": "devnet_getPredeployedAccounts"}, timeout=10
        ).json()
    except (httpx.HTTPError, ValueError):
        return None
    return answer.get("result")


class Command(BaseCommand):
    help = (
        "Declares and deploys the RiskEngine with the configured owner account, approves the current model, "
        "sets the default policy and the accepted verifier configurations, and writes the addresses to "
        "CHAIN_ENV_FILE, which the settings read. On starknet-devnet the owner and executor are its first two "
        "predeployed accounts, the local stand-in fact registry and pools are deployed beside it and proofs "
        "are registered there by the local registrar (PROVER_SERVICE=local)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--rpc-url", default="", help="the node (default: the first of STARKNET_RPC_URLS)")
        parser.add_argument("--env-file", default=str(settings.CHAIN_ENV_FILE), help="where to write the settings")

    def handle(self, *args, rpc_url, env_file, **options):
        rpc_url = rpc_url or next(iter(settings.STARKNET_RPC_URLS), "")
        if not rpc_url:
            raise CommandError("no node: pass --rpc-url or set STARKNET_RPC_URLS")
        predeployed = devnet_accounts(rpc_url)
        owner, executor, written = self._accounts(predeployed)
        try:
            deployed = contracts_deploy(owner, executor=executor, rpc_url=rpc_url, local_fact_registry=predeployed is not None)
        except ArtifactsMissing as missing:
            raise CommandError(str(missing)) from None
        values = {"STARKNET_RPC_URLS": rpc_url, **deployed.settings(), **written}
        if predeployed is not None:  # a local chain has no JediSwap or Ekubo: stand-ins whose state we set
            values |= local_pools_deploy(owner, rpc_url=rpc_url)
        with open(env_file, "w") as out:
            out.write("# Written by `manage.py chain_deploy`; the settings read it after .env.\n")
            out.writelines(f"{name}={value}\n" for name, value in values.items())
        for name, value in values.items():
            if name == "STARKNET_RPC_URLS":
                value = node_name(value)  # a hosted node's URL carries its API key
            if not name.endswith("PRIVATE_KEY"):
                self.stdout.write(f"{name}={value}")
        self.stdout.write(f"Wrote {env_file} (deployment transaction {hex(deployed.transaction_hash)})")

    def _accounts(self, predeployed) -> tuple[risk_engine.OperatorAccount, int, dict]:
        """Owner, executor address, and the settings naming them. Devnet's keys are public (a fixed seed), so
        they may be written down; a real network's keys come from the environment and never leave it."""
        if predeployed is not None:
            owner, executor = (risk_engine.OperatorAccount.parse(a["address"], a["private_key"]) for a in predeployed[:2])
            return owner, executor.address, {
                # No Integrity verifier on a local chain: the service registers what it verified itself.
                "PROVER_SERVICE": "local",
                "STARKNET_EXPLORER_URL": "/chain",  # devnet has no explorer: our pages read the node
                "PROOF_POLL_SECONDS": "2",  # a local chain mines at once: no reason to wait 30 s between polls
                "INTEGRITY_VERIFIER_CONFIGS": ",".join(map(str, contracts_verifier_configs(local_fact_registry=True))),
                "STARKNET_OWNER_ADDRESS": hex(owner.address),
                "STARKNET_OWNER_PRIVATE_KEY": hex(owner.private_key),
                "STARKNET_ACCOUNT_ADDRESS": hex(executor.address),
                "STARKNET_ACCOUNT_PRIVATE_KEY": hex(executor.private_key),
            }
        address, key = settings.STARKNET_OWNER_ADDRESS, os.environ.get("STARKNET_OWNER_PRIVATE_KEY", "")
        if not (address and key and settings.STARKNET_ACCOUNT_ADDRESS):
            raise CommandError(
                "not a devnet: set STARKNET_OWNER_ADDRESS, STARKNET_OWNER_PRIVATE_KEY (the deploying owner) and "
                "STARKNET_ACCOUNT_ADDRESS (the executor)"
            )
        try:
            return risk_engine.OperatorAccount.parse(address, key), int(settings.STARKNET_ACCOUNT_ADDRESS, 16), {}
        except ValueError:
            raise CommandError("STARKNET_OWNER_ADDRESS, its key and STARKNET_ACCOUNT_ADDRESS must be hex felts") from None
