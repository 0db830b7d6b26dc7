"""Durable django-q2 schedules of this app, kept in the database and refreshed after every migrate."""

from django.conf import settings

INDEX_EVENTS = "allocations.index_events"


def ensure_schedules(**kwargs) -> None:
    from django_q.models import Schedule

    Schedule.objects.update_or_create(
        name=INDEX_EVENTS,
        defaults={
            "func": "allocations.tasks.index_chain_events",
            "schedule_type": Schedule.MINUTES,
            "minutes": settings.INDEXER_POLL_MINUTES,
            "repeats": -1,
        },
    )
