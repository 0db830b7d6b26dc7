import pytest


@pytest.mark.django_db
def test_health_reports_database_and_missing_task_queue(client, settings):
    settings.STARKNET_RPC_URLS = []
    body = client.get("/health").json()
    assert body["database"] == {"ok": True, "vendor": "postgresql"}
    assert body["task_queue"]["ok"] is False
    assert (body["status"], body["starknet_rpc"]) == ("degraded", {"configured": False})


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_health_is_ok_with_a_live_cluster(client, q_cluster, settings):
    settings.STARKNET_RPC_URLS = ["http://127.0.0.1:9/rpc/v0_8"]
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["starknet_rpc"] == {"configured": True}
