import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from registry.models import ApiToken


class Command(BaseCommand):
    help = "Create an API token for a staff user; the key is printed once and only its hash is stored."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="cli")

    def handle(self, *args, username, name, **options):
        try:
            user = get_user_model().objects.get_by_natural_key(username)
        except get_user_model().DoesNotExist:
            raise CommandError(f"no user {username!r}") from None
        if not user.is_staff:
            raise CommandError(f"{username!r} is not staff: the API token would be refused")
        key = secrets.token_urlsafe(32)
        ApiToken.objects.create(user=user, name=name, key_hash=ApiToken.hash_key(key))
        self.stdout.write(key)
