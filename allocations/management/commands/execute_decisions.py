"""Executes on the RiskEngine the decisions whose proof is verified on chain and that are not executed yet."""

import time

from django.core.management.base import BaseCommand, CommandError

from allocations import execution
from allocations.models import AllocationDecision
from obsqra.errors import DomainError
from proofs.models import ProofJob


class Command(BaseCommand):
    help = (
        "Sends execute_decision for each approved decision whose proof is verified (newest first), then "
        "follows each transaction for up to --wait seconds; what is still open is left to the schedule."
    )

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=10, help="at most this many decisions (default 10)")
        parser.add_argument("--wait", type=float, default=30.0, help="seconds to follow each transaction")
        parser.add_argument(
            "--await-proofs", type=float, default=0.0, metavar="SECONDS",
            help="first wait up to this long for the proofs of approved decisions still on their way to chain",
        )  # fmt: skip

    def handle(self, *args, limit, wait, await_proofs, **options):
        if limit < 1:
            raise CommandError("--limit must be at least 1")
        if not execution.execution_enabled():
            raise CommandError("execution is off: set STARKNET_ACCOUNT_ADDRESS, STARKNET_ACCOUNT_PRIVATE_KEY and RISK_ENGINE_ADDRESS")
        deadline = time.monotonic() + await_proofs
        while time.monotonic() < deadline and self._proofs_on_their_way():
            time.sleep(1)
        ready = (
            AllocationDecision.objects.filter(
                status__in=execution.EXECUTABLE, constraints_passed=True, proof_job__status=ProofJob.Status.VERIFIED
            )
            .order_by("-created_at")
            .values_list("pk", flat=True)[:limit]
        )
        sent = failed = 0
        for decision_id in ready:
            try:
                started = execution.execution_start(decision_id=decision_id)
            except DomainError as exc:
                failed += 1
                self.stderr.write(f"decision {decision_id}: {exc}")
                continue
            sent += 1
            settled = execution.execution_wait(started.pk, seconds=wait)
            self.stdout.write(f"decision {decision_id}: {settled.tx_hash} {settled.status}")
        self.stdout.write(f"Executed {sent} decisions, {failed} refused.")

    @staticmethod
    def _proofs_on_their_way() -> bool:
        on_their_way = [ProofJob.Status.GENERATING, ProofJob.Status.GENERATED, ProofJob.Status.SUBMITTED, ProofJob.Status.VERIFYING]
        return AllocationDecision.objects.filter(
            status__in=execution.EXECUTABLE, constraints_passed=True, proof_job__status__in=on_their_way
        ).exists()
