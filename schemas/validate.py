#!/usr/bin/env python3
"""Checks Tandem's JSON Schemas and validates sample records against them.

Usage: validate.py SCHEMA_DIR MANIFEST

Run by Tests/ModelsTests/SchemaTests.swift (it lives here, not in the test target, so that SwiftPM
does not warn about an unhandled file).

SCHEMA_DIR holds the *.schema.json files. MANIFEST is a JSON array of
{"name": str, "schema": "<name>" (file stem without .schema.json), "file": path, "valid": bool}.

Every schema must be a valid draft 2020-12 schema. Every sample must validate (valid: true) or be
rejected (valid: false), with format checking on (date-time needs rfc3339-validator). Prints one
line per problem and exits 1 if there is any, else prints a summary and exits 0.
"""
import json
import pathlib
import sys

try:
    from jsonschema import Draft202012Validator
except ImportError:
    print("jsonschema is not installed (pip install jsonschema rfc3339-validator)")
    sys.exit(2)


def main() -> int:
    schema_dir = pathlib.Path(sys.argv[1])
    manifest = json.loads(pathlib.Path(sys.argv[2]).read_text(encoding="utf-8"))
    problems = []

    checker = Draft202012Validator.FORMAT_CHECKER
    if checker.conforms("2026-11-25 08:30", "date-time"):
        print("date-time format checking is inactive: pip install rfc3339-validator")
        return 2

    validators = {}
    for path in sorted(schema_dir.glob("*.schema.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        try:
            Draft202012Validator.check_schema(schema)
        except Exception as error:  # SchemaError
            problems.append(f"{path.name}: not a valid 2020-12 schema: {error}")
            continue
        stem = path.name[: -len(".schema.json")]
        expected_id = f"https://tandem.example/schemas/{path.name}"
        if schema.get("$id") != expected_id:
            problems.append(f"{path.name}: $id is {schema.get('$id')!r}, expected {expected_id!r}")
        validators[stem] = Draft202012Validator(schema, format_checker=checker)

    checked = 0
    for sample in manifest:
        validator = validators.get(sample["schema"])
        if validator is None:
            problems.append(f"{sample['name']}: no schema {sample['schema']!r}")
            continue
        instance = json.loads(pathlib.Path(sample["file"]).read_text(encoding="utf-8"))
        errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.path))
        checked += 1
        if sample["valid"] and errors:
            for error in errors:
                where = "/".join(str(p) for p in error.path) or "(root)"
                problems.append(f"{sample['name']}: should validate but {where}: {error.message}")
        elif not sample["valid"] and not errors:
            problems.append(f"{sample['name']}: should be rejected by {sample['schema']} but validates")

    for problem in problems:
        print(problem)
    if problems:
        return 1
    print(f"ok: {len(validators)} schemas, {checked} samples")
    return 0


if __name__ == "__main__":
    sys.exit(main())
