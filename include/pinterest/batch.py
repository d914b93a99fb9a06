"""Choosing which post events a run sends.

A run's batch depends only on the events in the tables and on a seed text built from the run,
so a re-run of the same logical date picks the same events.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence

from include.pinterest.tables import GEO, PIN, USER, quote_identifier


def complete_event_ids_sql() -> str:
    """Return the query for the ids of events that have a row in all three tables, in order."""
    pin_id = quote_identifier(PIN.id_column)
    geo_id = quote_identifier(GEO.id_column)
    user_id = quote_identifier(USER.id_column)
    return (
        f"SELECT p.{pin_id} FROM {quote_identifier(PIN.name)} AS p"
        f" JOIN {quote_identifier(GEO.name)} AS g ON g.{geo_id} = p.{pin_id}"
        f" JOIN {quote_identifier(USER.name)} AS u ON u.{user_id} = p.{pin_id}"
        f" ORDER BY p.{pin_id}"
    )


def batch_seed(*parts: object) -> int:
    """Return a stable integer seed from ``parts`` (unlike ``hash``, the same in every process)."""
    text = "|".join(str(part) for part in parts)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def choose_events(event_ids: Sequence[int], size: int, seed: int) -> list[int]:
    """Return up to ``size`` ids drawn from ``event_ids`` without repeats, in ascending order.

    The draw depends only on the ids, ``size`` and ``seed``.

    :raises ValueError: if ``event_ids`` is empty or ``size`` is not positive.
    """
    if size < 1:
        raise ValueError(f"batch size must be positive, got {size}")
    if not event_ids:
        raise ValueError(
            "no post event has a row in all of pinterest_data, geolocation_data and user_data; "
            "load the tables first (make stack-up seeds them)"
        )
    ordered = sorted(event_ids)
    if size >= len(ordered):
        return ordered
    return sorted(random.Random(seed).sample(ordered, size))
