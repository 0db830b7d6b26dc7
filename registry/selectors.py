from django.db.models import Count

from obsqra.errors import NotFound

from .models import ApiToken, ModelVersion


class UnknownModelVersion(NotFound):
    def __init__(self, version: str):
        super().__init__(f"unknown model version {version!r}", field=("model_version",))


def current_model_version() -> ModelVersion:
    try:
        return ModelVersion.objects.get(is_current=True)
    except ModelVersion.DoesNotExist:
        raise NotFound("no model version is current; activate one in the admin") from None


def model_version_get(version: str | None) -> ModelVersion:
    """The named version, or the current one when no version is named."""
    if version is None:
        return current_model_version()
    try:
        return ModelVersion.objects.get(version=version)
    except ModelVersion.DoesNotExist:
        raise UnknownModelVersion(version) from None


def model_version_history() -> list[ModelVersion]:
    """Newest semantic version first (string order would put 10.0.0 before 9.0.0)."""
    return sorted(ModelVersion.objects.select_related("registered_by"), key=lambda mv: mv.semver, reverse=True)


def model_version_decision_counts() -> dict[int, int]:
    """How many decisions each version made, by version id."""
    return dict(ModelVersion.objects.annotate(n=Count("decisions")).values_list("pk", "n"))


def model_version_with_hash(model_hash: str) -> ModelVersion | None:
    return ModelVersion.objects.filter(model_hash=model_hash).first()


def api_token_get(key: str) -> ApiToken | None:
    """The active user's token with this key (only its hash is stored)."""
    token = ApiToken.objects.select_related("user").filter(key_hash=ApiToken.hash_key(key)).first()
    return token if token is not None and token.user.is_active else None


def api_token_of_request(request) -> ApiToken | None:
    """The token of an `Authorization: Bearer <key>` header, if it is a valid one."""
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        return None
    return api_token_get(key.strip())
