from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AllocationsConfig(AppConfig):
    name = "allocations"
    verbose_name = "Allocations"

    def ready(self):
        from .schedules import ensure_schedules

        post_migrate.connect(ensure_schedules, sender=self)
