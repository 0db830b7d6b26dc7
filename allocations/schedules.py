"""Durable django-q2 schedules of this app, kept in the database and refreshed after every migrate."""

from django.conf import settings

INDEX_EVENTS = "allocations.index_events"
FOLLOW_EXECUTIONS = "allocations.follow_executions"


def ensure_schedules(**kwargs) -> None:
    from django_q.models import Schedule

    for name, func, minutes in (
        (INDEX_EVENTS, "allocations.tasks.index_chain_events", settings.INDEXER_POLL_MINUTES),
        (FOLLOW_EXECUTIONS, "allocations.tasks.follow_executions", settings.EXECUTION_FOLLOW_MINUTES),
    ):
        Schedule.objects.update_or_create(
            name=name,
            defaults={"func": func, "schedule_type": Schedule.MINUTES, "minutes": minutes, "repeats": -1},
        )
