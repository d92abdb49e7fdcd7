"""Chinese numerals as laws number their articles: 第十条, 第二十一条, 第一百零二条.

:func:`int_to_chinese` writes the standard form (1 to 99,999,999); :func:`chinese_to_int` reads
it back and also accepts the usual variants (两 for 二, 〇 for 零, a leading 一十). Anything else —
ambiguous colloquial forms such as 一百二 included — is a :class:`ValueError`, so a misread article
number is reported rather than guessed. :func:`article_number` reads ``第X条`` labels with Chinese
or Arabic digits.
"""

from __future__ import annotations

import re
import unicodedata

_DIGITS = "零一二三四五六七八九"
_DIGIT_VALUES = {char: value for value, char in enumerate(_DIGITS)} | {"两": 2, "〇": 0}
_UNITS = {"十": 10, "百": 100, "千": 1000}
_SECTION_UNITS = ((1000, "千"), (100, "百"), (10, "十"), (1, ""))
MAX = 99_999_999

ARTICLE = re.compile(r"第\s*([0-9]+|[零〇一二两三四五六七八九十百千万]+)\s*条")


def int_to_chinese(number: int) -> str:
    """The standard numeral: 10 → 十, 21 → 二十一, 102 → 一百零二, 110 → 一百一十, 0 → 零."""
    if isinstance(number, bool) or not isinstance(number, int) or not 0 <= number <= MAX:
        raise ValueError(f"cannot write {number!r} in Chinese numerals (0 to {MAX})")
    if number == 0:
        return "零"
    high, low = divmod(number, 10_000)
    text = ""
    if high:
        text = _section(high) + "万"
        if low:
            text += ("零" if low < 1000 else "") + _section(low)
    else:
        text = _section(low)
    return text[1:] if text.startswith("一十") else text


def _section(number: int) -> str:
    """1 to 9999 with 千/百/十, one 零 for each run of inner zeros, no trailing zeros."""
    parts: list[str] = []
    zero = False
    for value, unit in _SECTION_UNITS:
        digit = number // value % 10
        if digit == 0:
            zero = bool(parts)
        else:
            if zero:
                parts.append("零")
                zero = False
            parts.append(_DIGITS[digit] + unit)
    return "".join(parts)


def chinese_to_int(text: str) -> int:
    """The value of a Chinese numeral in standard form (see the module docstring).

    Raises :class:`ValueError` for anything that is not a well-formed numeral.
    """
    numeral = text.strip().replace("两", "二").replace("〇", "零")
    value = _value(numeral)
    if numeral.startswith("十"):
        numeral = "一" + numeral
    canonical = int_to_chinese(value)
    if canonical.startswith("十"):
        canonical = "一" + canonical
    if numeral != canonical:
        raise ValueError(f"not a Chinese numeral in standard form: {text!r}")
    return value


def _value(numeral: str) -> int:
    """A lenient reading; :func:`chinese_to_int` then insists on the standard form."""
    if not numeral or len(numeral) > 20:
        raise ValueError(f"not a Chinese numeral: {numeral!r}")
    total = section = 0
    digit: int | None = None
    for char in numeral:
        if char == "零":
            continue
        if char in _DIGIT_VALUES:
            if digit is not None:
                raise ValueError(f"not a Chinese numeral: {numeral!r}")
            digit = _DIGIT_VALUES[char]
        elif char in _UNITS:
            section += (1 if digit is None else digit) * _UNITS[char]
            digit = None
        elif char == "万":
            section += digit or 0
            total, section, digit = total + section * 10_000, 0, None
        else:
            raise ValueError(f"not a Chinese numeral: {numeral!r}")
    value = total + section + (digit or 0)
    if value > MAX:
        raise ValueError(f"numeral too large: {numeral!r}")
    return value


def article_number(label: str) -> int | None:
    """The number in an article label — ``第二十一条``, ``第21条``, ``第２１条`` — or None.

    The whole of ``label`` (trimmed) must be the label.
    """
    match = ARTICLE.fullmatch(unicodedata.normalize("NFKC", label).strip())
    if match is None:
        return None
    digits = match.group(1)
    if digits.isascii():
        return int(digits)
    try:
        return chinese_to_int(digits)
    except ValueError:
        return None
