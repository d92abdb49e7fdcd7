"""The template organizers download: the spreadsheet's header and one example question per
type, as XLSX (with a sheet explaining the columns) or CSV; it parses back into those questions
(:mod:`question_bank.formats.spreadsheet`)."""

from __future__ import annotations

from question_bank.domain import Citation, Difficulty, QuestionData, QuestionType
from question_bank.formats.spreadsheet import _workbook, export_csv, question_row

EXAMPLES = (
    QuestionData(
        type=QuestionType.SINGLE,
        stem="根据《网络安全法》，网络运营者应当按照（ ）制度的要求，履行安全保护义务。",
        options=("网络安全等级保护", "数据出境安全评估", "网络产品强制认证", "个人信息保护认证"),
        answer=0,
        explanation="《网络安全法》第二十一条规定国家实行网络安全等级保护制度，"
        "网络运营者应当按照其要求履行安全保护义务。",
        difficulty=Difficulty.EASY,
        category="法律法规/网络安全法",
        tags=("网络安全法", "等级保护"),
        citation=Citation(
            law="网络安全法",
            article=21,
            version="2016-11-07",
            quote="国家实行网络安全等级保护制度。网络运营者应当按照网络安全等级保护制度的要求，"
            "履行下列安全保护义务……",
        ),
    ),
    QuestionData(
        type=QuestionType.MULTIPLE,
        stem="以下哪些是钓鱼邮件的常见特征？",
        options=(
            "发件人域名与官方域名相似但不完全相同",
            "以账号即将冻结等理由催促立即点击链接并输入密码",
            "邮件内容与本人近期的实际业务往来一致",
            "附件为可执行文件或要求启用宏的文档",
        ),
        answer=(0, 1, 3),
        explanation="仿冒域名、制造紧迫感索要凭据和携带恶意附件都是典型的钓鱼手法。",
        difficulty=Difficulty.MEDIUM,
        category="安全意识/社会工程学",
        tags=("钓鱼邮件", "社会工程学"),
    ),
    QuestionData(
        type=QuestionType.TRUE_FALSE,
        stem="在公共 Wi-Fi 下，只要网址以 https 开头，就不存在任何安全风险。",
        answer=False,
        explanation="HTTPS 只保护传输内容；钓鱼网站同样可以使用 HTTPS，"
        "恶意热点还可能实施 DNS 劫持等攻击。",
        difficulty=Difficulty.EASY,
        category="安全意识/无线网络",
        tags=("公共Wi-Fi", "HTTPS"),
    ),
    QuestionData(
        type=QuestionType.FILL_BLANK,
        stem="《中华人民共和国网络安全法》自____年____月____日起施行。",
        answer=(("2017", "二〇一七"), ("6", "六"), ("1", "一")),
        explanation="第七十九条：本法自2017年6月1日起施行。",
        difficulty=Difficulty.MEDIUM,
        category="法律法规/网络安全法",
        tags=("网络安全法",),
        citation=Citation(
            law="网络安全法", article=79, version="2016-11-07", quote="本法自2017年6月1日起施行。"
        ),
    ),
    QuestionData(
        type=QuestionType.ORDERING,
        stem="发现主机感染勒索软件后，请将下列应急处置步骤按正确顺序排列。",
        options=(
            "恢复业务并加固系统",
            "隔离受感染主机，断开网络连接",
            "清除恶意程序并修补被利用的漏洞",
            "保全现场证据并向主管部门报告",
        ),
        answer=(1, 3, 2, 0),
        explanation="先隔离防止扩散，再保全证据并报告，然后清除与修补，最后恢复业务。",
        difficulty=Difficulty.HARD,
        category="应急响应/勒索软件",
        tags=("应急响应", "勒索软件"),
    ),
)


NOTES = (
    ("题型", "必填：单选、多选、判断、填空、排序（也可写作单选题、多选题等）。"),
    ("题干", "必填。填空题的空位写作 ____（连续下划线）或（ ），个数须与答案的空数一致。"),
    (
        "选项A…选项H",
        "单选、多选、排序题从选项A起依次填写，2 至 8 个，中间不留空；判断、填空题不填。",
    ),
    (
        "答案",
        "必填。单选 A；多选 ABD；判断 对/错（也可写正确/错误、√/×、T/F）；"
        "填空：各空用 ; 分隔，同一空的多个可接受答案用 | 分隔，如 72小时|七十二小时;公安机关；"
        "排序：按正确顺序写选项字母，如 CABD。",
    ),
    ("解析", "可选。"),
    ("难度", "易、中、难，留空为中。"),
    ("分类", "可选，分类路径，如 法律法规/网络安全法。"),
    ("标签", "可选，多个标签用逗号分隔。"),
    (
        "法条",
        "可选，如 网络安全法(2016-11-07) 第二十一条：引用的条文。版本日期与引文可省略，"
        "条号可写中文数字或阿拉伯数字。",
    ),
)


def template(kind: str) -> bytes:
    """The downloadable template: the header and one example per question type.

    ``kind`` is ``"xlsx"`` (with a second sheet explaining the columns) or ``"csv"``.
    """
    if kind == "xlsx":
        return _workbook([question_row(q) for q in EXAMPLES], NOTES)
    if kind == "csv":
        return export_csv(EXAMPLES)
    raise ValueError(f"no spreadsheet template of kind {kind!r}; use 'xlsx' or 'csv'")
