"""Scraped data can't act: only http(s) URLs become links, pictures only over https, and every page
carries a Content-Security-Policy without inline script (the browser side is in
tests/browser/test_hostile_gateway_browser.py)."""

import pytest
from django.urls import reverse

from research.templatetags.research_extras import safe_image_url, safe_url
from tests.workspace_data import stored_job

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url",
    [
        "https://www.linkedin.com/in/zoe",
        "http://www.linkedin.com/in/zoe",
        "HTTPS://WWW.LINKEDIN.COM/in/zoe",
        " https://www.linkedin.com/in/zoe ",
    ],
)
def test_web_addresses_become_links(url):
    assert safe_url(url) == url.strip()


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "java\tscript:alert(1)",
        "java\nscript:alert(1)",
        "\x01javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
        "//evil.example/x",
        "https:///no-host",
        "https://exa mple.com/",
        "http://[::1",
        "",
        None,
    ],
)
def test_anything_else_is_shown_as_text(url):
    assert safe_url(url) == ""


def test_pictures_load_only_over_https():
    assert safe_image_url("https://media.licdn.com/p.jpg") == "https://media.licdn.com/p.jpg"
    assert safe_image_url("http://media.licdn.com/p.jpg") == ""
    assert safe_image_url("data:image/svg+xml,<svg onload=alert(1)>") == ""


def test_a_javascript_url_in_the_results_table_is_text_not_a_link(logged_in, user):
    job = stored_job(user, count=2)
    job.leads.filter(position=0).update(linkedin_url="javascript:alert(document.cookie)")
    html = logged_in.get(job.get_absolute_url()).content.decode()
    assert 'href="javascript' not in html.lower()
    assert "javascript:alert(document.cookie)" in html, "shown as text"
    assert html.count('rel="noopener noreferrer nofollow"') == 1, "the other lead's URL is a link"
    all_leads = logged_in.get(reverse("research:lead_list")).content.decode()
    assert 'href="javascript' not in all_leads.lower()


def policy(response):
    return dict(
        part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";") if part.strip()
    )


def test_every_page_sends_a_policy_without_inline_script_and_never_framed(logged_in, user, client):
    job = stored_job(user, count=1)
    pages = [
        logged_in.get(reverse("research:job_list")),
        logged_in.get(job.get_absolute_url()),
        logged_in.get(reverse("research:lead_list")),
        logged_in.get(reverse("spend:overview")),  # the 403 page
        logged_in.get("/jobs/999999/"),  # the 404 page
        logged_in.get(job.get_absolute_url(), {"q": "x" * 500}),  # the 400 page
    ]
    for response in pages:
        directives = policy(response)
        assert directives["script-src"] == "'self'", response
        assert directives["style-src"] == "'self'"
        assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"
        assert directives["img-src"] == "'self' https:"
        assert response["X-Frame-Options"] == "DENY"
    assert [response.status_code for response in pages[3:]] == [403, 404, 400]
    html = pages[1].content.decode()
    assert "<script>" not in html and "<style" not in html and "style=" not in html
    assert 'src="/static/js/early.js"' in html


def test_only_the_admin_may_use_inline_styles(staff_client):
    directives = policy(staff_client.get(reverse("admin:research_lead_changelist")))
    assert directives["style-src"] == "'self' 'unsafe-inline'"
    assert directives["script-src"] == "'self'"
