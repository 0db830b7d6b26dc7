"""Our Cairo contracts on starknet-devnet: the RiskEngine executes only a decision whose exact fact the
registry holds with an accepted configuration and enough bits, and refuses everything else with its
own revert reason; the local fact registry answers as Integrity does.

Declared once per module from a predeployed account; each test that executes deploys its own
RiskEngine, so no test sees another's approvals or executions (the refusals share one). The statement
outputs are real runs of the Cairo statement. Calls are raw calldata, as the service sends them.
No database: nothing here is marked django_db.
"""

import asyncio
import dataclasses
import functools
import os

import pytest
from starknet_py.cairo.felt import encode_shortstring
from starknet_py.hash.selector import get_selector_from_name
from starknet_py.net.account.account import Account
from starknet_py.net.client_errors import ClientError
from starknet_py.net.full_node_client import FullNodeClient

from allocations import deployment, risk, risk_engine
from proofs import cairo_statement, facts, integrity
from tests.conftest import SEPOLIA_METRICS, V1_ELEMENTS, V2_ELEMENTS
from tests.devnet import CHAIN_ID

V1, V2 = V1_ELEMENTS, V2_ELEMENTS
SEPOLIA = list(SEPOLIA_METRICS.values())
POLICY = [6000, 2, 5000, 2]
ATLANTIC = integrity.VerifierConfig.parse("recursive:keccak_160_lsb:stone6:relaxed")
MIN_BITS = 96
# atlantic-examples' Cairo 0 vector, as in tests/test_facts.py.
FIB_PROGRAM_HASH = 0x407908712E70DD914B006062D8D70BD8AEAE06BCFC973CBD4309E7F3A2E825B
FIB_INTEGRITY_FACT = 0x1C446D13EFC5A3A16387EEEC2C9347E9FD44E195B178916E1BD27C0A18220F1
POLL = 0.05  # devnet mines each transaction at once


def run(awaitable):
    return asyncio.run(awaitable)


def decision(params=V2, apys=(850, 1210), policy=POLICY) -> cairo_statement.CairoRun:
    return cairo_statement.run_decision(params, SEPOLIA, SEPOLIA, apys, policy)


def terms(policy) -> risk.PolicyTerms:
    return risk.PolicyTerms(**dict(zip(risk.PolicyTerms.model_fields, policy)))


@dataclasses.dataclass
class Chain:
    owner: Account  # owns the engines and the registry
    executor: Account  # the engines' executor
    stranger: Account
    registry: int
    url: str

    def invoke(self, *calls, account: Account | None = None) -> int:
        return run(deployment.invoke_all(account or self.owner, calls, poll_seconds=POLL))

    def view(self, address: int, function: str, calldata=()) -> list[int]:
        return run(self.owner.client.call_contract(deployment.call(address, function, calldata)))

    def register(self, run_: cairo_statement.CairoRun, *, verifier=ATLANTIC, bits=MIN_BITS) -> int:
        return self.invoke(
            deployment.register_fact_call(self.registry, run_.integrity_fact_hash, config=verifier, security_bits=bits)
        )

    @functools.cached_property
    def refusing_engine(self) -> int:
        """One engine for the tests whose executions all revert: nothing they do changes its state."""
        return self.engine()

    def engine(self, *, policy=POLICY, program_hash=None) -> int:
        """A RiskEngine of our own: Atlantic's configuration accepted, V2 approved, this policy set."""
        deploy, engine = deployment.deploy_call(
            self.owner,
            deployment.class_hash("RiskEngine"),
            [self.owner.address, self.executor.address, self.registry,
             program_hash or cairo_statement.compiled_statement().program_hash, MIN_BITS],
        )  # fmt: skip
        setup = deployment.engine_setup_calls(
            engine,
            verifier_configs=[ATLANTIC],
            model_hashes=[decision().output[cairo_statement.OUTPUT_MODEL_HASH]],
            policy=terms(policy),
        )
        self.invoke(deploy, *setup)
        return engine


def execute_call(engine: int, decision_id: int, output: list[int]):
    return deployment.call(engine, "execute_decision", [decision_id, len(output), *output])


