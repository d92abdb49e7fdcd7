"""Images in questions: what an uploaded or imported file must be, and what is kept of it.

Pure: no Flask, no database. :func:`prepare` takes the bytes of a file and returns the bytes we
store, or raises :class:`ImageRefused` with a message to translate. Only PNG, JPEG, GIF and WebP
are taken, recognised by their first bytes (the file name and the declared type are ignored), so
SVG, HTML or anything else renamed ``.png`` is refused; at most :data:`MAX_BYTES` bytes and
:data:`MAX_PIXELS` pixels (per frame; :data:`MAX_TOTAL_PIXELS` over an animation's frames), read
from the header before anything is decoded, so a small file that would unpack to gigabytes
(a decompression bomb) is refused unopened.

What is kept is rebuilt, never the upload as it came:

- PNG and GIF are decoded and encoded again by Pillow: only the pixels (and the palette,
  transparency and frame timing) survive; text chunks, comments, EXIF, ICC profiles and anything
  appended after the image are gone.
- JPEG is rewritten segment by segment without decoding the pixels (so without a loss): the frame,
  tables and scan data are kept; EXIF (GPS positions of phone pictures), XMP, ICC profiles,
  comments and everything after the end-of-image marker are dropped. A picture whose EXIF says it
  is rotated is turned upright and encoded again (once: the result has no EXIF).
- WebP is rewritten chunk by chunk the same way: the image, alpha and animation chunks are kept,
  EXIF, XMP and ICC chunks dropped.

The result decodes (checked), and preparing it again gives the same bytes, so an image exported
and imported again comes back under the same name. Stored images are named by the SHA-256 of the
stored bytes: ``/media/<sha256>.<ext>`` (:data:`MEDIA_PREFIX`), the URL question texts use.
"""

from __future__ import annotations

import hashlib
import io
import re
import struct
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageOps, UnidentifiedImageError

from question_bank.domain import N_

MAX_BYTES = 2 * 2**20
MAX_PIXELS = 16_000_000  # 4000 × 4000: a phone screenshot is about 3 million
MAX_TOTAL_PIXELS = 64_000_000  # over the frames of an animated GIF or WebP
MEDIA_PREFIX = "/media/"

# extension → (Pillow's format name, media type)
KINDS = {
    "png": ("PNG", "image/png"),
    "jpg": ("JPEG", "image/jpeg"),
    "gif": ("GIF", "image/gif"),
    "webp": ("WEBP", "image/webp"),
}
MEDIA_TYPES = {ext: media_type for ext, (_, media_type) in KINDS.items()}
NAME = re.compile(r"([0-9a-f]{64})\.(png|jpg|gif|webp)")
# A stored image's URL in a text; a word boundary before "/media/" keeps "x/media/…" out.
MEDIA_LINK = re.compile(r"(?<![\w/.-])" + re.escape(MEDIA_PREFIX) + NAME.pattern)


class ImageRefused(ValueError):
    """The file is not an image we take; ``message`` (an English msgid) says why."""

    def __init__(self, message: str, **params: Any) -> None:
        super().__init__(message % params if params else message)
        self.message, self.params = message, params


@dataclass(frozen=True)
class StoredImage:
    """The bytes we keep of an image, and what they are."""

    content: bytes
    ext: str
    width: int
    height: int

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()

    @property
    def name(self) -> str:
        """``<sha256>.<ext>``: the file name in URLs and in exported files."""
        return f"{self.sha256}.{self.ext}"

    @property
    def url(self) -> str:
        return MEDIA_PREFIX + self.name

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.ext]


MAX_JPEG_SCANS = 64  # SOS markers; cameras and editors write up to about a dozen


def sniff(content: bytes) -> str | None:
    """The extension the first bytes announce (``png``, ``jpg``, ``gif``, ``webp``), or None."""
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if content.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if content[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "webp"
    return None


def _looks_like_markup(content: bytes) -> bool:
    head = content[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith(b"<")


def prepare(content: bytes) -> StoredImage:
    """The image we store for ``content``; :class:`ImageRefused` when it is not one we take."""
    if not content:
        raise ImageRefused(N_("The file is empty."))
    if len(content) > MAX_BYTES:
        raise ImageRefused(
            N_("The image is larger than %(size)s; make it smaller and upload it again."),
            size=f"{MAX_BYTES // 2**20} MB",
        )
    ext = sniff(content)
    if ext is None:
        if _looks_like_markup(content):
            raise ImageRefused(
                N_(
                    "SVG, HTML and other text files are not accepted as images (they can carry"
                    " script); upload a PNG, JPEG, GIF or WebP picture."
                )
            )
        raise ImageRefused(N_("Not a PNG, JPEG, GIF or WebP image."))
    if ext == "jpg" and content.count(b"\xff\xda") > MAX_JPEG_SCANS:
        # each progressive scan is decoded again: thousands of tiny ones cost minutes of CPU
        raise ImageRefused(
            N_("This JPEG has too many progressive scans; save it again as a normal JPEG.")
        )
    image = _open(content, ext)
    if ext == "jpg":
        stored = _jpeg(content, image)
    elif ext == "webp":
        stored = _webp(content)
    else:
        stored = _encode(image, ext)
    kept = _open(stored, ext)  # what we keep must itself decode
    return StoredImage(stored, ext, kept.width, kept.height)


def _open(content: bytes, ext: str) -> Image.Image:
    """The image, header read and sizes checked, pixels not yet decoded."""
    pillow_format = KINDS[ext][0]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(content), formats=[pillow_format])
            _check_size(image)
            image.load()
    except ImageRefused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_many_pixels() from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError):
        raise ImageRefused(N_("The image is damaged or not what its first bytes say.")) from None
    return image


