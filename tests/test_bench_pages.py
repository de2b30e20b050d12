"""The benchmark runs every page's queries as the page does: each parameter a page's query takes has a value."""

from bench.pages import PAGE_QUERIES, page_problems


def test_the_bench_has_a_first_view_value_for_every_parameter_of_every_page_query():
    assert "churn_movements" in {page_query.name for page_query in PAGE_QUERIES["churn"]}
    assert page_problems() == []
