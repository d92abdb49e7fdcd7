"""Files embedded in Moodle XML question texts, in and out.

Moodle keeps a text's files beside it: ``<questiontext format="html"><text>… <img
src="@@PLUGINFILE@@/phish.png"> …</text><file name="phish.png" path="/"
encoding="base64">iVBOR…</file></questiontext>``, and the same in ``<generalfeedback>`` and each
``<answer>``. Moodle 1.x wrote one picture per question instead: ``<image>`` (its path) and
``<image_base64>`` (its bytes), shown under the question text.

On import each image is prepared (:func:`question_bank.images.prepare`: checked, rebuilt) and its
``@@PLUGINFILE@@`` links (with or without %-escapes) become our ``/media/<sha256>.<ext>`` URL; an
``<image_base64>`` picture is appended to the stem as ``![](/media/…)``. Files that are not images
we take (audio, video, SVG, a damaged picture, an ``<image>`` without its bytes) are listed in the
report per question, with the reason, and their links are left as they were. The texts of one
question share its files: a name means the same file in the stem, the options and the
explanation.

On export every stored image a text links to is written as a ``<file>`` of that text, and the
link becomes ``@@PLUGINFILE@@/<sha256>.<ext>``. Importing that file again gives the same image
under the same name (preparing our own output changes nothing).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from urllib.parse import unquote

from question_bank.domain import N_, Problem, QuestionData
from question_bank.formats.base import ParseReport, SkippedFile
from question_bank.images import ImageRefused, prepare, referenced, replace_links

PLUGINFILE = "@@PLUGINFILE@@/"
_LINK = re.compile(re.escape(PLUGINFILE) + r"""([^"'\s<>()]+)""")


def bring_in(
    element: ET.Element, question: QuestionData, line: int, report: ParseReport
) -> QuestionData:
    """``question`` (read from ``element``) with its embedded images stored in ``report.images``
    and linked by our URLs; files not taken go to ``report.files_skipped``."""
    urls: dict[str, str] = {}
    areas = [element.find("questiontext"), element.find("generalfeedback")]
    areas += element.findall("answer")
    for area in areas:
        for node in area.findall("file") if area is not None else []:
            path = (node.get("path") or "/").strip("/")
            name = ((path + "/") if path else "") + (node.get("name") or "").strip()
            if name in urls:
                continue
            encoding = (node.get("encoding") or "").strip().lower()
            url = _take(name, node.text or "", encoding, line, report)
            if url:
                urls[name] = url
    stem = question.stem
    old_image = (element.findtext("image") or "").strip()
    old_bytes = element.findtext("image_base64") or ""
    if old_bytes.strip():
        url = _take(old_image or "image_base64", old_bytes, "base64", line, report)
        if url:
            stem = f"{stem}\n\n![]({url})"
    elif old_image:
        report.files_skipped.append(
            SkippedFile(line, old_image, Problem(0, N_("The file does not contain the image.")))
        )
    if not urls and stem == question.stem:
        return question
    return dataclasses.replace(
        question,
        stem=_relink(stem, urls),
        explanation=_relink(question.explanation, urls),
        options=tuple(_relink(option, urls) for option in question.options),
    )


def _take(name: str, data: str, encoding: str, line: int, report: ParseReport) -> str | None:
    """Store one embedded file's image in the report; its URL, or None (listed as skipped)."""

    def skip(message: str, **params: object) -> None:
        report.files_skipped.append(SkippedFile(line, name, Problem(0, message, dict(params))))

    if encoding != "base64":
        skip(N_("Only base64-encoded files are read."))
        return None
    try:
        content = base64.b64decode("".join(data.split()), validate=True)
    except (binascii.Error, ValueError):
        skip(N_("The file's base64 text is damaged."))
        return None
    try:
        image = prepare(content)
    except ImageRefused as exc:
        skip(exc.message, **exc.params)
        return None
    report.images.setdefault(image.name, image)
    return image.url


def _relink(text: str, urls: Mapping[str, str]) -> str:
    def swap(match: re.Match[str]) -> str:
        name = unquote(match.group(1))
        return urls.get(name) or urls.get(match.group(1)) or match.group(0)

    return _LINK.sub(swap, text) if urls else text


def write_out(text: str, images: Mapping[str, bytes]) -> tuple[str, list[str]]:
    """``text`` with its links to stored images made ``@@PLUGINFILE@@`` links, and the
    ``<file>`` elements (one line each) that carry those images."""
    names = [name for name in referenced([text]) if name in images]
    if not names:
        return text, []
    text = replace_links(text, {name: PLUGINFILE + name for name in names})
    files = [
        f'<file name="{name}" path="/" encoding="base64">'
        + base64.b64encode(images[name]).decode("ascii")
        + "</file>"
        for name in names
    ]
    return text, files
