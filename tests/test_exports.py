"""CSV downloads: what the person sees in their spreadsheet is exactly what was stored.

Every value survives the round trip (commas, quotes, newlines, emoji, non-Latin scripts), Excel
reads it as UTF-8 (a byte-order mark), and a cell that would start a formula gets a leading
quote instead. The response streams: rows are read in chunks as the download goes.
"""

import csv
import io
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from research import exports
from research.models import Lead
from tests.workspace_data import big_job, stored_job

pytestmark = pytest.mark.django_db

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def download(client, url, params=None):
    response = client.get(url, params or {})
    assert response.status_code == 200 and response.streaming
    body = b"".join(response.streaming_content)
    return response, body


def parse(body):
    assert body.startswith(b"\xef\xbb\xbf"), "a UTF-8 byte-order mark, for Excel"
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))


def as_spreadsheet_shows(stored):
    """The leading-quote rule: a value that would start a formula is shown with a quote before it."""
    text = "" if stored is None else str(stored)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def test_a_csv_of_the_tricky_profiles_gives_back_every_stored_value(logged_in, user):
    job = stored_job(user, "Tricky people", count=60)
    columns = ["name", "headline", "title", "company", "location", "linkedin_url", "criteria"]

    _, body = download(logged_in, reverse("research:job_export", args=[job.pk]), {"columns": columns})
    header, *rows = parse(body)

    assert header == [
        "Name",
        "Headline",
        "Current title",
        "Company",
        "Location",
        "LinkedIn URL",
        "Criteria (JSON)",
    ]
    stored = list(job.leads.order_by("position"))
    assert len(rows) == len(stored) == 60
    for row, lead in zip(rows, stored, strict=True):
        assert row[:6] == [
            as_spreadsheet_shows(value)
            for value in (
                lead.name,
                lead.headline,
                lead.title,
                lead.company,
                lead.location,
                lead.linkedin_url,
            )
        ]
    headlines = [row[1] for row in rows]
    assert '\'=HYPERLINK("http://evil")' in headlines and "'+49 sales lead" in headlines
    assert 'VP Sales, EMEA | "Builder", closer,\nand coffee addict ☕' in headlines
    assert not any(cell.startswith(FORMULA_STARTS) for row in rows for cell in row), "no formula survives"


def test_the_default_columns_and_the_person_s_choice(logged_in, user):
    job = stored_job(user, count=5)
    url = reverse("research:job_export", args=[job.pk])

    _, body = download(logged_in, url)
    assert parse(body)[0] == [
        "Name", "Shortlist status",
        "Based in Europe.", "Works in sales or business development.",  # a column per criteria question
        "Headline", "Current title", "Company", "Location", "Country", "LinkedIn URL", "Decision maker",
    ]  # fmt: skip

    _, body = download(
        logged_in, url, {"columns": ["linkedin_url", "name", "c:Based in Europe.", "nonsense"]}
    )
    header, *rows = parse(body)
    assert header == ["LinkedIn URL", "Name", "Based in Europe."]
    answers = [exports.lead_queries.answer_of(lead.criteria["Based in Europe."]) for lead in job.leads.all()]
    assert [row[2] for row in rows] == answers and set(answers) <= {"YES", "MAYBE", "NO"}


def test_the_csv_of_a_filtered_view_holds_that_view(logged_in, user):
    job = stored_job(user, count=50)
    params = {"country": "Germany", "sort": "name", "page": 2, "per_page": 25}
    response, body = download(logged_in, reverse("research:job_export", args=[job.pk]), params)
    names = [row[0] for row in parse(body)[1:]]
    germans = job.leads.filter(country="Germany").order_by("name", "pk")
    assert names == [as_spreadsheet_shows(lead.name) for lead in germans], "every page, not the one on screen"
    assert "filtered" in response["Content-Disposition"]


def test_the_file_is_named_after_the_job_and_the_day(logged_in, user):
    job = stored_job(user, "VPs of Sales at Série B fintechs", count=1)
    response, _ = download(logged_in, reverse("research:job_export", args=[job.pk]))
    today = timezone.localdate().isoformat()
    assert response["Content-Disposition"] == (
        f'attachment; filename="job-{job.pk}-vps-of-sales-at-serie-b-fintechs-{today}.csv"'
    )
    assert response["Content-Type"] == "text/csv; charset=utf-8"


