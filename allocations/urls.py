from django.urls import path

from . import views

app_name = "allocations"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("decisions/<int:decision_id>/", views.decision_detail, name="decision"),
    # Explorer pages of a local chain: chain_deploy on devnet sets STARKNET_EXPLORER_URL=/chain.
    path("chain/tx/<str:tx_hash>", views.chain_transaction, name="chain-transaction"),
    path("chain/block/<int:number>", views.chain_block, name="chain-block"),
]
