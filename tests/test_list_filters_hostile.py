"""Hostile values in every list filter, on pages and in the API: NUL bytes, huge and negative numbers,
impossible dates, over-long and odd text, unknown keys (``endpoint``, ``_method``). Each answer is a refusal
(400, naming the field in the API) or a normal page, never a failure, on both engines."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capa.capas.commands import NCFilters
from capa.safety.commands import ParameterFilters
from tests.pages import logged_in

HOSTILE_TEXT = st.one_of(
    st.sampled_from(
        [
            "\x00",
            "L1\x00",
            "9" * 40,
            "-1",
            "0",
            "99999999999999999999",
            "1e309",
            "NaN",
            "2026-02-30",
            "9999-12-31",
            "0000-01-01",
            "2026-13-01",
            "'; DROP TABLE nonconformances; --",
            "%",
            "_",
            "\\",
            "\uff4c\uff11",  # full-width "l1"
            "true",
            "yes",
            "x" * 5000,
            " ",
            "\ud7ff",
        ]
    ),
    st.text(max_size=60),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
)
UNKNOWN_KEYS = ["endpoint", "_method", "__class__", "page[0]", "status[]", "", "format"]

LISTS = {
    # path: the filter keys it knows
    "/nc": sorted(NCFilters.model_fields),
    "/parameters": sorted(ParameterFilters.model_fields),
    "/api/v1/nonconformances": sorted(NCFilters.model_fields),
    "/api/v1/parameters": sorted(ParameterFilters.model_fields),
}


@pytest.fixture
def browser(app, make_user):
    return logged_in(app, make_user("quality_manager", "qm.hostile"))


@pytest.fixture
def bearer(api):
    return api("quality_manager").headers


@pytest.mark.parametrize("path", sorted(LISTS))
def test_hostile_filter_values_are_refused_or_shown_never_a_failure(app, browser, bearer, path):
    keys = st.sampled_from([*LISTS[path], *UNKNOWN_KEYS])

    @given(query=st.dictionaries(keys, HOSTILE_TEXT, min_size=1, max_size=3))
    @settings(max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def probe(query):
        if path.startswith("/api/"):
            response = browser.get(path, query_string=query, headers=bearer)
        else:
            response = browser.get(path, query_string=query)
        assert response.status_code in (200, 400), (query, response.status_code, response.text[:500])
        if path.startswith("/api/") and response.status_code == 400:
            error = response.get_json()["error"]
            assert error["code"] == "invalid"
            assert error["fields"], error

    probe()


@pytest.mark.parametrize("path", sorted(LISTS))
@pytest.mark.parametrize("key", ["endpoint", "_method"])
def test_an_unknown_filter_key_is_refused_naming_it(browser, bearer, path, key):
    headers = bearer if path.startswith("/api/") else {}
    response = browser.get(path, query_string={key: "x"}, headers=headers)
    assert response.status_code == 400
    if path.startswith("/api/"):
        assert key in response.get_json()["error"]["fields"]
    else:
        assert key in response.text
