"""Deterministic seed data for the three source tables of the Pinterest pipeline.

One post event is the three rows at the same position, sharing one id:
``pinterest_data.index = geolocation_data.ind = user_data.ind``. :func:`generate_events`
yields events lazily, so any count can be streamed without holding it in memory.

The rows copy the texture of the original data set, dirt included: the scraper's placeholder
strings, follower counts with ``k``/``M`` suffixes, coordinates outside the globe, NULLs, unicode
and emoji, and ids that start at an offset and have gaps.

The same seed gives byte-identical rows for the same Faker release (pinned in
``requirements.txt``): Faker's word and name lists change between releases.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from itertools import islice
from typing import Final

from faker import Faker

DEFAULT_EVENTS: Final = 11_000
DEFAULT_SEED: Final = 42

NO_TITLE: Final = "No Title Data Available"
NO_DESCRIPTION: Final = "No description available Story format"
USER_INFO_ERROR: Final = "User Info Error"
NO_TAGS: Final = ",".join("No Tags Available")
STORY_FORMAT: Final = "multi-video(story page format)"
IMAGE_SRC_ERROR: Final = "Image src error."

TOPICS: Final[dict[str, tuple[str, ...]]] = {
    "art": (
        "Watercolor Painting", "Abstract Art", "Pencil Drawing", "Acrylic Pour",
        "Canvas Art", "Portrait Sketch", "Art Journal", "Street Art",
    ),
    "beauty": (
        "Makeup Looks", "Skin Care Routine", "Nail Art", "Eyeliner Tutorial",
        "Hair Styles", "Lipstick Shades", "Face Masks", "Brow Shaping",
    ),
    "christmas": (
        "Christmas Tree Decor", "Advent Calendar", "Christmas Cookies", "Gift Wrapping",
        "Holiday Wreath", "Stocking Stuffers", "Elf On The Shelf", "Christmas Crafts",
    ),
    "diy-and-crafts": (
        "Summer Crafts For Kids", "Mason Jar Crafts", "Paper Flowers", "Macrame Wall Hanging",
        "Upcycled Furniture", "Felt Crafts", "Popsicle Stick Crafts", "Resin Art",
    ),
    "education": (
        "Classroom Management", "Math Worksheets", "Study Tips", "Reading Comprehension",
        "Science Experiments", "Homeschool Schedule", "Teacher Organization", "Phonics Games",
    ),
    "event-planning": (
        "Wedding Planning", "Birthday Party Ideas", "Baby Shower Games", "Party Decorations",
        "Event Checklist", "Bridal Shower", "Table Settings", "Graduation Party",
    ),
    "finance": (
        "Budget Planner", "Saving Money Tips", "Debt Payoff", "Side Hustle Ideas",
        "Investing For Beginners", "Money Challenge", "Frugal Living", "Sinking Funds",
    ),
    "home-decor": (
        "Living Room Decor", "Farmhouse Style", "Bedroom Inspiration", "Boho Decor",
        "Gallery Wall", "Kitchen Makeover", "Small Space Living", "Entryway Ideas",
    ),
    "mens-fashion": (
        "Mens Streetwear", "Casual Outfits", "Suit Styles", "Mens Hairstyles",
        "Sneaker Collection", "Smart Casual", "Mens Accessories", "Layering Looks",
    ),
    "quotes": (
        "Inspirational Quotes", "Motivational Quotes", "Love Quotes", "Life Quotes",
        "Funny Quotes", "Positive Affirmations", "Friendship Quotes", "Self Care Quotes",
    ),
    "tattoos": (
        "Small Tattoos", "Sleeve Tattoo", "Minimalist Tattoo", "Floral Tattoo",
        "Tattoo Designs", "Fine Line Tattoo", "Script Tattoo", "Matching Tattoos",
    ),
    "travel": (
        "Travel Destinations", "Road Trip", "Packing List", "Beach Vacation",
        "Travel Hacks", "Backpacking Europe", "Bucket List", "Hidden Gems",
    ),
    "vehicles": (
        "Classic Cars", "Sports Cars", "Off Road Trucks", "Motorcycle Gear",
        "Camper Van Conversion", "Muscle Cars", "Car Interior", "Electric Cars",
    ),
}  # fmt: skip
CATEGORIES: Final = tuple(TOPICS)

_ADJECTIVES: Final = (
    "Easy", "Simple", "Cute", "Beautiful", "Amazing", "Creative", "Modern", "Cheap",
    "Stunning", "Best", "Quick", "Unique", "DIY", "Cozy", "Trendy", "Aesthetic",
)  # fmt: skip
_AUDIENCES: Final = (
    "for Beginners", "for Kids", "on a Budget", "for Small Spaces", "for Her", "for Him",
    "to Try This Year", "You'll Love", "Everyone's Talking About",
)  # fmt: skip
_EMOJI: Final = (
    "✨", "🎄", "❤️", "🔥", "🌸", "✂️", "💄", "🚗", "✈️", "📚", "💰", "🏡", "👔", "💬", "😍",
    "🙌🏽", "👨‍👩‍👧",
)  # fmt: skip
_UNICODE_WORDS: Final = (
    "Café", "Décor", "Noël", "Fiancée", "Crème Brûlée", "Señorita", "Zürich", "São Paulo",
    "naïve", "Ελλάδα", "日本", "Москва", "“Must-Have”", "Über Cute",
)  # fmt: skip
_OPENERS: Final = (
    "Here's how to get started with {t}.",
    "You'll love these {t} ideas!",
    "The best {t} inspiration, all in one place.",
    'Our "{t}" guide is finally here.',
    "{T} made simple \u2013 step by step.",
    "Looking for {t}? Save this pin for later.",
)
_SHRUG: Final = " ¯\\_(ツ)_/¯"

_POOL_SIZE: Final = 800
_INDEX_START_MAX: Final = 200
_SECONDS_PER_YEAR: Final = 365 * 24 * 3600
_JOINED_FROM: Final = datetime(2015, 1, 1)
_SEEN_FROM: Final = datetime(2018, 1, 1)


@dataclass(frozen=True, slots=True)
class PinRow:
    """One row of ``pinterest_data``: a pin as the scraper saw it."""

    index: int
    unique_id: str
    title: str | None
    description: str | None
    poster_name: str | None
    follower_count: str | None
    tag_list: str | None
    is_image_or_video: str
    image_src: str
    downloaded: int
    save_location: str
    category: str


@dataclass(frozen=True, slots=True)
class GeoRow:
    """One row of ``geolocation_data``: where and when the pin was posted."""

    ind: int
    timestamp: datetime
    latitude: float
    longitude: float
    country: str | None


@dataclass(frozen=True, slots=True)
class UserRow:
    """One row of ``user_data``: who posted the pin."""

    ind: int
    first_name: str
    last_name: str
    age: int
    date_joined: datetime


@dataclass(frozen=True, slots=True)
class Event:
    """One post event: the three rows that share one id."""

    pin: PinRow
    geo: GeoRow
    user: UserRow

    @property
    def id(self) -> int:
        """Return the event id, equal to ``pin.index``, ``geo.ind`` and ``user.ind``."""
        return self.pin.index


SqlValue = int | float | str | datetime | None


@dataclass(frozen=True, slots=True)
class Table:
    """A source table: its name, key column and columns, and which part of an event it holds.

    :param name: the table's name.
    :param key: the primary-key column, the event id.
    :param columns: every column, in table order.
    :param part: the attribute of :class:`Event` that holds this table's row.
    """

    name: str
    key: str
    columns: tuple[str, ...]
    part: str

    def values(self, event: Event) -> tuple[SqlValue, ...]:
        """Return this table's row of ``event`` as a tuple in column order."""
        row = getattr(event, self.part)
        return tuple(getattr(row, column) for column in self.columns)


