"""The OpenAPI 3.1 document of the REST API, generated from the endpoint list and the
pydantic models of its bodies (:mod:`workbench.services.starchat.schemas`), so what is
documented is what is validated and answered."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from workbench.engines.decision_table.model import State
from workbench.services.starchat.schemas import Error

if TYPE_CHECKING:
    from workbench.services.starchat.routes import Endpoint

REF = "#/components/schemas/{model}"

#: answers any endpoint may give, besides its own
COMMON = {
    400: "Invalid JSON or field; `field` names it",
    401: "Missing or wrong bearer token (the server has WORKBENCH_API_TOKEN and this endpoint is not public)",
    404: "?bot= names no decision_table bot",
}
WRITES = {403: "Writes are disabled: the server has no WORKBENCH_API_TOKEN"}
BODIES = {413: "The body is larger than the server's limit (serve.max_body_bytes, max_upload_bytes)"}

PARAMETERS: dict[str, dict[str, Any]] = {
    "bot": {
        "name": "bot",
        "in": "query",
        "required": False,
        "schema": {"type": "string"},
        "description": "The decision_table bot, when the task has several",
    },
    "ids": {
        "name": "ids",
        "in": "query",
        "required": False,
        "schema": {"type": "array", "items": {"type": "string"}},
        "style": "form",
        "explode": True,
        "description": "Repeat for several; none: every document",
    },
    "skip_invalid": {
        "name": "skip_invalid",
        "in": "query",
        "required": False,
        "schema": {"type": "boolean"},
        "description": "Load the valid rows of a defective file",
    },
    "replace": {
        "name": "replace",
        "in": "query",
        "required": False,
        "schema": {"type": "boolean"},
        "description": "Replace the whole table instead of adding to it",
    },
}

UPLOAD = {
    "required": True,
    "content": {
        "text/csv": {"schema": {"type": "string"}},
        "application/json": {"schema": {}},
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {"csv": {"type": "string", "format": "binary"}},
                "required": ["csv"],
            }
        },
    },
}


def _models(endpoints: tuple[Endpoint, ...]) -> list[tuple[type[BaseModel], Any]]:
    wanted: dict[tuple[type[BaseModel], str], None] = {(Error, "serialization"): None, (State, "validation"): None}
    for e in endpoints:
        if isinstance(e.body, type):
            wanted[(e.body, "validation")] = None
        for _, model in [(None, e.ok[2]), *e.answers.values()]:
            if model is not None:
                wanted[(model, "serialization")] = None
    return list(wanted)


def _content(ref: dict[str, str]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": ref}}}


def document(endpoints: tuple[Endpoint, ...], title: str = "workbench") -> dict[str, Any]:
    """The OpenAPI 3.1 description of ``endpoints``."""
    refs, schema = models_json_schema(_models(endpoints), ref_template=REF)
    schemas: dict[str, Any] = dict(schema.get("$defs", {}))
    state_ref = refs[(State, "validation")]
    # an update names some fields of a state: the state's schema with nothing required
    state_name = state_ref["$ref"].rsplit("/", 1)[1]
    fields = copy.deepcopy(schemas[state_name])
    fields.pop("required", None)
    fields["title"] = "StateFields"
    schemas["StateFields"] = fields
    error = _content(refs[(Error, "serialization")])

    paths: dict[str, dict[str, Any]] = {}
    for e in endpoints:
        status, meaning, model = e.ok
        responses: dict[str, Any] = {
            str(status): {"description": meaning, **(_content(refs[(model, "serialization")]) if model else {})}
        }
        extra = {**COMMON, **(WRITES if e.write else {}), **(BODIES if e.body is not None else {})}
        for code, text in extra.items():
            responses[str(code)] = {"description": text, **error}
        for code, (text, answer) in e.answers.items():
            body = _content(refs[(answer, "serialization")]) if answer else error if code >= 400 else {}
            responses[str(code)] = {"description": text, **body}
        op: dict[str, Any] = {
            "operationId": e.name,
            "summary": e.summary,
            "parameters": [PARAMETERS[p] for p in ("bot", *e.query)],
            "responses": dict(sorted(responses.items())),
            # writes need the token; reads need it when the server has one, unless public
            "security": [{"bearer": []}] if e.write else [{"bearer": []}, {}],
        }
        if "{" in e.path:
            name = e.path.split("{", 1)[1].rstrip("}")
            op["parameters"] = [
                {"name": name, "in": "path", "required": True, "schema": {"type": "string"}},
                *op["parameters"],
            ]
        if e.body == "upload":
            op["requestBody"] = UPLOAD
        elif e.body == "state":
            op["requestBody"] = {"required": True, **_content(state_ref)}
        elif e.body == "state-fields":
            op["requestBody"] = {"required": True, **_content({"$ref": REF.format(model="StateFields")})}
        elif isinstance(e.body, type):
            op["requestBody"] = {"required": True, **_content(refs[(e.body, "validation")])}
        paths.setdefault(e.path, {})[e.method.lower()] = op
    paths["/openapi.json"] = {
        "get": {
            "operationId": "openapi",
            "summary": "This document",
            "security": [{"bearer": []}, {}],
            "responses": {
                "200": {"description": "OpenAPI 3.1", "content": {"application/json": {"schema": {"type": "object"}}}},
                "401": {"description": COMMON[401], **error},
            },
        }
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": f"{title}: starchat API",
            "version": "1",
            "description": "starchat's REST API (2016 dialect) served by workbench (docs/decision-tables.md).",
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "The server's WORKBENCH_API_TOKEN"}
            },
            "schemas": schemas,
        },
    }
