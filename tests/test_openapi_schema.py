"""/api/schema/ as strict tools read it: valid OpenAPI 3, every operation tagged by its
area, and the main requests carrying examples that their own schemas accept."""

import json

import pytest
from django.conf import settings
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

AREAS = {"events", "jobs", "self-heal", "policy", "artifacts", "learning", "dashboards"}
AREAS |= {"operations"}
MAIN_REQUESTS = [
    ("post", "/api/v1/worker-repair-events"),
    ("post", "/api/v1/worker-repair-events/{id}/outcome"),
    ("post", "/api/v1/jobs"),
    ("post", "/api/v1/jobs/{external_id}/heartbeat"),
    ("post", "/api/v1/jobs/{external_id}/reclaim"),
    ("post", "/api/v1/artifact-gate-checks"),
    ("post", "/api/v1/self-heal-requests/{id}/approve"),
    ("post", "/api/v1/self-heal-requests/{id}/reject"),
    ("post", "/api/v1/proposals/{id}/decide"),
    ("patch", "/api/v1/worker-policy/{id}"),
    ("post", "/api/v1/worker-policy/simulate"),
    ("post", "/api/v1/learning-memory-updates"),
]


@pytest.fixture(scope="module")
def schema(django_db_blocker) -> dict:
    from django.test import Client

    with django_db_blocker.unblock():
        response = Client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return json.loads(response.content)


def operations(schema: dict):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            yield method, path, operation


def test_the_schema_is_valid_openapi(schema):
    validate(schema)  # raises on the first error


def test_a_blank_default_matches_its_fields_pattern(schema):
    components = schema["components"]["schemas"]
    for name, field in [
        ("UploadFileInputRequest", "sha256"),
        ("RepairEventInputRequest", "action"),
    ]:
        prop = components[name]["properties"][field]
        assert prop["default"] == ""
        assert not any("default" in branch for branch in prop["anyOf"])
        assert OAS30Validator(prop).is_valid(""), (name, field)
        assert not OAS30Validator(prop).is_valid("not a slug!"), (name, field)


def test_every_operation_is_tagged_with_its_area(schema):
    tags = {(method, path): operation["tags"] for method, path, operation in operations(schema)}

    assert all(len(names) == 1 and names[0] in AREAS for names in tags.values()), tags
    assert tags[("post", "/api/v1/worker-repair-events")] == ["events"]
    assert tags[("post", "/api/v1/jobs/{external_id}/complete")] == ["jobs"]
    assert tags[("get", "/api/v1/milestones")] == ["dashboards"]
    assert [tag["name"] for tag in schema["tags"]] == [
        tag["name"] for tag in settings.SPECTACULAR_SETTINGS["TAGS"]
    ]


def test_the_main_requests_carry_examples_their_schema_accepts(schema):
    registry = Registry().with_resource(
        "urn:pls", Resource.from_contents(schema, default_specification=DRAFT4)
    )
    for method, path in MAIN_REQUESTS:
        body = schema["paths"][path][method]["requestBody"]["content"]["application/json"]
        assert body.get("examples"), (method, path)
        validator = OAS30Validator({"$ref": "urn:pls" + body["schema"]["$ref"]}, registry=registry)
        for name, example in body["examples"].items():
            errors = [error.message for error in validator.iter_errors(example["value"])]
            assert not errors, (method, path, name, errors)


def test_the_chat_interactions_endpoint_is_documented_without_a_credential(schema):
    operation = schema["paths"]["/api/v1/channels/{id}/interactions"]["post"]

    assert operation["tags"] == ["self-heal"]
    assert "security" not in operation  # the provider signs it, not a console credential
    assert set(operation["requestBody"]["content"]) == {
        "application/json",
        "application/x-www-form-urlencoded",
    }
    for status in ("401", "404", "429"):
        assert "application/problem+json" in operation["responses"][status]["content"], status