def _columns(row_type: type) -> tuple[str, ...]:
    return tuple(field.name for field in fields(row_type))


TABLES: Final = (
    Table("pinterest_data", "index", _columns(PinRow), "pin"),
    Table("geolocation_data", "ind", _columns(GeoRow), "geo"),
    Table("user_data", "ind", _columns(UserRow), "user"),
)


def generate_events(count: int = DEFAULT_EVENTS, seed: int = DEFAULT_SEED) -> Iterator[Event]:
    """Yield ``count`` post events, the same ones for the same ``seed``.

    Ids increase, start at a seed-dependent offset and have occasional gaps. Events are made
    one at a time, so memory does not grow with ``count``.

    :param count: how many events to yield; 0 yields none.
    :param seed: the seed of every random choice, Faker's included.
    :raises ValueError: if ``count`` is negative.
    """
    if count < 0:
        raise ValueError(f"count must be 0 or more, got {count}")
    return _EventFactory(seed).events(count)


def event_batches(count: int, seed: int, size: int) -> Iterator[list[Event]]:
    """Yield the events of :func:`generate_events` in lists of at most ``size``.

    :raises ValueError: if ``count`` is negative or ``size`` is not positive.
    """
    if size < 1:
        raise ValueError(f"batch size must be 1 or more, got {size}")
    events = generate_events(count, seed)
    return iter(lambda: list(islice(events, size)), [])


