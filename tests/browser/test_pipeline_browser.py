"""From profiles to a pipeline, in a real browser as a rep works: a shortlist built, filtered and
exported from the table without leaving the page, and a saved search that runs again by itself
and names the people it found anew.
"""

import csv
import datetime
import io
import os
import re

import pytest
from django.utils import timezone
from django_q.conf import Conf
from django_q.models import Schedule
from playwright.sync_api import expect

from research.models import SavedSearch, ShortlistEntry
from tests.browser.conftest import run_in_thread
from tests.workspace_data import stored_job

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = os.environ.get("SCREENSHOTS")  # a directory: save what the rep saw, for a look by eye


def shot(page, name):
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


def read_csv(download):
    with open(download.path(), "rb") as file:
        return list(csv.DictReader(io.StringIO(file.read().decode("utf-8-sig"))))


def test_a_shortlist_is_built_filtered_and_exported_from_the_table(page, user):
    job = stored_job(user, "Heads of sales in Berlin", count=30)
    leads = list(job.leads.order_by("position"))
    page.goto(job.get_absolute_url())
    page.evaluate("window.sameDocument = true")

    # Two people qualified straight from their rows.
    for lead in leads[8:10]:
        page.locator(f"#lead-{lead.pk} select[name=status]").select_option("qualified")
        expect(page.locator(f"#lead-{lead.pk} select.status-select.qualified")).to_be_visible()  # saved
    assert _statuses(job) == {leads[8].person_id: "qualified", leads[9].person_id: "qualified"}

    # One opened under its row, tagged and noted there.
    third = leads[10]
    page.locator(f"#lead-{third.pk} a.lead-open").click()
    panel = page.locator(f"#panel-row-{third.pk}")
    expect(panel).to_be_visible()
    expect(panel).to_contain_text("Experience")
    shot(page, "profile-panel")
    panel.get_by_label("Tags").fill("berlin, warm")
    panel.get_by_label("Note").fill("Met at SaaStr,\nwants a demo in May.")
    panel.get_by_role("button", name="Add to shortlist").click()
    expect(page.locator(f"#lead-{third.pk} .chips")).to_contain_text("warm")  # the row follows
    entry = ShortlistEntry.objects.get(person_id=third.person_id)
    assert entry.note == "Met at SaaStr,\nwants a demo in May." and entry.status == "new"

    # Three more ticked and set to contacted in one go.
    for lead in leads[11:14]:
        page.locator(f"#lead-{lead.pk} input[name=person]").check()
    page.locator("#bulk-status").select_option("contacted")
    page.locator("#bulk-set-status").click()
    expect(page.locator("#results-body .messages")).to_contain_text("3 people set to “Contacted”")
    assert sorted(_statuses(job).values()) == ["contacted"] * 3 + ["new"] + ["qualified"] * 2

    # Filtered to the shortlist, then to one status, then by tag.
    page.get_by_role("combobox", name="Shortlist", exact=True).select_option("any")
    expect(page.locator("#results-body .count strong")).to_have_text("6")
    page.get_by_role("combobox", name="Shortlist", exact=True).select_option("qualified")
    expect(page.locator("#results-body .count strong")).to_have_text("2")
    expect(page).to_have_url(re.compile(r"shortlist=qualified"))
    shot(page, "shortlist-filtered")

    # Everyone matching, exported for HubSpot, and the page never left.
    page.locator("#select-all-matching").check()
    page.locator("#bulk-preset").select_option("hubspot")
    with page.expect_download() as download:
        page.locator("#bulk-export").click()
    rows = read_csv(download.value)
    assert "hubspot" in download.value.suggested_filename
    assert {row["LinkedIn URL"] for row in rows} == {lead.linkedin_url for lead in leads[8:10]}
    assert all(row["First Name"] and "Last Name" in row for row in rows)
    assert page.evaluate("window.sameDocument"), "built, filtered and exported without a reload"

    page.get_by_role("combobox", name="Shortlist", exact=True).select_option("")
    page.get_by_label("Tag", exact=True).fill("warm")
    expect(page.locator("#results-body .count strong")).to_have_text("1")
    expect(page.locator("#results-body td.col-name")).to_contain_text(third.name)


