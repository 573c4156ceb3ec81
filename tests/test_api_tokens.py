"""A person's API tokens: created on their own page (the secret shown once, only its hash kept),
listed with their name, prefix and dates, revoked by them or by an admin."""

import datetime
import hashlib
import io

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from research.models import ApiToken
from tests.api_client import Program, fresh_rate_limits, problem, program_for  # noqa: F401

pytestmark = pytest.mark.django_db


def test_a_new_token_is_shown_once_and_only_its_hash_is_stored(logged_in, user):
    created = logged_in.post(reverse("account:tokens"), {"name": "Claude agent", "expires_in": 30})
    assert created.status_code == 201 and created["Cache-Control"] == "no-store"
    secret = created.context["created"]["secret"]
    assert secret.startswith("cdr_") and secret in created.content.decode()

    token = ApiToken.objects.get()
    assert (token.user, token.name, token.prefix) == (user, "Claude agent", secret[:12])
    assert token.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    stored = [str(value) for value in ApiToken.objects.values().get().values()]
    assert all(secret not in value for value in stored), "the secret itself is nowhere in the table"
    assert abs(token.expires_at - (timezone.now() + datetime.timedelta(days=30))) < datetime.timedelta(
        minutes=1
    )

    listed = logged_in.get(reverse("account:tokens")).content.decode()
    assert "Claude agent" in listed and f"{token.prefix}…" in listed
    assert secret not in listed, "shown once: never again"
    assert Program(secret).get("/spend").status_code == 200


def test_the_list_shows_last_use_and_expiry(logged_in, user):
    used = program_for(user, name="used one")
    used.get("/spend")
    program_for(user, name="dormant", expires_at=timezone.now() - datetime.timedelta(days=1))
    page = logged_in.get(reverse("account:tokens"))
    rows = {token.name: token for token in page.context["tokens"]}
    assert rows["used one"].last_used_at is not None and rows["used one"].shown_state == "active"
    assert rows["dormant"].last_used_at is None and rows["dormant"].shown_state == "expired"
    assert "never" in page.content.decode()


def test_a_token_needs_a_name_and_the_page_needs_a_login(client, logged_in):
    refused = logged_in.post(reverse("account:tokens"), {"name": "  ", "expires_in": 90})
    assert refused.status_code == 400 and not ApiToken.objects.exists()
    client.logout()
    assert client.get(reverse("account:tokens")).status_code == 302


def test_a_person_revokes_their_token_and_it_stops_working_at_once(logged_in, user):
    program = program_for(user)
    assert program.get("/spend").status_code == 200
    answer = logged_in.post(reverse("account:token_revoke", args=[program.token.pk]))
    assert answer.status_code == 302
    problem(program.get("/spend"), 401, "unauthorized")
    assert "Revoked" in logged_in.get(reverse("account:tokens")).content.decode()


def test_no_one_revokes_another_person_s_token_from_their_page(client, user, bob):
    theirs = program_for(bob)
    client.force_login(user)
    assert client.post(reverse("account:token_revoke", args=[theirs.token.pk])).status_code == 404
    assert theirs.get("/spend").status_code == 200


def test_an_admin_can_revoke_any_token(staff_client, user, bob):
    mine, theirs = program_for(user), program_for(bob)
    answer = staff_client.post(
        reverse("admin:research_apitoken_changelist"),
        {"action": "revoke", "_selected_action": [mine.token.pk, theirs.token.pk]},
    )
    assert answer.status_code == 302
    for program in (mine, theirs):
        problem(program.get("/spend"), 401, "unauthorized")
    page = staff_client.get(reverse("admin:research_apitoken_changelist")).content.decode()
    assert mine.token.prefix in page and mine.secret not in page


def test_a_deactivated_person_s_tokens_stop_working(user):
    program = program_for(user)
    user.is_active = False
    user.save()
    assert "deactivated" in problem(program.get("/spend"), 401, "unauthorized")["detail"]


def test_the_command_line_creates_a_token_for_a_person(user):
    out = io.StringIO()
    call_command("research", "token", "--user", "alice", "--name", "cron job", "--days", "0", stdout=out)
    secret, signing = out.getvalue().split()
    token = ApiToken.objects.get()
    assert (token.user, token.name, token.expires_at) == (user, "cron job", None)
    assert token.webhook_secret == signing
    assert Program(secret).get("/spend").status_code == 200
    with pytest.raises(CommandError, match="No user"):
        call_command("research", "token", "--user", "nobody", "--name", "x")
