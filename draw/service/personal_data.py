"""Personal data a roster must never bring into Fairdraw: resident ID numbers and phone numbers.

Roster exports of the provincial platforms carry columns that Fairdraw has no use for and must not
keep (domain notes §1.3, §5): an inspector's 身份证号码, an owner's 手机号码. Two checks find them:

* :func:`personal_header` recognizes a column by its name (身份证, 证件号码, 手机, 电话, phone, ...);
  such a column is *stripped*: dropped on reading, its values never parsed or stored.
* :func:`find_personal_data` recognizes a value: an 18-character 公民身份号码 whose check character
  and birth date are valid, or a phone number. Such a value in a column Fairdraw keeps makes the
  roster *refused*, with the row and column named, since only the department can repair it.

公民身份号码 (GB 11643-1999): a 6-digit address code, the birth date YYYYMMDD, a 3-digit sequence
number and a check character by ISO 7064 MOD 11-2. With a_i the i-th digit and W_i = 2^(18-i) mod 11
(7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2), the check value is
(12 - Σ a_i·W_i mod 11) mod 11, written X for 10:

>>> resident_id_check_char("11010519491231002")
'X'
>>> find_personal_data("联系人 11010519491231002X"), find_personal_data("138 0013 8000")
('a resident ID number (GB 11643)', 'a phone number')
>>> personal_header("法定代表人身份证号码"), personal_header("执法证号")
('resident ID numbers', None)

The 15-digit first-generation ID numbers have no check character and look like a 注册号, so they
are found by column name only.
"""

from __future__ import annotations

import datetime
import re
import unicodedata

# W_i = 2^(18-i) mod 11, i = 1..17 (ISO 7064 MOD 11-2 as GB 11643 applies it).
_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
_CHECK = "0123456789X"

# Candidates: 17 digits and a digit or X, not inside a longer run of letters or digits.
_RESIDENT_ID = re.compile(r"(?<![0-9A-Za-z])([0-9]{17}[0-9Xx])(?![0-9A-Za-z])")
# Mainland mobile numbers (1[3-9] and 9 digits, optionally after +86 / 86, digits grouped by
# spaces or hyphens) and landline numbers written with their area code (0xx-xxxxxxxx).
_MOBILE = re.compile(r"(?<![0-9])(?:\+?86[ -]?)?1[3-9][0-9](?:[ -]?[0-9]){8}(?![0-9])")
_LANDLINE = re.compile(r"(?<![0-9])\(?0[1-9][0-9]{1,2}\)?[ -][2-9][0-9]{6,7}(?![0-9])")

# Column names, compared after NFKC and case folding, spaces and underscores removed.
_ID_PARTS = ("身份证", "身份号码", "idcard", "identitycard", "residentid")
_ID_NAMES = frozenset(("证件号码", "证件号", "证照号码", "idno", "idnumber"))
_PHONE_PARTS = ("手机", "电话", "联系方式", "联系号码", "phone", "mobile", "telephone")
_PHONE_NAMES = frozenset(("tel", "手机号", "座机"))


def resident_id_check_char(body: str) -> str:
    """Return the GB 11643 check character for the first 17 digits ``body`` of a 公民身份号码.

    Raises ValueError unless ``body`` is 17 ASCII digits.
    """
    if len(body) != 17 or not body.isascii() or not body.isdigit():
        raise ValueError("resident id: want 17 ASCII digits")
    total = sum(int(digit) * weight for digit, weight in zip(body, _WEIGHTS, strict=True))
    return _CHECK[(12 - total % 11) % 11]


def is_resident_id(text: str) -> bool:
    """Return whether ``text`` is an 18-character 公民身份号码: 17 digits, a real birth date in
    1900-2099 at positions 7-14, and the right check character (x taken as X)."""
    if len(text) != 18 or not _RESIDENT_ID.fullmatch(text):
        return False
    try:
        born = datetime.date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        return False
    return 1900 <= born.year <= 2099 and resident_id_check_char(text[:17]) == text[17].upper()


def find_personal_data(text: str, *, phones: bool = True) -> str | None:
    """Return what kind of personal data ``text`` holds ("a resident ID number (GB 11643)" or
    "a phone number"), or None. ``phones=False`` looks for ID numbers only (for identifier
    columns, whose own digits could look like a phone number). Linear in the length of ``text``.
    """
    for match in _RESIDENT_ID.finditer(text):
        if is_resident_id(match.group(1)):
            return "a resident ID number (GB 11643)"
    if phones and (_MOBILE.search(text) or _LANDLINE.search(text)):
        return "a phone number"
    return None


def personal_header(header: str) -> str | None:
    """Return what personal data a column named ``header`` holds ("resident ID numbers" or
    "phone numbers"), or None if its name suggests neither."""
    name = _folded(header)
    if name in _ID_NAMES or any(part in name for part in _ID_PARTS):
        return "resident ID numbers"
    if name in _PHONE_NAMES or any(part in name for part in _PHONE_PARTS):
        return "phone numbers"
    return None


def _folded(header: str) -> str:
    text = unicodedata.normalize("NFKC", header).casefold()
    return "".join(ch for ch in text if not ch.isspace() and ch not in "_-")
