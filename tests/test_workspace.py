"""The sales team's workspace through the plain test client: jobs list, new job, job detail.

Pages read the database only. HTMX requests get the named partial of the same page, and the
page itself answers every URL the partials push, so a view survives reload and back/forward.
"""

import re

import pytest
from django.urls import reverse

from research import jobs
from research.leads import answer_of
from research.models import Charge, JobStatus, ResearchJob
from tests.conftest import capped_count_statements, in_team
from tests.workspace_data import add_profiles, big_job, stored_job

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def colleague(django_user_model):
    return django_user_model.objects.create_user("bob", password="s3cret-pass")


def names_in(response):
    return [lead.name for lead in response.context["leads_page"]]


# --- Jobs list ----------------------------------------------------------------------------


def test_the_jobs_list_shows_my_jobs_and_on_request_the_team_s(logged_in, user, colleague):
    team = in_team("Sales", user, colleague)
    stored_job(user, "My search for CFOs", count=3, team=team)
    stored_job(colleague, "Bob's search for CTOs", count=2, team=team)

    mine = logged_in.get(reverse("research:job_list")).content.decode()
    team = logged_in.get(reverse("research:job_list"), {"who": "team"}).content.decode()

    assert "My search for CFOs" in mine and "CTOs" not in mine
    assert "My search for CFOs" in team and "Bob&#x27;s search for CTOs" in team


def test_the_jobs_list_filters_by_status_and_keeps_the_filter_when_paging(logged_in, user):
    for number in range(27):
        stored_job(user, f"Running search {number}", count=0, status=JobStatus.SEARCHING)
    stored_job(user, "Finished search", count=1)

    running = logged_in.get(reverse("research:job_list"), {"status": "active"})
    assert "Finished search" not in running.content.decode()
    assert running.context["page"].paginator.count == 27
    assert 'href="?status=active&amp;page=2"' in running.content.decode()

    completed = logged_in.get(reverse("research:job_list"), {"status": "completed"}).content.decode()
    assert "Finished search" in completed and "Running search" not in completed


def test_the_jobs_list_polls_only_while_a_job_runs(logged_in, user):
    job = stored_job(user, "Growth", count=0, status=JobStatus.SEARCHING, chunks_done=3, chunks_total=10)
    running = logged_in.get(reverse("research:job_list"), **HTMX).content.decode()
    # Also while the tab is hidden, so its title can change when a job ends there.
    assert 'hx-trigger="every 3s"' in running
    assert "not checked yet" in running and "%" not in running, "no progress figure the app doesn't have"

    ResearchJob.objects.filter(pk=job.pk).update(status=JobStatus.COMPLETED)
    finished = logged_in.get(reverse("research:job_list"), **HTMX).content.decode()
    assert "hx-trigger" not in finished, "once nothing runs, the table stops asking"
    assert "<html" not in finished, "an HTMX request gets the table alone"


def test_the_jobs_list_reads_a_fixed_number_of_queries_however_many_jobs(
    logged_in, user, django_assert_max_num_queries
):
    for number in range(25):
        job = stored_job(user, f"Search {number}", count=0)
        Charge.objects.create(
            job=job, user=user, endpoint="deep-research", amount=303_000, currency="0x20c0", decimals=6,
            recipient="0x06", chain_id=4217, payer="0x01", challenge_id=f"c{number}", state="settled",
        )  # fmt: skip
    with django_assert_max_num_queries(6):
        response = logged_in.get(reverse("research:job_list"), {"who": "team"})
    assert response.content.decode().count("$0.303") == 25


# --- New job ------------------------------------------------------------------------------


def test_the_new_job_page_shows_the_price_and_the_budget_left(logged_in, settings):
    settings.BUDGET_USER_MONTHLY = 7_000_000
    page = logged_in.get(reverse("research:job_new")).content.decode()
    assert "Launching costs <strong" in page and "$0.303" in page  # 30 results
    assert "$7.00" in page

    price = logged_in.get(reverse("research:job_price"), {"limit": 250}, **HTMX).content.decode()
    assert "$2.503" in price and "<form" not in price


def test_a_launch_over_the_budget_left_is_refused_before_anything_is_created(logged_in, settings):
    settings.BUDGET_USER_MONTHLY = 1_000_000  # $1
    key = logged_in.get(reverse("research:job_new")).context["form"].initial["idempotency_key"]
    response = logged_in.post(
        reverse("research:job_new"), {"query": "CFOs in Lisbon", "limit": 200, "idempotency_key": key}
    )
    assert response.status_code == 200
    assert "more than your monthly cap leaves ($1.00)" in response.content.decode()
    assert not ResearchJob.objects.exists() and not Charge.objects.exists()


