import random
from datetime import timedelta

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from allocations import risk
from allocations.models import AllocationDecision, MetricsSnapshot
from allocations.services import decision_inputs_resolve
from proofs.services import decision_orchestrate


def _drift(rng: random.Random, value: int, step: int, low: int, high: int) -> int:
    return min(high, max(low, value + rng.randint(-step, step)))


def demo_metrics(rng: random.Random, count: int):
    """A plausible random walk of both pools' metrics, one point per decision."""
    state = {
        "jediswap": dict(utilization=6500, volatility=3500, liquidity=1, audit_score=98, age_days=700),
        "ekubo": dict(utilization=5000, volatility=2500, liquidity=2, audit_score=95, age_days=500),
    }
    for _ in range(count):
        for m in state.values():
            m["utilization"] = _drift(rng, m["utilization"], 400, 500, 9500)
            m["volatility"] = _drift(rng, m["volatility"], 300, 800, 9000)
            m["liquidity"] = _drift(rng, m["liquidity"], 1 if rng.random() < 0.1 else 0, 0, 3)
            m["age_days"] += 1
        yield {name: risk.ProtocolMetrics(**m) for name, m in state.items()}


class Command(BaseCommand):
    help = "Load proven demo allocation decisions (one a day, ending today) unless some are already there."

    def add_arguments(self, parser):
        parser.add_argument("--count", type=int, default=60)
        parser.add_argument("--seed", type=int, default=2026)

    @transaction.atomic
    def handle(self, *args, count, seed, **options):
        if AllocationDecision.objects.exists():
            self.stdout.write("Decisions already present: demo data not loaded.")
            return
        rng = random.Random(seed)
        start = timezone.now() - timedelta(days=count)
        for day, metrics in enumerate(demo_metrics(rng, count)):
            apys = risk.Apys(jediswap=rng.randint(1050, 1500), ekubo=rng.randint(700, 1000))
            inputs = decision_inputs_resolve(jediswap=metrics["jediswap"], ekubo=metrics["ekubo"], apys=apys)
            decision = decision_orchestrate(inputs=inputs, source=MetricsSnapshot.Source.DEMO)
            AllocationDecision.objects.filter(pk=decision.pk).update(created_at=start + timedelta(days=day))
        self.stdout.write(f"Loaded {count} demo decisions.")
