"""Our Cairo contracts on starknet-devnet: the RiskEngine executes only a decision whose exact fact the
registry holds with an accepted configuration and enough bits, and refuses everything else with its
own revert reason; the local fact registry answers as Integrity does.

Declared once per module from a predeployed account; each test that executes deploys its own
RiskEngine, so no test sees another's approvals or executions (the refusals share one). The statement outputs are real runs of the Cairo statement.
No database: nothing here is marked django_db.
"""

import asyncio
import dataclasses
import functools
import json
import os

import pytest
from starknet_py.cairo.felt import decode_shortstring, encode_shortstring
from starknet_py.contract import Contract
from starknet_py.hash.selector import get_selector_from_name
from starknet_py.net.account.account import Account
from starknet_py.net.client_errors import ClientError
from starknet_py.net.full_node_client import FullNodeClient

from allocations import deployment
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


def config(verifier: integrity.VerifierConfig) -> dict:
    return dict(zip(integrity.CONFIG_FIELDS, verifier.felts()))


def policy_struct(terms) -> dict:
    return dict(zip(("max_single", "min_diversification", "max_volatility", "min_liquidity"), terms))


@dataclasses.dataclass
class Chain:
    owner: Account
    stranger: Account
    engine_class: int
    registry: Contract
    url: str

    def register(self, run_: cairo_statement.CairoRun, *, verifier=ATLANTIC, bits=MIN_BITS):
        call = self.registry.functions["register_fact"].invoke_v3(
            config(verifier), run_.integrity_fact_hash, bits, auto_estimate=True
        )
        return run(_accepted(call))

    @functools.cached_property
    def refusing_engine(self) -> Contract:
        """One engine for the tests whose executions all revert: nothing they do changes its state."""
        return self.engine()

    def engine(self, *, policy=POLICY, program_hash=None) -> Contract:
        """A RiskEngine of our own: Atlantic's configuration accepted, V2 approved, this policy set."""
        engine = run(
            deployment.deploy(
                self.owner,
                "RiskEngine",
                self.engine_class,
                {
                    "owner": self.owner.address,
                    "fact_registry": self.registry.address,
                    "statement_program_hash": program_hash or cairo_statement.compiled_statement().program_hash,
                    "min_security_bits": MIN_BITS,
                },
                poll_seconds=POLL,
            )
        )
        for name, args in [
            ("accept_verifier_config", [config(ATLANTIC)]),
            ("approve_model", [decision().output[cairo_statement.OUTPUT_MODEL_HASH]]),
            ("set_policy", [policy_struct(policy)]),
        ]:
            run(_accepted(engine.functions[name].invoke_v3(*args, auto_estimate=True)))
        return engine


async def _accepted(invocation):
    sent = await invocation
    await sent.wait_for_acceptance(check_interval=POLL)
    return sent


def execute(engine: Contract, decision_id: int, run_: cairo_statement.CairoRun):
    return run(_accepted(engine.functions["execute_decision"].invoke_v3(decision_id, run_.output, auto_estimate=True)))


def refusal(invoke) -> str:
    """The short string the contract panicked with, from the node's dry-run error: the innermost call's
    error text ends with the panic data as a JSON list of felts."""
    with pytest.raises(ClientError) as refused:
        run(invoke)
    error = refused.value.data["execution_error"]
    while isinstance(error, dict):
        error = error["error"]
    panic = json.loads(error[error.rindex("[") :])
    return decode_shortstring(int(panic[-1], 16))


def execute_refused(engine: Contract, decision_id: int, run_: cairo_statement.CairoRun) -> str:
    return refusal(engine.functions["execute_decision"].invoke_v3(decision_id, run_.output, auto_estimate=True))


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
    owner, stranger = (account.bind(client, CHAIN_ID) for account in devnet_node.accounts[:2])
    registry_class = run(deployment.declare(owner, "LocalFactRegistry", poll_seconds=POLL))
    engine_class = run(deployment.declare(owner, "RiskEngine", poll_seconds=POLL))
    registry = run(
        deployment.deploy(owner, "LocalFactRegistry", registry_class, {"owner": owner.address}, poll_seconds=POLL)
    )
    return Chain(owner, stranger, engine_class, registry, devnet_node.url)


def test_the_on_chain_fact_is_integritys_for_atlantic_examples_published_vector(chain):
    engine = chain.engine(program_hash=FIB_PROGRAM_HASH)
    (fact,) = run(engine.functions["decision_fact"].call([10, 55]))
    assert fact == FIB_INTEGRITY_FACT


def test_the_on_chain_fact_of_a_decision_is_the_one_atlantic_registers(chain):
    proven = decision()
    (fact,) = run(chain.engine().functions["decision_fact"].call(proven.output))
    assert fact == proven.integrity_fact_hash == facts.bootloaded_fact(proven.program_hash, proven.output)


