"""PII scrubbing: replace e-mail addresses, phone numbers, mainland-China resident ID numbers,
bank card numbers and IP addresses with typed placeholders such as ``<EMAIL>``.

Compiled regular expressions find candidates (e-mails first, then everything made of digits in
one pass), and code checks what a pattern cannot (check digits, dates, card lengths). Precision
matters as much as recall here: a wrong placeholder destroys an order or tracking number that a
model trained on customer service has to learn to read.

* EMAIL: ``local@domain.tld``.
* PHONE: mainland-China mobiles (``1[3-9]`` + 9 digits, optionally ``+86``/``0086``, grouped
  3-4-4 by spaces or dashes), mainland landlines with their area code (``010-12345678``), North
  American numbers written with separators (``+1 (555) 123-4567``, ``555-123-4567``), and other
  international numbers starting with ``+`` (E.164: 8-15 digits). A bare run of 10 digits is
  left alone: it is as likely an order number.
* CN_ID: 18-character resident ID (6-digit region, ``YYYYMMDD`` birth date, 3-digit sequence,
  check character) whose date exists (1900-2099) and whose ISO 7064 MOD 11-2 check character is
  right. A number shaped like an ID whose check fails is left alone, not tried as a card.
* BANK_CARD: 13-19 digits, contiguous or grouped by spaces or dashes, that pass the Luhn check
  and start the way a card network's numbers do (2-6) with a length that network issues (Visa
  13/16/19, ...). The network rule is what keeps 14-digit courier numbers, one in ten of which
  passes Luhn by chance, from being taken for cards.
* IP: IPv4 with valid octets; IPv6 as the standard library parses it, with at least two groups.

Digits and letters next to a candidate disqualify it, so nothing is found inside longer codes
(``SF1234567890123``, ``1ZD7CZ4M6397584388``, ``MM20260613-79313``).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from datetime import date

PII_TYPES = ("EMAIL", "PHONE", "CN_ID", "BANK_CARD", "IP")

_B = r"(?<![0-9A-Za-z])"  # ASCII boundaries: a Han character right before a number is fine
_E = r"(?![0-9A-Za-z])"
_EMAIL = (
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}(?![A-Za-z0-9-])"
)
_CN_ID = (
    rf"{_B}[1-9]\d{{5}}(?:19|20)\d{{2}}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{{3}}[\dXx]{_E}"
)
_CARD = (
    rf"{_B}(?:\d{{13,19}}"
    r"|\d{4}(?P<s1>[ -])\d{4}(?P=s1)\d{4}(?P=s1)\d{4}(?:(?P=s1)\d{1,3})?"  # 4-4-4-4(-3)
    rf"|\d{{4}}(?P<s2>[ -])\d{{6}}(?P=s2)\d{{4,5}}){_E}"  # Amex 4-6-5, Diners 4-6-4
)
_PHONE = (
    rf"(?:{_B}(?:\+86[ -]?|0086[ -]?)?1[3-9]\d(?:[ -]?\d{{4}}){{2}}"  # China mobile
    rf"|{_B}0[1-9]\d{{1,2}}[ -]\d{{7,8}}"  # China landline with area code
    r"|(?<![0-9A-Za-z+])(?:\+1[ .-]?)?"  # North America, with separators
    r"(?:\([2-9]\d{2}\)[ .-]?|[2-9]\d{2}[ .-])\d{3}[ .-]\d{4}"
    r"|(?<![0-9A-Za-z+])\+[1-9](?:[ .-]?\d){7,14})"  # E.164
    rf"{_E}"
)
_IPV4_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_IPV4 = rf"(?<![0-9A-Za-z.]){_IPV4_OCTET}(?:\.{_IPV4_OCTET}){{3}}(?![0-9A-Za-z]|\.\d)"
_IPV6 = (
    r"(?<![0-9A-Za-z:])(?:[0-9A-Fa-f]{0,4}:){2,7}"
    r"(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f]{0,4})(?![0-9A-Za-z:]|\.\d)"
)
_EMAIL_RE = re.compile(_EMAIL)
# The rest in one pass; at any position the alternatives are tried in this order. The leading
# lookahead lets the regex engine skip quickly over everything that cannot start a match (most
# of a Chinese text), which triples the speed.
_NUMBERS_RE = re.compile(
    r"(?=[0-9A-Fa-f+(:])(?:"
    + "|".join(
        f"(?P<{name}>{pattern})"
        for name, pattern in (
            ("cn_id", _CN_ID),
            ("card", _CARD),
            ("phone", _PHONE),
            ("ipv4", _IPV4),
            ("ipv6", _IPV6),
        )
    )
    + ")"
)
_MAY_HAVE_NUMBERS = re.compile(r"[\d:]")
_NON_DIGITS = re.compile(r"\D")

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)  # 2**(17-i) mod 11
_ID_CHECK = "10X98765432"  # check character for (weighted sum mod 11)
# Card lengths by first digit: 2 Mastercard; 3 Amex (15), Diners (14), JCB (16-19);
# 4 Visa; 5 Mastercard and Maestro; 6 UnionPay, Discover, Maestro.
_CARD_LENGTHS = {
    "2": {16},
    "3": {14, 15, 16, 17, 18, 19},
    "4": {13, 16, 19},
    "5": {16, 17, 18, 19},
    "6": {16, 17, 18, 19},
}


@dataclass(frozen=True)
class ScrubResult:
    text: str
    counts: dict[str, int]  # placeholder type -> how many were replaced


def valid_cn_id(number: str) -> bool:
    """An 18-character mainland-China resident ID with a real birth date and check character."""
    if len(number) != 18 or not number[:17].isdigit():
        return False
    try:
        date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    total = sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == number[17].upper()


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _valid_card(candidate: str) -> bool:
    digits = _NON_DIGITS.sub("", candidate)
    return len(digits) in _CARD_LENGTHS.get(digits[0], ()) and luhn_valid(digits)


def _valid_ipv6(candidate: str) -> bool:
    if sum(1 for group in candidate.split(":") if group) < 2:
        return False  # "::", "::1", "a::" are too short to be anyone's address
    try:
        ipaddress.IPv6Address(candidate)
    except ValueError:  # times like 10:30:00 and MAC addresses land here
        return False
    return True


def _kind(m: re.Match[str]) -> str | None:
    """The placeholder type for a candidate match, or None to leave it as it is."""
    group, s = m.lastgroup, m.group()
    if group == "cn_id":
        return "CN_ID" if valid_cn_id(s) else None
    if group == "card":
        return "BANK_CARD" if _valid_card(s) else None
    if group == "phone":
        return "PHONE"
    if group == "ipv4":
        return "IP"
    return "IP" if _valid_ipv6(s) else None


def scrub_pii(text: str) -> ScrubResult:
    """Replace every PII item in ``text`` with ``<TYPE>``; count the replacements by type."""
    counts: dict[str, int] = {}
    if "@" in text:  # first, so that a mobile number used as a mailbox name stays an e-mail
        text, n = _EMAIL_RE.subn("<EMAIL>", text)
        if n:
            counts["EMAIL"] = n

    def replace(m: re.Match[str]) -> str:
        kind = _kind(m)
        if kind is None:
            return m.group()
        counts[kind] = counts.get(kind, 0) + 1
        return f"<{kind}>"

    if _MAY_HAVE_NUMBERS.search(text):
        text = _NUMBERS_RE.sub(replace, text)
    return ScrubResult(text, counts)
