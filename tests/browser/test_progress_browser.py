"""A running job watched in a real browser: what the page says between checks, and at the end.

The app learns about the job only when the poller pays for a status check (here: `advance_job`,
which moves the sandbox's clock and runs one poll). Between two checks the page re-reads the
database, the relative times and the estimate move, and nothing is paid. The browser's
Notification API is replaced by a recorder (the headless browser shows none).
"""

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from research import jobs
from research.models import Charge, JobStatus, ResearchJob
from tests.browser.conftest import run_in_thread

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# A stand-in for the browser's notifications that records what would pop up.
FAKE_NOTIFICATIONS = """
window.__notes = [];
window.Notification = class {
  constructor(title, options) { window.__notes.push({title, body: options && options.body}); }
  close() {}
  static requestPermission() {
    window.Notification.permission = "granted";
    return Promise.resolve("granted");
  }
};
window.Notification.permission = "default";
"""


def launch(user, sandbox, *, seconds, results):
    sandbox.gateway.script(job_seconds=seconds, results=results)
    job = run_in_thread(lambda: jobs.launch(jobs.create_job(user, "Founders in Tallinn", results), user))
    assert job.status == JobStatus.PENDING, job.message
    return job


def paid_calls():
    return Charge.objects.count()


def test_a_job_watched_from_launch_to_finish_says_what_the_app_knows_then_marks_the_tab(
    page, user, sandbox, advance_job
):
    page.add_init_script(FAKE_NOTIFICATIONS)
    job = launch(user, sandbox, seconds=60, results=60)
    page.goto(job.get_absolute_url())
    expect(page).to_have_title("Pending · Founders in Tallinn · Lead finder")
    expect(page.locator("#checks")).to_have_text(re.compile(r"Not checked yet · first check in about \d+ s"))
    expect(page.locator("#estimate")).to_contain_text("No estimate yet")
    expect(page.locator("#progress")).not_to_contain_text("live")

    # Notifications are asked for from the button only, never on load.
    button = page.get_by_role("button", name="Notify me in this browser when a job ends")
    expect(button).to_be_visible()
    button.click()
    expect(button).to_be_hidden()
    expect(page.locator("[data-notify-state]").first).to_have_text("Browser notifications are on.")

    advance_job(job, 20)  # the sandbox's job is searching: one paid check
    expect(page.locator("#job-status")).to_have_text("Searching")
    checked = re.compile(r"Checked (just now|\d+ s ago) · next check in about")
    expect(page.locator("#checks")).to_have_text(checked)
    expect(page.locator("#estimate-figure")).to_contain_text("(estimate)")
    expect(page).to_have_title("Searching · Founders in Tallinn · Lead finder")

    advance_job(job, 60)  # and done
    expect(page.locator("#job-status")).to_have_text("Completed")
    expect(page).to_have_title("✓ Completed · Founders in Tallinn · Lead finder")
    expect(page.locator("#favicon")).to_have_attribute("href", re.compile(r"favicon-completed\.svg$"))
    expect(page.locator("#results-body tbody tr:not(.panel-row)")).to_have_count(25)
    expect(page.locator("#results-body .count")).to_contain_text("60 profiles")
    expect(page.locator("#checks")).to_have_count(0), "an ended job has no next check"
    notes = page.evaluate("window.__notes")
    assert notes == [
        {"title": "✓ Completed · Founders in Tallinn", "body": "Finished: every profile it found is stored."}
    ]


def test_the_estimate_and_the_check_times_move_between_two_checks_with_no_paid_call(
    page, user, sandbox, advance_job
):
    job = launch(user, sandbox, seconds=600, results=50)
    # As if launched 20 s ago, so one reading of its chunks predicts a finish a minute or so away.
    earlier = timezone.now() - datetime.timedelta(seconds=20)
    ResearchJob.objects.filter(pk=job.pk).update(launched_at=earlier, run_started_at=earlier)
    advance_job(job, 120)
    job.refresh_from_db()
    assert job.status == JobStatus.SEARCHING and job.search_eta

    page.goto(job.get_absolute_url())
    calls = paid_calls()
    value = "document.getElementById('estimate-bar').value"
    first = page.evaluate(value)
    first_label = page.locator("[data-estimate-percent]").inner_text()
    assert first_label.startswith("≈ ") and first_label.endswith("%")
    page.wait_for_timeout(3500)
    later = page.evaluate(value)
    assert later > first, "the estimate moved between two checks"
    expect(page.locator("[data-estimate-percent]")).not_to_have_text(first_label)
    expect(page.locator("#checked-ago")).to_have_text(re.compile(r"\d+ s ago"))
    assert paid_calls() == calls, "nothing was paid meanwhile: the page only re-read the database"
    job.refresh_from_db()
    assert job.polls == 1


def test_the_table_fills_while_the_job_processes_and_keeps_the_readers_open_row(
    page, user, sandbox, advance_job
):
    job = launch(user, sandbox, seconds=100, results=60)
    page.goto(job.get_absolute_url())
    expect(page.locator("#results-empty")).to_be_visible()

    advance_job(job, 75)  # processing: some profiles found and stored
    job.refresh_from_db()
    assert job.status == JobStatus.PROCESSING and 0 < job.leads_stored < 60
    expect(page.locator("#job-status")).to_have_text("Processing")
    expect(page.locator("#results-body .count")).to_have_text(
        re.compile(rf"^\s*{job.leads_stored} profiles so far"), timeout=10_000
    )
    expect(page.locator("#results-body tbody tr:not(.panel-row)")).to_have_count(min(job.leads_stored, 25))

    first = page.locator("#results-body a.lead-open").first
    first.click()
    expect(page.locator("#results-body tr.panel-row:not([hidden]) .lead-detail")).to_have_count(1)
    page.get_by_role("link", name="Name", exact=True).click()  # sorted by name, as a reader might
    expect(page.locator("th.col-name")).to_have_attribute("aria-sort", "ascending")
    opener = page.locator("#results-body a.lead-open").first
    opener.click()
    opened = opener.get_attribute("aria-controls")
    expect(page.locator(f"#{opened} .lead-detail")).to_be_visible()
    opener.focus()
    link_id = opener.get_attribute("id")
    before = job.leads_stored

    advance_job(job, 15)  # more profiles stored, the job still processing
    job.refresh_from_db()
    assert job.status == JobStatus.PROCESSING and job.leads_stored > before
    expect(page.locator("#results-body .count")).to_contain_text(f"{job.leads_stored} profiles so far")
    expect(page.locator("th.col-name")).to_have_attribute("aria-sort", "ascending")
    expect(page.locator(f"#{opened} .lead-detail")).to_be_visible()  # the open profile stays open
    assert page.evaluate("document.activeElement.id") == link_id, "focus kept"
    assert page.evaluate("window.location.search") == "?sort=name", "the reader's view is still theirs"
