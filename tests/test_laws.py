"""The law library: parsing the law texts of ../shared/laws and checking citations against them."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from question_bank.domain import Citation, Problem
from question_bank.laws import (
    AmendingDecision,
    LawText,
    check_citation,
    find_law,
    in_force_on,
    matches_law,
    parse_amending_decision,
    parse_law,
    quote_key,
    read_law_directory,
)
from tests.conftest import SHARED, needs_shared

pytestmark = needs_shared
LAWS_DIR = SHARED / "laws"

# Keyed by file stem: 网络安全法 is there twice, the 2016 original and the 2025 amended text.
ARTICLE_COUNTS = {
    "网络安全法(2016-11-07)": 79,
    "网络安全法(2025-10-28)": 81,
    "数据安全法(2021-06-10)": 55,
    "个人信息保护法(2021-08-20)": 74,
    "反电信网络诈骗法(2022-09-02)": 50,
    "未成年人网络保护条例(2023-10-16)": 60,
    "关键信息基础设施安全保护条例(2021-07-30)": 51,
    "网络数据安全管理条例(2024-09-24)": 64,
    "密码法(2019-10-26)": 44,
    "计算机信息系统安全保护条例(2011-01-08)": 31,
}
CYBER_2016 = "网络安全法(2016-11-07)"
CYBER_2025 = "网络安全法(2025-10-28)"


@pytest.fixture(scope="module")
def library() -> tuple[list[LawText], list[Problem]]:
    return read_law_directory(LAWS_DIR)


@pytest.fixture(scope="module")
def laws(library: tuple[list[LawText], list[Problem]]) -> dict[str, LawText]:
    """Each law text by its file stem, e.g. ``网络安全法(2016-11-07)``."""
    return {f"{law.short_title}({law.version})": law for law in library[0]}


def law_file(name: str) -> Path:
    path = LAWS_DIR / f"{name}.md"
    assert path.is_file(), path
    return path


# --- the real files -------------------------------------------------------------------------


def test_the_folder_has_thirteen_files_ten_law_texts_a_decision_and_two_reported(
    library: tuple[list[LawText], list[Problem]],
) -> None:
    assert len(list(LAWS_DIR.glob("*.md"))) == 13
    parsed, problems = library
    assert len(parsed) == 10
    reported = {p.params["file"]: p.message for p in problems}
    # the amending decision is read for its in-force date, not reported as a broken law text
    assert reported.keys() == {"README.md", "法律法规模版.md"}
    assert reported["README.md"] == "%(file)s has no articles; skipped."
    assert "version date" in reported["法律法规模版.md"]


IN_FORCE = {
    "网络安全法(2016-11-07)": "2017-06-01",  # its last article
    "网络安全法(2025-10-28)": "2026-01-01",  # the amending decision
    "数据安全法(2021-06-10)": "2021-09-01",
    "个人信息保护法(2021-08-20)": "2021-11-01",
    "反电信网络诈骗法(2022-09-02)": "2022-12-01",
    "未成年人网络保护条例(2023-10-16)": "2024-01-01",
    "关键信息基础设施安全保护条例(2021-07-30)": "2021-09-01",
    "网络数据安全管理条例(2024-09-24)": "2025-01-01",
    "密码法(2019-10-26)": "2020-01-01",
    "计算机信息系统安全保护条例(2011-01-08)": None,  # 本条例自发布之日起施行: no date
}


def test_each_version_knows_when_it_takes_effect(
    library: tuple[list[LawText], list[Problem]],
) -> None:
    parsed, _ = library
    assert {f"{law.short_title}({law.version})": law.in_force for law in parsed} == IN_FORCE


def test_an_amended_text_keeping_the_original_commencement_article_is_not_dated_by_it() -> None:
    text = (LAWS_DIR / "网络安全法(2025-10-28).md").read_text(encoding="utf-8")
    alone = parse_law("网络安全法(2025-10-28).md", text)
    assert isinstance(alone, LawText)
    assert "本法自2017年6月1日起施行" in alone.articles[81].text
    assert alone.in_force is None  # 2017 is before the amendment: it says nothing of it
    assert alone.effective_from == "2025-10-28"


def test_the_amending_decision_names_its_law_and_date() -> None:
    name = "网络安全法修改决定(2025-10-28).md"
    decision = parse_amending_decision(name, (LAWS_DIR / name).read_text(encoding="utf-8"))
    assert decision == AmendingDecision("中华人民共和国网络安全法", "2025-10-28", "2026-01-01")
    law = LAWS_DIR / "网络安全法(2016-11-07).md"
    assert parse_amending_decision(law.name, law.read_text(encoding="utf-8")) is None


def test_a_header_line_gives_the_in_force_date_as_the_template_writes_it() -> None:
    text = "# 示例法\n\n2021年6月1日 通过\n2021年11月1日 施行\n<!-- INFO END -->\n第一条 内容。\n"
    law = parse_law("示例法(2021-06-01).md", text)
    assert isinstance(law, LawText)
    assert law.in_force == "2021-11-01"


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        ("2017-05-31", None),
        ("2017-06-01", "2016-11-07"),
        ("2025-10-28", "2016-11-07"),  # adopted, not yet in force
        ("2025-12-31", "2016-11-07"),
        ("2026-01-01", "2025-10-28"),
        ("2030-01-01", "2025-10-28"),
    ],
)
def test_the_version_in_force_on_a_date(
    library: tuple[list[LawText], list[Problem]], day: str, expected: str | None
) -> None:
    versions = [law for law in library[0] if law.short_title == "网络安全法"]
    found = in_force_on(versions, date.fromisoformat(day))
    assert (found.version if found else None) == expected


def test_article_counts_equal_the_readme_table(laws: dict[str, LawText]) -> None:
    table = dict(
        re.findall(
            r"^\| (\S+?\(\d{4}-\d\d-\d\d\))\.md \| (\d+) \|$",
            (LAWS_DIR / "README.md").read_text(encoding="utf-8"),
            re.MULTILINE,
        )
    )
    assert {name: int(count) for name, count in table.items()} == ARTICLE_COUNTS
    assert {name: len(law.articles) for name, law in laws.items()} == ARTICLE_COUNTS


def test_article_numbers_are_exactly_one_to_n(laws: dict[str, LawText]) -> None:
    for law in laws.values():
        assert list(law.articles) == list(range(1, len(law.articles) + 1)), law.title
        assert all(a.number == n for n, a in law.articles.items())
        assert all(a.text.strip() for a in law.articles.values()), law.title


def test_titles_and_versions_come_from_the_heading_and_the_file_name(
    laws: dict[str, LawText],
) -> None:
    for key, version in ((CYBER_2016, "2016-11-07"), (CYBER_2025, "2025-10-28")):
        cyber = laws[key]
        assert (cyber.title, cyber.short_title, cyber.version) == (
            "中华人民共和国网络安全法",
            "网络安全法",
            version,
        )
    cii = laws["关键信息基础设施安全保护条例(2021-07-30)"]
    assert cii.title == cii.short_title == "关键信息基础设施安全保护条例"
    assert cii.version == "2021-07-30"
    for key, law in laws.items():
        assert law_file(key).name == f"{law.short_title}({law.version}).md"


def test_the_label_and_its_space_are_not_part_of_the_text(laws: dict[str, LawText]) -> None:
    first = laws[CYBER_2016].articles[1].text
    assert first.startswith("为了保障网络安全，维护网络空间主权")
    assert first.endswith("制定本法。")
    for law in laws.values():
        for article in law.articles.values():
            assert not re.match(r"\s|第[一二三四五六七八九十百零]+条", article.text), (
                law.short_title,
                article.number,
            )


@pytest.mark.parametrize(("key", "number"), [(CYBER_2016, 21), (CYBER_2025, 23)])
def test_a_multi_paragraph_article_has_all_its_paragraphs(
    laws: dict[str, LawText], key: str, number: int
) -> None:
    """The 等级保护 article: 21 in the 2016 text, 23 once the amendment added articles 3 and 20."""
    article = laws[key].articles[number]
    paragraphs = article.text.split("\n")
    assert len(paragraphs) == 6
    assert paragraphs[0].startswith("国家实行网络安全等级保护制度。")
    assert paragraphs[3] == (
        "（三）采取监测、记录网络运行状态、网络安全事件的技术措施，"
        "并按照规定留存相关的网络日志不少于六个月；"
    )
    assert paragraphs[5] == "（五）法律、行政法规规定的其他义务。"
    # the next article is not swallowed
    assert laws[key].articles[number + 1].text.startswith("网络产品、服务应当符合相关国家标准")


def test_a_plain_sentence_paragraph_stays_in_its_article(laws: dict[str, LawText]) -> None:
    article8 = laws[CYBER_2016].articles[8].text.split("\n")
    assert article8[1] == (
        "县级以上地方人民政府有关部门的网络安全保护和监督管理职责，按照国家有关规定确定。"
    )


def test_chapters_come_from_the_headings(laws: dict[str, LawText]) -> None:
    cyber = laws[CYBER_2016]
    assert cyber.chapters[0] == "第一章 总则"
    assert len(cyber.chapters) == 7
    assert cyber.articles[1].chapter == "第一章 总则"
    assert cyber.articles[21].chapter == "第三章 网络运行安全"  # 节 headings are not chapters
    assert cyber.articles[79].chapter == "第七章 附则"
    amended = laws[CYBER_2025]
    assert amended.chapters == cyber.chapters
    assert amended.articles[22].chapter == "第二章 网络安全支持与促进"
    assert amended.articles[23].chapter == "第三章 网络运行安全"
    assert amended.articles[81].chapter == "第七章 附则"
    # 关键信息基础设施安全保护条例 separates label and title by a full-width space
    cii = laws["关键信息基础设施安全保护条例(2021-07-30)"]
    assert cii.chapters[1] == "第二章 关键信息基础设施认定"
    # typographic spaces dropped
    assert laws["数据安全法(2021-06-10)"].chapters[0] == "第一章 总则"


def test_bare_chapter_titles_are_chapters_not_article_text(laws: dict[str, LawText]) -> None:
    """未成年人网络保护条例 marks chapters 2–7 by a bare title after a zero-width-space line."""
    minors = laws["未成年人网络保护条例(2023-10-16)"]
    assert minors.chapters == [
        "第一章 总则",
        "第二章 网络素养促进",
        "第三章 网络信息内容规范",
        "第四章 个人信息网络保护",
        "第五章 网络沉迷防治",
        "第六章 法律责任",
        "第七章 附则",
    ]
    assert minors.articles[12].text == (
        "对在未成年人网络保护工作中作出突出贡献的组织和个人，按照国家有关规定给予表彰和奖励。"
    )
    assert minors.articles[13].chapter == "第二章 网络素养促进"
    assert minors.articles[60].chapter == "第七章 附则"
    assert minors.articles[60].text == "本条例自2024年1月1日起施行。"
    assert all("\u200b" not in a.text for a in minors.articles.values())


def test_a_paragraph_starting_with_di_that_is_no_label_stays_in_its_article(
    laws: dict[str, LawText],
) -> None:
    # 网络数据安全管理条例 has a paragraph beginning "第三方产品和服务提供者…"
    matches = [
        a
        for a in laws["网络数据安全管理条例(2024-09-24)"].articles.values()
        if "\n第三方产品和服务提供者违反法律" in a.text
    ]
    assert len(matches) == 1


# --- parsing edge cases ---------------------------------------------------------------------

SAMPLE = """# 中华人民共和国示例法

