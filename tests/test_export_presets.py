"""Exports that fit where leads go next: `default`, `full` (every stored value, one column per
criteria question, multi-line text kept in one quoted cell), `hubspot` and `salesforce` (each CRM's
own import headers, the name split in two), from the web's preset picker and the command line.
"""

import csv
import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from research import crm, exports, profiles
from research.models import Lead
from research.profiles import answer_of, reasoning_of
from tests.workspace_data import big_job, stored_job

pytestmark = pytest.mark.django_db
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet(value):
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def download(client, job, **params):
    response = client.get(reverse("research:job_export", args=[job.pk]), params)
    body = b"".join(response.streaming_content)
    assert body.startswith(b"\xef\xbb\xbf")
    return response, list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"), newline="")))


def test_the_full_export_keeps_every_value_multi_line_text_included(logged_in, user):
    job = stored_job(user, "Tricky people", count=60)
    _, rows = download(logged_in, job, preset="full")
    leads = {lead.linkedin_url: lead for lead in job.leads.all()}
    assert len(rows) == 60
    questions = ["Works in sales or business development.", "Based in Europe."]
    for row in rows:
        lead = leads[row["LinkedIn URL"]]
        assert row["Name"] == spreadsheet(lead.name) and row["Headline"] == spreadsheet(lead.headline)
        assert row["Description"] == spreadsheet(profiles.description(lead.raw))
        assert row["Skills"] == spreadsheet(", ".join(profiles.skills(lead.raw)))
        assert row["Roles"] == spreadsheet(profiles.roles_text(lead.raw))
        assert row["Education"] == spreadsheet(profiles.education_text(lead.raw))
        assert json.loads(row["Raw result (JSON)"]) == lead.raw, "everything the gateway sent, as sent"
        assert json.loads(row["Criteria (JSON)"]) == lead.criteria
        for question in questions:  # one column per question, and one for its reasoning
            assert row[question] == answer_of(lead.criteria[question])
            assert row[f"{question} (reasoning)"] == spreadsheet(reasoning_of(lead.criteria[question]))
    multi_line = [row["Description"] for row in rows if "\n" in row["Description"]]
    assert 'Line one, with a comma.\nLine two has "double quotes".\r\nLine three: =SUM(A1)' in multi_line
    assert any("\n" in row["Roles"] for row in rows), "several roles, one cell"
    assert not any(cell.startswith(FORMULA_STARTS) for row in rows for cell in row.values())


def test_the_full_export_has_every_column_there_is(logged_in, user):
    job = stored_job(user, count=2)
    _, rows = download(logged_in, job, preset="full")
    labels = {column.label for column in exports.COLUMNS.values()} - {"Found in jobs"}
    assert labels <= set(rows[0]), labels - set(rows[0])


def test_the_hubspot_export_has_its_own_headers_and_the_name_in_two(logged_in, user):
    job = stored_job(user, "Tricky people", count=30)
    response, rows = download(logged_in, job, preset="hubspot")
    assert list(rows[0]) == [
        "First Name", "Last Name", "Job Title", "Company Name", "City", "State/Region", "Country/Region",
        "LinkedIn URL",
    ]  # fmt: skip
    assert "-hubspot-" in response["Content-Disposition"]
    by_url = {row["LinkedIn URL"]: row for row in rows}
    mary = job.leads.get(name='Mary "MJ" O\'Neil, PhD')
    assert (by_url[mary.linkedin_url]["First Name"], by_url[mary.linkedin_url]["Last Name"]) == (
        "Mary",
        "O'Neil",
    )
    zoe = job.leads.get(position=0)
    row = by_url[zoe.linkedin_url]
    assert (row["First Name"], row["Last Name"]) == ("Zoë", "Ångström")
    assert (row["City"], row["State/Region"], row["Country/Region"]) == ("Berlin", "Berlin", "Germany")
    assert all(row["First Name"] for row in rows), "every row has a first name"
    assert not any(cell.startswith(FORMULA_STARTS) for row in rows for cell in row.values())


def test_the_salesforce_export_has_the_lead_object_s_field_names(logged_in, user):
    job = stored_job(user, count=10)
    job.leads.filter(position=1).update(name="Madonna", company="")
    _, rows = download(logged_in, job, preset="salesforce")
    assert list(rows[0]) == [
        "Salutation", "FirstName", "LastName", "Title", "Company", "City", "State", "Country", "Description",
    ]  # fmt: skip
    single = next(row for row in rows if row["LastName"] == "Madonna")
    assert single["FirstName"] == "" and single["Company"] == "[not provided]", "Salesforce requires both"
    lead = job.leads.get(position=3)
    row = next(r for r in rows if lead.linkedin_url in r["Description"])
    assert row["Description"].splitlines()[-1] == f"LinkedIn: {lead.linkedin_url}"


