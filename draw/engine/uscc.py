"""Identifiers of inspection objects: GB 32100, GB 11714, GS15 (GB/T 17710) and ``kind:local`` ids.

An object id is exactly one of (docs/draw-spec.md §3):

- an 18-character 统一社会信用代码 (GB 32100-2015): registration authority (1-9, A, N, Y), category
  digit, 6-digit 行政区划码, the 9-character 组织机构代码 (GB 11714-1997, its own check character
  included) and the mod-31 check character;
- a 15-digit legacy 注册号 (GS15-2006), whose last digit is the ISO 7064 / GB/T 17710 MOD 11,10 check;
- ``kind:local`` for objects that are not market entities (products, projects, behaviours): ``kind``
  is 1-32 characters of ``[a-z0-9-]`` starting with a letter (not ``uscc`` or ``regno``, which are
  written bare), ``local`` is 1-128 printable characters without leading or trailing white space.

>>> uscc_check_char("91350100M000100Y4")
'3'
>>> object_id_kind("91350100M000100Y43"), object_id_kind("110108000000016"), object_id_kind("product:GB-1")
('uscc', 'regno', 'product')
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import repeat
from operator import mod, mul

# GB 32100-2015 Table: code characters and their values 0..30 (no I, O, S, V, Z).
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUE = {ch: i for i, ch in enumerate(USCC_ALPHABET)}
# W_i = 3^(i-1) mod 31, i = 1..17.
_USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
_AUTHORITIES = frozenset("123456789ANY")
_USCC_SHAPE = re.compile(r"[1-9ANY][1-9][0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}")
# Each code character, as the base-34 digit of its value (for is_valid_uscc).
_TO_BASE34 = bytes.maketrans(USCC_ALPHABET.encode(), b"0123456789abcdefghijklmnopqrstu")

# GB 11714-1997: body characters 0-9 and A-Z (A = 10 .. Z = 35), weights 3,7,9,10,5,8,4,2.
_ORG_VALUE = {ch: i for i, ch in enumerate("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")}
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)

_ORG_CHECK = "0123456789X"  # indexed by (11 - sum mod 11) mod 11
# For all_valid_uscc: lines of USCC shape, and the check characters indexed by the sums mod 31, 11.
_USCC_LINES = re.compile(f"(?:{_USCC_SHAPE.pattern}\n)*")
_USCC_CHECK_OF = "".join(USCC_ALPHABET[-r % 31] for r in range(31))
_ORG_CHECK_OF = "".join(_ORG_CHECK[-2 * r % 11] for r in range(11))
_DIGITS = frozenset("0123456789")
_KIND = re.compile(r"[a-z][a-z0-9-]{0,31}")


def uscc_check_char(body: str) -> str:
    """Return the GB 32100 check character for the first 17 characters ``body``.

    C18 = (31 - sum(C_i * W_i) mod 31) mod 31, mapped back through the code alphabet.
    Raises ValueError if ``body`` is not 17 characters of the code alphabet.
    """
    if len(body) != 17:
        raise ValueError(f"uscc: body length {len(body)}, want 17")
    try:
        total = sum(map(mul, map(_USCC_VALUE.__getitem__, body), _USCC_WEIGHTS))
    except KeyError as e:
        raise ValueError(f"uscc: character {e.args[0]!r} not in the code alphabet") from None
    return USCC_ALPHABET[(31 - total % 31) % 31]


def is_valid_uscc(code: str) -> bool:
    """Return whether ``code`` is a valid 统一社会信用代码 (the rules of ``check_uscc``), in one pass.

    Both weighted sums are read as numbers in a base congruent to the weights' ratio, so ``int()``
    does the arithmetic: W_i = 3^(i-1) and 34 ≡ 3 (mod 31), so Σ C_i·W_i ≡ int(C_17..C_1, base 34);
    the GB 11714 weights 3,7,9,10,5,8,4,2 are 2^8..2^1 mod 11 and 35 ≡ 2 (mod 11), so their sum is
    2·int(body, base 35), the body's characters (0-9, A-Y) being their own base-35 digits.
    """
    if _USCC_SHAPE.fullmatch(code) is None:
        return False
    digits = code.encode("ascii").translate(_TO_BASE34)
    if USCC_ALPHABET[-int(digits[16::-1], 34) % 31] != code[17]:
        return False
    return _ORG_CHECK[-2 * int(code[8:16], 35) % 11] == code[16]


def all_valid_uscc(codes: Sequence[str]) -> bool:
    """Return whether every one of ``codes`` (texts) ``is_valid_uscc``, a column at a time.

    For a batch of a few thousand ids: the same arithmetic as ``is_valid_uscc``, done by one regular
    expression over the codes joined by line feeds (so each line is 19 characters, and the check
    characters are every 19th) and by ``map`` over the codes. Linear; True for no codes.
    """
    if not codes:
        return True
    joined = "\n".join(codes)
    text = joined + "\n"
    if _USCC_LINES.fullmatch(text) is None:
        return False
    digits = joined.encode("ascii").translate(_TO_BASE34).split(b"\n")
    sums = map(int, map(bytes.__getitem__, digits, repeat(slice(16, None, -1))), repeat(34))
    if "".join(map(_USCC_CHECK_OF.__getitem__, map(mod, sums, repeat(31)))) != text[17::19]:
        return False
    bodies = map(int, map(str.__getitem__, codes, repeat(slice(8, 16))), repeat(35))
    return "".join(map(_ORG_CHECK_OF.__getitem__, map(mod, bodies, repeat(11)))) == text[16::19]


def check_uscc(code: str) -> None:
    """Check a 统一社会信用代码: length, alphabet, structure, embedded 组织机构代码, check character.

    Cost is one pass over 18 characters. Raises ValueError naming the first rule ``code`` breaks.
    """
    if is_valid_uscc(code):
        return
    if len(code) != 18:
        raise ValueError(f"uscc: length {len(code)}, want 18")
    if code[0] not in _AUTHORITIES:
        raise ValueError(f"uscc: registration authority {code[0]!r} not one of 1-9, A, N, Y")
    if not (code[1] in _DIGITS and code[1] != "0" and _DIGITS.issuperset(code[2:8])):
        raise ValueError("uscc: positions 2-8 must be a category digit 1-9 and a 6-digit area code")
    want = uscc_check_char(code[:17])
    check_org_code(code[8:17])
    if code[17] != want:
        raise ValueError(f"uscc: check character {code[17]!r}, want {want!r}")
    raise AssertionError(f"uscc: is_valid_uscc and check_uscc disagree on {code!r}")


def org_code_check_char(body: str) -> str:
    """Return the GB 11714 check character for the 8-character 组织机构代码 body.

    C9 = 11 - sum(C_i * W_i) mod 11, written 'X' for 10 and '0' for 11.
    Raises ValueError if ``body`` is not 8 characters of 0-9 and A-Z.
    """
    if len(body) != 8:
        raise ValueError(f"org code: body length {len(body)}, want 8")
    try:
        total = sum(map(mul, map(_ORG_VALUE.__getitem__, body), _ORG_WEIGHTS))
    except KeyError as e:
        raise ValueError(f"org code: character {e.args[0]!r} not in 0-9, A-Z") from None
    return _ORG_CHECK[-total % 11]


def check_org_code(code: str) -> None:
    """Check a 9-character 组织机构代码 (body and check character, no hyphen).

    Raises ValueError if the length, the alphabet or the check character is wrong.
    """
    if len(code) != 9:
        raise ValueError(f"org code: length {len(code)}, want 9")
    want = org_code_check_char(code[:8])
    if code[8] != want:
        raise ValueError(f"org code: check character {code[8]!r}, want {want!r}")


def mod_11_10_check_digit(digits: str) -> str:
    """Return the ISO 7064 MOD 11,10 (GB/T 17710) check digit for the ASCII digits ``digits``.

    P_1 = 10; S_j = (P_j + a_j) mod 10, read as 10 when 0; P_{j+1} = 2 S_j mod 11; the check digit
    c makes (P_n + c) mod 10 = 1. Raises ValueError unless ``digits`` is one or more ASCII digits.
    """
    if not digits or not _DIGITS.issuperset(digits):
        raise ValueError("mod 11,10: want one or more ASCII digits")
    p = 10
    for ch in digits:
        s = (p + ord(ch) - 48) % 10 or 10
        p = 2 * s % 11
    return str((1 - p) % 10)


def regno_check_digit(body: str) -> str:
    """Return the check digit of a 14-digit 注册号 body (GS15-2006: ISO 7064 MOD 11,10).

    Raises ValueError unless ``body`` is 14 ASCII digits.
    """
    if len(body) != 14:
        raise ValueError(f"regno: body length {len(body)}, want 14")
    return mod_11_10_check_digit(body)


def check_regno(code: str) -> None:
    """Check a 15-digit legacy 工商注册号: ASCII digits and the MOD 11,10 check digit.

    Raises ValueError naming the rule that fails.
    """
    if len(code) != 15:
        raise ValueError(f"regno: length {len(code)}, want 15")
    if not _DIGITS.issuperset(code):
        raise ValueError("regno: want 15 ASCII digits")
    want = regno_check_digit(code[:14])
    if code[14] != want:
        raise ValueError(f"regno: check digit {code[14]!r}, want {want!r}")


def _check_local(local: str) -> None:
    if not 1 <= len(local) <= 128:
        raise ValueError(f"object id: local part length {len(local)}, want 1..128")
    if not local.isprintable() or local != local.strip():
        raise ValueError("object id: local part must be printable, without surrounding white space")


def object_id_kind(object_id: str) -> str:
    """Return the kind of ``object_id``: 'uscc', 'regno' or the ``kind`` of a ``kind:local`` id.

    The id is checked fully (check characters included). Cost is linear in its length.
    Raises ValueError saying what is wrong.
    """
    kind, sep, local = object_id.partition(":")
    if sep:
        if not _KIND.fullmatch(kind):
            raise ValueError(f"object id: kind {kind!r} must match [a-z][a-z0-9-]{{0,31}}")
        if kind in ("uscc", "regno"):
            raise ValueError(f"object id: write a {kind} without the {kind!r} prefix")
        _check_local(local)
        return kind
    if len(object_id) == 15 and _DIGITS.issuperset(object_id):
        check_regno(object_id)
        return "regno"
    check_uscc(object_id)
    return "uscc"


def check_object_id(object_id: str) -> None:
    """Check ``object_id`` as ``object_id_kind`` does, with a fast path for valid USCCs."""
    if not is_valid_uscc(object_id):
        object_id_kind(object_id)
