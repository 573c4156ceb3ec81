"""Reading Clado's answers tolerantly: field names vary across versions, and results are scraped text."""

from research import clado, poller


def result(**profile):
    return {"profile": {"id": "1", "name": "Ana", **profile}, "experience": [], "education": []}


def test_counts_are_read_in_order_of_preference():
    both = clado.parse_status({"status": "completed", "final_results_count": 7, "total_results": 9})
    assert both.results_count == 7
    assert clado.parse_status({"status": "completed", "total": 4}).results_count == 4
    listed = clado.parse_status({"status": "completed", "results": [result(), result(id="2")]})
    assert listed.results_count == 2


def test_status_names_other_clients_report_are_normalised_and_unknown_ones_still_run():
    assert clado.parse_status({"status": "success"}).status == "completed"
    assert clado.parse_status({"status": "FAILED"}).status == "error"
    assert poller.known_status(clado.parse_status({"status": "thinking"}).status) == "processing"
    assert clado.parse_status({}).status == "pending"


def test_progress_fields_are_kept_when_present_and_garbage_is_ignored():
    page = clado.parse_status(
        {"status": "searching", "search_chunk_done": "3", "search_chunk_total": 10, "total_filtered": "many"}
    )
    assert (page.chunks_done, page.chunks_total, page.profiles_matched) == (3, 10, None)


def test_more_pages_follow_from_pagination_else_the_count_else_a_full_page():
    full = [result(id=str(i)) for i in range(100)]
    paginated = clado.parse_status({"results": full, "pagination": {"current_page": 1, "has_next": False}})
    assert not paginated.has_more_pages(100)
    counted = clado.parse_status({"results": full, "total_results": 250}, page=2)
    assert counted.total_pages == 3 and counted.has_more_pages(100)
    assert clado.parse_status({"results": full}).has_more_pages(100), "no count: a full page may have more"
    assert not clado.parse_status({"results": full[:40]}).has_more_pages(100)
    assert not clado.parse_status({"results": []}).has_more_pages(100), "an empty page ends it"


def test_the_current_role_is_the_one_that_has_not_ended():
    lead = clado.parse_lead(
        {
            "profile": {"id": "42", "name": "Zoë", "criteria": {"Works in sales.": {"answer": "YES"}}},
            "experience": [
                {"title": "SDR", "company_name": "Old Co", "end_date": "2020-01-01T00:00:00"},
                {"title": "VP Sales", "company_name": "=Acme", "end_date": "1970-01-01T00:00:00"},
            ],
        }
    )
    assert (lead["profile_id"], lead["title"], lead["company"]) == ("42", "VP Sales", "=Acme")
    assert lead["criteria"] == {"Works in sales.": {"answer": "YES"}}
    assert lead["is_decision_maker"] is None


def test_a_result_without_an_id_falls_back_to_its_linkedin_url():
    lead = clado.parse_lead(result(id=None, linkedin_url="https://www.linkedin.com/in/x"))
    assert lead["profile_id"] == "https://www.linkedin.com/in/x"
