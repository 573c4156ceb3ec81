"""Create the sandbox's demo login (demo / demo, staff) in a "Sales" team, once.

Refused outside sandbox mode."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError

DEMO_TEAM = "Sales"


class Command(BaseCommand):
    help = "Create the demo / demo login for sandbox mode, in the Sales team."

    def handle(self, *args, **options):
        if not settings.SANDBOX_MODE:
            raise CommandError("demo_user only runs in sandbox mode; use createsuperuser for real logins.")
        User = get_user_model()
        team, _ = Group.objects.get_or_create(name=DEMO_TEAM)
        demo = User.objects.filter(username="demo").first()
        if demo is None:
            demo = User.objects.create_superuser("demo", "demo@example.com", "demo")
            self.stdout.write(f"Created the login demo / demo (staff, sandbox only), team {DEMO_TEAM}.")
        demo.groups.add(team)  # sandboxes made before teams existed get the team too
