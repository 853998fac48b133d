"""The OpenAPI document is generated from the endpoint list and the bodies' models, so
what it documents is what the API validates; serve.public_api names only read endpoints."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from workbench.services.starchat.openapi import document
from workbench.services.starchat.routes import ENDPOINTS
from workbench.task.schema import PUBLIC_API_ENDPOINTS, WRITE_API_ENDPOINTS, ServeSpec


def refs(node, found=None):
    found = [] if found is None else found
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                found.append(value)
            else:
                refs(value, found)
    elif isinstance(node, list):
        for value in node:
            refs(value, found)
    return found


def test_every_endpoint_is_documented_and_every_reference_resolves():
    doc = document(ENDPOINTS, "t")
    assert doc["openapi"] == "3.1.0"
    for e in ENDPOINTS:
        op = doc["paths"][e.path][e.method.lower()]
        assert op["operationId"] == e.name
        assert str(e.ok[0]) in op["responses"] and "400" in op["responses"]
        assert op["security"] == ([{"bearer": []}] if e.write else [{"bearer": []}, {}])
        assert ("403" in op["responses"]) == e.write
    schemas = doc["components"]["schemas"]
    for ref in refs(doc):
        assert ref.startswith("#/components/schemas/") and ref.rsplit("/", 1)[1] in schemas, ref


def test_the_documented_bounds_are_the_validated_ones():
    schemas = document(ENDPOINTS)["components"]["schemas"]
    request = schemas["ResponseRequest"]
    assert request["required"] == ["user_id"] and request["additionalProperties"] is False
    assert schemas["UserInput"]["properties"]["text"]["anyOf"][0]["maxLength"] == 10_000
    state = next(
        v for k, v in schemas.items() if k.startswith("State") and "execution_order" in v.get("properties", {})
    )
    assert state["properties"]["execution_order"]["maximum"] == 2**31 - 1
    assert state["properties"]["max_state_count"]["minimum"] == 0
    assert schemas["QASearch"]["properties"]["max_results"]["maximum"] == 1000
    status = schemas["QAInput"]["properties"]["status"]["anyOf"][0]
    assert status["maximum"] == 2**31 - 1 and status["minimum"] == -(2**31)
    assert "required" not in schemas["StateFields"]


def test_public_api_names_the_read_endpoints_and_never_a_write():
    reads = {e.name for e in ENDPOINTS if not e.write} | {"openapi"}
    writes = {e.name for e in ENDPOINTS if e.write}
    assert reads == set(PUBLIC_API_ENDPOINTS) and writes == set(WRITE_API_ENDPOINTS)
    assert ServeSpec(public_api=["get_next_response", "get_next_response"]).public_api == ["get_next_response"]
    with pytest.raises(ValidationError, match="is a write: writes always need WORKBENCH_API_TOKEN"):
        ServeSpec(public_api=["knowledgebase_post"])
    with pytest.raises(ValidationError, match="not a REST endpoint; expected some of: get_next_response"):
        ServeSpec(public_api=["everything"])


def test_body_limits_are_bounded_settings():
    spec = ServeSpec()
    assert spec.max_body_bytes == 1 << 20 and spec.max_upload_bytes == 32 << 20
    with pytest.raises(ValidationError):
        ServeSpec(max_body_bytes=10)
