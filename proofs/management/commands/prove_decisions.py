import time

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q
from tqdm import tqdm

from allocations.models import AllocationDecision
from proofs.models import ProofJob
from proofs.services import proof_jobs_enqueue
from proofs.statement import BROKEN_PROVER_NAMES


class Command(BaseCommand):
    help = (
        "Prove stored decisions on the django-q2 workers: by default those with no proof, a failed one, or one made "
        "by a prover whose verifier was broken; --all proves every decision again. Shows progress until the workers "
        "are done."
    )

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true", help="re-prove every decision")
        parser.add_argument("--ids", type=int, nargs="+", help="only these decision ids")
        parser.add_argument("--no-wait", action="store_true", help="queue the work and return")
        parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for the workers")

    def handle(self, *args, all, ids, no_wait, timeout, **options):
        decisions = AllocationDecision.objects.all()
        if ids:
            decisions = decisions.filter(pk__in=ids)
        if not all:
            unproven = (
                Q(proof_job__isnull=True)
                | Q(proof_job__status__in=[ProofJob.Status.FAILED, ProofJob.Status.TIMEOUT])
                | Q(proof_job__prover__in=BROKEN_PROVER_NAMES)
            )
            decisions = decisions.filter(unproven)
        jobs = proof_jobs_enqueue(decisions=decisions.order_by("pk"))
        self.stdout.write(f"Queued {len(jobs)} decision proofs.")
        if no_wait or not jobs:
            return
        self._follow([job.pk for job in jobs], timeout)

    def _follow(self, job_ids, timeout):
        pending = ProofJob.objects.filter(pk__in=job_ids, status=ProofJob.Status.GENERATING)
        deadline = time.monotonic() + timeout
        with tqdm(total=len(job_ids), unit="proof") as bar:
            while (left := pending.count()) and time.monotonic() < deadline:
                bar.update(len(job_ids) - left - bar.n)
                time.sleep(0.2)
            bar.update(len(job_ids) - left - bar.n)
        if left:
            raise CommandError(f"{left} proofs still generating after {timeout:.0f} s: is a worker running (manage.py qcluster)?")
        failed = ProofJob.objects.filter(pk__in=job_ids, status=ProofJob.Status.FAILED).count()
        self.stdout.write(f"Proved {len(job_ids) - failed} decisions, {failed} failed.")
