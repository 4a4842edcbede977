"""The PII detectors: each kind found when valid, ignored when its checksum or ranges say no."""

from __future__ import annotations

import pytest

from cairn.data.pii_patterns import (
    DETECTORS,
    PiiMatch,
    find_pii,
    get_detector,
    iban_valid,
    luhn_valid,
    mask_text,
    masked_example,
    name_hint_kinds,
    redact_text,
)
from cairn.errors import InvalidArgument

VALID = [
    ("email", "jane.doe@example.org"),
    ("email", "x+tag@mail.example.co.uk"),
    ("phone", "+1 202-555-0143"),
    ("phone", "(202) 555-0143"),
    ("phone", "+44 20 7946 0958"),
    ("phone", "020 7946 0958"),
    ("phone", "06-12345678"),
    ("phone", "+31612345678"),
    ("payment_card", "4111 1111 1111 1111"),
    ("payment_card", "5500-0000-0000-0004"),
    ("payment_card", "378282246310005"),
    ("payment_card", "6011111111111117"),
    ("payment_card", "3530111333300000"),
    ("payment_card", "4222222222222"),
    ("iban", "DE89 3704 0044 0532 0130 00"),
    ("iban", "GB82WEST12345698765432"),
    ("iban", "NL91ABNA0417164300"),
    ("iban", "FR1420041010050500013M02606"),
    ("ipv4", "192.168.1.20"),
    ("ipv4", "8.8.8.8"),
    ("ipv6", "2001:db8::ff00:42:8329"),
    ("ipv6", "::1"),
    ("ipv6", "fe80::1ff:fe23:4567:890a"),
    ("ipv6", "::ffff:192.168.1.1"),
    ("us_ssn", "536-22-1234"),
    ("us_ssn", "536 22 1234"),
    ("uk_nino", "AB 12 34 56 C"),
    ("uk_nino", "JG103759A"),
    ("nl_bsn", "111222333"),
    ("nl_bsn", "1234.56.782"),
    ("fr_nir", "1 84 12 76 451 089 46"),
    ("fr_nir", "184127645108946"),
    ("fr_nir", "2 90 05 2A 123 456 29"),
]

INVALID = [
    ("email", "jane@@example.org"),
    ("email", "jane@localhost"),
    ("email", "a..b@example.com"),
    ("phone", "2025550143"),  # a bare run of digits is an id, not a phone
    ("phone", "12345678"),
    ("phone", "1234567890123"),
    ("phone", "123-4567"),
    ("phone", "2024-01-15"),
    ("phone", "2024-01-15 10:30"),
    ("phone", "10.20.30.40"),
    ("phone", "+0123456789"),
    ("payment_card", "4111 1111 1111 1112"),  # Luhn fails
    ("payment_card", "9999999999999904"),  # Luhn passes, no card network uses the prefix
    ("payment_card", "411111111111"),  # 12 digits
    ("payment_card", "41111111111111111111"),  # 20 digits
    ("payment_card", "3782822463100050"),  # an Amex prefix with 16 digits
    ("iban", "DE88 3704 0044 0532 0130 00"),  # wrong check digits
    ("iban", "DE89 3704 0044 0532 0130 0"),  # one character short for Germany
    ("iban", "XX89370400440532013000"),  # no such country
    ("ipv4", "256.1.1.1"),
    ("ipv4", "1.2.3"),
    ("ipv4", "01.02.03.04"),
    ("ipv6", "12:30:45"),
    ("ipv6", "::"),
    ("ipv6", "2001:db8:::1"),
    ("us_ssn", "000-12-3456"),
    ("us_ssn", "666-12-3456"),
    ("us_ssn", "912-12-3456"),
    ("us_ssn", "536-00-1234"),
    ("us_ssn", "536-22-0000"),
    ("us_ssn", "536-22 1234"),  # mixed separators
    ("us_ssn", "536221234"),  # no separators
    ("us_ssn", "078-05-1120"),  # the number printed on wallet inserts, never valid
    ("uk_nino", "QQ123456C"),  # Q never starts a NINO
    ("uk_nino", "GB123456A"),  # a reserved prefix
    ("uk_nino", "AB123456E"),  # the suffix is A-D
    ("uk_nino", "DA123456A"),
    ("nl_bsn", "111222334"),  # 11-check fails
    ("nl_bsn", "000000000"),
    ("nl_bsn", "1112223330"),
    ("fr_nir", "184127645108947"),  # wrong key
    ("fr_nir", "3 84 12 76 451 089 46"),  # sex digit is 1 or 2
]


