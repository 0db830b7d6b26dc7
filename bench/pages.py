"""Server time of every audit-trail page with 10,000 decisions, through Django's test client.

    scripts/ensure-postgres && .venv/bin/python bench/pages.py [--decisions 10000] [--runs 20]

It creates a scratch database (test_<name> of DATABASE_URL, default PostgreSQL on 127.0.0.1:54329),
bulk-creates the decisions with real statements and a real proof on every job that has one, times
each page (median of --runs after warm-up) with its query count, and drops the database again.
"""

# ruff: noqa: E402  (Django is set up before the project imports)
import argparse
import hashlib
import os
import random
import statistics
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "obsqra.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:54329/obsqra_bench")
os.environ.setdefault("SECRET_KEY", "bench-only")

import django

django.setup()

from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from allocations import risk
from allocations.management.commands.load_demo import demo_metrics
from allocations.models import AllocationDecision, MetricsSnapshot, Policy, Protocol
from allocations.services import decision_inputs_resolve
from proofs.models import ProofJob, ProofJobEvent
from proofs.services import decision_orchestrate
from proofs.statement import PublicInputs
from registry.models import ModelVersion

Status = ProofJob.Status
# Most jobs are done; every state appears, so each filter has rows.
STATUS_MIX = [
    (Status.VERIFIED, 70), (Status.GENERATED, 10), (Status.SUBMITTED, 5), (Status.VERIFYING, 5),
    (Status.FAILED, 4), (Status.TIMEOUT, 3), (Status.GENERATING, 3),
]  # fmt: skip
PATHS = {
    Status.GENERATING: [Status.GENERATING],
    Status.GENERATED: [Status.GENERATING, Status.GENERATED],
    Status.SUBMITTED: [Status.GENERATING, Status.GENERATED, Status.SUBMITTED],
    Status.VERIFYING: [Status.GENERATING, Status.GENERATED, Status.SUBMITTED, Status.VERIFYING],
    Status.VERIFIED: [Status.GENERATING, Status.GENERATED, Status.SUBMITTED, Status.VERIFYING, Status.VERIFIED],
    Status.FAILED: [Status.GENERATING, Status.GENERATED, Status.SUBMITTED, Status.FAILED],
    Status.TIMEOUT: [Status.GENERATING, Status.TIMEOUT],
}
BATCH = 1000


def populate(count: int, rng: random.Random) -> AllocationDecision:
    """`count` decisions, oldest first, one an hour; returns the newest, proven for real."""
    versions = list(ModelVersion.objects.all())
    policy = Policy.objects.get(is_default=True)
    sample = decision_orchestrate(inputs=decision_inputs_resolve(
        jediswap=risk.ProtocolMetrics(utilization=6500, volatility=3500, liquidity=1, audit_score=98, age_days=800),
        ekubo=risk.ProtocolMetrics(utilization=5000, volatility=2500, liquidity=2, audit_score=95, age_days=600),
    ))  # fmt: skip
    proof = bytes(ProofJob.objects.get(pk=sample.proof_job_id).proof)
    statuses = rng.choices([s for s, _ in STATUS_MIX], weights=[w for _, w in STATUS_MIX], k=count - 1)
    start = timezone.now() - timedelta(hours=count)
    metrics = demo_metrics(rng, count - 1)
    for offset in range(0, count - 1, BATCH):
        batch = list(zip(range(offset, min(offset + BATCH, count - 1)), metrics, strict=False))
        snapshots, jobs, events, decisions = [], [], [], []
        for i, pair in batch:
            version = versions[i % len(versions)]
            apys = risk.Apys(jediswap=rng.randint(700, 1000), ekubo=rng.randint(1000, 1400))
            statement = PublicInputs.for_decision(version.params, pair["jediswap"], pair["ekubo"], apys, policy.terms)
            status = statuses[i]
            has_proof = status not in (Status.GENERATING, Status.TIMEOUT)
            at = start + timedelta(hours=i)
            job = ProofJob(
                id=uuid.UUID(int=rng.getrandbits(128), version=4),
                status=status,
                public_inputs=statement.model_dump(mode="json"),
                proof=proof if has_proof else b"",
                proof_hash="0x" + hashlib.sha256(f"bench-{i}".encode()).hexdigest() if has_proof else "",
                proof_size=len(proof) if has_proof else None,
                prover=sample.proof_job.prover if has_proof else "",
                security_bits=sample.proof_job.security_bits if has_proof else None,
                generation_time=timedelta(milliseconds=rng.randint(15, 60)) if has_proof else None,
                error="verifier rejected the fact" if status == Status.FAILED else "",
            )
            jobs.append((job, at))
            path = PATHS[status]
            events += [
                ProofJobEvent(job=job, from_status=path[k - 1] if k else "", to_status=path[k])
                for k in range(len(path))
            ]
            pair_snapshots = [
                MetricsSnapshot(protocol=protocol, source=MetricsSnapshot.Source.DEMO, **pair[protocol].model_dump())
                for protocol in (Protocol.JEDISWAP, Protocol.EKUBO)
            ]
            snapshots += pair_snapshots
            decisions.append((pair_snapshots, version, apys, statement, job, at))
        ProofJob.objects.bulk_create([job for job, _ in jobs])
        ProofJobEvent.objects.bulk_create(events)
        MetricsSnapshot.objects.bulk_create(snapshots)
        AllocationDecision.objects.bulk_create(
            AllocationDecision(
                jediswap_snapshot=snaps[0], ekubo_snapshot=snaps[1], model_version=version, policy=policy,
                jediswap_apy=apys.jediswap, ekubo_apy=apys.ekubo,
                jediswap_score=s.jediswap_score, ekubo_score=s.ekubo_score,
                jediswap_pct=s.jediswap_pct, ekubo_pct=s.ekubo_pct,
                violations=s.violations, constraints_passed=s.violations == 0,
                status=AllocationDecision.Status.APPROVED if s.violations == 0 else AllocationDecision.Status.REJECTED,
                proof_job=job,
            )
            for snaps, version, apys, s, job, _ in decisions
        )  # fmt: skip
        # auto_now_add ignores given times: spread the history out afterwards.
        with connection.cursor() as cursor:
            cursor.executemany(
                "UPDATE proofs_proofjob SET created_at = %s WHERE id = %s", [(at, job.pk) for job, at in jobs]
            )
            cursor.executemany(
                "UPDATE allocations_allocationdecision SET created_at = %s WHERE proof_job_id = %s",
                [(at, job.pk) for job, at in jobs],
            )
        print(f"  {min(offset + BATCH, count - 1)} decisions", end="\r", flush=True)
    print()
    return AllocationDecision.objects.select_related("proof_job").get(pk=sample.pk)


