"""Tests for PII scrubbing with typed placeholders (modelmint.data.pii)."""

from __future__ import annotations

from collections import Counter

import pytest

from modelmint.data.pii import PII_TYPES, ScrubResult, luhn_valid, scrub_pii, valid_cn_id
from modelmint.samples import generate_sample_corpus

_ID_WEIGHTS = [2 ** (17 - i) % 11 for i in range(17)]


def cn_id(first17: str) -> str:
    """Complete a resident ID with its ISO 7064 MOD 11-2 check character."""
    return (
        first17
        + "10X98765432"[sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]
    )


def luhn(prefix: str) -> str:
    """Complete a card number with its Luhn check digit."""
    return next(prefix + d for d in "0123456789" if luhn_valid(prefix + d))


def test_sample_corpus_recall_and_precision() -> None:
    records, truth = generate_sample_corpus(6000, seed=0)
    assert truth.pii
    totals: Counter[str] = Counter()
    for r in records:
        text = "\n".join(m["content"] for m in r["messages"])
        expected = text
        planted = truth.pii.get(r["id"], [])
        for s in planted:  # every planted string, and nothing else, becomes its placeholder
            expected = expected.replace(s, "<EMAIL>" if "@" in s else "<PHONE>")
        result = scrub_pii(text)
        assert result.text == expected, r["id"]
        if not planted:
            assert result.counts == {}
        totals.update(result.counts)
    planted_all = [s for v in truth.pii.values() for s in v]
    assert totals["EMAIL"] == sum("@" in s for s in planted_all)
    assert totals["PHONE"] == sum("@" not in s for s in planted_all)


def test_chinese_context() -> None:
    result = scrub_pii("我的手机号是13812345678，邮箱zhang@example.com。")
    assert result == ScrubResult("我的手机号是<PHONE>，邮箱<EMAIL>。", {"EMAIL": 1, "PHONE": 1})


@pytest.mark.parametrize(
    "phone",
    [
        "13812345678",
        "138 1234 5678",
        "138-1234-5678",
        "+86 138-1234-5678",
        "+8613812345678",
        "0086 13812345678",
        "010-12345678",
        "+1 (555) 123-4567",
        "(555) 123-4567",
        "555-123-4567",
        "+1 555 123 4567",
        "+44 20 7946 0958",
        "+33 1 23 45 67 89",
    ],
)
def test_phone_formats(phone: str) -> None:
    assert scrub_pii(f"Call {phone}, thanks.") == ScrubResult("Call <PHONE>, thanks.", {"PHONE": 1})
    assert scrub_pii(f"电话{phone}。").text == "电话<PHONE>。"


@pytest.mark.parametrize(
    "email", ["zhang@example.com", "john.smith+shop@mail.example.co.uk", "13812345678@qq.com"]
)
def test_emails(email: str) -> None:
    assert scrub_pii(f"邮箱是{email}，谢谢").text == "邮箱是<EMAIL>，谢谢"


def test_cn_resident_id() -> None:
    good = cn_id("11010519491231002")
    assert valid_cn_id(good) and good.endswith("X")
    assert scrub_pii(f"身份证号{good}。") == ScrubResult("身份证号<CN_ID>。", {"CN_ID": 1})
    assert scrub_pii(f"ID {good.lower()}").text == "ID <CN_ID>"
    other = cn_id("44030419900307123")
    assert scrub_pii(other).text == "<CN_ID>"
    wrong_check = good[:-1] + "5"
    assert not valid_cn_id(wrong_check)
    assert scrub_pii(f"身份证号{wrong_check}。").counts == {}
    no_such_day = cn_id("11010519490230002")  # right check character, February 30th
    assert not valid_cn_id(no_such_day)
    assert scrub_pii(no_such_day).text == no_such_day


def test_bank_cards() -> None:
    visa = luhn("411111111111111")
    unionpay19 = luhn("622202123456789012")
    for card in (visa, unionpay19, "4111 1111 1111 1111", "4111-1111-1111-1111"):
        assert scrub_pii(f"卡号{card}，").text == "卡号<BANK_CARD>，", card
    assert scrub_pii("Amex 3782 822463 10005.").text == "Amex <BANK_CARD>."
    grouped19 = " ".join(unionpay19[i : i + 4] for i in range(0, 19, 4))  # 4-4-4-4-3
    assert scrub_pii(grouped19) == ScrubResult("<BANK_CARD>", {"BANK_CARD": 1})
    bad = visa[:-1] + str((int(visa[-1]) + 1) % 10)
    assert not luhn_valid(bad)
    assert scrub_pii(f"card {bad}").counts == {}


def test_luhn_valid_courier_numbers_are_not_cards() -> None:
    # 14-digit courier numbers: no network issues 14 digits starting with 4 or 7
    for number in (luhn("7312986540123"), luhn("4302882518288")):
        assert luhn_valid(number)
        assert scrub_pii(f"运单号{number}").counts == {}


@pytest.mark.parametrize(
    "ip",
    ["192.168.1.100", "10.0.0.1", "8.8.8.8", "2001:db8::8a2e:370:7334", "fe80::1ff:fe23:4567:890a"],
)
def test_ip_addresses(ip: str) -> None:
    assert scrub_pii(f"登录IP：{ip}。") == ScrubResult("登录IP：<IP>。", {"IP": 1})
    assert scrub_pii(f"from {ip}, then").text == "from <IP>, then"


@pytest.mark.parametrize(
    "text",
    [
        "订单MM20260613-79313已发货",
        "顺丰SF1234567890，运单号SF1234567890123",
        "UPS 1ZD7CZ4M6397584388",
        "京东JD0012345678901，JDVA12345678901",
        "USPS 9400111899223197428490",
        "FedEx 123456789012",
        "EMS EM123456789CN",
        "价格$1,299.99，¥2499，1499元",
        "2026-06-13 14:30:00, Jun 13, 2026年6月13日, 10:30",
        "256.1.1.1 and 1.2.3.4.5 and version 1.2.3",
        "mac 00:1A:2B:3C:4D:5E, ::1",
        "税号91110108MA01ABCDEF, tax id 12-3456789, 邮编100086",
        "1到3个工作日，积分1620，优惠券MINT25A满199减20",
    ],
)
def test_leaves_codes_prices_dates_and_times_alone(text: str) -> None:
    assert scrub_pii(text) == ScrubResult(text, {})


def test_counts_use_the_declared_types() -> None:
    text = f"a@example.com b@example.org 13812345678 {cn_id('11010519491231002')} 8.8.8.8 "
    text += luhn("411111111111111")
    result = scrub_pii(text)
    assert set(result.counts) == set(PII_TYPES)
    assert result.counts["EMAIL"] == 2
    assert result.text == "<EMAIL> <EMAIL> <PHONE> <CN_ID> <IP> <BANK_CARD>"
