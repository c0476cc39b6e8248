"""The API's contract: an OpenAPI 3.1 document generated from the same models that validate, and its
documentation page, served with its assets by the app itself (factories are often offline)."""

import re

import pytest
from selectolax.lexbor import LexborHTMLParser

from capa.api.document import DOCS_PATH, SPEC_PATH
from capa.common.commands import parse
from capa.common.errors import ValidationError
from capa.masterdata.commands import NewBatch


@pytest.fixture
def spec(client):
    response = client.get(SPEC_PATH)
    assert response.status_code == 200
    assert response.content_type.startswith("application/json")
    return response.get_json()


def api_routes(app) -> set[tuple[str, str]]:
    """(METHOD, OpenAPI path) of every endpoint the app serves under /api/v1."""
    routes = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.endpoint.startswith("openapi.") or "docs/assets" in rule.rule:
            continue
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
        routes.update((method, path) for method in rule.methods - {"HEAD", "OPTIONS"})
    return routes


def test_the_document_is_openapi_3_1_and_served_without_a_token(client, spec):
    assert spec["openapi"].startswith("3.1")
    assert spec["info"]["title"] == "CAPA tracker API"


def test_every_endpoint_is_described(app, spec):
    documented = {(method.upper(), path) for path, operations in spec["paths"].items() for method in operations}
    missing = api_routes(app) - documented
    assert not missing, f"not in the document: {sorted(missing)}"


def test_bearer_authentication_is_declared_for_every_call(spec):
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "A token from `flask --app capa token create`.",
    }
    assert spec["security"] == [{"bearerAuth": []}]


def test_every_operation_answers_errors_in_the_envelope(spec):
    envelope = spec["components"]["schemas"]["Error"]
    assert envelope["properties"]["error"]["required"] == ["code", "message", "fields"]
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for status in ("400", "401", "403", "404", "409", "413"):
                schema = operation["responses"][status]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Error"}, (method, path, status)
            assert "422" not in operation["responses"], (method, path)


def test_filing_declares_its_idempotency_key_and_the_answers_to_a_resend(spec):
    operation = spec["paths"]["/api/v1/nonconformances"]["post"]
    [header] = [parameter for parameter in operation["parameters"] if parameter["in"] == "header"]
    assert header["name"] == "Idempotency-Key"
    assert header["required"] is False
    assert header["schema"] | {"description": ""} == {
        "type": "string",
        "minLength": 1,
        "maxLength": 64,
        "pattern": "^[ -~]{1,64}$",
        "title": "Idempotency-Key",
        "description": "",
    }
    replayed = operation["responses"]["200"]
    assert replayed["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/NCDetail"}
    assert replayed["headers"]["Idempotent-Replayed"]["schema"] == {"type": "string", "enum": ["true"]}
    reused = operation["responses"]["409"]
    assert "idempotency_key_reused" in reused["description"]
    assert reused["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    # Other operations keep the common description of a conflict.
    assert "idempotency_key_reused" not in spec["paths"]["/api/v1/lines"]["post"]["responses"]["409"]["description"]


def test_a_declared_body_is_the_command_the_service_takes(spec):
    """The batch body in the document is NewBatch itself: its required fields, limits and lot kinds."""
    operation = spec["paths"]["/api/v1/batches"]["post"]
    body_ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    body = spec["components"]["schemas"][body_ref.rsplit("/", 1)[-1]]
    assert set(body["required"]) == {"number", "style", "line"}
    assert body["properties"]["number"]["maxLength"] == 64
    assert body["additionalProperties"] is False
    lot_ref = body["properties"]["lots"]["items"]["$ref"]
    lot = spec["components"]["schemas"][lot_ref.rsplit("/", 1)[-1]]
    kind_ref = lot["properties"]["kind"]["$ref"]
    kinds = spec["components"]["schemas"][kind_ref.rsplit("/", 1)[-1]]["enum"]
    assert kinds == ["fabric", "dye_lot", "trim", "thread", "label", "packaging", "other"]
    answer = operation["responses"]["201"]["content"]["application/json"]["schema"]["$ref"]
    assert answer.endswith("/BatchRecord")


def test_the_docs_page_loads_only_from_this_app(client):
    page = client.get(DOCS_PATH)
    assert page.status_code == 200
    tree = LexborHTMLParser(page.text)
    assets = [node.attributes.get("href") or node.attributes.get("src") for node in tree.css("link[href], script[src]")]
    assert assets, "the page loads its scripts and styles"
    for asset in assets:
        assert asset.startswith(f"{DOCS_PATH}/assets/"), asset
        with client.get(asset) as response:
            assert response.status_code == 200, asset
            assert response.content_length > 100, asset
    assert SPEC_PATH in page.text


def test_an_unknown_asset_is_404(client):
    for name in ("../../capa/config.py", "nothing.js"):
        with client.get(f"{DOCS_PATH}/assets/{name}") as response:
            assert response.status_code == 404, name


def test_a_command_names_every_bad_field_as_clients_do():
    with pytest.raises(ValidationError) as refused:
        parse(
            NewBatch,
            {
                "number": " ",
                "style": "bad code!",
                "lots": [{"number": "L1", "kind": "trim", "supplier": "S"}, {}],
                "x": 1,
            },
        )
    assert refused.value.fields == {
        "number": "This field is required.",
        "style": "Use letters, digits and - _ . / only, starting with a letter or digit.",
        "line": "This field is required.",
        "lots[1].number": "This field is required.",
        "lots[1].kind": "This field is required.",
        "lots[1].supplier": "This field is required.",
        "x": "Unknown field.",
    }


def test_a_command_cleans_what_it_accepts():
    batch = parse(
        NewBatch,
        {
            "number": " b-1 ",
            "style": "rmp",
            "line": "l1",
            "lots": [{"number": "f1", "kind": " fabric ", "supplier": "mill"}],
        },
    )
    assert (batch.number, batch.style, batch.line) == ("B-1", "RMP", "L1")
    assert batch.lots[0].kind == "fabric"
    assert batch.lots[0].supplier == "MILL"


def test_a_filing_documents_no_photos_and_refuses_them_in_json(app, api, spec):
    """Photos come as files from the filing form; the JSON filing neither documents nor takes them."""
    body = spec["paths"]["/api/v1/nonconformances"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    schema = spec["components"]["schemas"][body["$ref"].rsplit("/", 1)[-1]] if "$ref" in body else body
    assert "photos" not in schema["properties"]
    response = api("supervisor").post(
        "/api/v1/nonconformances",
        json={"title": "Loose", "defect_type": "stain", "source": "inline", "line": "L1", "photos": [{"a": 1}]},
    )
    assert response.status_code == 400
    assert response.json["error"]["fields"]["photos"] == "Unknown field."


def test_every_answer_is_documented_under_the_names_it_is_written_with(spec):
    """A field read from another attribute (an NC's category from effective_category) is documented as it is
    answered, never under the attribute's name."""
    schemas = spec["components"]["schemas"]
    nc = next(schema for name, schema in schemas.items() if name.endswith(".NC") or name == "NC")
    assert "category" in nc["properties"]
    assert "effective_category" not in nc["properties"]
