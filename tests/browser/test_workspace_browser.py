"""A salesperson's session in a real browser: launch, watch it run, work the table, download.

Nothing here reloads the page to see a change: the progress and the table update in place.
"""

import csv
import io
import re

import pytest
from playwright.sync_api import expect

from research.models import Charge, JobStatus, ResearchJob
from tests.workspace_data import stored_job

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_launch_watch_it_finish_then_page_sort_search_and_download(page, live_server, advance_job):
    page.goto("/jobs/new/")
    page.get_by_label("Who are you looking for?").fill("Heads of sales in Berlin [results=60]")
    limit = page.get_by_label("Number of results")
    limit.fill("60")
    expect(page.locator("#price-amount")).to_have_text("$0.603")
    posts = []
    page.on("request", lambda request: request.method == "POST" and posts.append(request.url))
    page.get_by_role("button", name="Launch search").dblclick()

    page.wait_for_url(re.compile(r"/jobs/\d+/$"))
    job = ResearchJob.objects.get()
    assert len(posts) == 1, "the button disabled itself: the second click sent nothing"
    assert Charge.objects.filter(endpoint="deep-research").count() == 1, "a double click pays once"
    expect(page.locator("#job-status")).to_have_text("Pending")
    page.evaluate("window.sameDocument = true")

    advance_job(job, 20)  # the sandbox's job is searching
    expect(page.locator("#job-status")).to_have_text("Searching")
    expect(page.locator("#chunks")).not_to_have_text("0 / 10")
    advance_job(job, 60)  # and done
    expect(page.locator("#job-status")).to_have_text("Completed")
    expect(page.locator("#results-body tbody tr:not(.panel-row)")).to_have_count(25)
    expect(page.locator("#results-body .count")).to_contain_text("60 profiles")
    assert page.evaluate("window.sameDocument"), "progress and results arrived without a reload"

    page.get_by_role("link", name="Next →").click()
    expect(page).to_have_url(re.compile(r"page=2"))
    expect(page.locator("#results-body")).to_contain_text("Page 2 of 3")

    page.get_by_role("link", name="Name", exact=True).click()
    expect(page.locator("th.col-name")).to_have_attribute("aria-sort", "ascending")
    expect(page).to_have_url(re.compile(r"sort=name"))
    names = page.locator("#results-body td.col-name .lead-name").all_inner_texts()
    assert names == sorted(names)

    first = job.leads.order_by("position").first()
    page.get_by_role("searchbox", name="Search").press_sequentially(first.name[:4], delay=30)
    expect(page).to_have_url(re.compile(r"q="))
    expect(page.locator("#results-body td.col-name").first).to_contain_text(first.name[:4])
    matching = job.leads.filter(name__icontains=first.name[:4]).count()
    expect(page.locator("#results-body .count strong")).to_have_text(str(matching))
    assert page.evaluate("document.activeElement.id") == "q", "typing never loses the search box"

    page.go_back()
    expect(page.get_by_role("searchbox", name="Search")).to_have_value("")
    expect(page.locator("th.col-name")).to_have_attribute("aria-sort", "ascending")
    page.go_forward()
    expect(page.get_by_role("searchbox", name="Search")).to_have_value(first.name[:4])

    page.reload()
    expect(page.locator("#results-body .count strong")).to_have_text(str(matching))

    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    assert re.fullmatch(rf"job-{job.pk}-heads-of-sales-in-berlin.*-filtered-\d{{4}}-\d\d-\d\d\.csv",
                        download.value.suggested_filename)  # fmt: skip
    body = pathlib_read(download.value.path())
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert len(rows) == matching
    assert {row["Name"].lstrip("'") for row in rows} == set(
        job.leads.filter(name__icontains=first.name[:4]).values_list("name", flat=True)
    )


def test_launch_goes_out_while_the_price_of_the_number_just_typed_is_still_on_its_way(page):
    """Typing the number and pressing Launch at once: the price lookup in flight is not the form's
    submission, so it neither holds the button nor swallows the press."""
    page.goto("/jobs/new/")
    page.get_by_label("Who are you looking for?").fill("Founders in Riga")
    held = []
    page.route("**/jobs/new/price/**", lambda route: held.append(route))  # the price request stays unanswered
    page.get_by_label("Number of results").fill("12")
    expect(page.get_by_label("Number of results")).to_have_class(re.compile(r"\bhtmx-request\b"))
    assert held, "the price lookup was sent and is being held"
    page.get_by_role("button", name="Launch search").click()

    page.wait_for_url(re.compile(r"/jobs/\d+/$"))
    assert ResearchJob.objects.get().limit == 12
    assert Charge.objects.filter(endpoint="deep-research").count() == 1


def test_a_double_click_without_javascript_still_launches_one_job_and_pays_once(page_without_js):
    page = page_without_js
    page.goto("/jobs/new/")
    page.get_by_label("Who are you looking for?").fill("CFOs in Lisbon")
    page.get_by_label("Number of results").fill("5")
    page.get_by_role("button", name="Launch search").dblclick()
    page.wait_for_url(re.compile(r"/jobs/\d+/$"))
    assert ResearchJob.objects.count() == 1, "the form's idempotency key makes them one job"
    assert Charge.objects.filter(endpoint="deep-research").count() == 1
    assert "Launched" in page.content()


def test_a_row_opens_with_the_keyboard_to_show_the_person(page, user):
    job = stored_job(user, count=10)
    page.goto(job.get_absolute_url())
    lead = job.leads.order_by("position").first()
    name = page.locator(f"#lead-{lead.pk} a.lead-open")
    name.focus()
    page.keyboard.press("Enter")
    details = page.locator(f"#panel-row-{lead.pk} .lead-detail")  # a full-width row under the person's
    expect(details).to_contain_text("Experience")
    expect(details).to_contain_text("Education")
    expect(details).to_contain_text(lead.raw["experience"][0]["title"])
    expect(details).to_contain_text('=HYPERLINK("http://evil")')  # shown as text, never run
    expect(name).to_have_attribute("aria-expanded", "true")
    page.keyboard.press("Enter")  # the same key closes it
    expect(page.locator(f"#panel-row-{lead.pk}")).to_be_hidden()
    expect(name).to_have_attribute("aria-expanded", "false")


def test_filters_narrow_the_table_and_the_all_leads_page_is_one_click_away(page, user):
    job = stored_job(user, "Heads of sales in Berlin", count=40)
    stored_job(user, "Heads of sales in Berlin", count=10, status=JobStatus.COMPLETED)
    page.goto(job.get_absolute_url())
    page.get_by_role("combobox", name="Country").select_option("Germany")
    germans = job.leads.filter(country="Germany").count()
    expect(page.locator("#results-body .count strong")).to_have_text(str(germans))
    expect(page).to_have_url(re.compile(r"\?country=Germany$"))  # no empty fields

    page.get_by_role("link", name="All leads").click()
    expect(page.locator("h1")).to_have_text("All leads")
    expect(page.locator("#results-body .count strong")).to_have_text("40")
    expect(page.locator("td.col-jobs").first).to_contain_text("#")


def pathlib_read(path):
    with open(path, "rb") as file:
        return file.read()
