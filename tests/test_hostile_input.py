"""Hostile input: every URL of the app, walked from the URL conf, with absurd path values and hostile
query strings and forms, as an anonymous visitor, a plain user and staff. Nothing answers 500 and
nothing is paid; what is beyond the limits gets a clear 400 or a form error.
"""

import re
import time

import pytest
from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.urls import URLResolver, get_resolver, reverse

from research import leads, saved_searches
from research.models import (
    ApiToken,
    AuditEvent,
    BudgetCap,
    BudgetScope,
    Charge,
    JobStatus,
    Lead,
    Person,
    ResearchJob,
    SavedSearch,
)
from tests.conftest import in_team
from tests.workspace_data import stored_job

pytestmark = pytest.mark.django_db

HUGE = "99999999999999999999999"
LONG = "x" * 5000
NASTY = "<script>alert('x')</script>\"'; DROP TABLE research_lead; --\u202e ü 🙂 \\u0000"
NUL = "nul\x00byte"

# Every parameter name a page, a form or the admin reads.
NAMES = [
    "q", "page", "per_page", "sort", "country", "decision_maker", "status", "who", "period",
    "limit", "query", "company_urls", "idempotency_key", "again", "team", "additional", "confirmed",
    "job", "charge", "columns", "o", "p", "e", "all", "_facets", "_popup", "_to_field",
    "created_at__gte", "created_at__lt", "created_at__year", "created_at__month", "created_at__day",
    "user__id__exact", "owner__id__exact", "state__in", "endpoint__exact", "action", "scope",
    "user", "cap_usd", "_selected_action", "select_across", "index", "name", "permissions",
    "username", "password", "next", "app_label", "model_name", "field_name", "term",
]  # fmt: skip

QUERY_STRINGS = {
    "huge numbers": {name: HUGE for name in NAMES},
    "negative and zero": {name: ("-1" if i % 2 else "0") for i, name in enumerate(NAMES)},
    "very long strings": {name: LONG for name in NAMES},
    "quotes, markup and unicode": {name: NASTY for name in NAMES},
    "NUL bytes": {name: NUL for name in NAMES},
    "999 criteria filters": {f"{leads.CRITERIA_PREFIX}Question {i}?": "YES" for i in range(999)},
    "a 5000-character question": {leads.CRITERIA_PREFIX + LONG: "YES", "columns": ["c:" + LONG]},
    "many columns": {"columns": [f"c:Question {i}" for i in range(500)]},
    # The admin answers any parameter it doesn't know with a redirect: these are the ones it reads.
    **{
        f"a search alone: {label}": {"q": value}
        for label, value in (("huge", HUGE), ("long", LONG), ("markup", NASTY), ("NUL", NUL), ("-1", "-1"))
    },
    "an order and a page: huge": {"o": HUGE, "p": HUGE},
    "an order and a page: markup": {"o": NASTY, "p": NASTY},
}  # fmt: skip

ABSURD_PATH_QUERIES = {"no query string": {}, "huge numbers": QUERY_STRINGS["huge numbers"]}

ADMIN_GENERIC = re.compile(r"^admin/(|login/|password_change/(done/)?|autocomplete/|jsi18n/|r/.*)$")
ADMIN_OURS = re.compile(r"^admin/(research|auth/group)/")
NEVER_POSTED = re.compile(r"(^|/)(logout|delete)/$")  # a delete page deletes on any POST


