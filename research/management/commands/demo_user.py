"""Create the sandbox's demo login (demo / demo, staff), once. Refused outside sandbox mode."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Create the demo / demo login for sandbox mode."

    def handle(self, *args, **options):
        if not settings.SANDBOX_MODE:
            raise CommandError("demo_user only runs in sandbox mode; use createsuperuser for real logins.")
        User = get_user_model()
        if User.objects.filter(username="demo").exists():
            return
        User.objects.create_superuser("demo", "demo@example.com", "demo")
        self.stdout.write("Created the login demo / demo (staff, sandbox only).")
