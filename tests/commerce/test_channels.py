import pytest

from modelmint.commerce import PLATFORM, CommerceError, NotFound, Scope
from modelmint.commerce.accounts import Channels
from modelmint.commerce.pricing import PriceBooks
from modelmint.store import Store


@pytest.fixture
def channels(store: Store) -> Channels:
    return Channels(store)


def test_platform_creates_channels_and_names_are_unique_and_valid(channels: Channels) -> None:
    c = channels.create(PLATFORM, "north")
    assert (c.name, c.wholesale_book, c.effective_wholesale_book) == ("north", None, "wholesale")
    with pytest.raises(CommerceError, match="already exists"):
        channels.create(PLATFORM, "north")
    with pytest.raises(CommerceError, match="invalid channel name"):
        channels.create(PLATFORM, "no spaces")
    assert [x.name for x in channels.list(PLATFORM)] == ["north"]


def test_a_channel_cannot_create_channels(channels: Channels) -> None:
    north = channels.create(PLATFORM, "north")
    with pytest.raises(NotFound):
        channels.create(Scope(channel_id=north.id), "south")
    assert [x.name for x in channels.list(PLATFORM)] == ["north"]


def test_a_channel_sees_only_itself(channels: Channels) -> None:
    north = channels.create(PLATFORM, "north")
    south = channels.create(PLATFORM, "south")
    as_north = Scope(channel_id=north.id)
    assert [c.name for c in channels.list(as_north)] == ["north"]
    assert channels.get(as_north, "north").id == north.id
    with pytest.raises(NotFound, match="no channel 'south'"):
        channels.get(as_north, "south")
    with pytest.raises(NotFound):
        channels.get_by_id(as_north, south.id)
    assert channels.get_by_id(PLATFORM, south.id).name == "south"
    # the same answer for a channel that exists elsewhere and one that does not
    with pytest.raises(NotFound, match="no channel 'ghost'"):
        channels.get(as_north, "ghost")


def test_wholesale_book_is_a_platform_book_set_by_the_platform(
    channels: Channels, store: Store
) -> None:
    north = channels.create(PLATFORM, "north")
    books = PriceBooks(store)
    books.create_book(PLATFORM, "partner-gold")
    books.create_book(Scope(channel_id=north.id), "own-book")
    c = channels.set_wholesale_book(PLATFORM, "north", "partner-gold")
    assert c.effective_wholesale_book == "partner-gold"
    assert channels.get(PLATFORM, "north").wholesale_book == "partner-gold"
    # a channel's own book cannot be what it buys at
    with pytest.raises(NotFound, match="no platform price book 'own-book'"):
        channels.set_wholesale_book(PLATFORM, "north", "own-book")
    # a channel cannot choose its own wholesale price
    with pytest.raises(NotFound):
        channels.set_wholesale_book(Scope(channel_id=north.id), "north", "wholesale")
    assert channels.get(PLATFORM, "north").wholesale_book == "partner-gold"
    assert channels.set_wholesale_book(PLATFORM, "north", None).wholesale_book is None


def test_scope_for_acts_in_the_channel_with_the_callers_actor(channels: Channels) -> None:
    north = channels.create(PLATFORM, "north")
    scope = channels.scope_for("north", "cli:alice")
    assert scope == Scope(channel_id=north.id, actor="cli:alice")
    with pytest.raises(NotFound):
        channels.scope_for("ghost", "cli:alice")