def execute(chain: Chain, engine: int, decision_id: int, run_: cairo_statement.CairoRun) -> int:
    return chain.invoke(execute_call(engine, decision_id, run_.output), account=chain.executor)


def refusal(chain: Chain, call, *, account: Account | None = None) -> str:
    """The short string the contract panicked with, from the node's dry-run error."""
    with pytest.raises(ClientError) as refused:
        chain.invoke(call, account=account or chain.executor)
    return risk_engine.innermost_panic(risk_engine.execution_error(refused.value))


def execute_refused(chain: Chain, engine: int, decision_id: int, run_: cairo_statement.CairoRun) -> str:
    return refusal(chain, execute_call(engine, decision_id, run_.output))


@pytest.fixture(scope="module")
def chain(devnet_node) -> Chain:
    try:
        deployment.artifacts("RiskEngine")
    except deployment.ArtifactsMissing as missing:
        if os.environ.get("CI") == "true":
            pytest.fail(str(missing))
        pytest.skip(str(missing))
    devnet_node.restart()
    client = FullNodeClient(node_url=devnet_node.url)
    owner, executor, stranger = (account.bind(client, CHAIN_ID) for account in devnet_node.accounts[:3])
    registry_class = run(deployment.declare(owner, "LocalFactRegistry", poll_seconds=POLL))
    run(deployment.declare(owner, "RiskEngine", poll_seconds=POLL))
    deploy, registry = deployment.deploy_call(owner, registry_class, [owner.address])
    run(deployment.invoke_all(owner, [deploy], poll_seconds=POLL))
    return Chain(owner, executor, stranger, registry, devnet_node.url)


def test_the_on_chain_fact_is_integritys_for_atlantic_examples_published_vector(chain):
    engine = chain.engine(program_hash=FIB_PROGRAM_HASH)
    (fact,) = chain.view(engine, "decision_fact", [2, 10, 55])
    assert fact == FIB_INTEGRITY_FACT


def test_the_on_chain_fact_of_a_decision_is_the_one_atlantic_registers(chain):
    proven = decision()
    (fact,) = chain.view(chain.engine(), "decision_fact", [len(proven.output), *proven.output])
    assert fact == proven.integrity_fact_hash == facts.bootloaded_fact(proven.program_hash, proven.output)


def test_a_proven_decision_is_executed_recorded_and_announced(chain):
    proven = decision()
    assert proven.output[-1] == 0  # no violations
    chain.register(proven)
    engine = chain.engine()

    tx_hash = execute(chain, engine, 7, proven)

    receipt = run(chain.owner.client.get_transaction_receipt(tx_hash))
    (event,) = [e for e in receipt.events if e.from_address == engine]
    model_hash, jediswap_pct, ekubo_pct = proven.output[0], proven.output[38], proven.output[39]
    assert event.keys == [get_selector_from_name("AllocationExecuted"), 7, model_hash]
    assert event.data == [proven.integrity_fact_hash, jediswap_pct, ekubo_pct]
    # Option::Some (variant 0) of Allocation {model_hash, fact_hash, jediswap_pct, ekubo_pct}
    assert chain.view(engine, "allocation", [7]) == [0, model_hash, proven.integrity_fact_hash, jediswap_pct, ekubo_pct]
    assert chain.view(engine, "allocation", [8]) == [1]  # Option::None


def test_a_fact_registered_for_other_outputs_is_refused(chain):
    chain.register(decision())
    other_apys = decision(apys=(900, 1210))  # same model and metrics, another split: its own fact
    assert execute_refused(chain, chain.refusing_engine, 1, other_apys) == "FACT_NOT_REGISTERED"


def test_a_fact_with_too_few_security_bits_is_refused(chain):
    proven = decision(apys=(880, 1210))
    chain.register(proven, bits=MIN_BITS - 1)
    assert execute_refused(chain, chain.refusing_engine, 1, proven) == "SECURITY_BITS_TOO_LOW"


def test_a_fact_under_another_verifier_configuration_is_refused(chain):
    proven = decision(apys=(870, 1210))
    chain.register(proven, verifier=integrity.VerifierConfig.parse("recursive:keccak_248_lsb:stone5:strict"))
    assert execute_refused(chain, chain.refusing_engine, 1, proven) == "VERIFIER_CONFIG_NOT_ACCEPTED"


