"""Detectors for personal data in text: regex candidates confirmed by checksums and range rules."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from cairn.errors import InvalidArgument

__all__ = [
    "DETECTORS",
    "PiiDetector",
    "PiiMatch",
    "find_pii",
    "get_detector",
    "iban_valid",
    "luhn_valid",
    "mask_text",
    "masked_example",
    "name_hint_kinds",
    "redact_text",
]


@dataclass(frozen=True)
class PiiDetector:
    """One kind of personal data: how to find candidates in text and how to confirm them.

    Attributes:
        kind: Stable name of the kind (`email`, `payment_card`, ...), used in reports and policies.
        pattern: Finds candidate spans in text.
        validate: Confirms one candidate (checksum, ranges, format rules).
        confidence: How likely a confirmed match really is this kind, 0..1.
        name_hints: Column-name words that suggest this kind.
        min_pass_rate: Share of a column's candidate rows that must be confirmed before the column is
            reported; guards kinds whose checksum random numbers pass by chance.
    """

    kind: str
    pattern: re.Pattern[str]
    validate: Callable[[str], bool]
    confidence: float
    name_hints: frozenset[str]
    min_pass_rate: float = 0.0

    @property
    def label(self) -> str:
        """The placeholder that replaces this kind in redacted text, e.g. `[EMAIL]`."""
        return f"[{self.kind.upper()}]"


@dataclass(frozen=True)
class PiiMatch:
    """A confirmed piece of personal data inside a text: its kind and `text[start:end]` span."""

    kind: str
    start: int
    end: int


_EMAIL = re.compile(
    r"(?<![\w.%+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![\w-]|\.[A-Za-z0-9])"
)


def _email_valid(text: str) -> bool:
    local, _, domain = text.partition("@")
    return len(text) <= 254 and ".." not in text and not local.endswith(".") and "." in domain


_PHONE = re.compile(
    r"(?<![\w+.-])(?:\+\d{6,15}|(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,5}\)[ .-]?)?\d{1,8}(?:[ .-]\d{1,8}){0,5})"
    r"(?![\w]|[.-]\d)"
)
_PHONE_SEPARATOR = re.compile(r"[ .\-()]")
_DATE_LIKE = re.compile(r"\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{4}")
_NON_DIGITS = re.compile(r"\D")


def _phone_valid(text: str) -> bool:
    digits = _NON_DIGITS.sub("", text)
    if not 7 <= len(digits) <= 15:
        return False
    if text.startswith("+"):
        return digits[0] != "0" and len(digits) >= 8
    # Without a leading +, only numbers written with separators count: a bare run of digits is an id.
    if not _PHONE_SEPARATOR.search(text) or _DATE_LIKE.search(text):
        return False
    if digits[0] == "0":
        return 9 <= len(digits) <= 11
    groups = [len(g) for g in re.findall(r"\d+", text)]
    if groups not in ([3, 3, 4], [1, 3, 3, 4]):
        return False
    nanp = digits[1:] if len(digits) == 11 and digits[0] == "1" else digits
    return len(nanp) == 10 and nanp[0] in "23456789" and nanp[3] in "23456789"


_CARD = re.compile(r"(?<![\w-])\d(?:[ -]?\d){12,18}(?![\w]|[ -]\d)")

# (lowest prefix, highest prefix, allowed lengths): the issuer ranges of the large card networks.
_CARD_IINS: tuple[tuple[int, int, frozenset[int]], ...] = (
    (4, 4, frozenset({13, 16, 19})),  # Visa
    (51, 55, frozenset({16})),  # Mastercard
    (2221, 2720, frozenset({16})),  # Mastercard 2-series
    (34, 34, frozenset({15})),  # American Express
    (37, 37, frozenset({15})),
    (6011, 6011, frozenset(range(16, 20))),  # Discover
    (644, 649, frozenset(range(16, 20))),
    (65, 65, frozenset(range(16, 20))),
    (300, 305, frozenset(range(14, 20))),  # Diners Club
    (36, 36, frozenset(range(14, 20))),
    (38, 39, frozenset(range(16, 20))),
    (3528, 3589, frozenset(range(16, 20))),  # JCB
    (62, 62, frozenset(range(16, 20))),  # UnionPay
    (50, 50, frozenset(range(13, 20))),  # Maestro
    (56, 58, frozenset(range(13, 20))),
)


def luhn_valid(digits: str) -> bool:
    """True when the string of digits passes the Luhn (mod 10) check."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _card_valid(text: str) -> bool:
    digits = _NON_DIGITS.sub("", text)
    known_issuer = any(
        lo <= int(digits[: len(str(lo))]) <= hi and len(digits) in lengths for lo, hi, lengths in _CARD_IINS
    )
    return known_issuer and luhn_valid(digits)


_IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?(?![A-Za-z0-9])")
_IBAN_LENGTHS = {
    **dict.fromkeys(["NO"], 15),
    **dict.fromkeys(["BE"], 16),
    **dict.fromkeys(["DK", "FI", "FO", "GL", "NL"], 18),
    **dict.fromkeys(["MK", "SI"], 19),
    **dict.fromkeys(["AT", "BA", "EE", "KZ", "LT", "LU", "XK"], 20),
    **dict.fromkeys(["CH", "HR", "LI", "LV"], 21),
    **dict.fromkeys(["BG", "BH", "CR", "DE", "GB", "GE", "IE", "ME", "RS"], 22),
    **dict.fromkeys(["AE", "GI", "IL"], 23),
    **dict.fromkeys(["AD", "CZ", "ES", "MD", "PK", "RO", "SA", "SE", "SK", "TN", "VG"], 24),
    **dict.fromkeys(["PT"], 25),
    **dict.fromkeys(["IS", "TR"], 26),
    **dict.fromkeys(["FR", "GR", "IT", "MC", "MR", "SM"], 27),
    **dict.fromkeys(["AL", "AZ", "CY", "DO", "GT", "HU", "LB", "PL"], 28),
    **dict.fromkeys(["BR", "EG", "PS", "QA", "UA"], 29),
    **dict.fromkeys(["JO", "KW", "MU"], 30),
    **dict.fromkeys(["MT"], 31),
}


def iban_valid(text: str) -> bool:
    """True when `text` (spaces allowed) is an IBAN of a known country and length with valid check digits."""
    compact = text.replace(" ", "")
    if _IBAN_LENGTHS.get(compact[:2]) != len(compact) or compact[2:4] in ("00", "01", "99"):
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1


_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w]|\.\d)")
_IPV6 = re.compile(
    r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{0,4}|(?<=:)\d{1,3}(?:\.\d{1,3}){3})(?![\w:]|\.\d)"
)


def _ipv4_valid(text: str) -> bool:
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        return False
    return True


def _ipv6_valid(text: str) -> bool:
    try:
        address = ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return address != ipaddress.IPv6Address("::")


_SSN = re.compile(r"(?<![\w-])\d{3}([- ])\d{2}\1\d{4}(?![\w]|-\d)")
_SSN_NEVER_ISSUED = frozenset({"078051120", "219099999", "123456789"})


def _ssn_valid(text: str) -> bool:
    digits = _NON_DIGITS.sub("", text)
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    if area in ("000", "666") or area.startswith("9") or group == "00" or serial == "0000":
        return False
    return digits not in _SSN_NEVER_ISSUED


_NINO = re.compile(r"(?<!\w)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D](?!\w)")
_NINO_BAD_PREFIXES = frozenset({"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"})


def _nino_valid(text: str) -> bool:
    return text[:2] not in _NINO_BAD_PREFIXES


_BSN = re.compile(r"(?<![\w.-])(?:\d{9}|\d{4}\.\d{2}\.\d{3})(?![\w]|[.-]\d)")


def _bsn_valid(text: str) -> bool:
    digits = _NON_DIGITS.sub("", text)
    if int(digits) == 0:
        return False
    weighted = sum(int(d) * w for d, w in zip(digits[:8], range(9, 1, -1), strict=True))
    return (weighted - int(digits[8])) % 11 == 0


_NIR = re.compile(
    r"(?<!\w)[12] ?\d{2} ?(?:0[1-9]|1[0-2]|[2-9]\d) ?(?:\d{2}|2[AB]) ?\d{3} ?\d{3} ?\d{2}(?!\w)"
)


def _nir_valid(text: str) -> bool:
    compact = text.replace(" ", "")
    corsica = {"2A": "19", "2B": "18"}.get(compact[5:7])
    body = compact[:5] + corsica + compact[7:13] if corsica else compact[:13]
    return 97 - int(body) % 97 == int(compact[13:])


def _hints(*words: str) -> frozenset[str]:
    return frozenset(words)