def measure(client: Client, url: str, runs: int, headers: dict) -> tuple[float, float, int, int, int]:
    for _ in range(3):
        client.get(url, headers=headers)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url, headers=headers)
        times.append((time.perf_counter() - started) * 1000)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, headers=headers)
    return statistics.median(times), max(times), len(queries), response.status_code, len(response.content)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database, and reuse a kept one")
    args = parser.parse_args()

    # Not setup_test_environment(): its instrumented template rendering copies every context, which a server never does.
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    real_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False, keepdb=args.keep)
    try:
        if AllocationDecision.objects.exists():
            print(f"reusing the kept scratch database {connection.settings_dict['NAME']}")
            newest = AllocationDecision.objects.select_related("proof_job").order_by("-created_at").first()
        else:
            database = connection.settings_dict["NAME"]
            print(f"{connection.vendor} scratch database {database}: creating {args.decisions} decisions")
            started = time.perf_counter()
            newest = populate(args.decisions, random.Random(args.seed))
            print(f"created in {time.perf_counter() - started:.1f} s")
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:  # what autovacuum does to a live database
                cursor.execute("VACUUM ANALYZE")
        job = newest.proof_job
        verified = (
            ProofJob.objects.filter(status=Status.VERIFIED).order_by("created_at").values_list("pk", flat=True)[0]
        )
        waiting = ProofJob.objects.filter(status=Status.SUBMITTED).values_list("pk", flat=True)[0]
        last_decisions_page = -(-AllocationDecision.objects.count() // 20)
        last_proofs_page = -(-ProofJob.objects.count() // 25)
        htmx = {"HX-Request": "true"}
        pages = [
            ("dashboard", "/", {}),
            ("dashboard, last page", f"/?page={last_decisions_page}", {}),
            ("dashboard table (htmx paging)", "/?page=2", htmx | {"HX-Target": "decisions"}),
            ("decision detail", f"/decisions/{newest.pk}/", {}),
            ("proof list", "/proofs/", {}),
            ("proof list, status=failed", "/proofs/?status=failed", {}),
            ("proof list, last page", f"/proofs/?page={last_proofs_page}", {}),
            ("proof detail (oldest verified)", f"/proofs/{verified}/", {}),
            ("badge, final (286)", f"/proofs/{verified}/badge", htmx),
            ("badge, waiting (200)", f"/proofs/{waiting}/badge", htmx),
            ("models", "/models/", {}),
            ("download proof", f"/proofs/{job.pk}/download/proof", {}),
            ("download public inputs", f"/proofs/{job.pk}/download/public-inputs", {}),
        ]
        client = Client()
        print(f"\n{'page':34} {'median ms':>10} {'max ms':>8} {'queries':>8} {'status':>7} {'bytes':>8}")
        print("-" * 80)
        slow = []
        for name, url, headers in pages:
            median, worst, queries, status, size = measure(client, url, args.runs, headers)
            print(f"{name:34} {median:10.1f} {worst:8.1f} {queries:8} {status:7} {size:8}")
            if median >= 50:
                slow.append(name)
        verdict = f"over 50 ms: {', '.join(slow)}" if slow else "every page under 50 ms"
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
        print(f"\nmedian of {args.runs} runs after 3 warm-ups; {verdict} (load average {load})")
        return 1 if slow else 0
    finally:
        connection.creation.destroy_test_db(real_name, verbosity=0, keepdb=args.keep)


if __name__ == "__main__":
    sys.exit(main())
