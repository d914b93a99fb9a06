from __future__ import annotations

import pytest

from include.pinterest.batch import batch_seed, choose_events, complete_event_ids_sql
from tests.support import stdout_under_hash_seeds


def test_same_seed_same_events_and_different_seed_different_events() -> None:
    ids = list(range(1000, 12000, 3))
    first = choose_events(ids, 50, batch_seed("u", "2026-01-01T00:00:00+00:00"))
    again = choose_events(list(reversed(ids)), 50, batch_seed("u", "2026-01-01T00:00:00+00:00"))
    other = choose_events(ids, 50, batch_seed("u", "2026-01-01T01:00:00+00:00"))
    assert first == again
    assert first != other
    assert len(set(first)) == 50
    assert set(first) <= set(ids)
    assert first == sorted(first)


def test_batch_larger_than_the_table_takes_every_event() -> None:
    assert choose_events([5, 3, 9], 10, 1) == [3, 5, 9]


def test_empty_tables_are_a_clear_error() -> None:
    with pytest.raises(ValueError, match="no post event has a row in all of"):
        choose_events([], 10, 1)


def test_seed_is_stable_across_processes() -> None:
    code = "from include.pinterest.batch import batch_seed; print(batch_seed('u', '2026'))"
    assert stdout_under_hash_seeds(code) == {str(batch_seed("u", "2026"))}
    assert batch_seed("u", 1) != batch_seed("u", 2)


def test_event_query_quotes_the_reserved_word_index() -> None:
    sql = complete_event_ids_sql()
    assert "p.`index`" in sql
    assert "JOIN `geolocation_data`" in sql
    assert "JOIN `user_data`" in sql
