"""Staff-only API access: a bearer token (ApiToken) or a staff session with CSRF."""

from django.conf import settings
from django.utils import timezone
from ninja.errors import AuthorizationError
from ninja.security import HttpBearer, SessionAuth

from .models import ApiToken
from .selectors import api_token_get


def _require_staff(user):
    if not user.is_staff:
        raise AuthorizationError(message="staff only")
    return user


class StaffTokenAuth(HttpBearer):
    def authenticate(self, request, token):
        api_token = api_token_get(token)
        if api_token is None:
            return None
        ApiToken.objects.filter(pk=api_token.pk).update(last_used_at=timezone.now())
        request.user = api_token.user
        return _require_staff(api_token.user)


class StaffSessionAuth(SessionAuth):
    def _get_key(self, request):
        # No session cookie, nothing a forged request could ride on: not authenticated (401) rather
        # than a CSRF failure (403). With the cookie, ninja's CSRF check applies as before.
        if settings.SESSION_COOKIE_NAME not in request.COOKIES:
            return None
        return super()._get_key(request)

    def authenticate(self, request, key):
        if not request.user.is_authenticated:
            return None
        return _require_staff(request.user)


staff_only = [StaffTokenAuth(), StaffSessionAuth()]