def _statuses(job):
    people = job.leads.values("person_id")
    return dict(ShortlistEntry.objects.filter(person__in=people).values_list("person_id", "status"))


def test_a_saved_search_runs_again_by_itself_and_names_the_new_people(
    page, sandbox, advance_job, monkeypatch
):
    page.goto("/jobs/new/")
    page.get_by_label("Who are you looking for?").fill("Heads of sales in Berlin")
    page.get_by_label("Number of results").fill("10")
    page.get_by_label("Your questions about each person").fill("Has sold to banks.\nSpeaks German.")
    page.get_by_label("Run it again by itself").select_option("weekly")
    page.get_by_label("Name of the saved search").fill("Berlin sales heads")
    sandbox.gateway.script(job_seconds=30, results=6)  # this week: six people
    page.get_by_role("button", name="Launch search").click()
    page.wait_for_url(re.compile(r"/jobs/\d+/$"))
    saved = SavedSearch.objects.get(name="Berlin sales heads")
    first = advance_job(saved.runs.get(), 40)
    expect(page.locator("#results-body .count strong")).to_have_text("6")
    expect(page.locator("#results-body thead")).to_contain_text("Has sold to banks.")  # a column each

    # A week later django-q2's scheduler finds the search due and runs it, as a cluster would.
    schedule = Schedule.objects.get(name=saved.schedule_name)
    assert schedule.func == "research.tasks.run_saved_search" and schedule.schedule_type == Schedule.WEEKLY
    Schedule.objects.filter(pk=schedule.pk).update(next_run=timezone.now() - datetime.timedelta(minutes=1))
    Schedule.objects.exclude(pk=schedule.pk).update(next_run=timezone.now() + datetime.timedelta(hours=1))
    sandbox.gateway.script(job_seconds=30, results=9)  # next week: three more
    monkeypatch.setattr(Conf, "SYNC", True)
    from django_q.scheduler import scheduler

    run_in_thread(scheduler)
    second = saved.runs.exclude(pk=first.pk).get()
    advance_job(second, 40)
    new = list(second.leads.order_by("position")[6:9])

    page.get_by_role("link", name="Saved searches").click()
    page.get_by_role("link", name="Berlin sales heads").click()
    expect(page.locator(".run-new").first).to_contain_text("3 new people")
    for lead in new:
        expect(page.locator(".run-new").first).to_contain_text(lead.name)
    shot(page, "saved-search")
    page.get_by_role("link", name=f"#{second.pk}").click()
    expect(page.locator("#new-count")).to_have_text("3 new people since the last run")
    with page.expect_download() as download:
        page.locator("#new-csv").click()
    assert [row["Name"].lstrip("'") for row in read_csv(download.value)] == [lead.name for lead in new]


def test_without_javascript_the_shortlist_is_plain_forms_that_work(page_without_js, user):
    page = page_without_js
    job = stored_job(user, "Heads of sales in Berlin", count=10)
    leads = list(job.leads.order_by("position"))
    page.goto(job.get_absolute_url())

    row = page.locator(f"#lead-{leads[1].pk}")
    row.locator("select[name=status]").select_option("qualified")
    row.get_by_role("button", name="Save").click()
    expect(page.locator(".messages")).to_contain_text("Shortlist saved.")
    expect(page.locator(f"#lead-{leads[1].pk} select[name=status]")).to_have_value("qualified")

    for lead in leads[4:6]:
        page.locator(f"#lead-{lead.pk} input[name=person]").check()
    page.locator("#bulk-status").select_option("contacted")
    page.locator("#bulk-set-status").click()
    expect(page.locator(".messages")).to_contain_text("2 people set to “Contacted”")
    assert sorted(_statuses(job).values()) == ["contacted", "contacted", "qualified"]

    page.locator(f"#lead-{leads[2].pk} a.lead-open").click()  # the whole profile, as a page
    expect(page.locator("h1")).to_have_text(leads[2].name)
    page.get_by_label("Tags").fill("berlin")
    page.get_by_role("button", name="Add to shortlist").click()  # and back to the table
    expect(page.locator(".messages")).to_contain_text("Shortlist saved.")
    expect(page.locator(f"#lead-{leads[2].pk} .chips")).to_contain_text("berlin")
