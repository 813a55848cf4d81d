"""Money is integer micro-units (1 USD = 1,000,000). Text in and out goes through here,
through Decimal, so no amount ever passes through a float."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from modelmint.commerce.errors import CommerceError

MICROS = 1_000_000
MTOK = 1_000_000  # prices are per million tokens


def parse_money(text: str | int | Decimal, what: str = "amount") -> int:
    """``"1.25"`` -> 1_250_000. More than six decimals is an error, not a rounding."""
    try:
        value = Decimal(str(text).strip().lstrip("$"))
    except InvalidOperation:
        raise CommerceError(f"{what} {text!r} is not a number; write e.g. 12.50") from None
    micros = value * MICROS
    if micros != micros.to_integral_value():
        raise CommerceError(f"{what} {text!r} has more than 6 decimals (micro-units)")
    return int(micros)


def format_money(micros: int, places: int = 2) -> str:
    """1_250_000 -> ``"1.25"``; shows more places when they are not zero (prices)."""
    value = Decimal(micros) / MICROS
    shown = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return f"{value.normalize():f}" if shown != value else f"{shown:f}"


def token_cost(tokens: int, price_per_mtok: int) -> int:
    """The exact product in micro-units times a million (kept exact until the final
    rounding of a whole request)."""
    return tokens * price_per_mtok


def request_cost(
    prompt_tokens: int, completion_tokens: int, input_per_mtok: int, output_per_mtok: int
) -> int:
    """A request's price in micro-units, rounded up once per request (never per token)."""
    exact = token_cost(prompt_tokens, input_per_mtok) + token_cost(
        completion_tokens, output_per_mtok
    )
    return -(-exact // MTOK)