def _too_many_pixels() -> ImageRefused:
    return ImageRefused(
        N_("The image has more than %(pixels)s pixels; make it smaller."),
        pixels=f"{MAX_PIXELS:,}",
    )


def _check_size(image: Image.Image) -> None:
    width, height = image.size
    if width < 1 or height < 1 or width * height > MAX_PIXELS:
        raise _too_many_pixels()
    frames = int(getattr(image, "n_frames", 1))
    if width * height * frames > MAX_TOTAL_PIXELS:
        raise _too_many_pixels()


def _encode(image: Image.Image, ext: str) -> bytes:
    """PNG or GIF pixels encoded again, with nothing else of the file."""
    out = io.BytesIO()
    if ext == "png":
        mode = image.mode if image.mode in ("1", "L", "LA", "P", "RGB", "RGBA") else "RGBA"
        clean = image if mode == image.mode else image.convert(mode)
        extra = {"transparency": image.info["transparency"]} if "transparency" in image.info else {}
        clean.save(out, "PNG", icc_profile=None, **extra)  # Pillow would copy the ICC chunk
    else:
        frames = int(getattr(image, "n_frames", 1))
        image.save(out, "GIF", save_all=frames > 1, comment=b"")  # it would copy the comment
    return out.getvalue()


# JPEG markers whose segments stay: DQT, DRI, the SOFn frames with DHT and DAC, APP0 (JFIF) and
# APP14 (Adobe: how a CMYK picture's colours are stored). Every other segment is dropped.
_JPEG_KEEP = {0xDB, 0xDD, 0xE0, 0xEE} | (set(range(0xC0, 0xD0)) - {0xC8})
_ORIENTATION = 0x0112


def _jpeg(content: bytes, image: Image.Image) -> bytes:
    if image.getexif().get(_ORIENTATION, 1) not in (1, None):
        upright = ImageOps.exif_transpose(image)
        out = io.BytesIO()
        rgb = upright if upright.mode in ("L", "RGB") else upright.convert("RGB")
        rgb.save(out, "JPEG", quality=90)
        content = out.getvalue()
    return _jpeg_segments(content)


def _jpeg_segments(content: bytes) -> bytes:
    """The JPEG without metadata segments and without anything after its end marker."""
    damaged = ImageRefused(N_("The image is damaged or not what its first bytes say."))
    out, at, end = bytearray(b"\xff\xd8"), 2, len(content)
    while True:
        while at < end and content[at] == 0xFF:  # fill bytes before a marker
            at += 1
        if at >= end or content[at - 1] != 0xFF:
            raise damaged
        marker = content[at]
        at += 1
        if marker == 0xD9:  # EOI: the end, whatever follows
            out += b"\xff\xd9"
            return bytes(out)
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            out += bytes((0xFF, marker))
            continue
        if at + 2 > end:
            raise damaged
        (length,) = struct.unpack(">H", content[at : at + 2])
        if length < 2 or at + length > end:
            raise damaged
        segment = content[at - 2 : at + length]
        at += length
        if marker == 0xDA:  # start of scan: the entropy-coded data runs to the next marker
            scan = at
            while True:
                at = content.find(b"\xff", at)
                if at < 0 or at + 1 >= end:
                    raise damaged
                following = content[at + 1]
                if following == 0x00 or 0xD0 <= following <= 0xD7:
                    at += 2
                    continue
                break
            out += segment + content[scan:at]
            at += 1  # past the marker's 0xFF (further fill bytes are skipped above)
        elif marker in _JPEG_KEEP:
            out += segment


_WEBP_KEEP = {b"VP8 ", b"VP8L", b"VP8X", b"ALPH", b"ANIM", b"ANMF"}
_VP8X_METADATA = 0x20 | 0x08 | 0x04  # the ICC, EXIF and XMP flags


def _webp(content: bytes) -> bytes:
    """The WebP with only its image chunks (no EXIF, XMP or ICC), nothing after the RIFF."""
    damaged = ImageRefused(N_("The image is damaged or not what its first bytes say."))
    (size,) = struct.unpack("<I", content[4:8])
    end = 8 + size
    if size < 4 or end > len(content):
        raise damaged
    chunks, at = [], 12
    while at + 8 <= end:
        fourcc = content[at : at + 4]
        (length,) = struct.unpack("<I", content[at + 4 : at + 8])
        stop = at + 8 + length
        if stop > end:
            raise damaged
        body = content[at + 8 : stop]
        if fourcc == b"VP8X" and length >= 1:
            body = bytes((body[0] & ~_VP8X_METADATA & 0xFF,)) + body[1:]
        if fourcc in _WEBP_KEEP:
            chunks.append(fourcc + content[at + 4 : at + 8] + body + b"\x00" * (length % 2))
        at = stop + length % 2
    riff = b"WEBP" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(riff)) + riff


# --- references in question texts ------------------------------------------------------------


def referenced(texts: Iterable[str]) -> list[str]:
    """The stored image names (``<sha256>.<ext>``) the texts link to, each once, in order."""
    seen: dict[str, None] = {}
    for text in texts:
        for match in MEDIA_LINK.finditer(text or ""):
            seen.setdefault(f"{match.group(1)}.{match.group(2)}", None)
    return list(seen)


def replace_links(text: str, new: dict[str, str]) -> str:
    """``text`` with each ``/media/<name>`` whose name is in ``new`` replaced by ``new[name]``."""
    if not new:
        return text

    def swap(match: re.Match[str]) -> str:
        name = f"{match.group(1)}.{match.group(2)}"
        return new.get(name, match.group(0))

    return MEDIA_LINK.sub(swap, text)
