"""Chinese numerals as article numbers: writing them, reading them, refusing misreadable ones."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from question_bank.numerals import MAX, article_number, chinese_to_int, int_to_chinese

STANDARD = [
    (1, "一"),
    (9, "九"),
    (10, "十"),
    (11, "十一"),
    (19, "十九"),
    (20, "二十"),
    (21, "二十一"),
    (79, "七十九"),
    (100, "一百"),
    (101, "一百零一"),
    (102, "一百零二"),
    (110, "一百一十"),
    (111, "一百一十一"),
    (120, "一百二十"),
    (285, "二百八十五"),
    (1000, "一千"),
    (1001, "一千零一"),
    (1010, "一千零一十"),
    (1100, "一千一百"),
    (2024, "二千零二十四"),
    (9999, "九千九百九十九"),
    (10000, "一万"),
    (10010, "一万零一十"),
    (100000, "十万"),
    (100010, "十万零一十"),
    (101000, "十万一千"),
    (10001000, "一千万一千"),
    (MAX, "九千九百九十九万九千九百九十九"),
]


@pytest.mark.parametrize(("number", "numeral"), STANDARD)
def test_standard_forms(number: int, numeral: str) -> None:
    assert int_to_chinese(number) == numeral
    assert chinese_to_int(numeral) == number


def test_every_article_number_up_to_9999_round_trips() -> None:
    written = {int_to_chinese(n) for n in range(1, 10000)}
    assert len(written) == 9999
    assert all(chinese_to_int(int_to_chinese(n)) == n for n in range(1, 10000))


@given(st.integers(min_value=0, max_value=MAX))
def test_round_trip_over_the_whole_range(number: int) -> None:
    assert chinese_to_int(int_to_chinese(number)) == number


@pytest.mark.parametrize(
    ("numeral", "number"),
    [
        ("一十", 10),
        ("一十二", 12),
        ("两百", 200),
        ("二百", 200),
        ("一千〇一", 1001),
        (" 二十一 ", 21),
        ("零", 0),
    ],
)
def test_common_variants_are_read(numeral: str, number: int) -> None:
    assert chinese_to_int(numeral) == number


@pytest.mark.parametrize(
    "numeral",
    [
        "",
        "一百二",
        "二二",
        "十十",
        "百",
        "万",
        "一万零",
        "一〇二",
        "二十一条",
        "21",
        "abc",
        "一百零零二",
        "一" * 30,
    ],
)
def test_malformed_or_ambiguous_numerals_are_refused(numeral: str) -> None:
    with pytest.raises(ValueError, match="numeral"):
        chinese_to_int(numeral)


@pytest.mark.parametrize("number", [-1, MAX + 1, True])
def test_out_of_range_numbers_are_refused(number: int) -> None:
    with pytest.raises(ValueError, match="Chinese numerals"):
        int_to_chinese(number)


@pytest.mark.parametrize(
    ("label", "number"),
    [
        ("第二十一条", 21),
        ("第一百零二条", 102),
        ("第十条", 10),
        ("第21条", 21),
        ("第２１条", 21),
        (" 第 七十九 条 ", 79),
        ("第二十一条之一", None),
        ("第一百二条", None),
        ("二十一", None),
        ("第条", None),
    ],
)
def test_article_labels(label: str, number: int | None) -> None:
    assert article_number(label) == number