2020年1月1日 通过

<!-- INFO END -->

## 第一章　总　则

第一条　为了示例，制定本法。

第二条 本法适用于示例。
第二十三条规定的情形除外。

（一）第一项；

## 第二章 附则

第三条本法自公布之日起施行。
"""


def test_a_sample_file_parses() -> None:
    law = parse_law("示例法(2020-01-01).md", SAMPLE.replace("\n", "\r\n"))
    assert isinstance(law, LawText)
    assert law.title == "中华人民共和国示例法" and law.short_title == "示例法"
    assert law.chapters == ["第一章 总则", "第二章 附则"]
    assert {n: a.text for n, a in law.articles.items()} == {
        1: "为了示例，制定本法。",
        2: "本法适用于示例。\n第二十三条规定的情形除外。\n（一）第一项；",
        3: "本法自公布之日起施行。",
    }
    assert law.articles[3].chapter == "第二章 附则"


def test_the_version_accepts_full_width_parentheses_and_a_path() -> None:
    law = parse_law("laws/示例法（2020-01-01）.md", SAMPLE)
    assert isinstance(law, LawText) and law.version == "2020-01-01"


@pytest.mark.parametrize("filename", ["示例法.md", "示例法(2020-13-45).md", "示例法(2020).md"])
def test_a_file_name_without_a_valid_date_is_a_problem(filename: str) -> None:
    problem = parse_law(filename, SAMPLE)
    assert isinstance(problem, Problem)
    assert problem.params == {"file": filename}
    assert "version date" in problem.render()


def test_everything_before_info_end_is_ignored() -> None:
    text = "# 示例法\n\n第一条 这是通过说明，不是条文。\n\n<!-- INFO END -->\n\n第一条 真正的条文。"
    law = parse_law("示例法(2020-01-01).md", text)
    assert isinstance(law, LawText)
    assert law.articles[1].text == "真正的条文。"


def test_without_info_end_the_preamble_belongs_to_no_article() -> None:
    text = "# 示例法\n\n2020年1月1日 通过\n\n第一条 条文。\n"
    law = parse_law("示例法(2020-01-01).md", text)
    assert isinstance(law, LawText)
    assert law.articles[1].text == "条文。"


@pytest.mark.parametrize("text", ["", "# 示例法\n\n没有条文。\n", "just text\n", "第X条 no\n"])
def test_no_articles_is_a_problem_not_an_exception(text: str) -> None:
    problem = parse_law("示例法(2020-01-01).md", text)
    assert isinstance(problem, Problem)
    assert problem.render() == "示例法(2020-01-01).md has no articles; skipped."


@given(
    st.text(
        alphabet=st.sampled_from(list("第一二十百条章节# \n\u3000\u200b<!-->INFO END（）.md甲。"))
    )
)
def test_parsing_never_raises(text: str) -> None:
    assert isinstance(parse_law("示例法(2020-01-01).md", text), LawText | Problem)


def test_a_repeated_article_number_is_a_problem() -> None:
    problem = parse_law("示例法(2020-01-01).md", "# 示例法\n\n第一条 甲。\n\n第一条 乙。\n")
    assert isinstance(problem, Problem) and problem.params["article"] == 1


def test_a_file_without_a_title_is_a_problem() -> None:
    problem = parse_law("示例法(2020-01-01).md", "第一条 甲。\n")
    assert isinstance(problem, Problem) and "title" in problem.message


def test_the_template_is_reported() -> None:
    path = LAWS_DIR / "法律法规模版.md"
    assert isinstance(parse_law(path.name, path.read_text(encoding="utf-8")), Problem)


# --- names and citations --------------------------------------------------------------------


def test_law_names_match_with_or_without_the_prc_prefix(laws: dict[str, LawText]) -> None:
    cyber = laws[CYBER_2016]
    for name in (
        "网络安全法",
        "中华人民共和国网络安全法",
        " 中华人民共和国 网络安全法 ",
        "《网络安全法》",
        "《中华人民共和国网络安全法》",
    ):
        assert matches_law(cyber, name), name
    assert not matches_law(cyber, "数据安全法")
    assert not matches_law(cyber, "安全法")
    assert not matches_law(cyber, "")
    cii = laws["关键信息基础设施安全保护条例(2021-07-30)"]
    assert matches_law(cii, "关键信息基础设施安全保护条例")
    assert matches_law(cii, "中华人民共和国关键信息基础设施安全保护条例")


def cite(
    law: str = "网络安全法",
    article: int = 21,
    version: str | None = "2016-11-07",
    quote: str | None = "留存相关的网络日志不少于六个月",
) -> Citation:
    return Citation(law=law, article=article, version=version, quote=quote)


def test_a_true_citation_is_accepted(library: tuple[list[LawText], list[Problem]]) -> None:
    laws = library[0]
    assert check_citation(cite(), laws) == []
    assert check_citation(cite(law="中华人民共和国网络安全法"), laws) == []
    assert check_citation(cite(quote=None), laws) == []
    # the same duty in the amended text, where it is article 23
    assert check_citation(cite(article=23, version="2025-10-28"), laws) == []


def test_quotes_are_compared_modulo_whitespace_and_width(
    library: tuple[list[LawText], list[Problem]],
) -> None:
    laws = library[0]
    assert check_citation(cite(quote="  留存相关的网络日志\n不少于 六个月 "), laws) == []
    # a quote across two paragraphs of the article
    assert check_citation(cite(quote="篡改：（一）制定内部安全管理制度"), laws) == []
    assert check_citation(cite(quote="篡改:(一)制定内部安全管理制度"), laws) == []
    assert quote_key("（一）， ；") == "(一),;"


def test_an_altered_quote_is_refused(library: tuple[list[LawText], list[Problem]]) -> None:
    [problem] = check_citation(cite(quote="留存相关的网络日志不少于三个月"), library[0])
    assert problem.message.startswith("The quote is not in article")
    assert problem.params["article"] == 21
    assert "不少于三个月" in problem.render()


def test_a_wrong_article_number_is_refused(library: tuple[list[LawText], list[Problem]]) -> None:
    [problem] = check_citation(cite(article=80, quote=None), library[0])
    assert problem.params == {
        "law": "网络安全法",
        "version": "2016-11-07",
        "article": 80,
        "count": 79,
    }
    assert "79 articles" in problem.render()
    # an existing article that does not hold the quote
    [problem] = check_citation(cite(article=22), library[0])
    assert problem.message.startswith("The quote is not in article")


def test_an_unknown_law_is_refused(library: tuple[list[LawText], list[Problem]]) -> None:
    [problem] = check_citation(cite(law="网络安全条例"), library[0])
    assert problem.render() == "Unknown law 网络安全条例."


def test_an_unknown_version_names_the_known_ones(
    library: tuple[list[LawText], list[Problem]],
) -> None:
    [problem] = check_citation(cite(version="2017-06-01"), library[0])
    assert problem.params["known"] == "2016-11-07, 2025-10-28"
    assert "known versions: 2016-11-07, 2025-10-28" in problem.render()


def test_without_a_version_the_newest_is_used(
    library: tuple[list[LawText], list[Problem]], laws: dict[str, LawText]
) -> None:
    old, new = laws[CYBER_2016], laws[CYBER_2025]
    every = library[0]
    assert find_law("网络安全法", None, every) is new
    assert find_law("网络安全法", None, [old]) is old
    assert find_law("网络安全法", "2016-11-07", every) is old
    # the log-retention duty is article 21 of 2016 and 23 of the text in force
    assert check_citation(cite(version=None), every)
    assert check_citation(cite(article=23, version=None), every) == []
    assert check_citation(cite(), every) == []
    # the amended text has 81 articles, the original 79
    assert check_citation(cite(article=81, version=None, quote=None), every) == []
    assert check_citation(cite(article=80, version=None, quote=None), every) == []
    assert check_citation(cite(article=80, quote=None), every)


def test_an_unclosed_comment_runs_to_the_end_in_linear_time() -> None:
    text = "# 示例法\n<!-- INFO END -->\n第一条 内容。\n" + "<!--" * 50_000
    law = parse_law("示例法(2021-06-01).md", text)
    assert isinstance(law, LawText)
    assert law.articles[1].text == "内容。"
