"""Checks of exported documents with their ecosystems' own tools: a schema.org model
(``schema_org-py``) and JSON-LD expansion (``pyld``) against the vendored schema.org
context, offline."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

CONTEXT_FILE = Path(__file__).parent / "data" / "schemaorg" / "schemaorgcontext-30.0.jsonld"
_SCHEMA_URLS = {
    "https://schema.org",
    "https://schema.org/",
    "http://schema.org",
    "http://schema.org/",
}
_VOCABULARY = ("http://schema.org/", "https://schema.org/")


@cache
def _context() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(CONTEXT_FILE.read_text(encoding="utf-8"))
    return loaded


def schema_model(node: Any, path: str = "$") -> Any:
    """A JSON-LD object as schema_org-py models, dispatched on ``@type`` at every level
    (the models are strict and type nested things as ``Thing``); raises when invalid."""
    from schema_org import registry

    if isinstance(node, list):
        return [schema_model(item, f"{path}[{i}]") for i, item in enumerate(node)]
    if not isinstance(node, dict):
        return node
    try:
        model = registry.get_model(str(node.get("@type")))
    except (KeyError, TypeError):
        raise ValueError(f"{path}: unknown schema.org type {node.get('@type')!r}") from None
    fields = {k: schema_model(v, f"{path}.{k}") for k, v in node.items() if k != "@context"}
    return model.model_validate(fields, strict=False)


def _offline_loader(url: str, options: Any = None) -> dict[str, Any]:
    from pyld import jsonld

    if url in _SCHEMA_URLS:
        return {
            "contentType": "application/ld+json",
            "contextUrl": None,
            "documentUrl": url,
            "document": _context(),
        }
    raise jsonld.JsonLdError(
        f"refusing to load {url}", "jsonld.LoadDocumentError", code="loading document failed"
    )


def _leaves(node: Any) -> int:
    """Scalars of a compact document (its @context and @type aside)."""
    if isinstance(node, list):
        return sum(_leaves(item) for item in node)
    if isinstance(node, dict):
        return sum(_leaves(v) for k, v in node.items() if k not in ("@context", "@type"))
    return 1


def _expanded_leaves(node: Any) -> int:
    if isinstance(node, list):
        return sum(_expanded_leaves(item) for item in node)
    if "@value" in node or ("@id" in node and len(node) == 1):
        return 1
    return sum(_expanded_leaves(v) for k, v in node.items() if not k.startswith("@"))


def unknown_terms(document: dict[str, Any]) -> list[str]:
    """Properties and types that are not schema.org terms, and values expansion dropped.

    The context's ``@vocab`` maps any word to a schema.org IRI (a typo too), so each
    expanded name is checked against the terms the context defines."""
    from pyld import jsonld

    terms = {k for k in _context()["@context"] if not k.startswith("@")}
    expanded = jsonld.expand(document, {"documentLoader": _offline_loader})

    def known(iri: str) -> bool:
        return iri.startswith(_VOCABULARY) and iri.rsplit("/", 1)[-1] in terms

    found: list[str] = []

    def walk(node: Any, path: str) -> None:
        if isinstance(node, list):
            for i, item in enumerate(node):
                walk(item, f"{path}[{i}]")
            return
        if "@value" in node:
            return
        found.extend(f"{path}: unknown type {t}" for t in node.get("@type", []) if not known(t))
        for key, value in node.items():
            if key.startswith("@"):
                continue
            if not known(key):
                found.append(f"{path}: unknown property {key}")
            walk(value, f"{path}.{key.rsplit('/', 1)[-1]}")

    walk(expanded, "$")
    if _expanded_leaves(expanded) != _leaves(document):
        found.append("values dropped by expansion")
    return found
