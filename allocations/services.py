import asyncio
import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from starknet_py.net.client_errors import ClientError
from starknet_py.net.full_node_client import FullNodeClient

from obsqra.errors import DomainError
from proofs import cairo_statement
from proofs.integrity import LOCAL_VERIFIER_CONFIG, VerifierConfig
from proofs.models import ProofJob
from proofs.schedules import poll_schedule_rearm
from proofs.selectors import accepted_verifier_configs
from registry.models import ModelVersion
from registry.selectors import current_model_version, model_version_get

from . import chain, deployment, indexer, metrics_reader, risk, risk_engine
from .models import AllocationDecision, ChainEvent, Execution, IndexerCursor, MetricsSnapshot, Policy, Protocol
from .selectors import chain_event_names, policy_get

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DecisionInputs:
    """Everything a decision is computed from, resolved and validated."""

    model_version: ModelVersion
    policy: Policy
    jediswap: risk.ProtocolMetrics
    ekubo: risk.ProtocolMetrics
    apys: risk.Apys
    # Snapshots already stored for these metrics (read from chain); None: the decision stores its own.
    snapshots: tuple[MetricsSnapshot, MetricsSnapshot] | None = None

    def evaluate(self) -> risk.Outcome:
        return risk.decide(self.model_version.params, self.jediswap, self.ekubo, self.apys, self.policy.terms)


def decision_inputs_resolve(
    *,
    jediswap: risk.ProtocolMetrics,
    ekubo: risk.ProtocolMetrics,
    apys: risk.Apys | None = None,
    model_version: str | None = None,
    policy: str | None = None,
    snapshots: tuple[MetricsSnapshot, MetricsSnapshot] | None = None,
) -> DecisionInputs:
    return DecisionInputs(
        model_version=model_version_get(model_version),
        policy=policy_get(policy),
        jediswap=jediswap,
        ekubo=ekubo,
        apys=apys or risk.Apys(),
        snapshots=snapshots,
    )


def decision_inputs_live(
    *, apys: risk.Apys | None = None, model_version: str | None = None, policy: str | None = None
) -> DecisionInputs:
    """The inputs of a decision on the pools' current metrics (live_metrics)."""
    live = live_metrics()
    return decision_inputs_resolve(
        jediswap=live.jediswap,
        ekubo=live.ekubo,
        apys=apys,
        model_version=model_version,
        policy=policy,
        snapshots=(live.jediswap_snapshot, live.ekubo_snapshot),
    )


def decision_inputs_of(decision: AllocationDecision) -> DecisionInputs:
    """The inputs a stored decision was computed from, to prove it again."""
    return DecisionInputs(
        model_version=decision.model_version,
        policy=decision.policy,
        jediswap=decision.jediswap_snapshot.metrics,
        ekubo=decision.ekubo_snapshot.metrics,
        apys=decision.apys,
    )


@transaction.atomic
def decision_create(
    *, inputs: DecisionInputs, source: str = MetricsSnapshot.Source.REQUEST, proof_job=None
) -> AllocationDecision:
    outcome = inputs.evaluate()
    if inputs.snapshots:
        snapshots = dict(zip((Protocol.JEDISWAP, Protocol.EKUBO), inputs.snapshots))
    else:
        snapshots = {
            protocol: MetricsSnapshot.objects.create(protocol=protocol, source=source, **metrics.model_dump())
            for protocol, metrics in ((Protocol.JEDISWAP, inputs.jediswap), (Protocol.EKUBO, inputs.ekubo))
        }
    return AllocationDecision.objects.create(
        jediswap_snapshot=snapshots[Protocol.JEDISWAP],
        ekubo_snapshot=snapshots[Protocol.EKUBO],
        model_version=inputs.model_version,
        policy=inputs.policy,
        jediswap_apy=inputs.apys.jediswap,
        ekubo_apy=inputs.apys.ekubo,
        jediswap_score=outcome.jediswap_score,
        ekubo_score=outcome.ekubo_score,
        jediswap_pct=outcome.jediswap_pct,
        ekubo_pct=outcome.ekubo_pct,
        violations=outcome.violations,
        constraints_passed=outcome.passed,
        status=AllocationDecision.Status.APPROVED if outcome.passed else AllocationDecision.Status.REJECTED,
        proof_job=proof_job,
    )


