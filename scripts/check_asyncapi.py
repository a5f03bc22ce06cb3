#!/usr/bin/env python3
"""Checks asyncapi.yaml: a valid AsyncAPI 3.0 document, every $ref resolves, every topic the code
uses is a channel.

Usage: check_asyncapi.py ASYNCAPI_YAML TOPIC [TOPIC ...]

Validation uses the `asyncapi3` package (a strict object model of the AsyncAPI 3.0 specification,
bindings included); the $ref and topic checks are this project's own. Prints one line per problem
and exits 1 if there is any.
"""
import json
import pathlib
import sys
import warnings

import yaml

warnings.filterwarnings("ignore")
from asyncapi3.models.asyncapi import AsyncAPI3  # noqa: E402


def pointer(document, ref):
    node = document
    for part in ref.lstrip("#/").split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def refs(node, path="$"):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield path, value
            else:
                yield from refs(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from refs(value, f"{path}[{index}]")


def main() -> int:
    path = pathlib.Path(sys.argv[1])
    topics = sys.argv[2:]
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    problems = []
    try:
        AsyncAPI3.model_validate(document)
    except Exception as error:  # pydantic.ValidationError: every violation, one per line
        problems += [f"AsyncAPI 3.0: {line}" for line in str(error).splitlines() if line.strip()]
    for where, ref in refs(document):
        if ref.startswith("#/"):
            if pointer(document, ref) is None:
                problems.append(f"{where}: unresolved {ref}")
        else:
            target = (path.parent / ref).resolve()
            if not target.is_file():
                problems.append(f"{where}: missing file {ref}")
            else:
                json.loads(target.read_text(encoding="utf-8"))
    addresses = {channel.get("address") for channel in document.get("channels", {}).values()}
    for topic in topics:
        if topic not in addresses:
            problems.append(f"topic {topic} is used by the code but is not a channel")
    for problem in problems:
        print(problem)
    if problems:
        return 1
    print(f"asyncapi.yaml: valid AsyncAPI 3.0, {len(addresses)} channels, every ref resolves, {len(topics)} topics covered")
    return 0


if __name__ == "__main__":
    sys.exit(main())
