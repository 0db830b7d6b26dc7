import hashlib

import semver
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from pydantic import ValidationError as ParamsError

from allocations.risk import FAMILY_ID, ModelParams, felt_hex, model_hash


def validate_semver(value: str) -> None:
    if not semver.Version.is_valid(value):
        raise ValidationError("%(value)s is not a semantic version such as 1.2.0", params={"value": value})


class ModelVersion(models.Model):
    """One parameter set of the risk family, named by a semantic version and its Poseidon hash."""

    version = models.CharField(max_length=64, unique=True, validators=[validate_semver])
    family = models.CharField(max_length=31, default=FAMILY_ID, editable=False)
    parameters = models.JSONField(help_text="ModelParams of the risk family, see the README")
    model_hash = models.CharField(max_length=66, unique=True, editable=False)
    description = models.TextField(blank=True)
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, editable=False
    )
    registered_at = models.DateTimeField(auto_now_add=True)
    is_current = models.BooleanField(default=False, editable=False)

    class Meta:
        ordering = ["-registered_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_current"], condition=models.Q(is_current=True), name="one_current_model_version"
            )
        ]

    def __str__(self) -> str:
        return f"{self.version}{' (current)' if self.is_current else ''}"

    @property
    def params(self) -> ModelParams:
        return ModelParams.model_validate(self.parameters)

    @property
    def semver(self) -> semver.Version:
        return semver.Version.parse(self.version)

    def is_used(self) -> bool:
        return self.pk is not None and self.decisions.exists()

    def clean(self) -> None:
        try:
            params = ModelParams.model_validate(self.parameters)
        except ParamsError as exc:
            raise ValidationError({"parameters": [params_error_text(exc)]}) from exc
        self.parameters = params.model_dump(mode="json")
        self.model_hash = felt_hex(model_hash(params))
        twin = ModelVersion.objects.filter(model_hash=self.model_hash).exclude(pk=self.pk).first()
        if twin is not None:
            raise ValidationError({"parameters": [f"these parameters are already registered as {twin.version}"]})

    def save(self, *args, **kwargs):
        if self.is_used():
            raise ModelVersionInUse(self.version)
        self.full_clean(exclude=["model_hash"])
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self.is_used():
            raise ModelVersionInUse(self.version)
        return super().delete(*args, **kwargs)


class ModelVersionInUse(Exception):
    def __init__(self, version: str):
        super().__init__(f"model version {version} has been used by a decision and cannot be changed")


def params_error_text(exc: ParamsError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'parameters'}: {e['msg']}" for e in exc.errors())


class ApiToken(models.Model):
    """A bearer token for integrators; only its SHA-256 is stored, the key is shown once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    def __str__(self) -> str:
        return f"{self.name} ({self.user})"

    @staticmethod
    def hash_key(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()
