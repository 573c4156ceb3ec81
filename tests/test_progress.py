"""A running job you can trust without watching it: the pages say what the app knows, and when.

The app learns about a job only at a paid status check. The job page and the jobs list say
when the last check was and when the next is due, show the poller's own forecast apart from
what was measured (and call it an estimate), and put the profiles in the table as they are
stored. Rendering any of it spends nothing. Real payments against the sandbox where a job
runs; the app's clock follows the sandbox's.
"""

import csv
import datetime
import io
import math
import re

import pytest
from django.core.management import call_command
from django.urls import reverse

from research import clock as app_clock
from research import jobs, polling, progress
from research.models import Charge, Hold, JobStatus, ResearchJob
from tests.conftest import advance_to, past_run, start, when_due
from tests.workspace_data import add_profiles, stored_job

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sim_now")]

HTMX = {"HTTP_HX_REQUEST": "true"}


def text(html):
    """The words a person reads: tags dropped, spaces squeezed."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def progress_of(client, job, **params):
    return client.get(reverse("research:job_progress", args=[job.pk]), params, **HTMX).content.decode()


def check_once(job, clock):
    advance_to(clock, when_due(job))
    assert jobs.poll_due_jobs() == 1
    job.refresh_from_db()
    return job


# --- Between two checks ----------------------------------------------------------------------


def test_before_the_first_check_the_page_says_so_and_claims_no_progress(logged_in, user, sandbox):
    job = start(user, sandbox, seconds=90)
    page = text(progress_of(logged_in, job))
    assert "Pending At launch, Clado had it queued" in page
    assert "Not checked yet · first check in about 1 min" in page
    assert "No estimate yet" in page and "%" not in page
    assert "Updates live" not in page and "live" not in page.lower()


def test_after_a_check_it_says_when_it_was_when_the_next_is_and_estimates_apart(
    logged_in, user, sandbox, clock
):
    job = start(user, sandbox, seconds=300)
    check_once(job, clock)  # a minute in: searching, a few chunks done
    clock.advance(40)  # then time passes, and nothing is paid
    calls = Charge.objects.count()
    html = progress_of(logged_in, job)
    page = text(html)
    assert "Searching At the last check, Clado was searching" in page
    assert "Checked 40 s ago · next check in about" in page
    assert Charge.objects.count() == calls, "reading the progress paid nothing"
    # The measured figures are plain; the forecast is in italics, hatched, and says it is an estimate.
    assert re.search(r'<dd id="chunks">\d+ / 10</dd>', html)
    figure = r'<em class="estimate-figure" id="estimate-figure"><span data-estimate-percent>≈ \d+%'
    assert re.search(figure, html)
    assert 'class="estimate-bar"' in html and "done (estimate)" in page
    assert "Expected to finish in about" in page
    assert "the poller's estimate from its search progress, with default priors (no past runs" in page
    assert "re-reads what the app knows every 2 s" in page and "only at each paid status check" in page


def test_the_forecast_is_the_pollers_own_prediction_and_its_estimate_moves_but_never_says_done(
    user, sandbox, clock
):
    job = start(user, sandbox, seconds=300)
    check_once(job, clock)
    now = app_clock.now()
    forecast = polling.forecast(job, now)
    expected = job.run_started_at + datetime.timedelta(
        seconds=polling.predicted_finish(job, polling.run_elapsed(job, now))
    )
    assert forecast.finish_at == expected and forecast.basis == "progress" and forecast.runs == 0
    later = polling.forecast(job, now + datetime.timedelta(seconds=30))
    assert 0 < forecast.progress < later.progress < 1
    overdue = polling.forecast(job, now + datetime.timedelta(hours=1))
    assert overdue.progress == polling.ESTIMATE_CAP < 1 and overdue.overdue


def test_the_forecast_says_how_many_past_runs_it_rests_on(user):
    for seconds in (100, 120, 140, 160, 180):
        past_run(user, seconds)
    job = ResearchJob.objects.create(owner=user, query="q", limit=10, status=JobStatus.PENDING)
    job.launched_at = job.run_started_at = app_clock.now() - datetime.timedelta(seconds=50)
    forecast = polling.forecast(job, app_clock.now())
    assert forecast.basis == "history" and forecast.runs == 5
    assert forecast.finish_at == job.run_started_at + datetime.timedelta(seconds=120)  # the quickest quarter


def test_a_page_renders_the_timestamps_the_browser_moves_its_figures_from(logged_in, user, sandbox, clock):
    job = start(user, sandbox, seconds=300)
    check_once(job, clock)
    html = progress_of(logged_in, job)
    ms = progress.epoch_ms
    assert f'data-now="{ms(app_clock.now())}"' in html
    assert f'data-ago="{ms(job.checked_at)}"' in html and f'data-until="{ms(job.next_poll_at)}"' in html
    forecast = polling.forecast(job, app_clock.now())
    assert f'data-estimate-start="{ms(job.run_started_at)}"' in html
    assert f'data-estimate-finish="{ms(forecast.finish_at)}"' in html
    assert "<script" not in html, "no inline script: static/js/progress.js reads these"


@pytest.mark.parametrize(
    ("status", "hold", "badge", "words"),
    [
        (JobStatus.PENDING, Hold.NONE, "Pending", "At launch, Clado had it queued"),
        (JobStatus.SEARCHING, Hold.NONE, "Searching", "At launch, Clado was searching"),
        (JobStatus.PROCESSING, Hold.NONE, "Processing", "At launch, Clado was checking and ranking"),
        (JobStatus.PROCESSING, Hold.BUDGET, "Paused: budget", "A budget cap refused the next paid call"),
        (JobStatus.SEARCHING, Hold.OUTAGE, "Waiting: outage", "Our side cannot reach the gateway"),
        (JobStatus.COMPLETED, Hold.NONE, "Completed", "every profile it found is stored"),
        (JobStatus.ERROR, Hold.NONE, "Error", "Stopped with an error"),
        (JobStatus.CANCELLED, Hold.NONE, "Cancelled", "the profiles found until then are kept"),
    ],
)
def test_every_state_has_its_own_words_badge_and_title(logged_in, user, status, hold, badge, words):
    job = stored_job(user, count=2, status=status, hold=hold)
    state = progress.state_of(job)
    page = logged_in.get(job.get_absolute_url()).content.decode()
    assert f'<span class="badge {state}" id="job-status">{badge}</span>' in page
    assert words in text(page)
    title = rf"<title>(\S+ )?{re.escape(badge)} · Heads of sales in Berlin · Lead finder</title>"
    assert re.search(title, page)
    listed = logged_in.get(reverse("research:job_list")).content.decode()
    assert f'<span class="badge {state}">{badge}</span>' in listed


def test_an_ended_job_marks_the_tab_title_and_icon(logged_in, user):
    job = stored_job(user, count=3, status=JobStatus.COMPLETED)
    page = logged_in.get(job.get_absolute_url()).content.decode()
    assert "<title>✓ Completed · Heads of sales in Berlin · Lead finder</title>" in page
    assert 'id="favicon" type="image/svg+xml" href="/static/img/favicon-completed.svg"' in page


def test_elapsed_never_goes_back_as_the_job_ends(user, sandbox, clock):
    job = start(user, sandbox, seconds=30, results=3)
    clock.advance(sandbox.gateway.jobs[job.clado_id].duration + 0.6)
    ResearchJob.objects.filter(pk=job.pk).update(next_poll_at=app_clock.now())
    shown_running = job.elapsed  # what a page showed just before the poller saw the end
    jobs.poll_due_jobs()
    job.refresh_from_db()
    assert job.status == JobStatus.COMPLETED
    assert job.finished_at == app_clock.now(), "the end is dated when it was seen"
    assert job.elapsed >= shown_running
    exact = (job.finished_at - job.launched_at).total_seconds()
    assert job.elapsed == datetime.timedelta(seconds=math.ceil(exact)) > shown_running, "rounded up"


def test_the_jobs_list_says_the_same_in_a_row(logged_in, user, sandbox, clock):
    job = start(user, sandbox, seconds=300, results=250)
    check_once(job, clock)
    clock.advance(10)
    html = logged_in.get(reverse("research:job_list")).content.decode()
    row = text(html[html.index(f'<tr id="job-row-{job.pk}"') :])
    assert re.search(r"Searching ≈ \d+% ≈ \d+% \(estimate\) checked 10 s ago · next check in about", row)
    assert "250 so far" not in row and "0 so far" in row
    assert "Figures in italics are estimates" in text(html)


# --- Results as they arrive ------------------------------------------------------------------


def test_profiles_stored_while_the_job_processes_are_listed_with_how_many_so_far(logged_in, user):
    job = stored_job(user, count=0, status=JobStatus.PROCESSING, results_reported=180)
    add_profiles(job, 0, 100)
    page = logged_in.get(job.get_absolute_url())
    words = text(page.content.decode())
    assert "100 of about 180 profiles so far" in words
    assert len(page.context["leads_page"].object_list) == 25
    assert 'id="q"' in page.content.decode(), "searchable, sortable and filterable while it runs"
    assert "Download CSV (so far)" in words
    export = logged_in.get(reverse("research:job_export", args=[job.pk]))
    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode("utf-8-sig"))))
    assert len(rows) == 101, "the header and the 100 profiles stored so far"


def test_the_progress_brings_new_rows_only_when_profiles_were_stored_since_the_table_was_drawn(
    logged_in, user
):
    job = stored_job(user, count=0, status=JobStatus.PROCESSING)
    assert "hx-swap-oob" not in progress_of(logged_in, job, shown=0), "nothing new: no table sent"

    add_profiles(job, 0, 30)
    first = progress_of(logged_in, job, shown=0)
    # The first rows bring the filters with them.
    assert re.search(r'<section id="results"[^>]*hx-swap-oob="true"', first)
    assert 'name="shown" value="30"' in first

    add_profiles(job, 30, 60)
    # The reader is on page 2, sorted by name, searching "a": the new rows come in that view.
    more = progress_of(logged_in, job, shown=30, page=2, sort="name", q="a")
    assert re.search(r'<div id="results-body"[^>]*hx-swap-oob="true"', more)
    assert 'id="results"' not in more, "the filters the reader is typing in stay as they are"
    assert 'aria-sort="ascending"' in more and 'name="page" value="2"' in more
    assert 'value="60"' in more and "shown=" not in more.split('name="shown"')[0], "no 'shown' in links"
    assert "hx-swap-oob" not in progress_of(logged_in, job, shown=60)


def test_rows_a_reader_can_open_or_focus_keep_their_ids_across_a_refresh(logged_in, user):
    job = stored_job(user, count=3, status=JobStatus.PROCESSING)
    html = logged_in.get(job.get_absolute_url()).content.decode()
    lead = job.leads.order_by("position").first()
    assert f'<tr id="lead-{lead.pk}">' in html and f'aria-controls="panel-row-{lead.pk}"' in html
    assert 'id="sort-name"' in html and 'id="export-columns"' in html


def test_the_command_line_status_says_the_same_estimate_apart_from_the_measures(user, sandbox, clock):
    job = start(user, sandbox, seconds=300)
    check_once(job, clock)
    out = io.StringIO()
    call_command("research", "status", str(job.pk), stdout=out)
    lines = dict(line.split(":", 1) for line in out.getvalue().splitlines())
    assert lines["Status"].strip() == "Searching"
    assert lines["Last check"].strip().endswith("(just now)")
    estimate = r" +about \d+% done, expected .+ \(from its search progress, with default priors .+\)"
    assert re.fullmatch(estimate, lines["Estimate"])
    assert "Progress" not in lines, "no percentage that mixes guesses with measures"
