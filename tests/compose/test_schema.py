"""docker-compose.yaml against the Compose specification's JSON schema (tests/compose/README.md)."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from tests.compose.interpolation import (
    EXPRESSION,
    InterpolationError,
    interpolate,
    interpolate_tree,
)


def schema_errors(document: Any, schema: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft7Validator(schema)
    return [
        f"{'/'.join(str(part) for part in error.absolute_path) or '<root>'}: {error.message}"
        for error in sorted(validator.iter_errors(document), key=lambda e: list(e.path))
    ]


def test_vendored_schema_is_a_draft_7_schema(compose_schema: dict[str, Any]) -> None:
    assert "draft-07" in compose_schema["$schema"]
    jsonschema.Draft7Validator.check_schema(compose_schema)
    assert {"services", "volumes", "networks"} <= set(compose_schema["properties"])


def test_compose_file_validates_with_defaults_only(
    compose: dict[str, Any], compose_schema: dict[str, Any]
) -> None:
    assert schema_errors(compose, compose_schema) == []


def test_compose_file_validates_with_env_example(
    compose_raw: dict[str, Any], env_example: dict[str, str], compose_schema: dict[str, Any]
) -> None:
    document = interpolate_tree(compose_raw, env_example)
    assert schema_errors(document, compose_schema) == []


def test_schema_catches_a_misspelt_key(
    compose: dict[str, Any], compose_schema: dict[str, Any]
) -> None:
    broken = {**compose, "services": {**compose["services"]}}
    broken["services"]["mysql"] = {**broken["services"]["mysql"], "healthckeck": {}}
    assert any("healthckeck" in error for error in schema_errors(broken, compose_schema))


def test_every_variable_has_a_default_so_no_env_file_is_needed(compose_text: str) -> None:
    bare = [m.group(0) for m in EXPRESSION.finditer(compose_text) if m["op"] != ":-"]
    assert bare == [], "give these a ${VAR:-default}"


def test_env_example_holds_every_variable_with_the_same_default(
    compose_text: str, env_example: dict[str, str]
) -> None:
    defaults: dict[str, set[str]] = {}
    for match in EXPRESSION.finditer(compose_text):
        defaults.setdefault(match["name"], set()).add(match["arg"])
    assert {name: len(values) for name, values in defaults.items() if len(values) > 1} == {}
    assert set(env_example) == set(defaults), "compose variables and .env.example keys differ"
    differing = {
        name: (values.pop(), env_example[name])
        for name, values in defaults.items()
        if env_example[name] not in values
    }
    assert differing == {}, "compose default vs .env.example value"


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [
        ("${A:-x}", {}, "x"),
        ("${A:-x}", {"A": ""}, "x"),
        ("${A-x}", {"A": ""}, ""),
        ("${A:-x}", {"A": "y"}, "y"),
        ("a$$b ${A}", {"A": "1"}, "a$b 1"),
        ("$A/${B:+set}", {"A": "1", "B": "2"}, "1/set"),
    ],
)
def test_interpolation_follows_the_compose_rules(
    text: str, env: dict[str, str], expected: str
) -> None:
    assert interpolate(text, env) == expected


@pytest.mark.parametrize("text", ["${A:?needed}", "$ {A}", "${A:-${B}}"])
def test_interpolation_refuses_what_it_cannot_resolve(text: str) -> None:
    with pytest.raises(InterpolationError):
        interpolate(text, {})
