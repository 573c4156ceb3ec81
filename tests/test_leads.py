"""All leads: one row per person across the team's jobs, with the jobs that found them."""

import pytest
from django.urls import reverse

from research import leads
from research.models import Lead
from tests.conftest import capped_count_statements, in_team
from tests.workspace_data import stored_job

pytestmark = pytest.mark.django_db


def test_a_person_found_by_two_jobs_is_one_row_naming_both_jobs(logged_in, user, django_user_model):
    colleague = django_user_model.objects.create_user("bob")
    in_team("Sales", user, colleague)  # teammates see each other's jobs and leads
    first = stored_job(user, "Heads of sales in Berlin", count=10)
    again = stored_job(colleague, "Heads of sales in Berlin", count=6)  # the same first 6 people
    other = stored_job(user, "CTOs in Paris", count=4)

    response = logged_in.get(reverse("research:lead_list"), {"per_page": 100})
    rows = list(response.context["leads_page"])

    assert len(rows) == 10 + 4 == len({lead.linkedin_url for lead in rows})
    sources = {lead.linkedin_url: [job_id for job_id, _ in lead.sources] for lead in rows}
    shared = first.leads.get(position=0).linkedin_url
    assert sources[shared] == [first.pk, again.pk]
    assert sources[first.leads.get(position=9).linkedin_url] == [first.pk]
    assert sources[other.leads.get(position=0).linkedin_url] == [other.pk]
    page = response.content.decode()
    assert f'href="{first.get_absolute_url()}"' in page and f'href="{again.get_absolute_url()}"' in page


def test_leads_without_a_linkedin_url_are_kept_not_merged(user):
    job = stored_job(user, count=3)
    job.leads.update(linkedin_url="")
    assert leads.deduplicated(Lead.objects.all()).count() == 3


def test_all_leads_search_filter_and_sort_like_a_job_s_table(logged_in, user):
    stored_job(user, "Heads of sales in Berlin", count=20)
    stored_job(user, "CTOs in Paris", count=20)
    response = logged_in.get(
        reverse("research:lead_list"), {"country": "France", "sort": "-name", "per_page": 100}
    )
    names = [lead.name for lead in response.context["leads_page"]]
    assert names and all(lead.country == "France" for lead in response.context["leads_page"])
    assert names == sorted(names, reverse=True)


def test_all_leads_pages_read_a_fixed_number_of_queries(logged_in, user, django_assert_max_num_queries):
    for number in range(5):
        stored_job(user, f"Search number {number}", count=40)
    # session, user, criteria questions, whose shortlist, the person's columns, the page's ids, a
    # count of at most 1,001 rows, the page's rows, the jobs that found each person, the page's
    # shortlist entries, the shortlist's tags, countries, and whether the nav links the spend page
    with django_assert_max_num_queries(13 + capped_count_statements()):
        response = logged_in.get(reverse("research:lead_list"), {"per_page": 100})
    assert len(response.context["leads_page"]) == 100


def test_a_criteria_question_is_free_text(user):
    # (On SQLite, Django cannot address a JSON key holding a double quote; PostgreSQL can.)
    job = stored_job(user, count=2)
    question = "Has sold__to banks? (it's fine: Übersee, 中文)"
    job.leads.filter(position=0).update(criteria={question: "YES"})
    job.leads.filter(position=1).update(criteria={question: {"answer": "YES", "reasoning": "..."}})
    found = leads.browse(job.leads.all(), {leads.CRITERIA_PREFIX + question: "yes"})
    assert found.count() == 2
    assert leads.browse(job.leads.all(), {leads.CRITERIA_PREFIX + question: "NO"}).count() == 0


def test_the_criteria_questions_of_a_job_are_offered_as_filters(logged_in, user):
    job = stored_job(user, count=5)
    page = logged_in.get(job.get_absolute_url()).content.decode()
    assert 'name="c:Works in sales or business development."' in page
    assert 'name="c:Based in Europe."' in page
