"""Reading the API's answers in tests: the body of an expected success, the error of an expected refusal."""


def ok(response, status: int = 200) -> dict:
    """The JSON body of ``response``, which must have ``status`` (its text shown when it has not)."""
    assert response.status_code == status, response.text
    return response.json


def refused(response, status: int, code: str) -> dict:
    """The error of ``response``, which must be refused with ``status`` and the error ``code``."""
    assert response.status_code == status, response.text
    assert response.json["error"]["code"] == code, response.json
    return response.json["error"]
