"""Compose-style variable interpolation, enough to check docker-compose.yaml without Docker.

Follows the Compose specification's rules: ``$$`` is a literal ``$``; ``$VAR`` and ``${VAR}``
take the value or the empty string; ``${VAR:-default}`` and ``${VAR-default}``,
``${VAR:?message}`` and ``${VAR?message}``, ``${VAR:+other}`` and ``${VAR+other}`` as in
POSIX shells. Nested expressions in defaults are refused rather than guessed at.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

TOKEN = re.compile(
    r"\$(?:(?P<escaped>\$)"
    r"|(?P<named>[A-Za-z_][A-Za-z0-9_]*)"
    r"|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^{}$]*))?\}"
    r"|(?P<invalid>))"
)
# Every ${VAR...} expression of a text, with its operator and argument.
EXPRESSION = re.compile(
    r"(?<!\$)\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<op>:?[-?+])?(?P<arg>[^}]*)\}"
)


class InterpolationError(ValueError):
    """A ``$`` expression is malformed or a required variable is missing."""


def interpolate(text: str, env: Mapping[str, str]) -> str:
    """Return ``text`` with every ``$`` expression replaced using ``env``.

    :raises InterpolationError: on a malformed expression or a missing required variable.
    """

    def replace(match: re.Match[str]) -> str:
        if match["escaped"] is not None:
            return "$"
        if match["named"] is not None:
            return env.get(match["named"], "")
        if match["braced"] is None:
            raise InterpolationError(f"invalid interpolation at {text[match.start() :]!r}")
        name, op, arg = match["braced"], match["op"] or "", match["arg"] or ""
        value = env.get(name)
        # With a colon, an empty value counts as unset.
        given = value is not None and (value != "" or not op.startswith(":"))
        if op.endswith("-"):
            return value if given and value is not None else arg
        if op.endswith("?"):
            if not given or value is None:
                raise InterpolationError(f"required variable {name} is missing: {arg}")
            return value
        if op.endswith("+"):
            return arg if given else ""
        return value or ""

    return TOKEN.sub(replace, text)


def interpolate_tree(node: Any, env: Mapping[str, str]) -> Any:
    """Return a copy of a parsed YAML tree with every string value interpolated.

    Mapping keys are left alone, as Compose leaves them.
    """
    if isinstance(node, str):
        return interpolate(node, env)
    if isinstance(node, dict):
        return {key: interpolate_tree(value, env) for key, value in node.items()}
    if isinstance(node, list):
        return [interpolate_tree(item, env) for item in node]
    return node


def read_env_file(path: Path) -> dict[str, str]:
    """Return the ``KEY=VALUE`` lines of a Compose ``.env`` file, skipping comments.

    :raises ValueError: on a line that is neither blank, a comment, nor ``KEY=VALUE``.
    """
    values = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        key, sep, value = stripped.partition("=")
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            raise ValueError(f"{path.name} line {number} is not KEY=VALUE: {line!r}")
        values[key] = value
    return values