def format_follower_count(followers: int) -> str:
    """Write a follower count the way Pinterest shows it: ``532``, ``8k``, ``1M``.

    :raises ValueError: if ``followers`` is negative.
    """
    if followers < 0:
        raise ValueError(f"followers must be 0 or more, got {followers}")
    if followers < 1_000:
        return str(followers)
    if followers < 1_000_000:
        return f"{followers // 1_000}k"
    return f"{followers // 1_000_000}M"


class _EventFactory:
    """Makes events from one seed; every random draw comes from ``self.rng`` or ``self.fake``."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.fake = Faker("en_US")
        self.fake.seed_instance(self.rng.getrandbits(64))
        # Faker's name providers take ~50-120 us a call: draw pools once, then pick from them.
        self.first_names = [self.fake.first_name() for _ in range(_POOL_SIZE)]
        self.last_names = [self.fake.last_name() for _ in range(_POOL_SIZE)]
        self.posters = [self._poster() for _ in range(_POOL_SIZE)]

    def events(self, count: int) -> Iterator[Event]:
        rng = self.rng
        index = rng.randrange(1, _INDEX_START_MAX)
        for _ in range(count):
            yield Event(self._pin(index), self._geo(index), self._user(index))
            index += 1 + (rng.randint(1, 5) if rng.random() < 0.02 else 0)

    def _poster(self) -> tuple[str, str]:
        rng, fake = self.rng, self.fake
        first, last = rng.choice(self.first_names), rng.choice(self.last_names)
        category = rng.choice(CATEGORIES).replace("-", " ").title()
        name = rng.choice(
            (
                f"{first} {last}",
                f"{first} | {category} Blog",
                fake.company(),
                f"The {rng.choice(_ADJECTIVES)} {category}",
                f"{first}'s {category} Corner",
            )
        )
        followers = int(10 ** rng.uniform(0.5, 6.8))
        return name, format_follower_count(followers)

    def _pin(self, index: int) -> PinRow:
        rng = self.rng
        category = rng.choice(CATEGORIES)
        topic = rng.choice(TOPICS[category])
        poster_name: str | None
        poster_name, follower_count = rng.choice(self.posters)
        title: str | None = self._title(topic, poster_name)
        description: str | None = self._description(topic)
        tag_list = self._tags(category, topic)
        kind = "video" if rng.random() < 0.12 else "image"
        digest = f"{rng.getrandbits(128):032x}"
        image_src = f"https://i.pinimg.com/originals/{digest[:2]}/{digest[2:4]}/{digest[4:6]}/"
        image_src += f"{digest}.jpg"
        downloaded = 0 if rng.random() < 0.01 else 1
        fault = rng.random()
        if fault < 0.02:  # the scrape failed outright: nothing but placeholders
            title, description, tag_list = NO_TITLE, NO_DESCRIPTION, NO_TAGS
            poster_name = follower_count = USER_INFO_ERROR
            kind, image_src, downloaded = STORY_FORMAT, IMAGE_SRC_ERROR, 0
        elif fault < 0.05:  # a story pin: several videos, no description, no image
            description, kind = NO_DESCRIPTION, STORY_FORMAT
            image_src, downloaded = IMAGE_SRC_ERROR, 0
        elif fault < 0.06:
            poster_name = follower_count = USER_INFO_ERROR
        elif fault < 0.07:
            title = NO_TITLE
        elif fault < 0.08:
            tag_list = NO_TAGS
        elif fault < 0.085:
            image_src, downloaded = IMAGE_SRC_ERROR, 0
        elif fault < 0.09:
            description = None
        elif fault < 0.093:
            title = None
        return PinRow(
            index=index,
            unique_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            title=title,
            description=description,
            poster_name=poster_name,
            follower_count=follower_count,
            tag_list=tag_list,
            is_image_or_video=kind,
            image_src=image_src,
            downloaded=downloaded,
            save_location=f"Local save in /data/{category}",
            category=category,
        )

    def _title(self, topic: str, poster: str) -> str:
        rng = self.rng
        style = rng.randrange(5)
        if style == 0:
            title = f"{rng.randint(5, 60)} {rng.choice(_ADJECTIVES)} {topic} Ideas"
        elif style == 1:
            title = f"{rng.choice(_ADJECTIVES)} {topic} {rng.choice(_AUDIENCES)}"
        elif style == 2:
            title = f"{topic} - {poster}"
        elif style == 3:
            title = f"{self.fake.sentence(nb_words=5).rstrip('.')} | {topic}"
        else:
            title = f"Our Favourite {topic} of {rng.randint(2015, 2022)}"
        decoration = rng.random()
        if decoration < 0.06:
            title = f"{title} {rng.choice(_EMOJI)}"
        elif decoration < 0.08:
            title = f"{rng.choice(_EMOJI)} {title}"
        elif decoration < 0.11:
            title = f"{title} · {rng.choice(_UNICODE_WORDS)}"
        return title

    def _description(self, topic: str) -> str:
        rng, fake = self.rng, self.fake
        opener = rng.choice(_OPENERS).format(t=topic.lower(), T=topic)
        body = fake.paragraph(nb_sentences=rng.randint(1, 4))
        shape = rng.random()
        if shape < 0.03:
            return f"{opener}\n\n{body}\n{fake.paragraph(nb_sentences=2)}"
        if shape < 0.035:
            return f"{opener} {body}{_SHRUG}"
        return f"{opener} {body}"

    def _tags(self, category: str, topic: str) -> str:
        rng = self.rng
        topics = TOPICS[category]
        tags = [topic, f"{rng.choice(_ADJECTIVES)} {topic}"]
        tags += rng.sample(topics, rng.randint(1, 5))
        tags += [f"{self.fake.word().title()} {rng.choice(topics).split()[-1]}"]
        return ",".join(dict.fromkeys(tags))

    def _geo(self, ind: int) -> GeoRow:
        rng = self.rng
        latitude, longitude = rng.uniform(-90.0, 90.0), rng.uniform(-180.0, 180.0)
        impossible = rng.random()
        if impossible < 0.01:
            latitude = rng.choice((-1, 1)) * rng.uniform(90.001, 180.0)
        elif impossible < 0.02:
            longitude = rng.choice((-1, 1)) * rng.uniform(180.001, 360.0)
        country = None if rng.random() < 0.003 else self.fake.country()
        return GeoRow(
            ind=ind,
            timestamp=_SEEN_FROM + timedelta(seconds=rng.randrange(5 * _SECONDS_PER_YEAR)),
            latitude=float(f"{latitude:.6g}"),
            longitude=float(f"{longitude:.6g}"),
            country=country,
        )

    def _user(self, ind: int) -> UserRow:
        rng = self.rng
        return UserRow(
            ind=ind,
            first_name=rng.choice(self.first_names),
            last_name=rng.choice(self.last_names),
            age=rng.randint(20, 60),
            date_joined=_JOINED_FROM + timedelta(seconds=rng.randrange(3 * _SECONDS_PER_YEAR)),
        )
