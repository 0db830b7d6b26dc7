"""Durable django-q2 schedules, kept in the database and refreshed after every migrate."""

import math
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

POLL_VERIFICATIONS = "proofs.poll_verifications"

SCHEDULES = {
    "proofs.sweep_stale_jobs": {"func": "proofs.tasks.sweep_stale_jobs", "minutes_setting": "PROOF_SWEEP_MINUTES"},
    # A whole-minute fallback; each run re-arms itself PROOF_POLL_SECONDS ahead (see poll_schedule_rearm).
    POLL_VERIFICATIONS: {
        "func": "proofs.tasks.poll_verifications",
        "minutes": lambda: max(1, math.ceil(settings.PROOF_POLL_SECONDS / 60)),
    },
}


def ensure_schedules(**kwargs) -> None:
    from django_q.models import Schedule

    for name, spec in SCHEDULES.items():
        minutes = spec["minutes"]() if "minutes" in spec else getattr(settings, spec["minutes_setting"])
        Schedule.objects.update_or_create(
            name=name,
            defaults={
                "func": spec["func"],
                "schedule_type": Schedule.MINUTES,
                "minutes": minutes,
                "repeats": -1,
            },
        )


def poll_schedule_rearm() -> None:
    """Brings the poll schedule's next run to PROOF_POLL_SECONDS from now (never later than planned).

    django-q2's MINUTES schedules cannot go below a minute, and its scheduler looks about every
    30 s, so the effective period is max(PROOF_POLL_SECONDS, that look).
    """
    from django_q.models import Schedule

    soon = timezone.now() + timedelta(seconds=settings.PROOF_POLL_SECONDS)
    Schedule.objects.filter(name=POLL_VERIFICATIONS, next_run__gt=soon).update(next_run=soon)
