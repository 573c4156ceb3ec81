"""A malicious gateway in a real browser: `javascript:` LinkedIn URLs and markup in every scraped
field become nothing executable, and the Content-Security-Policy breaks none of the app's pages.

The leads are stored exactly as the poller stores a gateway's results (`clado.parse_lead`), from
results a hostile gateway could send.
"""

import re

import pytest
from playwright.sync_api import expect

from research import clado, leads
from research.models import JobStatus, Lead, ResearchJob
from tests.browser.conftest import _context
from tests.workspace_data import store, stored_job

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PWN = "window.__pwned = (window.__pwned || 0) + 1"
HOSTILE_URLS = [
    f"javascript:{PWN}",
    f"JaVaScRiPt:{PWN}",
    f"  javascript:{PWN}",
    f"java\tscript:{PWN}",
    f"java\nscript:{PWN}",
    f"data:text/html,<script>{PWN}</script>",
    "vbscript:msgbox(1)",
    f"javascript://www.linkedin.com/%0a{PWN}",
]
MARKUP = [
    f"<script>{PWN}</script>",
    f'<img src=x onerror="{PWN}">',
    f'"><svg onload="{PWN}">',
    f'<a href="javascript:{PWN}">click</a>',
    f'<iframe src="javascript:{PWN}"></iframe>',
]
# Collects, from before any page script runs, every CSP violation the page reports.
WATCH_CSP = (
    "window.__csp = [];"
    "document.addEventListener('securitypolicyviolation',"
    " (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));"
)


def hostile_result(index, url):
    """One result as a malicious gateway would send it: every field a weapon."""
    markup = MARKUP[index % len(MARKUP)]
    return {
        "profile": {
            "id": f"evil-{index}",
            "name": f"Eve {index} {markup}",
            "headline": markup,
            "location": markup,
            "location_country": f"Evilland {markup}",
            "linkedin_url": url,
            "description": markup,
            "is_decision_maker": True,
            "criteria": {f"Is {markup} a question?": {"answer": "YES", "reasoning": markup}},
        },
        "experience": [
            {"title": markup, "company_name": markup, "start_date": markup, "end_date": "1970-01-01T00:00:00"}
        ],
        "education": [{"degree": markup, "field_of_study": markup, "school_name": markup}],
    }


@pytest.fixture
def hostile_job(user):
    """A completed job of the logged-in user: a few honest profiles, then the hostile ones."""
    job = stored_job(user, "Heads of sales in Berlin", count=3)
    store(
        [
            Lead(job=job, position=3 + index, **clado.parse_lead(hostile_result(index, url)))
            for index, url in enumerate(HOSTILE_URLS)
        ]
    )
    ResearchJob.objects.filter(pk=job.pk).update(leads_stored=job.leads.count())
    return job