def indexed_contracts() -> list[int]:
    """INDEXED_CONTRACTS and RISK_ENGINE_ADDRESS, each once, in that order."""
    addresses = [*settings.INDEXED_CONTRACTS, *([settings.RISK_ENGINE_ADDRESS] if settings.RISK_ENGINE_ADDRESS else [])]
    return list(dict.fromkeys(int(address, 16) for address in addresses))


def chain_events_index(*, contract_address: int) -> IndexerCursor | None:
    """One poll of one contract: re-reads the last INDEXER_REORG_DEPTH blocks and what is new.

    Events the node no longer has (a reorg) are deleted and the range read again; only recognised
    events are asked for (selectors.chain_event_names) and each is stored once; an AllocationExecuted event
    confirms the executed decision of its transaction.
    """
    address = risk.felt_hex(contract_address)
    cursor = IndexerCursor.objects.filter(contract_address=address).first()
    if cursor:
        from_block = max(settings.INDEXER_START_BLOCK, cursor.last_block + 1 - settings.INDEXER_REORG_DEPTH)
        stored = {cursor.last_block: cursor.last_block_hash}
        stored |= dict(
            ChainEvent.objects.filter(contract_address=address, block_number__gte=from_block)
            .order_by()
            .values_list("block_number", "block_hash")
            .distinct()
        )
    else:
        from_block, stored = settings.INDEXER_START_BLOCK, {}
    window, node = chain.read_with_failover(
        lambda client: indexer.read_window(
            client,
            address=contract_address,
            from_block=from_block,
            stored_blocks=[(number, int(block_hash, 16)) for number, block_hash in stored.items()],
            selectors=[int(selector, 16) for selector in chain_event_names()],
            max_blocks=settings.INDEXER_MAX_BLOCKS,
            chunk_size=settings.INDEXER_CHUNK_SIZE,
        ),
        rpc_urls=settings.STARKNET_RPC_URLS,
        timeout=settings.STARKNET_RPC_TIMEOUT,
    )
    return _chain_window_store(address=address, window=window, node=node)


@transaction.atomic
def _chain_window_store(*, address: str, window: indexer.Window, node: str) -> IndexerCursor | None:
    cursor = IndexerCursor.objects.select_for_update().filter(contract_address=address).first()
    names = chain_event_names()
    events = [
        ChainEvent(
            contract_address=address,
            selector=risk.felt_hex(event.keys[0]) if event.keys else "",
            name=names.get(risk.felt_hex(event.keys[0]), "") if event.keys else "",
            keys=[risk.felt_hex(key) for key in event.keys],
            data=[risk.felt_hex(felt) for felt in event.data],
            block_number=event.block_number,
            block_hash=risk.felt_hex(event.block_hash),
            tx_hash=risk.felt_hex(event.transaction_hash),
            event_index=event.event_index,
        )
        for event in window.events
        if event.block_hash is not None  # pre-confirmed: not final enough to store
    ]
    orphaned = _orphaned_events(address=address, window=window, asked=list(names), answered=events)
    if orphaned:
        _decisions_unconfirm(ChainEvent.objects.filter(pk__in=orphaned))
        ChainEvent.objects.filter(pk__in=orphaned).delete()
        logger.warning("reorg on %s from block %s: %s stored events dropped", address, window.from_block, len(orphaned))
    ChainEvent.objects.bulk_create(events, ignore_conflicts=True)
    _decisions_confirm([e for e in events if e.name == indexer.ALLOCATION_EXECUTED])
    _verifications_hasten([e for e in events if e.name == indexer.FACT_REGISTERED])
    if window.to_block is None:
        if cursor:
            cursor.node = node
            cursor.save(update_fields=["node", "updated_at"])
        return cursor
    cursor = cursor or IndexerCursor(contract_address=address)
    cursor.last_block = window.to_block
    cursor.last_block_hash = risk.felt_hex(window.to_block_hash)
    cursor.reorgs += window.orphaned_from is not None or bool(orphaned)
    cursor.node = node
    cursor.save()
    return cursor


