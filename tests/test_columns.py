"""Columns: one chooser for the table and the CSV, remembered per person; the default has the headline."""

import csv
import io
import re

import pytest
from django.urls import reverse

from research import columns
from research.models import Preferences
from tests.conftest import in_team
from tests.workspace_data import stored_job

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}
QUESTIONS = ["Based in Europe.", "Works in sales or business development."]  # the sandbox's, alphabetically


def table_head(page):
    return re.findall(r'<th scope="col" class="col-([^"]+)"', page.content.decode())


def csv_header(client, job, **params):
    body = b"".join(client.get(reverse("research:job_export", args=[job.pk]), params).streaming_content)
    return next(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def choose(client, keys, questions=QUESTIONS, **extra):
    """Send the chooser: the columns it offered, the ones ticked."""
    offered = [key for key, _ in columns.offered(questions)]
    return client.post(reverse("research:columns_save"), {"offered": offered, "columns": keys, **extra})


def test_the_default_shows_the_headline_the_status_and_every_question_on_screen_and_in_the_csv(
    logged_in, user
):
    job = stored_job(user, count=5)
    assert table_head(logged_in.get(job.get_absolute_url())) == [
        "select", "name", "status", "cbased-in-europe", "cworks-in-sales-or-business-development", "headline",
        "title", "company", "location", "country", "linkedin_url", "decision_maker",
    ]  # fmt: skip
    assert csv_header(logged_in, job)[:5] == ["Name", "Shortlist status", *QUESTIONS, "Headline"]
    assert not Preferences.objects.exists(), "looking at a table writes nothing"


def test_one_choice_changes_the_table_and_the_csv_and_is_remembered_for_that_person(
    logged_in, user, client, bob
):
    in_team("Sales", user, bob)  # bob sees alice's jobs: the team's
    job = stored_job(user, count=5)
    chosen = ["name", "headline", "skills", f"c:{QUESTIONS[1]}"]
    response = choose(logged_in, chosen, next=job.get_absolute_url())
    assert response.status_code == 302 and response.url == job.get_absolute_url(), "without JavaScript: back"

    head = table_head(logged_in.get(job.get_absolute_url()))
    assert head == ["select", "name", "cworks-in-sales-or-business-development", "headline", "skills"]
    assert csv_header(logged_in, job) == ["Name", QUESTIONS[1], "Headline", "Skills"]
    other = stored_job(user, "CTOs in Paris", count=3)
    assert csv_header(logged_in, other)[:2] == ["Name", QUESTIONS[1]], "remembered across jobs"

    client.force_login(bob)
    assert csv_header(client, job)[:2] == ["Name", "Shortlist status"], "each person has their own"


def test_a_question_never_seen_shows_and_a_hidden_one_stays_hidden(logged_in, user):
    job = stored_job(user, count=3)
    choose(logged_in, ["name", f"c:{QUESTIONS[0]}"])  # "Works in sales…" unticked
    new_question = "Has sold to banks."
    job.leads.update(criteria={QUESTIONS[1]: "YES", new_question: "NO"})
    assert csv_header(logged_in, job) == ["Name", new_question]


def test_with_htmx_the_table_is_asked_to_fetch_itself_again(logged_in, user):
    job = stored_job(user, count=3)
    response = logged_in.post(
        reverse("research:columns_save"),
        {"offered": ["name", "headline"], "columns": ["name"], "next": job.get_absolute_url()},
        **HTMX,
    )
    assert response.status_code == 204 and response["HX-Trigger"] == "leads-changed"
    table = logged_in.get(job.get_absolute_url(), **HTMX).content.decode()
    assert 'hx-trigger="leads-changed from:body"' in table and "Columns saved" in table


@pytest.mark.parametrize(
    "elsewhere", ["https://evil.example/", "//evil.example/x", "javascript:alert(1)", "status"]
)
def test_the_way_back_goes_to_this_site_only(logged_in, elsewhere):
    response = logged_in.post(
        reverse("research:columns_save"), {"offered": ["name"], "columns": ["name"], "next": elsewhere}
    )
    assert response.status_code == 302 and response.url == reverse("research:lead_list")


def test_explicit_columns_and_presets_still_win_over_the_person_s_choice(logged_in, user):
    job = stored_job(user, count=2)
    choose(logged_in, ["name"])
    assert csv_header(logged_in, job, columns=["linkedin_url", "name"]) == ["LinkedIn URL", "Name"]
    assert csv_header(logged_in, job, preset="default")[:3] == ["Name", "Headline", "Current title"]