def test_a_decision_by_an_unapproved_model_is_refused(chain):
    by_v1 = decision(params=V1)
    chain.register(by_v1)
    assert execute_refused(chain, chain.refusing_engine, 1, by_v1) == "MODEL_NOT_APPROVED"


def test_a_decision_under_another_policy_is_refused(chain):
    looser = decision(policy=[6000, 2, 10000, 3])
    chain.register(looser)
    assert execute_refused(chain, chain.refusing_engine, 1, looser) == "POLICY_MISMATCH"


def test_a_decision_that_breaks_the_policy_is_refused(chain):
    strict = [5000, 2, 5000, 2]
    breaking = decision(policy=strict)
    assert breaking.output[-1] != 0  # max_single: 5874 bps > 5000
    chain.register(breaking)
    assert execute_refused(chain, chain.engine(policy=strict), 1, breaking) == "POLICY_VIOLATED"


def test_a_decision_id_executes_once(chain):
    proven = decision()
    chain.register(proven)
    engine = chain.engine()
    execute(chain, engine, 1, proven)
    assert execute_refused(chain, engine, 1, proven) == "DECISION_ALREADY_EXECUTED"


def test_one_proof_funds_one_decision_only(chain):
    proven = decision()
    chain.register(proven)
    engine = chain.engine()
    execute(chain, engine, 1, proven)
    assert execute_refused(chain, engine, 2, proven) == "FACT_ALREADY_EXECUTED"


def test_a_truncated_output_is_refused(chain):
    proven = decision()
    assert refusal(chain, execute_call(chain.refusing_engine, 1, proven.output[:-1])) == "BAD_OUTPUT_LENGTH"


@pytest.mark.parametrize("who", ["owner", "stranger"])
def test_only_the_executor_executes(chain, who):
    proven = decision()
    chain.register(proven)
    engine = chain.engine()
    call = execute_call(engine, 1, proven.output)
    assert refusal(chain, call, account=getattr(chain, who)) == "ONLY_EXECUTOR"


@pytest.mark.parametrize(
    ("function", "calldata"),
    [("approve_model", [1]), ("revoke_model", [1]), ("set_policy", [10000, 0, 10000, 3]), ("set_executor", [1]),
     ("accept_verifier_config", ATLANTIC.felts())],
)  # fmt: skip
def test_only_the_owner_changes_the_rules(chain, function, calldata):
    call = deployment.call(chain.refusing_engine, function, calldata)
    assert refusal(chain, call, account=chain.executor) == "ONLY_OWNER"


def test_a_revoked_model_no_longer_executes(chain):
    proven = decision(apys=(860, 1210))
    chain.register(proven)
    engine = chain.engine()
    chain.invoke(deployment.call(engine, "revoke_model", [proven.output[cairo_statement.OUTPUT_MODEL_HASH]]))
    assert execute_refused(chain, engine, 1, proven) == "MODEL_NOT_APPROVED"


def test_only_the_registry_owner_registers_facts(chain):
    call = deployment.register_fact_call(chain.registry, 0x1234, config=ATLANTIC, security_bits=MIN_BITS)
    assert refusal(chain, call, account=chain.stranger) == "ONLY_OWNER"


def test_the_local_registry_answers_integritys_views_as_our_reader_expects(chain):
    proven = decision(apys=(850, 1500))
    chain.register(proven)

    check = integrity.check_fact(
        proven.integrity_fact_hash,
        rpc_urls=[chain.url],
        registry=chain.registry,
        min_security_bits=MIN_BITS,
        accepted_configs=[ATLANTIC],
        timeout=30,
    )
    assert check.verified
    expected_hash = integrity.verification_hash(proven.integrity_fact_hash, ATLANTIC, MIN_BITS)
    assert check.accepted.verification_hash == expected_hash
    # Option::Some of Verification {fact_hash, security_bits, verifier_config {layout, hasher, stone_version, memory_verification}}
    config = [encode_shortstring(getattr(ATLANTIC, name)) for name in integrity.CONFIG_FIELDS]
    assert chain.view(chain.registry, "get_verification", [expected_hash]) == [0, proven.integrity_fact_hash, MIN_BITS, *config]