DETECTORS: tuple[PiiDetector, ...] = (
    PiiDetector("email", _EMAIL, _email_valid, 0.95, _hints("email", "e_mail", "mail")),
    PiiDetector("payment_card", _CARD, _card_valid, 0.95, _hints("card", "cc", "pan", "credit"), 0.5),
    PiiDetector("iban", _IBAN, iban_valid, 0.95, _hints("iban", "bank_account", "account")),
    PiiDetector("ipv4", _IPV4, _ipv4_valid, 0.85, _hints("ip", "ip_address", "ipaddr", "remote_addr")),
    PiiDetector("ipv6", _IPV6, _ipv6_valid, 0.85, _hints("ip", "ip_address", "ipaddr", "ipv6")),
    PiiDetector("us_ssn", _SSN, _ssn_valid, 0.8, _hints("ssn", "social_security")),
    PiiDetector("uk_nino", _NINO, _nino_valid, 0.85, _hints("nino", "national_insurance", "ni_number")),
    PiiDetector("fr_nir", _NIR, _nir_valid, 0.85, _hints("nir", "insee", "securite_sociale"), 0.5),
    PiiDetector("nl_bsn", _BSN, _bsn_valid, 0.5, _hints("bsn", "burgerservicenummer"), 0.5),
    PiiDetector("phone", _PHONE, _phone_valid, 0.7, _hints("phone", "tel", "telephone", "mobile", "cell")),
)
_BY_KIND = {detector.kind: detector for detector in DETECTORS}


def get_detector(kind: str) -> PiiDetector:
    """Return the detector of `kind`.

    Raises:
        InvalidArgument: when no detector has that kind; the message lists the known kinds.
    """
    if kind not in _BY_KIND:
        raise InvalidArgument(f"unknown PII kind {kind!r}; known kinds: {', '.join(sorted(_BY_KIND))}")
    return _BY_KIND[kind]


def find_pii(text: str, kinds: Iterable[str] | None = None) -> list[PiiMatch]:
    """Find confirmed personal data in `text`, leftmost first, without overlapping spans.

    Where two kinds claim overlapping text, the longer span wins.

    Args:
        text: Any string; a whole value or free text.
        kinds: Only look for these kinds (default: all).
    """
    detectors = DETECTORS if kinds is None else tuple(get_detector(kind) for kind in kinds)
    found = [
        PiiMatch(detector.kind, match.start(), match.end())
        for detector in detectors
        for match in detector.pattern.finditer(text)
        if detector.validate(match.group())
    ]
    found.sort(key=lambda m: (m.start, m.start - m.end))
    kept: list[PiiMatch] = []
    for match in found:
        if not kept or match.start >= kept[-1].end:
            kept.append(match)
    return kept


_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_NAME_SEPARATORS = re.compile(r"[^a-z0-9]+")


def name_hint_kinds(column: str) -> frozenset[str]:
    """Kinds that a column's name suggests (`customer_email` -> email, `clientIp` -> ipv4 and ipv6).

    Names are split into lower-case words; a hint matches a whole word or a run of whole words.
    """
    normalised = _NAME_SEPARATORS.sub("_", _CAMEL_BOUNDARY.sub("_", column).lower()).strip("_")
    words = set(normalised.split("_"))
    padded = f"_{normalised}_"
    return frozenset(
        detector.kind
        for detector in DETECTORS
        if any(hint in words or ("_" in hint and f"_{hint}_" in padded) for hint in detector.name_hints)
    )


def masked_example(kind: str, text: str) -> str:
    """A masked form of one match, safe to show in a report: `j***@e***.com`, `****-****-****-**11`."""
    if kind == "email":
        local, _, domain = text.partition("@")
        name, _, suffix = domain.rpartition(".")
        return f"{local[:1]}***@{name[:1]}***.{suffix}"
    visible = 2
    positions = [i for i, char in enumerate(text) if char.isalnum()]
    hidden = set(positions[:-visible]) if len(positions) > visible else set(positions)
    return "".join("*" if i in hidden else char for i, char in enumerate(text))


def mask_text(text: str, keep_last: int = 4) -> str:
    """Hide a value but keep its shape: `****-****-****-1111`; a lone email keeps its domain.

    Letters and digits become `*` except the last `keep_last`; separators stay.
    """
    emails = find_pii(text, ["email"])
    if len(emails) == 1 and text[emails[0].start : emails[0].end] == text.strip():
        local, _, domain = text.strip().rpartition("@")
        return f"{local[:1]}***@{domain}"
    positions = [i for i, char in enumerate(text) if char.isalnum()]
    hidden = set(positions[: max(0, len(positions) - keep_last)])
    return "".join("*" if i in hidden else char for i, char in enumerate(text))


def redact_text(text: str, kinds: Iterable[str] | None = None) -> str:
    """Replace each piece of personal data in `text` by its label: `mail [EMAIL] or call [PHONE]`."""
    pieces = []
    end = 0
    for match in find_pii(text, kinds):
        pieces += [text[end : match.start], _BY_KIND[match.kind].label]
        end = match.end
    return "".join(pieces) + text[end:]
