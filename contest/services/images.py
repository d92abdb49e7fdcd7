"""Images in questions: storing uploads and imported pictures, reading them back.

An image is stored once, in the database (so every web process and both SQLite and PostgreSQL
see it), keyed by the SHA-256 of the bytes kept (:mod:`question_bank.images` rebuilds every file
first). Storing the same picture twice is harmless: the second store finds the first.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select

from contest.errors import InvalidInput
from contest.extensions import db
from question_bank.images import NAME, ImageRefused, StoredImage, prepare
from question_bank.models import QuestionImage


class ImageInvalid(InvalidInput):
    code = "invalid_image"


def upload(content: bytes, *, actor_id: int | None, now: datetime) -> StoredImage:
    """Check and store an uploaded image (not committed); :class:`ImageInvalid` names the fault
    in the current language."""
    try:
        image = prepare(content)
    except ImageRefused as exc:
        raise ImageInvalid(_(exc.message, **exc.params)) from None
    store([image], actor_id=actor_id, now=now)
    return image


def store(images: Iterable[StoredImage], *, actor_id: int | None, now: datetime) -> list[str]:
    """Store prepared images that are not stored yet (not committed); the names newly stored."""
    wanted = {image.sha256: image for image in images}
    if not wanted:
        return []
    present = set(
        db.session.scalars(select(QuestionImage.sha256).where(QuestionImage.sha256.in_(wanted)))
    )
    added = []
    for sha, image in wanted.items():
        if sha in present:
            continue
        db.session.add(
            QuestionImage(
                sha256=sha,
                ext=image.ext,
                content=image.content,
                size=len(image.content),
                width=image.width,
                height=image.height,
                created_at=now,
                created_by_id=actor_id,
            )
        )
        added.append(image.name)
    db.session.flush()
    return added


def get(name: str) -> QuestionImage | None:
    """The stored image named ``<sha256>.<ext>``, or None (also for a name of the wrong form)."""
    match = NAME.fullmatch(name)
    if match is None:
        return None
    image = db.session.get(QuestionImage, match.group(1))
    if image is None or image.ext != match.group(2):
        return None
    return image


def contents(names: Iterable[str]) -> Mapping[str, bytes]:
    """The bytes of the stored images among ``names`` (``<sha256>.<ext>``), by name."""
    by_sha = {}
    for name in names:
        match = NAME.fullmatch(name)
        if match:
            by_sha[match.group(1)] = match.group(2)
    if not by_sha:
        return {}
    rows = db.session.execute(
        select(QuestionImage.sha256, QuestionImage.ext, QuestionImage.content).where(
            QuestionImage.sha256.in_(by_sha)
        )
    ).all()
    return {f"{sha}.{ext}": content for sha, ext, content in rows if by_sha[sha] == ext}


def delete_unused(names: Iterable[str]) -> None:
    """Delete the named images (not committed): an import that failed takes back what it stored.

    Only names the caller stored itself: an image is shared by every text that links to it.
    (An organizer who pastes the link of such an image while the import runs keeps a broken
    link; uploading the picture again stores it again under the same name.)
    """
    shas = [m.group(1) for m in (NAME.fullmatch(n) for n in names) if m]
    if shas:
        db.session.execute(db.delete(QuestionImage).where(QuestionImage.sha256.in_(shas)))