def test_a_resubmitted_form_leads_to_its_job_even_once_the_budget_is_spent(logged_in, settings):
    settings.BUDGET_USER_MONTHLY = 80_000  # $0.08: one launch of 5 results and its status checks
    key = logged_in.get(reverse("research:job_new")).context["form"].initial["idempotency_key"]
    data = {"query": "CFOs in Lisbon", "limit": 5, "idempotency_key": key}
    first = logged_in.post(reverse("research:job_new"), data)
    again = logged_in.post(reverse("research:job_new"), data)
    job = ResearchJob.objects.get()
    assert first.status_code == again.status_code == 302
    assert first.url == again.url == job.get_absolute_url()
    assert Charge.objects.filter(endpoint="deep-research").count() == 1


def test_the_launch_button_sends_the_form_once(logged_in):
    page = logged_in.get(reverse("research:job_new")).content.decode()
    assert re.search(r'<form[^>]*id="new-job"[^>]*data-submit-once', page)
    assert 'data-busy-label="Launching…"' in page


# --- Job detail: the results table --------------------------------------------------------


def test_the_results_table_pages_25_50_or_100_rows(logged_in, user):
    job = stored_job(user, count=120)
    url = job.get_absolute_url()
    assert len(names_in(logged_in.get(url))) == 25
    assert len(names_in(logged_in.get(url, {"per_page": 100}))) == 100
    assert len(names_in(logged_in.get(url, {"per_page": 100, "page": 2}))) == 20
    assert len(names_in(logged_in.get(url, {"per_page": 7}))) == 25, "unknown sizes fall back to 25"


def test_sort_links_toggle_the_direction_and_keep_the_filters(logged_in, user):
    job = stored_job(user, count=40)
    url = job.get_absolute_url()

    page = logged_in.get(url, {"q": "a", "sort": "name", "page": 2}).content.decode()
    assert 'aria-sort="ascending"' in page
    assert f'href="{url}?q=a&amp;sort=-name"' in page, "clicking the sorted column reverses it, on page 1"
    assert f'href="{url}?q=a&amp;sort=company"' in page

    by_name = names_in(logged_in.get(url, {"sort": "name", "per_page": 100}))
    assert by_name == sorted(by_name, key=str.casefold) or by_name == sorted(by_name)
    backwards = names_in(logged_in.get(url, {"sort": "-name", "per_page": 100}))
    assert backwards == list(reversed(by_name)) or backwards[0] == by_name[-1]


def test_the_search_box_narrows_the_table(logged_in, user):
    job = stored_job(user, count=60)
    some = job.leads.exclude(company="").order_by("position").first()
    response = logged_in.get(job.get_absolute_url(), {"q": some.company[:6]})
    assert some.name in names_in(response)
    assert 0 < response.context["leads_page"].paginator.count < 60


def test_filters_narrow_by_country_decision_maker_and_criteria_answers(logged_in, user):
    job = stored_job(user, count=80)
    url = job.get_absolute_url()
    leads = list(job.leads.all())

    germany = logged_in.get(url, {"country": "Germany", "per_page": 100})
    assert set(names_in(germany)) == {lead.name for lead in leads if lead.country == "Germany"}

    deciders = logged_in.get(url, {"decision_maker": "yes", "per_page": 100})
    assert set(names_in(deciders)) == {lead.name for lead in leads if lead.is_decision_maker}

    # Criteria come as "YES" or as {"answer": "YES", "reasoning": ...}: both count.
    question = "Based in Europe."
    shapes = {type(lead.criteria[question]) for lead in leads}
    assert shapes == {str, dict}
    maybe = logged_in.get(url, {f"c:{question}": "MAYBE", "per_page": 100})
    expected = {lead.name for lead in leads if answer_of(lead.criteria[question]) == "MAYBE"}
    assert set(names_in(maybe)) == expected and expected
    assert '<option value="MAYBE" selected>' in maybe.content.decode()


def test_an_htmx_request_gets_the_table_alone_and_a_history_restore_the_whole_page(logged_in, user):
    job = stored_job(user, count=30)
    table = logged_in.get(job.get_absolute_url(), {"q": "a"}, **HTMX)
    assert table.content.decode().lstrip().startswith('<div id="results-body"')
    assert "HX-Request" in table["Vary"]

    restored = logged_in.get(
        job.get_absolute_url(), {"q": "a"}, HTTP_HX_HISTORY_RESTORE_REQUEST="true", **HTMX
    )
    assert "<html" in restored.content.decode()


def test_the_filters_push_the_page_url_so_a_view_can_be_shared(logged_in, user):
    job = stored_job(user, count=30)
    page = logged_in.get(job.get_absolute_url(), {"q": "Zoë", "country": "Germany"}).content.decode()
    form = re.search(r'<form[^>]*id="filters"[^>]*>', page).group(0)
    assert f'hx-get="{job.get_absolute_url()}"' in form and 'hx-push-url="true"' in form
    assert 'value="Zoë"' in page and "<option selected>Germany</option>" in page
    assert "Zoë Ångström" in page