def _orphaned_events(
    *, address: str, window: indexer.Window, asked: list[str], answered: list[ChainEvent]
) -> list[int]:
    """Stored events the node no longer has: every one from a block whose hash changed, and within
    the range just read, every one of the ``asked`` selectors that the node did not answer again in
    the same block. The second rule also sees a replaced block that kept its hash (starknet-devnet's
    replacement blocks can). Blocks above the range (a node behind) are left alone."""
    stored = ChainEvent.objects.filter(contract_address=address)
    orphaned = set()
    if window.orphaned_from is not None:
        orphaned |= set(stored.filter(block_number__gte=window.orphaned_from).values_list("pk", flat=True))
    if window.to_block is not None:
        again = {(e.block_number, e.block_hash, e.tx_hash, e.event_index) for e in answered}
        in_range = stored.filter(
            selector__in=asked, block_number__gte=window.from_block, block_number__lte=window.to_block
        )
        for pk, *event in in_range.values_list("pk", "block_number", "block_hash", "tx_hash", "event_index"):
            if tuple(event) not in again:
                orphaned.add(pk)
    return sorted(orphaned)


def _decisions_confirm(executed: list[ChainEvent]) -> None:
    """The decision of each transaction is confirmed, with the event's block; a re-indexed
    confirmation only moves the block. An attempt given up on that landed after all counts too;
    a decision whose receipt said reverted stays reverted."""
    for event in executed:
        Execution.objects.filter(tx_hash=event.tx_hash).exclude(status=Execution.Status.SUCCEEDED).update(
            status=Execution.Status.SUCCEEDED, block_number=event.block_number, block_hash=event.block_hash,
            error="", finished_at=timezone.now(),
        )  # fmt: skip
        tx = int(event.tx_hash, 16)
        AllocationDecision.objects.filter(
            Q(tx_hash__in=[risk.felt_hex(tx), hex(tx)]) | Q(executions__tx_hash=event.tx_hash)
        ).exclude(status__in=[AllocationDecision.Status.REVERTED, AllocationDecision.Status.REJECTED]).update(
            status=AllocationDecision.Status.CONFIRMED,
            tx_hash=event.tx_hash,
            block_number=event.block_number,
            revert_reason="",
            updated_at=timezone.now(),
        )


def _verifications_hasten(registered: list[ChainEvent]) -> None:
    """A fact of ours registered on chain: its job is checked at the next poll instead of after its
    backoff. Only a hint: verified still needs the registry's view call and its security check."""
    facts = [event.keys[1] for event in registered if len(event.keys) > 1]
    waiting = [ProofJob.Status.SUBMITTED, ProofJob.Status.VERIFYING]
    if facts and ProofJob.objects.filter(fact_hash__in=facts, status__in=waiting).update(next_poll_at=timezone.now()):
        poll_schedule_rearm()


def _decisions_unconfirm(orphaned: QuerySet[ChainEvent]) -> None:
    """A confirmation whose block a reorg replaced is undone; the event, if re-included, confirms again."""
    tx_hashes = list(orphaned.filter(name=indexer.ALLOCATION_EXECUTED).values_list("tx_hash", flat=True))
    AllocationDecision.objects.filter(tx_hash__in=tx_hashes, status=AllocationDecision.Status.CONFIRMED).update(
        status=AllocationDecision.Status.EXECUTED, updated_at=timezone.now()
    )


LIVE_METRICS_CACHE_KEY = "allocations.live_metrics"


class MetricsUnavailable(DomainError):
    """The pools could not be read: no node answered, nothing configured, or an unexpected answer."""

    status_code = 503


@dataclass(frozen=True)
class LiveMetrics:
    jediswap_snapshot: MetricsSnapshot
    ekubo_snapshot: MetricsSnapshot

    @property
    def jediswap(self) -> risk.ProtocolMetrics:
        return self.jediswap_snapshot.metrics

    @property
    def ekubo(self) -> risk.ProtocolMetrics:
        return self.ekubo_snapshot.metrics


