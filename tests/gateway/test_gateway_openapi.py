"""The merged OpenAPI document."""

from typing import Any

import httpx

from gateway.openapi import merge_documents


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []


def _resolve(document: dict[str, Any], ref: str) -> Any:
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


async def test_merged_document_holds_every_service(gateway: httpx.AsyncClient) -> None:
    response = await gateway.get("/openapi.json")

    assert response.status_code == 200
    document = response.json()
    assert document["info"]["title"] == "Aduan API"
    assert document["x-aduan-unavailable"] == []
    paths = document["paths"]
    for path in (
        "/api/v1/categories",  # intake
        "/api/v1/agencies/{agency_id}",  # routing
        "/api/v1/webhooks/endpoints",  # notifications
        "/healthz",
        "/readyz",
        "/metrics",
        "/openapi.json",
        "/docs",
    ):
        assert path in paths, path
    assert "/internal/reindex" not in paths  # the gateway does not route it
    assert paths["/healthz"]["get"]["summary"] == "Liveness of the gateway"
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert {"bearerAuth": []} in document["security"]


async def test_proxied_operations_document_the_gateways_own_errors(
    gateway: httpx.AsyncClient,
) -> None:
    document = (await gateway.get("/openapi.json")).json()

    responses = document["paths"]["/api/v1/categories"]["get"]["responses"]
    assert {"200", "401", "502", "504"} <= set(responses)
    assert "413" not in responses  # a GET has no body to refuse
    timeout = _resolve(document, responses["504"]["$ref"])
    problem = timeout["content"]["application/problem+json"]["schema"]["$ref"]
    assert "code" in _resolve(document, problem)["properties"]
    assert "502" not in document["paths"]["/healthz"]["get"]["responses"]


async def test_clashing_schema_names_are_kept_apart(gateway: httpx.AsyncClient) -> None:
    document = (await gateway.get("/openapi.json")).json()

    intake_ref = document["paths"]["/api/v1/regions/{code}/agency"]["get"]["responses"]["200"][
        "content"
    ]["application/json"]["schema"]["$ref"]
    routing_ref = document["paths"]["/api/v1/agencies/{agency_id}"]["get"]["responses"]["200"][
        "content"
    ]["application/json"]["schema"]["$ref"]
    assert intake_ref != routing_ref
    assert "level" not in _resolve(document, intake_ref)["properties"]
    assert "level" in _resolve(document, routing_ref)["properties"]
    for ref in _refs(document):
        _resolve(document, ref)  # every reference points at something


async def test_unreachable_service_makes_a_partial_document(
    broken_gateway: httpx.AsyncClient,
) -> None:
    response = await broken_gateway.get("/openapi.json")

    assert response.status_code == 200
    document = response.json()
    assert document["x-aduan-unavailable"] == ["routing"]
    assert "routing" in document["info"]["description"]
    assert "/api/v1/categories" in document["paths"]
    assert "/api/v1/agencies/{agency_id}" not in document["paths"]


def test_a_rename_cascades_to_the_schemas_that_use_it() -> None:
    own = {"openapi": "3.1.0", "info": {"title": "x", "version": "1"}, "paths": {}}

    def service(level_values: list[str]) -> dict[str, Any]:
        return {
            "paths": {},
            "components": {
                "schemas": {
                    "Level": {"enum": level_values},
                    "Office": {"properties": {"level": {"$ref": "#/components/schemas/Level"}}},
                }
            },
        }

    merged = merge_documents(own, {"intake": service(["a"]), "routing": service(["b"])})

    schemas = merged["components"]["schemas"]
    assert schemas["Level"] == {"enum": ["a"]}
    assert schemas["routing.Level"] == {"enum": ["b"]}
    assert schemas["routing.Office"]["properties"]["level"]["$ref"] == (
        "#/components/schemas/routing.Level"
    )
