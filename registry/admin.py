from django.conf import settings
from django.contrib import admin, messages
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_POST
from pydantic import ValidationError as ParamsError

from allocations import services as allocation_services
from allocations.chain import ChainUnavailable
from allocations.risk import ModelParams, felt_hex, model_hash
from obsqra.errors import DomainError

from .models import ApiToken, ModelVersion, params_error_text
from .selectors import model_version_with_hash
from .services import model_version_activate


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ["version", "is_current", "model_hash", "registered_by", "registered_at"]
    readonly_fields = ["family", "model_hash", "is_current", "registered_by", "registered_at"]
    fields = ["version", "description", "parameters", *readonly_fields]
    actions = ["make_current", "approve_on_chain"]

    def get_urls(self):
        preview = self.admin_site.admin_view(require_POST(self.preview_hash_view))
        return [path("preview-hash/", preview, name="registry_modelversion_preview_hash"), *super().get_urls()]

    def preview_hash_view(self, request):
        """The hash the parameters will get, shown on the form before saving (staff only, via admin_view)."""
        context = {"model_hash": None, "error": None, "twin": None}
        try:
            params = ModelParams.model_validate_json(request.POST.get("parameters", ""))
        except ParamsError as exc:
            context["error"] = params_error_text(exc)
        else:
            context["model_hash"] = felt_hex(model_hash(params))
            context["twin"] = model_version_with_hash(context["model_hash"])
        return render(request, "admin/registry/modelversion/_hash_preview.html", context)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.registered_by = request.user
        super().save_model(request, obj, form, change)

    # A version that decided something is history: it must stay exactly as it was.
    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and not (obj and obj.is_used())

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and not (obj and (obj.is_used() or obj.is_current))

    @admin.action(description="Make the selected version current")
    def make_current(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one version to make current.", messages.ERROR)
            return
        model_version = model_version_activate(version=queryset.get().version)
        self.message_user(request, f"{model_version.version} is now the current model version.")
        self._remind_on_chain_approval(request, model_version)

    def _remind_on_chain_approval(self, request, model_version: ModelVersion) -> None:
        """The RiskEngine executes only approved hashes: say whether it approves this one, and how to."""
        try:
            approved = allocation_services.model_approved_on_chain(model_version.model_hash)
        except (DomainError, ChainUnavailable) as exc:
            self.message_user(request, f"Could not ask the RiskEngine whether it approves {model_version.model_hash}: {exc}", messages.WARNING)
            return
        if not approved:
            self.message_user(
                request,
                f"The RiskEngine at {settings.RISK_ENGINE_ADDRESS} does not approve {model_version.model_hash} yet: its "
                "decisions will not execute until its owner calls approve_model with that hash (the action "
                "“Approve the selected version on the RiskEngine” does, where the owner's key is configured).",
                messages.WARNING,
            )

    @admin.action(description="Approve the selected version on the RiskEngine")
    def approve_on_chain(self, request, queryset):
        for model_version in queryset:
            try:
                tx_hash = allocation_services.model_approve_on_chain(model_version.model_hash)
            except (DomainError, ChainUnavailable) as exc:
                self.message_user(request, f"{model_version.version} not approved on chain: {exc}", messages.ERROR)
                return
            self.message_user(request, f"{model_version.version} approved on the RiskEngine in transaction {tx_hash}.")


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "created_at", "last_used_at"]
    readonly_fields = ["user", "name", "created_at", "last_used_at"]

    def has_add_permission(self, request):
        return False  # keys are shown once, by `manage.py create_api_token`
