from django.contrib import admin, messages
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_POST
from pydantic import ValidationError as ParamsError

from allocations.risk import ModelParams, felt_hex, model_hash

from .models import ApiToken, ModelVersion, params_error_text
from .selectors import model_version_with_hash
from .services import model_version_activate


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ["version", "is_current", "model_hash", "registered_by", "registered_at"]
    readonly_fields = ["family", "model_hash", "is_current", "registered_by", "registered_at"]
    fields = ["version", "description", "parameters", *readonly_fields]
    actions = ["make_current"]

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


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "created_at", "last_used_at"]
    readonly_fields = ["user", "name", "created_at", "last_used_at"]

    def has_add_permission(self, request):
        return False  # keys are shown once, by `manage.py create_api_token`
