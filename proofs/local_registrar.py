"""PROVER_SERVICE=local: verification on a local chain (starknet-devnet), where no Integrity verifier runs.

Integrity registers a fact after verifying a Stone proof of the Cairo PIE. On a local chain the service
does the nearest honest thing: it verifies its own STARK proof of the statement with obsqra-stark,
checks that the PIE's output is exactly that statement, and registers the statement's fact in the local
stand-in registry (proofs/contracts/src/local_fact_registry.cairo) with the owner's key, under
``integrity.LOCAL_VERIFIER_CONFIG`` and the STARK's proven security bits. The configuration says what verified
it, so an engine that accepts only Atlantic's configuration (any real network) never counts these.

Speaks the ProverService protocol, so jobs go through the same submission, polling and chain check.
"""

from __future__ import annotations

from django.conf import settings
from obsqra_stark import _stark
from starknet_py.net.client_errors import ClientError
from starknet_py.net.client_models import TransactionExecutionStatus, TransactionStatus
from starknet_py.net.full_node_client import FullNodeClient

from allocations import chain, deployment
from allocations.risk import felt_hex
from allocations.services import RiskEngineAdminUnavailable, risk_engine_owner_account

from . import facts, proof_file, services
from .integrity import LOCAL_VERIFIER_CONFIG
from .models import ProofJob
from .prover_service import ProverServiceError, RemoteAnswer, RemoteStatus, RetryableProverServiceError
from .statement import VerificationError

TRANSACTION_HASH_NOT_FOUND = 29


class LocalFactRegistrar:
    name = "local"

    def find(self, dedup_id: str) -> RemoteAnswer | None:
        return None  # registering the same verification twice is listed once by the registry

    def submit(self, *, cairo_pie: bytes, layout: str, dedup_id: str) -> str:
        job = ProofJob.objects.filter(submission_key=dedup_id).exclude(proof=b"").order_by("created_at").first()
        if job is None:
            raise ProverServiceError(f"no proven job holds the statement {dedup_id}")
        try:
            verified = proof_file.verify_file(services.proof_file_for(job))
            pie = _stark.read_cairo_pie(cairo_pie)
        except VerificationError as exc:
            raise ProverServiceError(f"not registered: {exc}") from None
        if pie["output"] != verified.statement.cairo_output():
            raise ProverServiceError("not registered: the Cairo PIE's output is not the statement the STARK proves")
        if pie["program_hash"] != int(job.program_hash, 16):
            raise ProverServiceError("not registered: the Cairo PIE is not of the statement's program")
        fact = facts.bootloaded_fact(pie["program_hash"], pie["output"])
        try:
            owner = risk_engine_owner_account()
        except RiskEngineAdminUnavailable as exc:
            raise ProverServiceError(f"no key to register facts with: {exc}") from None
        register = deployment.register_fact_call(
            int(settings.INTEGRITY_FACT_REGISTRY_ADDRESS, 16),
            fact,
            config=LOCAL_VERIFIER_CONFIG,
            security_bits=verified.proven_bits,
        )

        async def send(client: FullNodeClient) -> int:
            bound = owner.bind(client, int(await client.get_chain_id(), 16))
            return (await bound.execute_v3(calls=[register], auto_estimate=True)).transaction_hash

        try:
            tx_hash, _ = _on_chain(send)
        except ClientError as exc:
            raise ProverServiceError(f"the local fact registry refused: {exc.message}") from None
        return felt_hex(tx_hash)

    def poll(self, remote_id: str) -> RemoteAnswer:
        try:
            status, _ = _on_chain(lambda client: client.get_transaction_status(int(remote_id, 16)))
        except ClientError as exc:
            if str(exc.code) != str(TRANSACTION_HASH_NOT_FOUND):
                raise RetryableProverServiceError(f"registration {remote_id}: {exc.message}") from None
            return RemoteAnswer(RemoteStatus.FAILED, "NOT_FOUND", remote_id, error_reason="the registration was lost")
        if status.finality_status not in (TransactionStatus.ACCEPTED_ON_L2, TransactionStatus.ACCEPTED_ON_L1):
            return RemoteAnswer(RemoteStatus.IN_PROGRESS, status.finality_status.value, remote_id)
        if status.execution_status == TransactionExecutionStatus.REVERTED:
            return RemoteAnswer(RemoteStatus.FAILED, "REVERTED", remote_id, error_reason=status.failure_reason or "")
        return RemoteAnswer(RemoteStatus.DONE, status.finality_status.value, remote_id)


def _on_chain(read):
    try:
        return chain.read_with_failover(read, rpc_urls=settings.STARKNET_RPC_URLS, timeout=settings.STARKNET_RPC_TIMEOUT)
    except chain.ChainUnavailable as exc:
        raise RetryableProverServiceError(str(exc)) from None

