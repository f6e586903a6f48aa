"""Attachments from the public: photos decoded fully and re-encoded, PDFs without scripts.

Checking the first bytes is not enough: an HTML page that starts with JPEG's
magic bytes is "a JPEG" by its first bytes.  So:

* a JPG or PNG is decoded *fully* by Pillow (as the format its name says, at
  most :data:`MAX_PIXELS` pixels, so a small file cannot decode to gigabytes)
  and what is stored is Pillow's re-encoding of the pixels: nothing of the
  original file but its picture (no trailing bytes, no text chunks, no EXIF
  such as the GPS position; the EXIF orientation is applied first);
* a PDF is opened with pypdf and refused when it is encrypted or any object
  reachable from its trailer asks for JavaScript, launching a program,
  submitting or importing data, or carries embedded files (a scan or a
  printed survey has none of these).  PDFs are stored as they are; the app
  serves every file as a download, never inline.
"""

from __future__ import annotations

import io
import logging
import warnings

from PIL import Image, ImageOps

from sba.requests.errors import PackageRejected

__all__ = ["MAX_PDF_OBJECTS", "MAX_PIXELS", "check_pdf", "reencode_image"]

#: A phone photo is 12.2 megapixels (4032 × 3024); decoded, that is 37 MB of RGB.
MAX_PIXELS = 12_500_000
#: A scan or a survey has a few hundred objects; walking more would only cost time.
MAX_PDF_OBJECTS = 50_000
#: PDF names that run something or carry something to run.
RISKY_PDF_NAMES = frozenset({"/JavaScript", "/JS", "/Launch", "/SubmitForm", "/ImportData", "/RichMediaExecute",
                             "/EmbeddedFile", "/EmbeddedFiles"})
_KINDS = {"JPEG": "JPEG image", "PNG": "PNG image"}
_ORIENTATION = 0x0112  # the EXIF tag


def reencode_image(name: str, data: bytes, fmt: str) -> bytes:
    """Decode ``data`` fully as ``fmt`` ("JPEG" or "PNG") and return a fresh encoding of its pixels.

    Raises
    ------
    PackageRejected
        Not decodable as that format, truncated, or more than :data:`MAX_PIXELS` pixels.
    """
    kind = _KINDS[fmt]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[fmt]) as im:
                width, height = im.size
                if width * height > MAX_PIXELS:
                    raise PackageRejected(
                        f"Attachment {name!r} is {width} × {height} pixels; the limit is {MAX_PIXELS / 10**6:g} "
                        "million pixels: make the photo smaller and attach it again.")
                im.load()
                # turned upright by hand only when the EXIF says so: exif_transpose copies even when it need not
                picture = ImageOps.exif_transpose(im) if im.getexif().get(_ORIENTATION, 1) != 1 else im
                out = io.BytesIO()
                if fmt == "JPEG":
                    picture.save(out, "JPEG", quality=90)
                else:
                    picture.save(out, "PNG")
    except PackageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:  # Pillow's own, wider limit
        raise PackageRejected(f"Attachment {name!r} has far more than {MAX_PIXELS / 10**6:g} million pixels, the "
                              "limit: make the photo smaller and attach it again.") from err
    except Exception as err:  # crafted files make decoders raise many types (OSError, SyntaxError, struct.error...)
        raise PackageRejected(f"Attachment {name!r} is not a readable {kind} (it may be damaged or another kind "
                              "of file); attach the photo again.") from err
    return out.getvalue()


def check_pdf(name: str, data: bytes) -> None:
    """Refuse a PDF that is damaged, encrypted, or carries scripts, launch actions or embedded files.

    Raises
    ------
    PackageRejected
        With the reason in one sentence.
    """
    from pypdf import PdfReader

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # damaged files are refused below, not logged
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise PackageRejected(f"Attachment {name!r} is a password-protected PDF; attach it without a password.")
        found = _risky_name(reader, name)
    except PackageRejected:
        raise
    except Exception as err:  # pypdf raises many types on crafted files; any of them means "refuse"
        raise PackageRejected(f"Attachment {name!r} is a damaged PDF that cannot be read; attach it again.") from err
    if found:
        raise PackageRejected(
            f"Attachment {name!r} is a PDF with {found.lstrip('/')} in it (scripts, actions or embedded files are "
            "not accepted); print it to a new PDF and attach that.")


def _risky_name(reader, name: str) -> str | None:
    """The first risky name (key or value) among the objects reachable from the trailer, else None."""
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

    stack: list = [reader.trailer]
    seen: set[tuple[int, int]] = set()
    visited = 0
    while stack:
        obj = stack.pop()
        if isinstance(obj, IndirectObject):
            ref = (obj.idnum, obj.generation)
            if ref in seen:
                continue
            seen.add(ref)
            obj = obj.get_object()
        visited += 1
        if visited > MAX_PDF_OBJECTS:
            raise PackageRejected(f"Attachment {name!r} is a PDF with too many parts to check; print it to a "
                                  "simpler PDF and attach that.")
        if isinstance(obj, DictionaryObject):
            for key, value in dict.items(obj):  # dict.items: references unresolved, resolved once above
                if key in RISKY_PDF_NAMES:
                    return str(key)
                if key == "/S" and str(value) in RISKY_PDF_NAMES:
                    return str(value)
                stack.append(value)
        elif isinstance(obj, ArrayObject):
            stack.extend(list.__iter__(obj))  # the list's own items: references unresolved, as above
    return None
