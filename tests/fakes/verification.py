"""The verification stack the tests run against: fake Atlantic, SHARP and Ethereum nodes and a webhook
sink beside a real chain (starknet-devnet with our contracts), with the settings that point the
application at them."""

from proofs import cairo_statement, submission
from proofs.models import ProofJob
from tests.fakes.servers import (
    FakeAtlantic,
    FakeEthereumNode,
    FakeSharpGateway,
    FakeWebhookSink,
    task_program_hash,
)

API_KEY = "atl-test-key-7f3c9a1e5d"
WEBHOOK_SECRET = "whsec-test-51b2"
FINAL = {"verified", "failed", "timeout"}
_running: list["Fakes"] = []  # the stacks of the current test, whose background work drive waits for


class Fakes:
    def __init__(self, onchain):
        # The fake Atlantic hashes PIEs: compile and hash the program once, not in a request.
        task_program_hash(cairo_statement.compile_program().stripped())
        self.chain = onchain
        self.atlantic = FakeAtlantic(onchain.register_fact)
        self.sharp = FakeSharpGateway()
        self.webhook = FakeWebhookSink()
        self.ethereum = FakeEthereumNode()
        _running.append(self)

    def env(self) -> dict:
        return {
            "PROVER_SERVICE": "atlantic",
            "ATLANTIC_URL": self.atlantic.url,
            "ATLANTIC_API_KEY": API_KEY,
            "SHARP_GATEWAY_URL": self.sharp.url,
            "STARKNET_RPC_URLS": self.chain.devnet.url,
            **self.chain.deployed.settings(),
            "STARKNET_ACCOUNT_ADDRESS": hex(self.chain.executor.address),
            "PROVER_HTTP_TIMEOUT": "10",  # a loaded 2-core CI box; in-process tests use 0.5
            "STARKNET_RPC_TIMEOUT": "5",  # reads take milliseconds; a busy box delays them, a hang test sets its own
            "PROOF_POLL_SECONDS": "0.05",
            "PROOF_RETRY_MAX_SECONDS": "0.2",
            "PROOF_VERIFICATION_TIMEOUT": "60",
            "VERIFICATION_WEBHOOK_URL": f"{self.webhook.url}/hooks/obsqra",
            "VERIFICATION_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "VERIFICATION_WEBHOOK_RETRY_SECONDS": "0.1",
        }

    def stop(self):
        _running.remove(self)
        for server in (self.atlantic, self.sharp, self.webhook, self.ethereum):
            server.stop()


def apply(settings, env: dict) -> None:
    """The same values the cluster reads from its environment, for this process."""
    for name, value in env.items():
        if name == "STARKNET_RPC_URLS":
            value = value.split(",")
        elif name.endswith(("_SECONDS", "TIMEOUT")):
            value = float(value)
        setattr(settings, name, value)


def drive(job, rounds=40) -> ProofJob:
    """Runs the poll schedule's work until the job is final (each round = one scheduled run).

    Before each round the fake prover's verification transactions reach the chain: on Atlantic that is
    proving time, which polls only wait out.
    """
    for _ in range(rounds):
        job.refresh_from_db()
        if job.status in FINAL:
            return job
        for fakes in _running:
            fakes.atlantic.settle()
        submission.poll_verifications()
    job.refresh_from_db()
    return job


