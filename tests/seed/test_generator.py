from __future__ import annotations

import hashlib
import re
from itertools import islice, pairwise

import pytest

from include.pinterest import tables as domain
from include.seed.generator import (
    CATEGORIES,
    IMAGE_SRC_ERROR,
    NO_DESCRIPTION,
    NO_TAGS,
    NO_TITLE,
    STORY_FORMAT,
    TABLES,
    USER_INFO_ERROR,
    Event,
    event_batches,
    format_follower_count,
    generate_events,
)
from tests.support import stdout_under_hash_seeds

DIGEST_CODE = """
import hashlib
from include.seed.generator import TABLES, generate_events
digest = hashlib.sha256()
for event in generate_events(2000, 42):
    for table in TABLES:
        digest.update(repr(table.values(event)).encode())
print(digest.hexdigest())
"""


def digest(count: int, seed: int) -> str:
    """Return a hash of the repr of every row of ``count`` events."""
    hashed = hashlib.sha256()
    for event in generate_events(count, seed):
        for table in TABLES:
            hashed.update(repr(table.values(event)).encode())
    return hashed.hexdigest()


@pytest.fixture(scope="module")
def events() -> list[Event]:
    return list(generate_events(11_000, 42))


def test_same_seed_gives_identical_rows() -> None:
    assert digest(2000, 42) == digest(2000, 42)


def test_same_seed_gives_identical_rows_in_other_processes() -> None:
    assert stdout_under_hash_seeds(DIGEST_CODE) == {digest(2000, 42)}


def test_different_seeds_give_different_rows() -> None:
    assert digest(200, 42) != digest(200, 43)
    first = next(generate_events(1, 42))
    other = next(generate_events(1, 43))
    assert first.pin.unique_id != other.pin.unique_id


@pytest.mark.parametrize("count", [0, 1, 7])
def test_any_count(count: int) -> None:
    assert len(list(generate_events(count, 5))) == count


def test_generation_is_lazy() -> None:
    first = list(islice(generate_events(10**12, 42), 3))
    assert [event.id for event in first] == [event.id for event in generate_events(3, 42)]


def test_negative_count_is_refused() -> None:
    with pytest.raises(ValueError, match="count must be 0 or more, got -1"):
        generate_events(-1, 42)


def test_batches_cover_every_event_in_order() -> None:
    batches = list(event_batches(7, 42, 3))
    assert [len(batch) for batch in batches] == [3, 3, 1]
    assert [e.id for batch in batches for e in batch] == [e.id for e in generate_events(7, 42)]
    with pytest.raises(ValueError, match="batch size must be 1 or more"):
        event_batches(7, 42, 0)


def test_columns_match_the_domain_tables() -> None:
    assert [(t.name, t.key, t.columns) for t in TABLES] == [
        (t.name, t.id_column, t.columns) for t in domain.TABLES
    ]


def test_events_are_aligned_increasing_and_have_gaps(events: list[Event]) -> None:
    assert all(e.pin.index == e.geo.ind == e.user.ind == e.id for e in events)
    ids = [e.id for e in events]
    assert ids[0] > 0
    assert all(later > earlier for earlier, later in pairwise(ids))
    assert ids[-1] - ids[0] + 1 > len(ids)


@pytest.mark.parametrize(
    ("column", "placeholder"),
    [
        ("title", NO_TITLE),
        ("description", NO_DESCRIPTION),
        ("poster_name", USER_INFO_ERROR),
        ("follower_count", USER_INFO_ERROR),
        ("tag_list", NO_TAGS),
        ("is_image_or_video", STORY_FORMAT),
        ("image_src", IMAGE_SRC_ERROR),
        ("description", None),
        ("title", None),
    ],
)
def test_placeholders_occur(events: list[Event], column: str, placeholder: str | None) -> None:
    hits = sum(getattr(e.pin, column) == placeholder for e in events)
    assert 0 < hits < len(events) // 10


def test_placeholder_strings_are_the_originals() -> None:
    assert NO_TAGS == "N,o, ,T,a,g,s, ,A,v,a,i,l,a,b,l,e"


def test_follower_counts_have_plain_k_and_m_forms(events: list[Event]) -> None:
    counts = {e.pin.follower_count for e in events}
    for pattern in (r"[1-9]\d{0,2}", r"[1-9]\d{0,2}k", r"[1-9]\d{0,2}M"):
        assert any(re.fullmatch(pattern, c or "") for c in counts), pattern


@pytest.mark.parametrize(
    ("followers", "text"),
    [(0, "0"), (532, "532"), (999, "999"), (8_000, "8k"), (999_999, "999k"), (1_500_000, "1M")],
)
def test_format_follower_count(followers: int, text: str) -> None:
    assert format_follower_count(followers) == text


def test_kinds_categories_and_save_locations(events: list[Event]) -> None:
    assert {e.pin.is_image_or_video for e in events} == {"image", "video", STORY_FORMAT}
    assert {e.pin.category for e in events} == set(CATEGORIES)
    assert all(e.pin.save_location == f"Local save in /data/{e.pin.category}" for e in events)
    assert {e.pin.downloaded for e in events} == {0, 1}


def test_some_coordinates_are_impossible(events: list[Event]) -> None:
    bad_latitudes = sum(abs(e.geo.latitude) > 90 for e in events)
    bad_longitudes = sum(abs(e.geo.longitude) > 180 for e in events)
    assert 0 < bad_latitudes < len(events) // 20
    assert 0 < bad_longitudes < len(events) // 20


def test_titles_carry_unicode_and_emoji(events: list[Event]) -> None:
    titles = [e.pin.title or "" for e in events]
    assert any(any(ord(c) > 0xFFFF for c in title) for title in titles)
    assert any(any(0x7F < ord(c) <= 0xFFFF for c in title) for title in titles)


def test_text_that_needs_escaping_occurs(events: list[Event]) -> None:
    descriptions = [e.pin.description or "" for e in events]
    for needle in ("'", '"', "\n", "\\"):
        assert any(needle in d for d in descriptions), repr(needle)


def test_user_and_geo_values_are_plausible(events: list[Event]) -> None:
    assert all(20 <= e.user.age <= 60 for e in events)
    assert all(e.user.date_joined < e.geo.timestamp for e in events)
    assert all(e.geo.timestamp.microsecond == 0 for e in events)
    assert any(e.geo.country is None for e in events)
    assert all(len(e.pin.unique_id) == 36 for e in events)