def test_a_row_opens_to_the_whole_profile_escaped(logged_in, user):
    job = stored_job(user, count=8)
    page = logged_in.get(job.get_absolute_url()).content.decode()
    first = job.leads.get(position=0)
    panel_url = reverse("research:lead_detail", args=[first.pk])
    assert f'hx-get="{panel_url}"' in page, "the name opens the profile under its row"
    assert "=HYPERLINK(&quot;http://evil&quot;)" in page, "scraped text is escaped"
    assert "Mary &quot;MJ&quot; O&#x27;Neil, PhD" in page

    panel = logged_in.get(panel_url, **HTMX).content.decode()
    assert "<html" not in panel, "htmx gets the panel alone"
    assert "Experience" in panel and "Education" in panel and "Your questions" in panel
    assert "=HYPERLINK(&quot;http://evil&quot;)" in panel
    assert "<html" in logged_in.get(panel_url).content.decode(), "without JavaScript it is a page"


def test_a_running_job_polls_its_progress_and_a_finished_one_brings_its_table(logged_in, user):
    job = stored_job(user, count=0, status=JobStatus.SEARCHING, chunks_done=4, chunks_total=10)
    progress = reverse("research:job_progress", args=[job.pk])

    running = logged_in.get(progress, **HTMX).content.decode()
    assert 'hx-trigger="every 2s"' in running and 'hx-include="#filters, #results-state"' in running
    assert 'id="results"' not in running

    add_profiles(job, 0, 12)
    ResearchJob.objects.filter(pk=job.pk).update(status=JobStatus.COMPLETED)
    finished = logged_in.get(progress, {"sort": "name"}, **HTMX).content.decode()
    assert 'hx-trigger="every' not in finished, "a stopped job's progress no longer polls"
    assert re.search(r'<section id="results"[^>]*hx-swap-oob="true"', finished)
    assert "12</strong> profiles" in finished and 'aria-sort="ascending"' in finished


def test_results_pages_read_a_fixed_number_of_queries_however_many_leads(
    logged_in, user, django_assert_max_num_queries
):
    job = big_job(user, 10_000)
    url = job.get_absolute_url()
    views = [
        {},
        {"page": 399, "per_page": 25},
        {"sort": "-company", "per_page": 100},
        {"q": "Person 001", "country": "Germany", "decision_maker": "yes", "c:Works in sales.": "NO"},
    ]
    for params in views:
        # session, user, job, its spend, the page's ids, a count of at most 1,001 rows (filtered views
        # only: else the job's counter), the page's rows, countries, criteria questions, whose
        # shortlist, the person's columns, the page's shortlist entries, the shortlist's tags (for the
        # tag filter), and whether the nav links the spend page (a team lead's permission)
        with django_assert_max_num_queries(14 + capped_count_statements()):
            response = logged_in.get(url, params)
        assert response.status_code == 200
        with django_assert_max_num_queries(10 + capped_count_statements()):  # the table alone
            logged_in.get(url, params, **HTMX)
    filtered = logged_in.get(url, views[-1])
    # Persons 1000..1999, every fourth of them: in Germany, a decision maker, answered NO.
    assert filtered.context["leads_page"].paginator.count == 250


def test_looking_at_the_workspace_spends_nothing(logged_in, user):
    job = stored_job(user, count=10, status=JobStatus.SEARCHING)
    urls = [
        reverse("research:job_list"),
        reverse("research:job_new"),
        reverse("research:job_price") + "?limit=10",
        job.get_absolute_url(),
        reverse("research:job_progress", args=[job.pk]),
        reverse("research:lead_list"),
        reverse("research:job_export", args=[job.pk]),
        reverse("research:lead_export"),
    ]
    for url in urls:
        response = logged_in.get(url)
        assert response.status_code == 200, url
        if response.streaming:
            b"".join(response.streaming_content)
    assert not Charge.objects.exists()


def test_a_job_waiting_for_budget_can_be_cancelled_for_free(logged_in, user, settings):
    settings.BUDGET_JOB = 1_000  # less than any launch: the job waits for budget
    job = jobs.launch(jobs.create_job(user, "CTOs in Riga", 5), user)
    assert job.status == JobStatus.NEW

    page = logged_in.get(job.get_absolute_url()).content.decode()
    assert "Cancel before launch · free" in page
    logged_in.post(reverse("research:job_cancel", args=[job.pk]))

    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED and job.next_poll_at is None
    assert not Charge.objects.filter(job=job).exists()
