"""Put back the properties named `description` that stripping annotations removed from the subset.

The subset was made by deleting GitHub's annotations (`description`, `example`, ...) everywhere,
which also deleted every *property* named `description` (a label's, a repository's, a deployment's),
so the contract test accepted any type there. This copies each such property from the published
description at the same place, with its own annotations stripped; nothing else changes.

    npm pack @octokit/openapi@23.0.2 && tar xzf octokit-openapi-23.0.2.tgz
    python tests/github-rest/restore_description_properties.py \\
        tests/github-rest/openapi-subset.json package/generated/api.github.com.json
"""

from __future__ import annotations

import json
import sys
from typing import Any

ANNOTATIONS = {"description", "example", "examples", "externalDocs", "summary"}


def strip(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            key: {name: strip(value) for name, value in node[key].items()} if key == "properties" else strip(node[key])
            for key in node
            if key not in ANNOTATIONS and not key.startswith("x-")
        }
    if isinstance(node, list):
        return [strip(value) for value in node]
    return node


def restore(subset: Any, published: Any, path: tuple[str, ...], restored: list[str]) -> None:
    if isinstance(subset, dict) and isinstance(published, dict):
        if path[-1:] == ("properties",) and "description" in published and "description" not in subset:
            subset["description"] = strip(published["description"])
            restored.append("/".join(path))
        for key, value in subset.items():
            if key in published:
                restore(value, published[key], (*path, key), restored)
    elif isinstance(subset, list) and isinstance(published, list):
        for index, (value, original) in enumerate(zip(subset, published, strict=True)):
            restore(value, original, (*path, str(index)), restored)


def main(subset_path: str, published_path: str) -> None:
    with open(subset_path) as file:
        subset = json.load(file)
    with open(published_path) as file:
        published = json.load(file)
    restored: list[str] = []
    restore(subset, published, (), restored)
    with open(subset_path, "w") as file:
        file.write(json.dumps(subset, indent=1, sort_keys=True))
    print(f"restored {len(restored)} properties named 'description'", *restored, sep="\n  ")


if __name__ == "__main__":
    main(*sys.argv[1:3])
