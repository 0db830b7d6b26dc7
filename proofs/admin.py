from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from obsqra.admin import ReadOnlyAdmin
from obsqra.errors import Conflict

from .models import ProofJob, ProofJobEvent
from .selectors import BLOB_FIELDS
from .services import proof_job_retry

RETRYABLE = {ProofJob.Status.FAILED, ProofJob.Status.TIMEOUT}


class ProofJobEventInline(admin.TabularInline):
    model = ProofJobEvent
    fields = ["at", "from_status", "to_status", "detail"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["at", "id"]

    class Media:
        css = {"all": ["css/admin-proofs.css"]}

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ProofJob)
class ProofJobAdmin(ReadOnlyAdmin):
    """Read-only: a job changes only through proofs.services, here by the retry action."""

    list_display = ["id", "status", "decision_link", "proof_hash", "created_at", "updated_at"]
    list_filter = ["status"]
    search_fields = ["=id", "proof_hash", "fact_hash", "remote_job_id"]
    list_select_related = ["decision"]
    date_hierarchy = "created_at"
    fields = [
        "id", "status", "decision_link", "error", "proof_hash", "proof_size", "prover", "made_by_broken_verifier",
        "conjectured_security_bits", "proven_security_bits", "generation_time", "public_inputs", "fact_hash", "program_hash", "sharp_fact_hash", "remote_job_id", "software",
        "created_at", "submitted_at", "verified_at", "updated_at",
    ]  # fmt: skip
    readonly_fields = fields
    inlines = [ProofJobEventInline]
    actions = ["retry"]

    def view_on_site(self, obj):
        return reverse("proofs:detail", args=[obj.pk])

    def get_queryset(self, request):
        return super().get_queryset(request).defer(*BLOB_FIELDS)

    @admin.display(description="decision")
    def decision_link(self, job):
        if not hasattr(job, "decision"):
            return "—"
        url = reverse("admin:allocations_allocationdecision_change", args=[job.decision.pk])
        return format_html('<a href="{}">#{}</a>', url, job.decision.pk)

    def has_retry_permission(self, request):
        return request.user.has_perm("proofs.change_proofjob")

    @admin.action(description="Retry failed or timed-out submission", permissions=["retry"])
    def retry(self, request, queryset):
        retried, skipped = [], []
        for job in queryset:
            if job.status not in RETRYABLE:
                skipped.append(job)
                continue
            try:
                retried.append(proof_job_retry(job))
            except Conflict as exc:  # another worker moved it meanwhile
                self.message_user(request, exc.message, messages.WARNING)
        if retried:
            self.message_user(request, f"Retried {len(retried)} job{'s' if len(retried) != 1 else ''}.")
        if skipped:
            ids = ", ".join(f"{job.pk} ({job.status})" for job in skipped)
            self.message_user(request, f"Skipped {len(skipped)} not failed or timed out: {ids}", messages.WARNING)