@pytest.mark.parametrize(
    ("full", "first", "last", "salutation"),
    [
        ("Alex Johnson", "Alex", "Johnson", ""),
        ("Dr. Anna van der Berg", "Anna", "van der Berg", "Dr."),
        ("Prof. Dr. Hans Müller", "Hans", "Müller", "Prof."),
        ("Martin Luther King Jr.", "Martin Luther", "King Jr.", ""),
        ("John Smith, Jr.", "John", "Smith Jr.", ""),
        ('Mary "MJ" O\'Neil, PhD', "Mary", "O'Neil", ""),
        ("Jean-Claude Van Damme", "Jean-Claude", "Van Damme", ""),
        ("Maria de la Cruz", "Maria", "de la Cruz", ""),
        ("Madonna", "Madonna", "", ""),
        ("Ørjan Øverås 🚀", "Ørjan", "Øverås", ""),
        ("Дмитрий Иванов", "Дмитрий", "Иванов", ""),
        ("田中 太郎", "太郎", "田中", ""),
        ("李伟", "伟", "李", ""),
        ("", "", "", ""),
    ],
)
def test_names_are_split_as_a_person_would(full, first, last, salutation):
    assert crm.split_name(full) == crm.Name(first, last, salutation)


def test_the_gateway_s_own_first_and_last_name_win():
    assert crm.split_name("Anna van der Berg", "Anna", "van der Berg") == crm.Name("Anna", "van der Berg")
    lead = Lead(name="A B C", raw={"profile": {"first_name": "A B", "last_name": "C"}})
    assert crm.name_of(lead) == crm.Name("A B", "C")


@pytest.mark.parametrize(
    ("location", "country", "place"),
    [
        (
            "San Francisco, California, United States",
            "United States",
            ("San Francisco", "California", "United States"),
        ),
        ("Oslo, Norway", "Norway", ("Oslo", "", "Norway")),
        ("Germany", "Germany", ("", "", "Germany")),
        ("Greater Berlin Area", "Germany", ("Greater Berlin Area", "", "Germany")),
        ("Berlin, Germany", "", ("Berlin", "", "Germany")),
    ],
)
def test_locations_are_split_into_city_region_and_country(location, country, place):
    assert crm.split_location(location, country) == crm.Place(*place)


def test_the_web_preset_picker_sits_beside_the_column_chooser(logged_in, user):
    job = stored_job(user, count=3)
    page = logged_in.get(job.get_absolute_url(), {"country": "Germany"}).content.decode()
    picker = page[page.index('class="preset-form"') : page.index('<details class="columns"')]
    for preset in exports.PRESETS:
        assert f'<option value="{preset}">' in picker
    assert '<input type="hidden" name="country" value="Germany">' in picker, "it downloads the view on screen"


def cli(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("research", "export", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_the_command_line_takes_a_preset_or_columns_for_a_job_or_all_leads(user, tmp_path, capsys):
    job = stored_job(user, count=6)
    stored_job(user, "CTOs in Paris", count=4)

    path = tmp_path / "hubspot.csv"
    _, said = cli(str(job.pk), "--preset", "hubspot", "--output", str(path))
    with open(path, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 6 and "First Name" in rows[0] and "Last Name" in rows[0]
    assert said.strip() == f"Wrote 6 leads to {path}"

    cli(str(job.pk), "--columns", "name,headline,c:Based in Europe.")
    header = next(csv.reader(io.StringIO(capsys.readouterr().out.lstrip("\ufeff"))))
    assert header == ["Name", "Headline", "Based in Europe."]

    path = tmp_path / "all.csv"
    cli("--all-leads", "--preset", "full", "--output", str(path))
    with open(path, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 10 and "Found in jobs" in rows[0] and "Raw result (JSON)" in rows[0]

    with pytest.raises(CommandError, match="Unknown column"):
        cli(str(job.pk), "--columns", "name,salary")
    with pytest.raises(CommandError, match="Name a job, or pass --all-leads"):
        cli()


def test_the_full_export_streams_in_chunks_without_a_query_per_row(user, django_assert_max_num_queries):
    job = big_job(user, 3_000)
    chosen = exports.preset_columns("full", ["Works in sales."])
    stream = exports.stream_leads(Lead.objects.filter(job=job).order_by("position"), chosen)
    next(stream)
    with django_assert_max_num_queries(1):  # one cursor, read 500 rows (raw JSON and all) at a time
        pieces = list(stream)
    assert len(pieces) == 6 and sum(piece.count("\r\n") for piece in pieces) == 3_000
