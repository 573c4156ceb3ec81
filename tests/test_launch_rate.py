"""Launches are rate-limited per person (LAUNCH_RATE_LIMIT), counted from their recent jobs: past
the limit the form and the command line say so clearly, and nothing is created or paid."""

import datetime
import uuid

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from research.models import Charge, ResearchJob
from tests.test_configuration import run_django

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_an_hour(settings):
    settings.LAUNCH_RATE_LIMIT = (2, 3600)


def launch_form(client, query):
    data = {"query": query, "limit": 5, "idempotency_key": uuid.uuid4()}
    return client.post(reverse("research:job_new"), data)


def test_past_the_limit_the_form_says_when_to_try_again_and_nothing_is_paid(logged_in, sandbox, two_an_hour):
    assert launch_form(logged_in, "CFOs in Lisbon").status_code == 302
    assert launch_form(logged_in, "CFOs in Porto").status_code == 302
    charges, paid = Charge.objects.count(), sandbox.gateway.paid_calls()

    refused = launch_form(logged_in, "CFOs in Faro")

    assert refused.status_code == 429
    text = refused.content.decode()
    assert "You have launched 2 searches within 1 hour, the most allowed: try again in" in text
    assert "Nothing was paid." in text
    assert ResearchJob.objects.count() == 2
    assert Charge.objects.count() == charges and sandbox.gateway.paid_calls() == paid


def test_the_command_line_says_the_same(user, sandbox, two_an_hour):
    for city in ("Oslo", "Bergen"):
        call_command("research", "start", f"CTOs in {city}", "--limit", "5", "--user", user.username)
    paid = sandbox.gateway.paid_calls()
    with pytest.raises(CommandError, match="You have launched 2 searches within 1 hour"):
        call_command("research", "start", "CTOs in Tromsø", "--limit", "5", "--user", user.username)
    assert ResearchJob.objects.count() == 2 and sandbox.gateway.paid_calls() == paid


def test_launches_older_than_the_period_do_not_count_nor_do_other_people_s(
    logged_in, bob, sandbox, two_an_hour
):
    launch_form(logged_in, "CFOs in Lisbon")
    launch_form(logged_in, "CFOs in Porto")
    ResearchJob.objects.update(created_at=timezone.now() - datetime.timedelta(hours=1, seconds=1))
    assert launch_form(logged_in, "CFOs in Faro").status_code == 302

    bobs = type(logged_in)()
    bobs.force_login(bob)
    assert launch_form(bobs, "CFOs in Braga").status_code == 302


def test_a_resubmitted_form_is_not_a_new_launch(logged_in, sandbox, two_an_hour):
    key = uuid.uuid4()
    data = {"query": "CFOs in Lisbon", "limit": 5, "idempotency_key": key}
    logged_in.post(reverse("research:job_new"), data)
    launch_form(logged_in, "CFOs in Porto")
    again = logged_in.post(reverse("research:job_new"), data)
    assert again.status_code == 302 and ResearchJob.objects.count() == 2


@pytest.mark.parametrize(
    ("value", "parsed"),
    [("10/hour", "(10, 3600)"), ("3/minute", "(3, 60)"), ("off", "None")],
)
def test_the_rate_is_read_from_the_environment(value, parsed):
    result = run_django(
        "from django.conf import settings; print(settings.LAUNCH_RATE_LIMIT)", LAUNCH_RATE_LIMIT=value
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == parsed


def test_a_bad_rate_fails_loudly():
    result = run_django("", LAUNCH_RATE_LIMIT="ten an hour")
    assert result.returncode != 0 and "LAUNCH_RATE_LIMIT must look like 10/hour" in result.stderr
