"""The whole profile: everything the gateway returned about a person, in a wide panel under their row
(or a page of its own without JavaScript), and every part of it available as a column.
"""

import copy
import csv
import io
import re

import pytest
from django.urls import reverse
from django.utils.html import escape

from research import clado, columns, profiles
from research.models import Lead
from research.sandbox import profiles as sandbox_profiles
from tests.workspace_data import store, stored_job

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def with_profile(job, raw, position=100):
    """Store one lead of `job` from a raw result, as ingest would."""
    lead = Lead(job=job, position=position, **clado.parse_lead(raw))
    store([lead])
    return Lead.objects.get(job=job, position=position)


def rich(**changes):
    """A sandbox result with a picture, a long description and several roles, changed as asked."""
    raw = copy.deepcopy(sandbox_profiles.profile("Heads of sales in Berlin", 5))
    raw["profile"].update(
        picture_url="https://media.licdn.com/dms/image/abc/profile.jpg",
        description="Line one of the story.\n" + "Builds revenue teams. " * 220,
        skills=["Negotiation", "SaaS", "=cmd|' /C calc'!A0"],
        connections_count=500,
        followers_count=9497,
        is_decision_maker=True,
        location_city="London",
        projected_total_salary=180000,  # a field with no column of its own
    )
    raw["experience"] = [
        {"title": "VP Sales", "company_name": "Acme", "start_date": "2021-01-01T00:00:00",
         "end_date": "1970-01-01T00:00:00", "description": "Runs EMEA.", "location": "London"},
        {"title": "Sales Director", "company_name": "Initech", "start_date": "2016-03-01T00:00:00",
         "end_date": "2020-12-01T00:00:00", "description": "", "location": "Berlin"},
    ]  # fmt: skip
    raw["education"] = [{"degree": "MBA", "field_of_study": "Business", "school_name": "INSEAD"}]
    for key, value in changes.items():
        raw["profile"][key] = value
    return raw


def test_the_panel_shows_everything_the_gateway_returned(logged_in, user):
    job = stored_job(user, count=3)
    lead = with_profile(job, rich())
    panel = logged_in.get(reverse("research:lead_detail", args=[lead.pk]), **HTMX).content.decode()

    assert '<img src="https://media.licdn.com/dms/image/abc/profile.jpg"' in panel
    assert escape(lead.headline) in panel
    assert "Line one of the story." in panel and panel.count("Builds revenue teams.") == 220, "all of it"
    assert "London, England, United Kingdom" in panel
    assert "Negotiation" in panel and "=cmd|&#x27; /C calc&#x27;!A0" in panel, "skills, escaped"
    assert ">500+<" in panel and ">9,497<" in panel, "connections and followers"
    assert re.search(r"Decision maker</dt><dd>Yes", panel)
    current = re.search(r'<li class="current"><strong>VP Sales</strong> at Acme.*?</li>', panel, re.S)
    assert current and "Current" in current.group(0), "the current role is marked"
    assert "<strong>Sales Director</strong> at Initech" in panel and "2016-03–2020-12" in panel
    assert "MBA, Business — INSEAD" in panel
    for question, value in lead.criteria.items():
        assert question in panel
        if isinstance(value, dict):
            assert escape(value["reasoning"].split("\n")[0]) in panel, "with its reasoning"
    assert "projected_total_salary" in panel, "fields without a place of their own are shown too"


def test_without_javascript_the_name_opens_the_profile_as_a_page(logged_in, user):
    job = stored_job(user, count=3)
    page = logged_in.get(job.get_absolute_url()).content.decode()
    lead = job.leads.get(position=1)
    link = re.search(
        rf'<a class="lead-open" id="lead-{lead.pk}-open" href="([^"]+)"[^>]*hx-get="/jobs/leads/{lead.pk}/"',
        page,
    )
    assert link, "a real link, which htmx turns into the panel"
    target = link.group(1).replace("&amp;", "&")
    profile_page = logged_in.get(target)
    assert profile_page.status_code == 200 and "<html" in profile_page.content.decode()
    assert "Experience" in profile_page.content.decode()
    assert f'href="{job.get_absolute_url()}"' in profile_page.content.decode(), "and leads back to the table"


def test_a_picture_that_is_not_https_is_not_shown_and_initials_stand_in(logged_in, user):
    job = stored_job(user, count=1)
    plain = with_profile(job, rich(picture_url="http://tracker.example/pixel.gif", name="Ada Lovelace"), 1)
    panel = logged_in.get(reverse("research:lead_detail", args=[plain.pk]), **HTMX).content.decode()
    assert "<img" not in panel and "tracker.example" not in panel.split("Other fields")[0]
    assert re.search(r'class="avatar fallback"[^>]*>AL<', panel)
    assert profiles.picture_url(plain.raw) == "http://tracker.example/pixel.gif", "the CSV still has it"