def watch(page):
    """Console errors and uncaught errors of a tab, and its CSP violations (window.__csp)."""
    problems = []
    page.add_init_script(WATCH_CSP)
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on(
        "response", lambda answer: answer.status >= 400 and problems.append(f"{answer.status} {answer.url}")
    )
    page.on("dialog", lambda dialog: (problems.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    return problems


def assert_nothing_ran(page):
    assert page.evaluate("window.__pwned") is None, "scraped text ran as script"
    links = page.evaluate("[...document.querySelectorAll('a[href]')].map((a) => a.protocol)")
    assert set(links) <= {"http:", "https:"}, f"a link of another kind: {set(links)}"
    handlers = page.evaluate(
        "[...document.querySelectorAll('*')].flatMap((el) =>"
        " [...el.attributes].filter((a) => a.name.startsWith('on')).map((a) => el.tagName + ' ' + a.name))"
    )
    assert handlers == [], f"elements with event handlers: {handlers}"
    assert page.locator("script:not([src]), iframe, svg[onload], img[onerror]").count() == 0


def test_javascript_urls_and_markup_from_the_gateway_never_run(page, hostile_job):
    problems = watch(page)
    response = page.goto(hostile_job.get_absolute_url() + "?per_page=100")
    policy = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy

    rows = page.locator("#results-body tbody tr:not(.panel-row)")
    expect(rows).to_have_count(3 + len(HOSTILE_URLS))
    # The honest profiles link to LinkedIn; the hostile URLs are shown as text, not links.
    expect(page.locator("#results-body a", has_text="LinkedIn")).to_have_count(3)
    expect(page.locator(".url-text").first).to_contain_text("javascript:")
    for name in page.locator("#results-body a.lead-open").all():
        name.click()  # open every row's whole profile: experience, education, criteria
    expect(page.locator("#results-body tbody .lead-detail")).to_have_count(3 + len(HOSTILE_URLS))
    for text in page.locator(".url-text, .lead-detail h3 + ul li").all():
        text.hover()
        text.click()
    expect(page.locator(".lead-detail", has_text="<script>").first).to_be_visible()  # shown as text
    assert_nothing_ran(page)

    page.goto("/jobs/leads/?per_page=100")
    people = len(set(hostile_job.leads.values_list("person_id", flat=True)))  # a URL's case is one person
    expect(page.locator("#results-body tbody tr:not(.panel-row)")).to_have_count(people)
    for name in page.locator("#results-body a.lead-open").all():
        name.click()
    for text in page.locator(".url-text").all():
        text.click()
    page.get_by_role("combobox", name="Country").select_option(index=1)  # the filters hold markup too
    expect(page).to_have_url(re.compile(r"country="))
    assert_nothing_ran(page)
    assert page.evaluate("window.__csp") == [] and problems == []


def test_the_policy_stops_an_injected_inline_handler(page, hostile_job):
    """Were some markup ever to get through, the browser itself refuses to run it."""
    watch(page)
    page.goto(hostile_job.get_absolute_url())
    page.evaluate(f"document.body.insertAdjacentHTML('beforeend', '<img src=x onerror=\"{PWN}\">')")
    page.wait_for_function("window.__csp.length > 0")
    assert page.evaluate("window.__pwned") is None
    assert any(v.startswith("script-src") for v in page.evaluate("window.__csp"))


def test_the_app_s_own_pages_run_under_the_policy_without_a_violation(
    chromium, live_server, client, user, staff, hostile_job
):
    running = stored_job(user, "CTOs in Oslo", count=2, status=JobStatus.SEARCHING, chunks_total=10)
    context = _context(chromium, live_server, client, user)
    page = context.new_page()
    problems = watch(page)

    page.goto("/jobs/?who=team")
    with page.expect_request(re.compile(r"/jobs/\?who=team")):  # the list polls while a job runs
        pass
    page.goto(running.get_absolute_url())
    with page.expect_request(re.compile(rf"/jobs/{running.pk}/progress/")):  # htmx polling
        pass
    page.goto("/jobs/new/")
    with page.expect_response(re.compile(r"/jobs/new/price/")):
        page.get_by_label("Number of results").fill("40")
    expect(page.locator("#price-amount")).to_have_text("$0.403")
    assert page.evaluate("document.documentElement.className") == "js", "static/js/early.js ran"
    page.goto("/jobs/leads/")
    with page.expect_response(re.compile(r"/jobs/leads/\?q=")):
        page.get_by_role("searchbox", name="Search").fill("Eve")
    matching = leads.browse(leads.deduplicated(Lead.objects.all()), {"q": "Eve"}).count()
    expect(page.locator("#results-body .count strong")).to_have_text(str(matching))
    assert page.evaluate("window.__csp") == [] and problems == []
    context.close()

    # Staff pages, and the admin, which alone may use inline styles.
    context = _context(chromium, live_server, client, staff)
    page = context.new_page()
    problems = watch(page)
    for url in ("/spend/", "/spend/wallet/", "/admin/", "/admin/research/charge/", "/admin/research/lead/"):
        page.goto(url)
        assert page.evaluate("window.__csp") == [], url
    lead = Lead.objects.filter(linkedin_url__startswith="javascript").first()
    page.goto(f"/admin/research/lead/{lead.pk}/change/")
    assert page.locator("a[href^='javascript']").count() == 0, "the admin shows the URL as text too"
    assert page.evaluate("window.__csp") == [] and problems == []
    context.close()