def test_a_proven_decision_is_executed_recorded_and_announced(chain):
    proven = decision()
    assert proven.output[-1] == 0  # no violations
    chain.register(proven)
    engine = chain.engine()

    sent = execute(engine, 7, proven)

    receipt = run(chain.owner.client.get_transaction_receipt(sent.hash))
    (event,) = [e for e in receipt.events if e.from_address == engine.address]
    model_hash, jediswap_pct, ekubo_pct = proven.output[0], proven.output[38], proven.output[39]
    assert event.keys == [get_selector_from_name("AllocationExecuted"), 7, model_hash]
    assert event.data == [proven.integrity_fact_hash, jediswap_pct, ekubo_pct]
    (stored,) = run(engine.functions["allocation"].call(7))
    assert stored == {
        "model_hash": model_hash,
        "fact_hash": proven.integrity_fact_hash,
        "jediswap_pct": jediswap_pct,
        "ekubo_pct": ekubo_pct,
    }


def test_a_fact_registered_for_other_outputs_is_refused(chain):
    chain.register(decision())
    other_apys = decision(apys=(900, 1210))  # same model and metrics, another split: its own fact
    assert execute_refused(chain.refusing_engine, 1, other_apys) == "FACT_NOT_REGISTERED"


def test_a_fact_with_too_few_security_bits_is_refused(chain):
    proven = decision(apys=(880, 1210))
    chain.register(proven, bits=MIN_BITS - 1)
    assert execute_refused(chain.refusing_engine, 1, proven) == "SECURITY_BITS_TOO_LOW"


def test_a_fact_under_another_verifier_configuration_is_refused(chain):
    proven = decision(apys=(870, 1210))
    chain.register(proven, verifier=integrity.VerifierConfig.parse("recursive:keccak_248_lsb:stone5:strict"))
    assert execute_refused(chain.refusing_engine, 1, proven) == "VERIFIER_CONFIG_NOT_ACCEPTED"


def test_a_decision_by_an_unapproved_model_is_refused(chain):
    by_v1 = decision(params=V1)
    chain.register(by_v1)
    assert execute_refused(chain.refusing_engine, 1, by_v1) == "MODEL_NOT_APPROVED"


def test_a_decision_under_another_policy_is_refused(chain):
    looser = decision(policy=[6000, 2, 10000, 3])
    chain.register(looser)
    assert execute_refused(chain.refusing_engine, 1, looser) == "POLICY_MISMATCH"


def test_a_decision_that_breaks_the_policy_is_refused(chain):
    strict = [5000, 2, 5000, 2]
    breaking = decision(policy=strict)
    assert breaking.output[-1] != 0  # max_single: 5874 bps > 5000
    chain.register(breaking)
    assert execute_refused(chain.engine(policy=strict), 1, breaking) == "POLICY_VIOLATED"


def test_a_decision_id_executes_once(chain):
    proven = decision()
    chain.register(proven)
    engine = chain.engine()
    execute(engine, 1, proven)
    assert execute_refused(engine, 1, proven) == "DECISION_ALREADY_EXECUTED"


def test_one_proof_funds_one_decision_only(chain):
    proven = decision()
    chain.register(proven)
    engine = chain.engine()
    execute(engine, 1, proven)
    assert execute_refused(engine, 2, proven) == "FACT_ALREADY_EXECUTED"


def test_a_truncated_output_is_refused(chain):
    proven = decision()
    call = chain.refusing_engine.functions["execute_decision"].invoke_v3(1, proven.output[:-1], auto_estimate=True)
    assert refusal(call) == "BAD_OUTPUT_LENGTH"


def test_only_the_owner_executes(chain):
    proven = decision()
    chain.register(proven)
    engine = chain.engine()
    as_stranger = Contract(address=engine.address, abi=deployment.abi("RiskEngine"), provider=chain.stranger)
    call = as_stranger.functions["execute_decision"].invoke_v3(1, proven.output, auto_estimate=True)
    assert refusal(call) == "ONLY_OWNER"


def test_only_the_registry_owner_registers_facts(chain):
    as_stranger = Contract(
        address=chain.registry.address, abi=deployment.abi("LocalFactRegistry"), provider=chain.stranger
    )
    call = as_stranger.functions["register_fact"].invoke_v3(config(ATLANTIC), 0x1234, MIN_BITS, auto_estimate=True)
    assert refusal(call) == "ONLY_OWNER"


def test_the_local_registry_answers_integritys_views_as_our_reader_expects(chain):
    proven = decision(apys=(850, 1500))
    chain.register(proven)

    check = integrity.check_fact(
        proven.integrity_fact_hash,
        rpc_urls=[chain.url],
        registry=chain.registry.address,
        min_security_bits=MIN_BITS,
        accepted_configs=[ATLANTIC],
        timeout=30,
    )
    assert check.verified
    expected_hash = integrity.verification_hash(proven.integrity_fact_hash, ATLANTIC, MIN_BITS)
    assert check.accepted.verification_hash == expected_hash
    (verification,) = run(chain.registry.functions["get_verification"].call(expected_hash))
    assert verification == {
        "fact_hash": proven.integrity_fact_hash,
        "security_bits": MIN_BITS,
        "verifier_config": {name: encode_shortstring(getattr(ATLANTIC, name)) for name in integrity.CONFIG_FIELDS},
    }
