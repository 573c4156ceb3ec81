"""The rep's own questions: up to ten yes/no questions sent with the search as Clado's `criteria`.

Each question reaches the gateway, comes back answered for every person, and becomes a filter
and a column on screen and in the CSV, the answer readable at a glance and in words.
"""

import csv
import io
import re

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from research import jobs
from research.models import Charge, ResearchJob
from research.profiles import answer_of
from tests.conftest import finish_and_poll

pytestmark = pytest.mark.django_db

QUESTIONS = ["Has sold to banks.", "Speaks German, fluently?"]
HTMX = {"HTTP_HX_REQUEST": "true"}


def cli(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("research", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_questions_given_on_the_command_line_reach_the_gateway_and_come_back_as_columns(
    user, clock, sandbox, tmp_path
):
    out, _ = cli(
        "start", "Heads of sales in Berlin [results=12]", "--limit", "12", "--user", "alice",
        "--criteria", QUESTIONS[0], "--criteria", QUESTIONS[1],
    )  # fmt: skip
    job = ResearchJob.objects.get(pk=int(out))
    assert job.criteria == QUESTIONS
    assert sandbox.gateway.jobs[job.clado_id].criteria == QUESTIONS, "sent as the gateway's criteria"
    launch = Charge.objects.get(job=job, endpoint="deep-research")
    assert launch.state == Charge.State.SETTLED

    job = finish_and_poll(job, clock, sandbox)
    assert job.leads_stored == 12
    assert all(set(lead.criteria) == set(QUESTIONS) for lead in job.leads.all()), "answered for everyone"

    path = tmp_path / "full.csv"
    cli("export", str(job.pk), "--preset", "full", "--output", str(path))
    with open(path, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 12
    by_url = {row["LinkedIn URL"]: row for row in rows}
    for lead in job.leads.all():
        row = by_url[lead.linkedin_url]
        for question in QUESTIONS:
            assert row[question] == answer_of(lead.criteria[question]) in ("YES", "MAYBE", "NO")
            reasoning = (
                lead.criteria[question].get("reasoning", "")
                if isinstance(lead.criteria[question], dict)
                else ""
            )
            assert row[f"{question} (reasoning)"] == reasoning


def test_more_than_ten_questions_are_refused_before_anything_is_paid(user):
    with pytest.raises(CommandError, match="At most 10"):
        cli(
            "start",
            "CFOs in Lisbon",
            "--user",
            "alice",
            *[a for n in range(11) for a in ("--criteria", f"Q{n}?")],
        )
    assert not ResearchJob.objects.exists() and not Charge.objects.exists()


def test_the_new_search_form_takes_one_question_per_line(logged_in, sandbox):
    key = logged_in.get(reverse("research:job_new")).context["form"].initial["idempotency_key"]
    response = logged_in.post(
        reverse("research:job_new"),
        {
            "query": "CFOs in Lisbon",
            "limit": 5,
            "idempotency_key": key,
            "criteria": "\n".join(QUESTIONS) + "\n\n",
        },
    )
    job = ResearchJob.objects.get()
    assert response.status_code == 302 and job.criteria == QUESTIONS
    assert sandbox.gateway.jobs[job.clado_id].criteria == QUESTIONS

    eleven = "\n".join(f"Question {n}?" for n in range(11))
    key = logged_in.get(reverse("research:job_new")).context["form"].initial["idempotency_key"]
    refused = logged_in.post(
        reverse("research:job_new"),
        {"query": "CTOs in Riga", "limit": 5, "idempotency_key": key, "criteria": eleven},
    )
    assert refused.status_code == 200 and "At most 10 questions" in refused.content.decode()
    assert ResearchJob.objects.count() == 1


def test_the_same_search_with_other_questions_is_another_search(user, sandbox):
    first = jobs.launch(jobs.create_job(user, "CFOs in Lisbon", 5, criteria=QUESTIONS[:1]), user)
    with pytest.raises(jobs.SameSearchRecently):
        jobs.create_job(user, "CFOs in Lisbon", 5, criteria=QUESTIONS[:1])
    other = jobs.create_job(user, "CFOs in Lisbon", 5, criteria=QUESTIONS)
    assert other.pk != first.pk


def test_each_question_is_a_column_with_answers_in_words_and_colour(logged_in, user, clock, sandbox):
    job = jobs.launch(
        jobs.create_job(user, "Heads of sales in Berlin [results=8]", 8, criteria=QUESTIONS), user
    )
    job = finish_and_poll(job, clock, sandbox)
    page = logged_in.get(job.get_absolute_url()).content.decode()
    head = re.search(r"<thead>.*?</thead>", page, re.S).group(0)
    assert all(question in head for question in QUESTIONS), "a column per question"

    lead = job.leads.order_by("position").first()
    row = re.search(rf'<tr id="lead-{lead.pk}">.*?</tr>', page, re.S).group(0)
    for question in QUESTIONS:
        said = answer_of(lead.criteria[question])
        # A coloured pill with the whole word; the title names the question for a pointer.
        assert re.search(rf'<span class="answer {said.lower()}" title="{re.escape(question)}: {said}', row)
        assert f"</span>{said}</span>" in row, "the answer is a word, not only a colour"


def test_each_question_is_a_filter(logged_in, user, clock, sandbox):
    job = jobs.launch(
        jobs.create_job(user, "Heads of sales in Berlin [results=30]", 30, criteria=QUESTIONS), user
    )
    job = finish_and_poll(job, clock, sandbox)
    question = QUESTIONS[1]
    page = logged_in.get(job.get_absolute_url(), {f"c:{question}": "YES", "per_page": 100})
    expected = {lead.pk for lead in job.leads.all() if answer_of(lead.criteria[question]) == "YES"}
    assert {lead.pk for lead in page.context["leads_page"]} == expected and expected
    assert f'name="c:{question}"' in page.content.decode()

    csv_rows = b"".join(
        logged_in.get(
            reverse("research:job_export", args=[job.pk]), {f"c:{question}": "YES"}
        ).streaming_content
    )
    rows = list(csv.DictReader(io.StringIO(csv_rows.decode("utf-8-sig"))))
    assert len(rows) == len(expected) and {row[question] for row in rows} == {"YES"}
