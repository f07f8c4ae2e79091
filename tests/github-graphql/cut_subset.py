"""Cut the pinned subset of GitHub's GraphQL schema that the fake GitHub validates documents against.

GitHub publishes its public schema in the npm package `@octokit/graphql-schema` (`schema.graphql`,
about 1.2 MB). The suite keeps only the types it queries, each with only the fields listed in `KEEP`,
plus everything those fields and arguments reference (input objects, enums and scalars whole), so a
fresh clone validates without a download and a query for a field left out fails like an unknown one.

Regenerate (needs npm and graphql-core):

    cd /tmp && npm pack @octokit/graphql-schema@15.26.1 && tar xzf octokit-graphql-schema-15.26.1.tgz
    .venv/bin/python tests/github-graphql/cut_subset.py /tmp/package/schema.graphql

The interfaces of a kept type are kept only where the interface is kept too and the type keeps all of
its fields; that also leaves out GitHub's own quirk of fields deprecated on a type but not on its
interface, which graphql-core refuses when validating the schema.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

from graphql import (
    DocumentNode,
    EnumTypeDefinitionNode,
    InputObjectTypeDefinitionNode,
    InterfaceTypeDefinitionNode,
    ListTypeNode,
    NamedTypeNode,
    NonNullTypeNode,
    ObjectTypeDefinitionNode,
    ScalarTypeDefinitionNode,
    TypeNode,
    UnionTypeDefinitionNode,
    build_ast_schema,
    parse,
    print_ast,
)
from graphql.language import DirectiveDefinitionNode

VERSION = "15.26.1"
HERE = Path(__file__).parent
OUTPUT = HERE / "schema-subset.graphql"
BUILT_IN = {"String", "Int", "Float", "Boolean", "ID", "deprecated", "include", "skip", "specifiedBy"}

# Object and interface types the suite queries, with the fields it may ask for.
KEEP: dict[str, list[str]] = {
    "Query": ["repository", "rateLimit"],
    "Mutation": ["createDiscussion", "updateDiscussion", "pinIssue"],
    "Node": ["id"],
    "RateLimit": ["cost", "limit", "nodeCount", "remaining", "resetAt", "used"],
    "PageInfo": ["endCursor", "hasNextPage", "hasPreviousPage", "startCursor"],
    "Repository": [
        "id",
        "databaseId",
        "name",
        "nameWithOwner",
        "url",
        "deployments",
        "discussionCategories",
        "discussions",
        "discussion",
        "issue",
    ],
    "DeploymentConnection": ["edges", "nodes", "pageInfo", "totalCount"],
    "DeploymentEdge": ["cursor", "node"],
    "Deployment": [
        "id",
        "databaseId",
        "commitOid",
        "environment",
        "latestEnvironment",
        "originalEnvironment",
        "createdAt",
        "updatedAt",
        "state",
        "latestStatus",
        "statuses",
        "task",
        "description",
        "payload",
    ],
    "DeploymentStatusConnection": ["edges", "nodes", "pageInfo", "totalCount"],
    "DeploymentStatusEdge": ["cursor", "node"],
    "DeploymentStatus": [
        "id",
        "state",
        "createdAt",
        "updatedAt",
        "description",
        "environment",
        "environmentUrl",
        "logUrl",
        "deployment",
    ],
    "DiscussionCategoryConnection": ["edges", "nodes", "pageInfo", "totalCount"],
    "DiscussionCategoryEdge": ["cursor", "node"],
    "DiscussionCategory": ["id", "name", "slug", "description", "emoji", "isAnswerable", "createdAt", "updatedAt"],
    "DiscussionConnection": ["edges", "nodes", "pageInfo", "totalCount"],
    "DiscussionEdge": ["cursor", "node"],
    "Discussion": ["id", "databaseId", "number", "title", "body", "url", "category", "createdAt", "updatedAt"],
    "Issue": ["id", "databaseId", "number", "title", "body", "url", "state", "isPinned"],
    "CreateDiscussionPayload": ["clientMutationId", "discussion"],
    "UpdateDiscussionPayload": ["clientMutationId", "discussion"],
    "PinIssuePayload": ["clientMutationId", "issue"],
}


def named(type_node: TypeNode) -> str:
    while isinstance(type_node, (ListTypeNode, NonNullTypeNode)):
        type_node = type_node.type
    assert isinstance(type_node, NamedTypeNode)
    return type_node.name.value


def directive_names(node) -> list[str]:
    return [directive.name.value for directive in node.directives or ()]


def cut(full_sdl: str) -> str:
    document = parse(full_sdl, no_location=True)
    definitions = {
        definition.name.value: definition for definition in document.definitions if hasattr(definition, "name")
    }
    kept: dict[str, object] = {}
    wanted = list(KEEP)
    used_directives: set[str] = set()

    def want(name: str) -> None:
        if name not in BUILT_IN and name not in kept and name not in wanted:
            wanted.append(name)

    while wanted:
        name = wanted.pop()
        definition = definitions[name]
        used_directives.update(directive_names(definition))
        if isinstance(definition, (ObjectTypeDefinitionNode, InterfaceTypeDefinitionNode)):
            if name not in KEEP:
                raise SystemExit(f"{name} is referenced by a kept field: add it to KEEP with its fields")
            fields = {field.name.value: field for field in definition.fields}
            missing = set(KEEP[name]) - set(fields)
            if missing:
                raise SystemExit(f"{name} has no field {sorted(missing)} in this schema version")
            kept_fields = tuple(fields[field] for field in KEEP[name])
            for field in kept_fields:
                want(named(field.type))
                used_directives.update(directive_names(field))
                for argument in field.arguments or ():
                    want(named(argument.type))
                    used_directives.update(directive_names(argument))
            interfaces = tuple(
                interface
                for interface in definition.interfaces or ()
                if interface.name.value in KEEP and set(KEEP[interface.name.value]) <= set(KEEP[name])
            )
            kept[name] = definition.__class__(
                name=definition.name,
                description=definition.description,
                directives=definition.directives,
                interfaces=interfaces,
                fields=kept_fields,
            )
        elif isinstance(definition, InputObjectTypeDefinitionNode):
            for field in definition.fields or ():
                want(named(field.type))
                used_directives.update(directive_names(field))
            kept[name] = definition
        elif isinstance(definition, UnionTypeDefinitionNode):
            members = tuple(member for member in definition.types if member.name.value in KEEP)
            kept[name] = definition.__class__(
                name=definition.name,
                description=definition.description,
                directives=definition.directives,
                types=members,
            )
        elif isinstance(definition, (EnumTypeDefinitionNode, ScalarTypeDefinitionNode)):
            for value in getattr(definition, "values", None) or ():
                used_directives.update(directive_names(value))
            kept[name] = definition
        else:
            raise SystemExit(f"unexpected definition {name}: {type(definition).__name__}")

    directives = []
    for name in sorted(used_directives - BUILT_IN):
        definition = definitions[name]
        assert isinstance(definition, DirectiveDefinitionNode)
        for argument in definition.arguments or ():
            if named(argument.type) not in BUILT_IN and named(argument.type) not in kept:
                raise SystemExit(f"directive @{name} needs type {named(argument.type)}")
        directives.append(definition)
    subset = DocumentNode(definitions=tuple([*directives, *(kept[name] for name in sorted(kept))]))
    build_ast_schema(subset)  # a subset graphql-core cannot build is no subset
    return print_ast(subset) + "\n"


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    source = Path(argv[1]).read_bytes()
    header = (
        f"# A subset of GitHub's public GraphQL schema: npm @octokit/graphql-schema {VERSION}, schema.graphql\n"
        f"# (sha256 {hashlib.sha256(source).hexdigest()}), cut by tests/github-graphql/cut_subset.py.\n"
        "# Do not edit by hand: add a type or field to KEEP there and regenerate.\n\n"
    )
    OUTPUT.write_text(header + cut(source.decode()))
    print(f"wrote {OUTPUT} ({OUTPUT.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
