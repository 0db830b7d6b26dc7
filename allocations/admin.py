from django.contrib import admin

from obsqra.admin import ReadOnlyAdmin

from .models import AllocationDecision, ChainEvent, Execution, IndexerCursor, Policy


@admin.register(Policy)
class PolicyAdmin(admin.ModelAdmin):
    list_display = ["name", "max_single", "min_diversification", "max_volatility", "min_liquidity", "is_default"]

    # Decisions record the policy they were checked against; changing it afterwards would rewrite history.
    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and not (obj and obj.decisions.exists())

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and not (obj and obj.decisions.exists())


@admin.register(AllocationDecision)
class AllocationDecisionAdmin(ReadOnlyAdmin):
    list_display = ["id", "created_at", "status", "model_version", "policy", "jediswap_pct", "ekubo_pct"]
    list_filter = ["status", "model_version", "policy"]
    list_select_related = ["model_version", "policy"]


@admin.register(ChainEvent)
class ChainEventAdmin(ReadOnlyAdmin):
    list_display = ["block_number", "contract_address", "name", "tx_hash", "event_index"]
    list_filter = ["name"]
    search_fields = ["tx_hash", "contract_address"]


@admin.register(IndexerCursor)
class IndexerCursorAdmin(ReadOnlyAdmin):
    list_display = ["contract_address", "last_block", "reorgs", "node", "updated_at"]


@admin.register(Execution)
class ExecutionAdmin(ReadOnlyAdmin):
    list_display = ["tx_hash", "decision", "status", "nonce", "block_number", "created_at", "finished_at"]
    list_filter = ["status"]
    search_fields = ["tx_hash", "=decision__id"]
    list_select_related = ["decision"]