@pytest.mark.parametrize(("kind", "text"), VALID)
def test_a_valid_value_is_found_alone_and_inside_text(kind: str, text: str) -> None:
    assert find_pii(text) == [PiiMatch(kind, 0, len(text))]
    sentence = f"contact: {text}, thanks"
    assert find_pii(sentence) == [PiiMatch(kind, 9, 9 + len(text))]


@pytest.mark.parametrize(("kind", "text"), INVALID)
def test_an_invalid_value_is_not_reported_as_its_kind(kind: str, text: str) -> None:
    assert kind not in {match.kind for match in find_pii(text)}


def test_plain_integer_ids_are_not_pii() -> None:
    for text in ["1", "42", "1234567", "20250143", "202555014312", "9876543210987"]:
        assert find_pii(text) == []


def test_luhn_and_iban_checks() -> None:
    assert luhn_valid("79927398713")
    assert not luhn_valid("79927398710")
    assert iban_valid("NL91 ABNA 0417 1643 00")
    assert not iban_valid("NL91 ABNA 0417 1643 01")
    assert not iban_valid("NL00ABNA0417164300")


def test_several_kinds_in_one_text_come_back_in_order() -> None:
    text = "Mail bob@example.com or call 020 7946 0958 from 10.0.0.7"
    assert [(m.kind, text[m.start : m.end]) for m in find_pii(text)] == [
        ("email", "bob@example.com"),
        ("phone", "020 7946 0958"),
        ("ipv4", "10.0.0.7"),
    ]
    assert [m.kind for m in find_pii(text, ["ipv4"])] == ["ipv4"]


def test_unknown_kind_is_an_invalid_argument_naming_it() -> None:
    with pytest.raises(InvalidArgument, match="'passport'"):
        find_pii("x", ["passport"])
    assert get_detector("iban").label == "[IBAN]"
    assert len({detector.kind for detector in DETECTORS}) == len(DETECTORS)


def test_column_name_hints() -> None:
    assert name_hint_kinds("customer_email") == {"email"}
    assert name_hint_kinds("customerEmail") == {"email"}
    assert name_hint_kinds("client_ip") == {"ipv4", "ipv6"}
    assert name_hint_kinds("Phone Number") == {"phone"}
    assert name_hint_kinds("SSN") == {"us_ssn"}
    assert name_hint_kinds("credit_card_no") == {"payment_card"}
    assert name_hint_kinds("national_insurance_no") == {"uk_nino"}
    assert name_hint_kinds("zip") == frozenset()
    assert name_hint_kinds("hotel") == frozenset()
    assert name_hint_kinds("description") == frozenset()


def test_masks_hide_the_value() -> None:
    assert masked_example("email", "john.doe@example.com") == "j***@e***.com"
    assert masked_example("payment_card", "4111-1111-1111-1111") == "****-****-****-**11"
    assert mask_text("4111-1111-1111-1111") == "****-****-****-1111"
    assert mask_text("john.doe@example.com") == "j***@example.com"
    assert mask_text("AB123", keep_last=0) == "*****"
    assert mask_text("ab", keep_last=4) == "ab"


def test_redact_text_replaces_spans_by_labels() -> None:
    text = "Write to ann@example.com, card 4111 1111 1111 1111."
    assert redact_text(text) == "Write to [EMAIL], card [PAYMENT_CARD]."
    assert redact_text(text, ["email"]) == "Write to [EMAIL], card 4111 1111 1111 1111."
    assert redact_text("nothing here") == "nothing here"