def _pool_sources() -> dict[str, metrics_reader.PoolSource]:
    if not settings.JEDISWAP_POOL_ADDRESS or not settings.EKUBO_CORE_ADDRESS or len(settings.EKUBO_POOL_KEY) != 5:
        raise MetricsUnavailable("JEDISWAP_POOL_ADDRESS, EKUBO_CORE_ADDRESS and EKUBO_POOL_KEY (5 felts) must be set")
    return {
        Protocol.JEDISWAP: metrics_reader.PoolSource(
            kind="jediswap",
            address=int(settings.JEDISWAP_POOL_ADDRESS, 16),
            audit_score=settings.JEDISWAP_AUDIT_SCORE,
            deployment_block=settings.JEDISWAP_DEPLOYMENT_BLOCK,
        ),
        Protocol.EKUBO: metrics_reader.PoolSource(
            kind="ekubo",
            address=int(settings.EKUBO_CORE_ADDRESS, 16),
            pool_key=tuple(int(felt, 0) for felt in settings.EKUBO_POOL_KEY),
            audit_score=settings.EKUBO_AUDIT_SCORE,
            deployment_block=settings.EKUBO_DEPLOYMENT_BLOCK,
        ),
    }


def live_metrics() -> LiveMetrics:
    """Both pools' metrics at the latest block, stored as chain snapshots; reused for METRICS_CACHE_SECONDS."""
    cached = cache.get(LIVE_METRICS_CACHE_KEY)
    if cached:
        found = MetricsSnapshot.objects.in_bulk(cached)
        if len(found) == 2:
            return LiveMetrics(found[cached[0]], found[cached[1]])
    try:
        reading, _node = chain.read_with_failover(
            lambda client: metrics_reader.read_pools(
                client,
                sources=_pool_sources(),
                samples=settings.METRICS_PRICE_SAMPLES,
                spacing=settings.METRICS_SAMPLE_BLOCKS,
                liquidity_thresholds=settings.METRICS_LIQUIDITY_TIERS,
            ),
            rpc_urls=settings.STARKNET_RPC_URLS,
            timeout=settings.STARKNET_RPC_TIMEOUT,
        )
    except (chain.ChainUnavailable, metrics_reader.MalformedAnswer) as exc:
        raise MetricsUnavailable(f"pool metrics unavailable: {exc}") from exc
    live = _live_snapshots_create(reading)
    snapshot_ids = [live.jediswap_snapshot.pk, live.ekubo_snapshot.pk]
    cache.set(LIVE_METRICS_CACHE_KEY, snapshot_ids, settings.METRICS_CACHE_SECONDS)
    return live


@transaction.atomic
def _live_snapshots_create(reading: metrics_reader.ChainReading) -> LiveMetrics:
    stamp = datetime.fromtimestamp(reading.block_timestamp, tz=UTC)
    snapshots = [
        MetricsSnapshot.objects.create(
            protocol=protocol,
            source=MetricsSnapshot.Source.CHAIN,
            block_number=reading.block_number,
            block_timestamp=stamp,
            **reading.pools[protocol].metrics.model_dump(),
        )
        for protocol in (Protocol.JEDISWAP, Protocol.EKUBO)
    ]
    return LiveMetrics(*snapshots)


def contracts_verifier_configs(*, local_fact_registry: bool) -> list[VerifierConfig]:
    """What a new engine accepts: the configured ones, and on a local chain the local registrar's too."""
    return [*accepted_verifier_configs(), *([LOCAL_VERIFIER_CONFIG] if local_fact_registry else [])]


def contracts_deploy(
    account: risk_engine.OperatorAccount, *, executor: int, rpc_url: str, local_fact_registry: bool
) -> deployment.Deployment:
    """Deploys a RiskEngine owned by ``account`` and executed by ``executor`` that approves the current
    model, holds the default policy, and accepts the verifier configurations and bits proofs are checked against.

    ``local_fact_registry``: a local chain has no Integrity, so the local stand-in is deployed with it;
    otherwise the engine reads INTEGRITY_FACT_REGISTRY_ADDRESS.
    """
    registry = None if local_fact_registry else int(settings.INTEGRITY_FACT_REGISTRY_ADDRESS, 16)
    model_hash, policy = int(current_model_version().model_hash, 16), policy_get(None).terms
    configs = contracts_verifier_configs(local_fact_registry=local_fact_registry)

    async def deploy_all() -> deployment.Deployment:
        client = FullNodeClient(node_url=rpc_url)
        bound = account.bind(client, int(await client.get_chain_id(), 16))
        return await deployment.deploy_contracts(
            bound,
            executor=executor,
            statement_program_hash=cairo_statement.compiled_statement().program_hash,
            min_security_bits=settings.INTEGRITY_MIN_SECURITY_BITS,
            verifier_configs=configs,
            model_hashes=[model_hash],
            policy=policy,
            fact_registry=registry,
            poll_seconds=settings.EXECUTION_POLL_SECONDS,
        )

    return asyncio.run(deploy_all())