def routes():
    """The route of every URL pattern, admin included, walked from the URL conf."""

    def walk(patterns, prefix=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            else:
                yield prefix + str(pattern.pattern)

    return list(walk(get_resolver().url_patterns))


def crawled_routes():
    """Every route but the admin of Django's own and django-q2's models (theirs to test)."""
    return [
        route
        for route in routes()
        if not route.startswith("admin/") or ADMIN_GENERIC.match(route) or ADMIN_OURS.match(route)
    ]


def existing_object_id(route):
    """The pk of a row the admin route's model has, for its object pages."""
    match = re.match(r"admin/(\w+)/(\w+)/", route)
    if match is None:
        return str(ResearchJob.objects.order_by("pk").first().pk)
    model = apps.get_model(match[1], match[2])
    row = model.objects.order_by("pk").first()
    return str(row.pk) if row else "1"


def urls_for(route):
    """The route with every path parameter filled with an existing value, then absurd ones:
    [(url, whether its path is an existing row's)]."""
    if route.startswith("admin/(?P<url>"):  # the admin's catch-all
        return [("/admin/nothing-here/", True), ("/admin/research/" + "x" * 300 + "/", False)]
    if route.startswith("^") or "(?P<" in route:  # the admin's app index (a regex)
        return [("/admin/research/", True), ("/admin/auth/", True)]
    names = re.findall(r"<(?:(\w+):)?(\w+)>", route)
    if not names:
        return [("/" + route, True)]
    job = str(ResearchJob.objects.order_by("pk").first().pk)
    first = {model: model.objects.order_by("pk").first() for model in (Lead, Person, SavedSearch, ApiToken)}
    existing = {
        "job_pk": job,
        "lead_pk": str(first[Lead].pk),
        "person_pk": str(first[Person].pk),
        "search_pk": str(first[SavedSearch].pk),
        "token_pk": str(first[ApiToken].pk),
        "object_id": existing_object_id(route),
        "content_type_id": str(ContentType.objects.get_for_model(ResearchJob).pk),
    }
    values = [None, "0", HUGE]
    if any(kind != "int" for kind, _ in names):
        values += ["abc", "%3Cscript%3E", "1%00"]
    urls = []
    for value in values:
        url = route
        for _, name in names:
            # Any other name (the API's problem types) gets one of its real values.
            url = re.sub(rf"<(?:\w+:)?{name}>", value or existing.get(name, "budget"), url)
        urls.append(("/" + url, value is None))
    return urls


@pytest.fixture
def world(django_user_model, staff, sandbox):
    """Rows of every kind, so that object pages find something: jobs in every state a page shows
    without paying for it (none is running), leads, a charge, a cap, audit events."""
    alice = django_user_model.objects.create_user("alice", password="s3cret-pass")
    bob = django_user_model.objects.create_user("bob", password="s3cret-pass")
    in_team("East", alice)
    in_team("West", bob)
    done = stored_job(alice, "Heads of sales in Berlin", count=30)
    stored_job(alice, "Waiting for budget", count=0, status=JobStatus.NEW, clado_id=None)
    stored_job(alice, "Never launched", count=0, status=JobStatus.ERROR, clado_id=None)
    stored_job(bob, "Bob's CTOs", count=5)
    Charge.objects.create(
        job=done, user=alice, endpoint="deep-research", amount=303_000, currency="0x20c0", decimals=6,
        recipient="0x06", chain_id=4217, payer="0x01", challenge_id="c1", state="unknown",
        tx_hash="0x" + "ab" * 32,
    )  # fmt: skip
    BudgetCap.objects.create(scope=BudgetScope.USER_MONTH, user=alice, cap=1_000_000)
    saved_searches.create(
        alice, name="Weekly", query="Heads of sales in Berlin", limit=30, criteria=[], company_urls=[],
        cadence="weekly", max_spend=1, first_run=done,  # its cap refuses any run: nothing is paid
    )  # fmt: skip
    AuditEvent.objects.create(user=alice, action=AuditEvent.Action.EXPORT, job=done)
    ApiToken.issue(alice, "pipeline")
    return {"anonymous": None, "plain user": alice, "staff": staff}


def crawl(person, sandbox):
    """Every crawled URL with every hostile query string (GET) and form (POST). Returns what broke."""
    broken = []
    charges, paid = Charge.objects.count(), sandbox.gateway.paid_calls()
    client = Client(raise_request_exception=True)
    if person is not None:
        client.force_login(person)  # no crawled request logs out (NEVER_POSTED)
    for route in crawled_routes():
        for url, existing in urls_for(route):
            # An existing row's page gets every hostile query string; an absurd path, two.
            variants = QUERY_STRINGS if existing else ABSURD_PATH_QUERIES
            for label, params in variants.items():
                methods = ["get"] if NEVER_POSTED.search(route) else ["get", "post"]
                for method in methods:
                    started = time.monotonic()
                    try:
                        response = getattr(client, method)(url, params)
                        if response.streaming:
                            b"".join(response.streaming_content)
                        status = response.status_code
                    except Exception as error:  # a 500, as the test client raises it
                        status = f"{type(error).__name__}: {str(error)[:120]}"
                    took = time.monotonic() - started
                    if not isinstance(status, int) or status >= 500:
                        broken.append((method.upper(), url[:80], label, status))
                    elif took > 5:
                        broken.append((method.upper(), url[:80], label, f"took {took:.1f} s"))
    assert Charge.objects.count() == charges, "a hostile request created a charge"
    assert sandbox.gateway.paid_calls() == paid, "a hostile request paid the gateway"
    return broken


@pytest.mark.parametrize("who", ["anonymous", "plain user", "staff"])
def test_every_url_survives_hostile_input_and_pays_nothing(who, world, sandbox, settings):
    settings.LAUNCH_RATE_LIMIT = None  # a hostile form must be refused for itself, not for its rate
    assert len(crawled_routes()) > 40, "the walk found the app's and the admin's URLs"
    broken = crawl(world[who], sandbox)
    assert broken == [], "\n".join(map(str, broken))


# --- What the limits answer ---------------------------------------------------------------


def test_999_criteria_filters_get_a_clear_400_without_a_query_of_leads(
    client, django_user_model, django_assert_max_num_queries
):
    alice = django_user_model.objects.create_user("alice")
    client.force_login(alice)
    job = stored_job(alice, count=5)
    params = {f"c:Question {i}?": "YES" for i in range(999)}
    for url in (job.get_absolute_url(), reverse("research:lead_list"), reverse("research:lead_export")):
        with django_assert_max_num_queries(3):  # the session and the user: no lead is read
            response = client.get(url, params)
        assert response.status_code == 400
        assert "at most 10 criteria" in response.content.decode()


def test_ten_criteria_filters_and_a_200_character_search_are_fine(client, django_user_model):
    alice = django_user_model.objects.create_user("alice")
    client.force_login(alice)
    job = stored_job(alice, count=5)
    params = {f"c:Question {i}?": "YES" for i in range(10)} | {"q": "a" * 200}
    assert client.get(job.get_absolute_url(), params).status_code == 200
    too_long = client.get(job.get_absolute_url(), {"q": "a" * 201})
    assert too_long.status_code == 400 and "at most 200 characters" in too_long.content.decode()


def test_absurd_page_numbers_show_the_last_page(client, django_user_model):
    alice = django_user_model.objects.create_user("alice")
    client.force_login(alice)
    job = stored_job(alice, count=60)
    for page in (HUGE, "abc", "-5", "1e309", "nan"):
        response = client.get(job.get_absolute_url(), {"page": page, "per_page": HUGE})
        assert response.status_code == 200, page
        assert response.context["leads_page"].number in (1, 3)


def test_the_admin_ledger_answers_absurd_job_numbers_with_no_rows(staff_client, sandbox):
    job = stored_job(staff_client.get("/").wsgi_request.user, count=1)
    for params in ({"q": HUGE}, {"job": HUGE}, {"q": "٣"}, {"job": "abc"}):
        response = staff_client.get(reverse("admin:research_charge_changelist"), params)
        assert response.status_code == 200, params
        assert list(response.context_data["cl"].result_list) == []
    for changelist in ("researchjob", "auditevent", "lead"):
        response = staff_client.get(reverse(f"admin:research_{changelist}_changelist"), {"q": HUGE})
        assert response.status_code == 200, changelist
    assert job.pk


def test_a_reconcile_post_with_no_charge_number_says_so(staff_client):
    for charge in ("abc", "²", HUGE, "-1"):
        response = staff_client.post(reverse("spend:reconcile"), {"charge": charge}, follow=True)
        assert response.status_code == 200, charge
        text = response.content.decode()
        assert "That is not a charge number" in text or "Nothing to reconcile" in text, charge