def test_the_all_leads_csv_names_the_jobs_each_person_came_from(logged_in, user):
    first = stored_job(user, "Heads of sales in Berlin", count=8)
    again = stored_job(user, "Heads of sales in Berlin", count=3)
    response, body = download(logged_in, reverse("research:lead_export"))
    header, *rows = parse(body)
    found_in = header.index("Found in jobs")
    assert len(rows) == 8
    by_url = {row[header.index("LinkedIn URL")]: row[found_in] for row in rows}
    assert by_url[first.leads.get(position=0).linkedin_url] == f"{first.pk} {again.pk}"
    assert by_url[first.leads.get(position=7).linkedin_url] == f"{first.pk}"
    assert re.search(r'filename="all-leads-\d{4}-\d{2}-\d{2}\.csv"', response["Content-Disposition"])
    assert not any(cell.startswith(FORMULA_STARTS) for row in rows for cell in row)


def test_the_stream_reads_nothing_until_asked_and_then_a_chunk_at_a_time(user, django_assert_num_queries):
    job = big_job(user, 5_000)
    rows = Lead.objects.filter(job=job).order_by("position")

    with django_assert_num_queries(0):
        stream = exports.stream_leads(rows)
        header = next(stream)
    assert header.startswith("\ufeffName,")

    with django_assert_num_queries(1):  # one cursor, fetched chunk by chunk
        pieces = list(stream)
    assert len(pieces) == 3, "5,000 rows in chunks of 2,000"
    assert sum(piece.count("\r\n") for piece in pieces) == 5_000
    assert rows._result_cache is None, "the queryset never held the rows"


def test_a_big_export_starts_with_the_header_before_any_row_is_read(logged_in, user):
    job = big_job(user, 3_000)
    response = logged_in.get(reverse("research:job_export", args=[job.pk]))
    first = next(iter(response.streaming_content))
    assert first.decode("utf-8").startswith(
        "\ufeffName,Shortlist status,Works in sales.,Headline,Current title"
    )
    rest = b"".join(response.streaming_content)
    assert rest.count(b"\r\n") == 3_000 and b"'=CTO" in rest


def every_column(questions):
    keyed = [key for key in exports.COLUMNS] + [f"c:{q}" for q in questions] + [f"r:{q}" for q in questions]
    return [(key, exports.cols.column(key)) for key in keyed] + [
        (f"{preset}: {column.label}", column)
        for preset in ("hubspot", "salesforce")
        for column in exports.preset_columns(preset)
    ]


def test_every_column_reads_no_more_than_it_declares(user):
    """A CSV loads only the fields its columns declare (`Column.reads`): each gives the same cell
    from those alone as from the whole stored lead."""
    job = stored_job(user, "Tricky people", count=30)
    questions = sorted({q for lead in job.leads.all() for q in lead.criteria})
    assert questions, "the sandbox answers criteria"
    leads = list(job.leads.order_by("position"))
    for blank in ("title", "name", "location", "country", "headline"):  # what falls back to something else
        emptied = Lead(**{f.attname: getattr(leads[0], f.attname) for f in Lead._meta.concrete_fields})
        setattr(emptied, blank, "")
        leads.append(emptied)
    for lead in leads:
        lead.sources, lead.entry = [(job.pk, job.query)], None
        for key, column in every_column(questions):
            row = exports.LeadRow.__new__(exports.LeadRow)
            row.__dict__ = {field: getattr(lead, field) for field in column.reads}
            row.sources, row.entry = lead.sources, lead.entry
            assert column.value(row) == column.value(lead), key


def test_a_csv_of_one_field_columns_writes_what_the_columns_show(user):
    """The default export writes each row straight from the database's values, with no object a
    row: the same cells as the columns give for each stored lead."""
    job = stored_job(user, "Tricky people", count=60)
    chosen = exports.keyed(exports.DEFAULT_COLUMNS)
    assert all(column.of_one_field for column in chosen)
    header, *rows = parse("".join(exports.stream_leads(job.leads.order_by("position"))).encode())
    assert header == [column.label for column in chosen]
    expected = [
        [as_spreadsheet_shows(column.value(lead)) for column in chosen]
        for lead in job.leads.order_by("position")
    ]
    assert rows == expected
