"""Price books: which price a request gets (label, name, free), who pays what (a channel's
tenant pays the channel's retail book, the channel the platform's wholesale book), the
rounding of a request's cost, and text to money."""

import pytest

from modelmint.commerce import (
    PLATFORM,
    CommerceError,
    NotFound,
    Scope,
    format_money,
    parse_money,
    request_cost,
)
from modelmint.commerce.accounts import Channels, Tenants
from modelmint.commerce.pricing import PriceBooks, Quote
from modelmint.store import Store


@pytest.fixture
def books(store: Store) -> PriceBooks:
    return PriceBooks(store)


def test_label_beats_name_and_a_missing_price_is_free(books: PriceBooks, store: Store) -> None:
    t = Tenants(store).create("acme")
    assert books.quote(t.id, "demo", 1) == Quote()  # no book at all: free
    books.create_book(PLATFORM, "standard")
    books.set_price(PLATFORM, "standard", "demo", 500_000, 1_500_000)
    books.set_price(PLATFORM, "standard", "demo:2", 100_000, 200_000)
    assert books.quote(t.id, "demo", 1) == Quote(500_000, 1_500_000)
    assert books.quote(t.id, "demo", 2) == Quote(100_000, 200_000)
    assert books.quote(t.id, "other", 1) == Quote()
    assert books.quote(t.id, "demo", 1).wholesale(1000, 1000) == 0  # direct: no wholesale


def test_a_plan_and_a_channel_wholesale_book_change_the_quote(
    books: PriceBooks, store: Store
) -> None:
    channels, tenants = Channels(store), Tenants(store)
    north = channels.scope_for(channels.create(PLATFORM, "north").name, "cli:root")
    for book, (i, o) in {"standard": (10, 20), "pro": (5, 10), "wholesale": (3, 6)}.items():
        books.create_book(PLATFORM, book)
        books.set_price(PLATFORM, book, "demo", i, o)
    books.create_book(PLATFORM, "partner-gold")
    books.set_price(PLATFORM, "partner-gold", "demo", 2, 4)
    books.create_book(north, "standard")
    books.set_price(north, "standard", "demo", 12, 24)
    books.create_book(north, "vip")
    books.set_price(north, "vip", "demo", 11, 22)

    direct = tenants.create("direct")
    pro = tenants.create("pro-user", plan="pro")
    n1 = tenants.create("n1", scope=north)
    n2 = tenants.create("n2", scope=north, plan="vip")
    assert books.quote(direct.id, "demo", 1) == Quote(10, 20)
    assert books.quote(pro.id, "demo", 1) == Quote(5, 10)
    # a channel's tenant: the channel's retail book, the platform's wholesale book
    assert books.quote(n1.id, "demo", 1) == Quote(12, 24, 3, 6, north.channel_id)
    assert books.quote(n2.id, "demo", 1) == Quote(11, 22, 3, 6, north.channel_id)
    channels.set_wholesale_book(PLATFORM, "north", "partner-gold")
    assert books.quote(n1.id, "demo", 1) == Quote(12, 24, 2, 4, north.channel_id)
    # changing the plan changes the next quote
    Tenants(store).update(PLATFORM, "pro-user", plan=None)
    assert books.quote(pro.id, "demo", 1) == Quote(10, 20)
    with pytest.raises(NotFound):
        books.quote(10_000, "demo", 1)


def test_channel_tenant_without_channel_books_is_free_retail_but_pays_wholesale(
    books: PriceBooks, store: Store
) -> None:
    north = Channels(store).scope_for(Channels(store).create(PLATFORM, "north").name, "x")
    books.create_book(PLATFORM, "wholesale")
    books.set_price(PLATFORM, "wholesale", "demo", 1_000_000, 2_000_000)
    t = Tenants(store).create("n1", scope=north)
    q = books.quote(t.id, "demo", 1)
    assert (q.retail(10, 10), q.wholesale(1_000_000, 1_000_000)) == (0, 3_000_000)


def test_a_request_cost_is_rounded_up_once_per_request() -> None:
    q = Quote(retail_input=1, retail_output=333_333)
    assert q.retail(1, 0) == 1  # a millionth of a micro-unit still costs one micro-unit
    assert q.retail(0, 3) == 1  # 999_999 / 1e6, rounded up once, not per token
    assert q.retail(0, 4) == 2
    assert q.retail(0, 0) == 0
    assert request_cost(1_000_000, 1_000_000, 500_000, 1_500_000) == 2_000_000
    assert request_cost(3, 0, 1_000_000, 0) == 3
    assert Quote(7, 7, 1, 1, channel_id=1).wholesale(0, 1) == 1


def test_money_parsing_is_exact_and_errors_say_what_to_write() -> None:
    assert parse_money("1.25") == 1_250_000
    assert parse_money(" $2 ") == 2_000_000
    assert parse_money("0.000001") == 1
    assert parse_money(3) == 3_000_000
    with pytest.raises(CommerceError, match=r"'abc' is not a number; write e\.g\. 12\.50"):
        parse_money("abc", "price")
    with pytest.raises(CommerceError, match="more than 6 decimals"):
        parse_money("0.0000001")
    assert format_money(1_250_000) == "1.25"
    assert format_money(1) == "0.000001"
    assert format_money(2_000_000) == "2.00"


def test_price_book_rules(books: PriceBooks) -> None:
    books.create_book(PLATFORM, "standard")
    with pytest.raises(CommerceError, match="already exists"):
        books.create_book(PLATFORM, "standard")
    with pytest.raises(CommerceError, match="invalid price book name"):
        books.create_book(PLATFORM, "bad name")
    with pytest.raises(CommerceError, match="cannot be negative"):
        books.set_price(PLATFORM, "standard", "demo", -1, 0)
    with pytest.raises(CommerceError, match="invalid model"):
        books.set_price(PLATFORM, "standard", "demo:x", 1, 1)
    with pytest.raises(NotFound, match="mint prices create-book gold"):
        books.set_price(PLATFORM, "gold", "demo", 1, 1)
    books.set_price(PLATFORM, "standard", "demo", 1, 2)
    books.set_price(PLATFORM, "standard", "demo", 3, 4)  # a change, not a second row
    [row] = books.prices(PLATFORM, "standard")
    assert (row.model, row.input_micros_per_mtok, row.output_micros_per_mtok) == ("demo", 3, 4)
    assert books.list_books(PLATFORM)[0].models == 1
    assert books.ensure_book(PLATFORM, "standard").name == "standard"


def test_a_channel_sees_and_prices_only_its_own_books(books: PriceBooks, store: Store) -> None:
    channels = Channels(store)
    north = channels.scope_for(channels.create(PLATFORM, "north").name, "n")
    south = channels.scope_for(channels.create(PLATFORM, "south").name, "s")
    books.create_book(PLATFORM, "wholesale")
    books.create_book(south, "standard")
    books.create_book(north, "standard")  # same name, a different book
    assert [b.name for b in books.list_books(north)] == ["standard"]
    assert {b.channel_id for b in books.list_books(north)} == {north.channel_id}
    with pytest.raises(NotFound):
        books.get_book(north, "wholesale")
    with pytest.raises(NotFound):
        books.prices(north, "wholesale")
    with pytest.raises(NotFound):
        books.set_price(north, "wholesale", "demo", 0, 0)
    books.set_price(north, "standard", "demo", 9, 9)
    assert books.prices(south, "standard") == []
    assert books.prices(PLATFORM, "wholesale") == []
    assert len(books.list_books(PLATFORM)) == 3
    assert isinstance(north, Scope)
