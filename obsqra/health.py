from django.conf import settings
from django.db import connection
from django.db.utils import Error as DatabaseError
from django.http import JsonResponse
from django_q.status import Stat

from allocations.execution import execution_enabled


def health(request):
    """Liveness of the parts a decision needs; 503 when the database is unreachable."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        database = {"ok": True, "vendor": connection.vendor}
    except DatabaseError as exc:
        database = {"ok": False, "error": str(exc)}
    clusters = Stat.get_all() if database["ok"] else []
    body = {
        "status": "ok" if database["ok"] and clusters else "degraded",
        "database": database,
        "task_queue": {"ok": bool(clusters), "clusters": [{"id": str(s.cluster_id), "status": s.status} for s in clusters]},
        "starknet_rpc": {"configured": bool(settings.STARKNET_RPC_URLS)},
        "execution": {"enabled": execution_enabled()},
    }
    return JsonResponse(body, status=200 if database["ok"] else 503)