# The local pools' first state on a fresh chain: 16e9 of each token in the pair, price 1 in both.
LOCAL_PAIR_RESERVES = (16 * 10**9, 16 * 10**9)
LOCAL_POOL_STATE = (deployment.Q128, 10**13)  # Ekubo sqrt_ratio (Q128) and active liquidity


def local_pools_deploy(account: risk_engine.OperatorAccount, *, rpc_url: str) -> dict[str, str]:
    """Local stand-ins of the JediSwap pair and Ekubo's core owned by ``account``, for a local chain; the
    settings that point the metrics reader at them, their deployment block included."""

    async def deploy_pools() -> dict[str, str]:
        client = FullNodeClient(node_url=rpc_url)
        bound = account.bind(client, int(await client.get_chain_id(), 16))
        pools = await deployment.deploy_local_pools(
            bound, reserves=LOCAL_PAIR_RESERVES, pool=LOCAL_POOL_STATE, poll_seconds=settings.EXECUTION_POLL_SECONDS
        )
        block = (await client.get_transaction_receipt(pools.transaction_hash)).block_number
        return pools.settings() | {"JEDISWAP_DEPLOYMENT_BLOCK": str(block), "EKUBO_DEPLOYMENT_BLOCK": str(block)}

    return asyncio.run(deploy_pools())


class RiskEngineAdminUnavailable(DomainError):
    """No RiskEngine, node or owner key configured for a change of its rules."""

    status_code = 503


class RiskEngineRefused(DomainError):
    status_code = 409


def risk_engine_owner_account() -> risk_engine.OperatorAccount:
    """The engine owner's account (the DAO's key), from the environment only; absent on most servers."""
    address, key = settings.STARKNET_OWNER_ADDRESS, os.environ.get("STARKNET_OWNER_PRIVATE_KEY", "")
    if not (address and key and settings.RISK_ENGINE_ADDRESS and settings.STARKNET_RPC_URLS):
        raise RiskEngineAdminUnavailable(
            "set STARKNET_OWNER_ADDRESS, STARKNET_OWNER_PRIVATE_KEY, RISK_ENGINE_ADDRESS and STARKNET_RPC_URLS"
        )
    try:
        return risk_engine.OperatorAccount.parse(address, key)
    except ValueError:
        raise RiskEngineAdminUnavailable("STARKNET_OWNER_ADDRESS and STARKNET_OWNER_PRIVATE_KEY must be hex felts") from None


def model_approved_on_chain(model_hash: str) -> bool:
    """What the configured RiskEngine answers for this model hash (raises ChainUnavailable, DomainError)."""
    if not settings.RISK_ENGINE_ADDRESS:
        raise RiskEngineAdminUnavailable("no RISK_ENGINE_ADDRESS configured")
    view = deployment.call(int(settings.RISK_ENGINE_ADDRESS, 16), "is_model_approved", [int(model_hash, 16)])
    answer, _ = chain.read_with_failover(
        lambda client: client.call_contract(view), rpc_urls=settings.STARKNET_RPC_URLS, timeout=settings.STARKNET_RPC_TIMEOUT
    )
    return answer == [1]


def model_approve_on_chain(model_hash: str) -> str:
    """The owner approves the model hash on the RiskEngine; the accepted transaction's hash."""
    owner = risk_engine_owner_account()
    approve = deployment.call(int(settings.RISK_ENGINE_ADDRESS, 16), "approve_model", [int(model_hash, 16)])

    async def send(client: FullNodeClient) -> int:
        bound = owner.bind(client, int(await client.get_chain_id(), 16))
        return await deployment.invoke_all(bound, [approve], poll_seconds=settings.EXECUTION_POLL_SECONDS)

    try:
        tx_hash, _ = chain.read_with_failover(send, rpc_urls=settings.STARKNET_RPC_URLS, timeout=settings.STARKNET_RPC_TIMEOUT)
    except ClientError as exc:
        reason = risk_engine.execution_error(exc)
        raise RiskEngineRefused(f"the RiskEngine refused: {risk_engine.revert_cause(reason) or reason}") from None
    return risk.felt_hex(tx_hash)