def test_someone_not_working_shows_their_last_role_as_such(logged_in, user):
    job = stored_job(user, count=1)
    raw = rich(is_working=False, headline="Between roles, open to sales leadership")
    raw["experience"][0]["end_date"] = "2024-06-01T00:00:00"  # no current role
    lead = with_profile(job, raw, 1)
    assert lead.title == "" and lead.company == ""

    page = logged_in.get(job.get_absolute_url()).content.decode()
    row = re.search(rf'<tr id="lead-{lead.pk}">.*?</tr>', page, re.S).group(0)
    assert "Last role: VP Sales at Acme" in row, "the title column says it is a past role"
    panel = logged_in.get(reverse("research:lead_detail", args=[lead.pk]), **HTMX).content.decode()
    assert "Not working now. Last role: VP Sales at Acme (until 2024-06)" in panel
    assert "<li><strong>VP Sales</strong>" in panel and "Current</span>" not in panel

    hubspot = b"".join(
        logged_in.get(reverse("research:job_export", args=[job.pk]), {"preset": "hubspot"}).streaming_content
    )
    rows = csv.DictReader(io.StringIO(hubspot.decode("utf-8-sig")))
    row = next(r for r in rows if r["LinkedIn URL"] == lead.linkedin_url)
    assert row["Job Title"] == "Between roles, open to sales leadership", "the headline stands in"

    other = copy.deepcopy(raw)
    other["profile"].update(id="no-roles", linkedin_url="https://www.linkedin.com/in/no-roles")
    headline_only = with_profile(job, {**other, "experience": []}, 2)
    page = logged_in.get(job.get_absolute_url()).content.decode()
    row = re.search(rf'<tr id="lead-{headline_only.pk}">.*?</tr>', page, re.S).group(0)
    assert "Between roles, open to sales leadership" in row


def test_every_part_of_the_profile_can_be_a_column_on_screen_and_in_the_csv(logged_in, user):
    job = stored_job(user, count=2)
    lead = with_profile(job, rich())
    keys = ["name", "headline", "description", "location", "skills", "connections", "followers",
            "decision_maker", "is_working", "experience_months", "roles", "education", "picture"]  # fmt: skip
    offered = [key for key, _ in columns.offered(list(lead.criteria))]
    logged_in.post(reverse("research:columns_save"), {"offered": offered, "columns": keys})

    page = logged_in.get(job.get_absolute_url()).content.decode()
    head = re.search(r"<thead>.*?</thead>", page, re.S).group(0)
    for label in ("Description", "Skills", "Connections", "Followers", "Working now", "Roles", "Education",
                  "Picture URL"):  # fmt: skip
        assert label in head
    row = re.search(rf'<tr id="lead-{lead.pk}">.*?</tr>', page, re.S).group(0)
    assert "Negotiation, SaaS" in row and "VP Sales at Acme (2021-01 – now, London)" in row

    body = b"".join(logged_in.get(reverse("research:job_export", args=[job.pk])).streaming_content)
    rows = {r["Name"]: r for r in csv.DictReader(io.StringIO(body.decode("utf-8-sig")))}
    mine = rows[lead.name]
    assert mine["Description"] == profiles.description(lead.raw)
    assert mine["Skills"] == "Negotiation, SaaS, =cmd|' /C calc'!A0"
    assert (mine["Connections"], mine["Followers"], mine["Working now"]) == ("500", "9497", "yes")
    assert mine["Roles"].splitlines() == [
        "VP Sales at Acme (2021-01 – now, London) — Runs EMEA.",
        "Sales Director at Initech (2016-03 – 2020-12, Berlin)",
    ]
    assert mine["Education"] == "MBA, Business — INSEAD"
    assert mine["Picture URL"] == "https://media.licdn.com/dms/image/abc/profile.jpg"


def test_a_profile_read_tolerantly(user):
    raw = {
        "profile": {"name": "X", "is_working": 0, "skills": [{"name": "Go"}, "", None, "Rust"],
                    "connections_count": "500+", "picture_permalink": "https://p.example/x.jpg"},
        "experience": [None, {"title": "CTO", "is_current": True}, "junk"],
        "education": "none",
    }  # fmt: skip
    assert profiles.is_working(raw) is False, "0 means not working, whatever the roles say"
    assert profiles.skills(raw) == ["Go", "Rust"]
    assert profiles.connections(raw) is None and profiles.count_text(raw, "connections_count") == "500+"
    assert [role.current for role in profiles.roles(raw)] == [True]
    assert profiles.education(raw) == [] and profiles.picture(raw) == "https://p.example/x.jpg"
    assert profiles.roles({}) == [] and profiles.last_role({"experience": []}) is None
