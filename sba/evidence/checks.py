"""Opening an evidence package safely: ZIP limits and the schema of its JSON files.

A package comes from the public, so :func:`read_entries` assumes nothing about
it.  Before a byte is decompressed it checks the ZIP's directory: at most
:data:`MAX_ENTRIES` entries, no name twice, no entry the manifest does not
list, each entry's *declared* size under its own cap, the sum under
:data:`MAX_UNPACKED_BYTES` and the compression ratio under :data:`MAX_RATIO`.
Entries are then decompressed in chunks, counting the *actual* bytes against
the same caps (a ZIP can lie about sizes), so a zip bomb is refused after at
most a cap's worth of work and memory.

``manifest.json`` is checked against :data:`MANIFEST_SCHEMA` and
``features.geojson`` against :data:`FEATURES_SCHEMA` (JSON Schema, checked
with ``jsonschema``) before any field is used: types, the fields a package may
have, text without control characters and of capped length, at most
:data:`MAX_SHAPES` shapes.  What the fields *mean* (a known category, an
account number, areas consistent with the outlines) is checked at intake
(:mod:`sba.requests.intake`), which knows the rate schedule and the records.

Every refusal is :class:`EvidencePackageError` with one plain sentence.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import re
import struct
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema

from sba.errors import SbaError

__all__ = [
    "ATTACHMENT_LIMIT",
    "ATTACHMENT_TYPES",
    "CONTROL_CHARS",
    "FEATURES_SCHEMA",
    "LOT_SCHEMA",
    "MANIFEST_SCHEMA",
    "MAX_ATTACHMENTS",
    "MAX_ENTRIES",
    "MAX_PACKAGE_BYTES",
    "MAX_RATIO",
    "MAX_SHAPES",
    "MAX_UNPACKED_BYTES",
    "SCHEMA_VERSION",
    "CheckedPackage",
    "EvidencePackageError",
    "attachment_name",
    "check_attachments",
    "check_json",
    "entry_limit",
    "load_json",
    "printable",
    "read_checked",
    "read_entries",
]

#: The package format this tool writes and the newest it reads.
SCHEMA_VERSION = 1
MiB = 1024 * 1024
#: The ZIP itself (the staff upload limit).
MAX_PACKAGE_BYTES = 50 * MiB
#: Everything in it, decompressed.
MAX_UNPACKED_BYTES = 60 * MiB
#: manifest, features, lot, method, report and 3 attachments, with room to spare.
MAX_ENTRIES = 12
#: The ZIP's central directory: 12 entries with names of ~100 characters take ~2 KB.
MAX_DIRECTORY_BYTES = 64 * 1024
#: The ZIP end record: signature, two disk numbers, entries on this disk and in all, directory size and offset,
#: comment length.
_EOCD = struct.Struct("<4s4H2LH")
#: Decompressed / compressed size of one entry; JSON compresses ~10:1, a zip bomb ~1000:1.
MAX_RATIO = 100
#: Entries smaller than this may have any ratio (a page of blanks compresses well and costs nothing).
RATIO_FREE_BYTES = 256 * 1024
#: Shapes per lot in one request: the City's form has a handful.
MAX_SHAPES = 200
#: Per-entry caps on the decompressed size.
ENTRY_LIMITS = {
    "manifest.json": 1 * MiB,
    "features.geojson": 5 * MiB,
    "lot.geojson": 1 * MiB,
    "method.txt": 64 * 1024,
    "report.pdf": 20 * MiB,
}
#: One attachment's size: a phone photo is 2-5 MB, a scanned survey a few MB.
ATTACHMENT_LIMIT = 10 * MiB
#: Attachments in one request (the app's upload box says "up to 3").
MAX_ATTACHMENTS = 3
#: File name endings an attachment may have → (the bytes its content starts with, media type).
ATTACHMENT_TYPES: dict[str, tuple[bytes, str]] = {
    ".pdf": (b"%PDF-", "application/pdf"),
    ".jpg": (b"\xff\xd8\xff", "image/jpeg"),
    ".jpeg": (b"\xff\xd8\xff", "image/jpeg"),
    ".png": (b"\x89PNG\r\n\x1a\n", "image/png"),
}
_CHUNK = 64 * 1024

#: C0/C1 control characters and the Unicode direction overrides (text that reads differently than it is).
CONTROL_CHARS = "\\x00-\\x1f\\x7f-\\x9f\\u202a-\\u202e\\u2066-\\u2069"
# \\A...\\Z and not ^...$: "$" would let a final newline through (jsonschema matches with Python's re)
_LINE = f"\\A[^{CONTROL_CHARS}]*\\Z"
_TEXT = "\\A[^" + CONTROL_CHARS.replace("\\x00-\\x1f", "\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f") + "]*\\Z"


_CONTROL_RE = re.compile(f"[{CONTROL_CHARS}]")


class EvidencePackageError(SbaError, ValueError):
    """An evidence package cannot be built or read; ``str(err)`` is shown as-is."""


def printable(text: Any, limit: int = 80) -> str:
    """``text`` fit to quote in a one-line message: control characters shown as "?", at most ``limit`` long.

    >>> printable("a\\nb\\x1b[2J")
    'a?b?[2J'
    """
    text = _CONTROL_RE.sub("?", str(text))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def entry_limit(name: str) -> int:
    """The cap on one entry's decompressed size (0: the entry is not allowed)."""
    if name.startswith("attachments/"):
        return ATTACHMENT_LIMIT
    return ENTRY_LIMITS.get(name, 0)


def attachment_name(name: str) -> str:
    """The file name of an attachment given with a path (Windows or not).

    >>> attachment_name("C:\\\\Users\\\\me\\\\photo.jpg"), attachment_name("scans/survey.pdf")
    ('photo.jpg', 'survey.pdf')
    """
    return Path(str(name).replace("\\", "/")).name


def check_attachments(attachments: Sequence[tuple[str, bytes]]) -> list[tuple[str, bytes, str]]:
    """The attachment rules, the same when the app builds a package and when staff take one in.

    At most :data:`MAX_ATTACHMENTS` files, each a PDF, JPG or PNG by its name
    *and* by its first bytes, at most :data:`ATTACHMENT_LIMIT` bytes, no two
    with the same name (in any case).  Returns ``(file name, data, media
    type)``; intake then decodes each file fully (:mod:`sba.requests.attachments`).

    Raises
    ------
    EvidencePackageError
        The first rule broken, in one sentence.
    """
    if len(attachments) > MAX_ATTACHMENTS:
        raise EvidencePackageError(
            f"A request can have at most {MAX_ATTACHMENTS} attachments; this one has {len(attachments)}.")
    out, seen = [], set()
    for raw_name, data in attachments:
        name = attachment_name(raw_name)
        suffix = Path(name).suffix.lower()
        if suffix not in ATTACHMENT_TYPES:
            raise EvidencePackageError(
                f"Attachment {name!r} is not a PDF, JPG or PNG file; only those can be attached."
            )
        if len(data) > ATTACHMENT_LIMIT:
            raise EvidencePackageError(f"Attachment {name!r} is {len(data) / MiB:.1f} MB; "
                                       f"the limit is {ATTACHMENT_LIMIT // MiB} MB per file.")
        magic, media = ATTACHMENT_TYPES[suffix]
        if not bytes(data).startswith(magic):
            kind = {".pdf": "a PDF", ".png": "a PNG image"}.get(suffix, "a JPEG image")
            raise EvidencePackageError(f"Attachment {name!r} is named like {kind} but its content is not; "
                                       "attach the real file.")
        if name.lower() in seen:
            raise EvidencePackageError(f"Two attachments are called {name!r}; rename one.")
        seen.add(name.lower())
        out.append((name, bytes(data), media))
    return out


# --------------------------------------------------------------------------
# the ZIP


@dataclass(frozen=True)
class CheckedPackage:
    """A package's parts, every one checked: limits, schemas and checksums."""

    manifest: dict[str, Any]
    contents: dict[str, bytes]
    features: dict[str, Any]
    lot: dict[str, Any] | None
    method_statement: str


def read_checked(data: bytes) -> CheckedPackage:
    """Open a package ZIP and check all of it (:func:`read_entries`, then the schemas of its JSON files).

    Cheap to import and to run (no geometry libraries), so a caller can refuse
    a bad package before loading anything else.

    Raises
    ------
    EvidencePackageError
        The first problem, in one sentence.
    """
    manifest, contents = read_entries(data)
    features = contents["features.geojson"]
    shapes = load_json(features, "features.geojson")
    if isinstance(shapes, dict) and isinstance(shapes.get("features"), list) and len(shapes["features"]) > MAX_SHAPES:
        # before the schema walks every shape: the count alone refuses it
        raise EvidencePackageError(f"The package has {len(shapes['features'])} shapes; a request can have at most "
                                   f"{MAX_SHAPES} on one lot.")
    shapes = check_json(shapes, FEATURES_SCHEMA, "features.geojson")
    lot = None
    if "lot.geojson" in contents:
        lot = check_json(load_json(contents["lot.geojson"], "lot.geojson"), LOT_SCHEMA, "lot.geojson")
    try:
        statement = contents.get("method.txt", b"").decode("utf-8").strip()
    except UnicodeDecodeError as err:
        raise EvidencePackageError("The package's method.txt is damaged: it is not UTF-8 text.") from err
    return CheckedPackage(manifest, contents, shapes, lot, statement)


def read_entries(data: bytes, newest_version: int = SCHEMA_VERSION) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The checked manifest and every file it lists (checksums verified), from a package ZIP.

    A manifest of a format version above ``newest_version`` is refused as
    "update the tool" before its fields are checked.

    Raises
    ------
    EvidencePackageError
        Too big, not a ZIP, a zip bomb, duplicate or unlisted entries, a
        manifest that does not fit the schema, a missing file or a bad checksum.
    """
    if len(data) > MAX_PACKAGE_BYTES:
        raise EvidencePackageError(
            f"This package is {len(data) / MiB:.0f} MB; packages can be at most {MAX_PACKAGE_BYTES // MiB} MB.")
    _check_end_record(data)
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError) as err:
        raise EvidencePackageError("This is not an evidence package: it is not a ZIP file.") from err
    with zf:
        infos = _check_directory(zf.infolist())
        if "manifest.json" not in infos:
            raise EvidencePackageError("This ZIP is not an evidence package: it has no manifest.json.")
        manifest = _load_json(zf, infos["manifest.json"])
        _check_version(manifest, newest_version)
        manifest = check_json(manifest, MANIFEST_SCHEMA, "manifest.json")
        listed: Mapping[str, Mapping[str, Any]] = manifest["files"]
        extra = sorted(set(infos) - set(listed) - {"manifest.json"})
        if extra:
            raise EvidencePackageError(f"The package holds a file its manifest does not list ({extra[0]}).")
        for required in ("features.geojson", "report.pdf"):
            if required not in listed:
                raise EvidencePackageError(f"The package is missing {required}.")
        contents = {}
        for name, info in listed.items():
            if name not in infos:
                raise EvidencePackageError(f"The package is missing {name}.")
            blob = _read(zf, infos[name])
            if hashlib.sha256(blob).hexdigest() != info["sha256"]:
                raise EvidencePackageError(f"{name} in the package was changed after it was made.")
            contents[name] = blob
    return manifest, contents


def _check_version(manifest: Any, newest: int) -> None:
    if not isinstance(manifest, dict) or manifest.get("kind") != MANIFEST_SCHEMA["properties"]["kind"]["const"]:
        raise EvidencePackageError("This ZIP is not a category change evidence package.")
    version = manifest.get("schema_version")
    if isinstance(version, int) and not isinstance(version, bool) and version > newest:
        raise EvidencePackageError(
            f"This package uses format version {version}, newer than this tool reads ({newest}); update the tool.")


def _check_end_record(data: bytes) -> None:
    """Refuse a ZIP whose directory is bigger than a package's before :mod:`zipfile` reads all of it.

    zipfile makes an object for every entry its end record announces (a 50 MB
    ZIP64 file can announce half a million); it finds that record as done here:
    the last signature in the final 64 KB, and a ZIP64 record just before it.
    """
    tail = data[-(_EOCD.size + 0xFFFF):]
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < _EOCD.size:
        return  # no end record: zipfile says "not a ZIP file"
    entries, size = _EOCD.unpack_from(tail, at)[4:6]
    zip64 = tail[max(at - 20, 0):at].startswith(b"PK\x06\x07")
    if zip64 or entries > MAX_ENTRIES or size > MAX_DIRECTORY_BYTES:
        shown = "65,535 or more" if zip64 or entries == 0xFFFF else f"{entries:,}"
        raise EvidencePackageError(f"This package holds {shown} files; an evidence package has at most {MAX_ENTRIES}.")


def _check_directory(infos: list[zipfile.ZipInfo]) -> dict[str, zipfile.ZipInfo]:
    """Refuse a ZIP by its directory alone: too many, duplicate, unknown or oversized entries."""
    if len(infos) > MAX_ENTRIES:
        raise EvidencePackageError(
            f"This package holds {len(infos)} files; an evidence package has at most {MAX_ENTRIES}.")
    by_name: dict[str, zipfile.ZipInfo] = {}
    total = 0
    for info in infos:
        name = info.filename
        if name in by_name:
            raise EvidencePackageError(
                f"The package holds two files called {printable(name)}; it was not made by the app.")
        if name != "manifest.json" and not re.match(_FILE_NAME, name):
            raise EvidencePackageError(
                f"The package holds a file an evidence package cannot have ({printable(name)}).")
        _check_size(name, info.file_size, info.compress_size)
        total += info.file_size
        if total > MAX_UNPACKED_BYTES:
            raise EvidencePackageError(
                f"This package unpacks to more than {MAX_UNPACKED_BYTES // MiB} MB; it cannot be imported.")
        by_name[name] = info
    return by_name


def _check_size(name: str, size: int, compressed: int) -> None:
    if size > entry_limit(name) and name.startswith("attachments/"):
        raise EvidencePackageError(
            f"Attachment {name.split('/', 1)[1][:100]!r} is {size / MiB:.1f} MB; the limit is 10 MB per file.")
    if size > entry_limit(name):
        raise EvidencePackageError(
            f"{name} in the package is larger than {entry_limit(name) / MiB:g} MB unpacked; it cannot be imported.")
    if size > RATIO_FREE_BYTES and size > MAX_RATIO * max(compressed, 1):
        raise EvidencePackageError(
            f"{name} in the package is compressed more than {MAX_RATIO} to 1, as a zip bomb is; "
            "it cannot be imported.")


def _read(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """Decompress one entry in chunks, refusing it as soon as it outgrows what its header declared."""
    limit = min(info.file_size, entry_limit(info.filename))
    buf = bytearray()
    try:
        with zf.open(info) as fh:
            while chunk := fh.read(_CHUNK):
                buf += chunk
                if len(buf) > limit:
                    raise EvidencePackageError(
                        f"{info.filename} in the package is larger than its ZIP header says; it cannot be imported.")
    except EvidencePackageError:
        raise
    except RuntimeError as err:  # zipfile: "File ... is encrypted, password required"
        raise EvidencePackageError(f"{info.filename} in the package is encrypted; it cannot be read.") from err
    except NotImplementedError as err:
        raise EvidencePackageError(
            f"{info.filename} in the package uses a compression this tool does not read."
        ) from err
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as err:
        raise EvidencePackageError(f"{info.filename} in the package is damaged.") from err
    return bytes(buf)


def _load_json(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> Any:
    return load_json(_read(zf, info), info.filename)



def load_json(blob: bytes, name: str) -> Any:
    """Parse a package's JSON file, refusing damaged or absurdly nested text in one sentence."""
    try:
        return json.loads(blob)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as err:
        raise EvidencePackageError(f"The package's {name} is damaged: it is not readable JSON.") from err


# --------------------------------------------------------------------------
# the schemas


def _line(n: int) -> dict:
    return {"type": "string", "maxLength": n, "pattern": _LINE}


def _text(n: int) -> dict:
    return {"type": "string", "maxLength": n, "pattern": _TEXT}


def _nullable(schema: dict) -> dict:
    return {"anyOf": [{"type": "null"}, schema]}


_WHOLE = {"anyOf": [{"type": "string", "pattern": "\\A[0-9]{1,9}\\Z"},
                    {"type": "integer", "minimum": 0, "maximum": 999_999_999}]}
_AREA = {"anyOf": [{"type": "string", "pattern": "\\A[0-9]{1,12}(\\.[0-9]{1,12})?\\Z"},
                   {"type": "number", "minimum": 0, "maximum": 1e12}]}
_UTC_TIME = "\\A[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z\\Z"
_CATEGORY = {"type": "string", "pattern": "\\A[A-Za-z][A-Za-z0-9_ -]{0,39}\\Z"}
_FILE_NAME = ("\\A(features\\.geojson|lot\\.geojson|method\\.txt|report\\.pdf"
              "|attachments/[^/\\\\" + CONTROL_CHARS + "]{1,100})\\Z")

MANIFEST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["schema_version", "kind", "request", "files"],
    "additionalProperties": False,
    "properties": {
        "schema_version": {"type": "integer", "minimum": 1},
        "kind": {"const": "sba-category-change-request"},
        "created_at": {"type": "string", "pattern": _UTC_TIME},
        "generator": _line(100),
        "request": {
            "type": "object",
            "required": ["parcel_id"],
            "additionalProperties": False,
            "properties": {
                "parcel_id": _line(40),
                "account_number": _line(40),
                "address": _line(200),
                "property_class": _line(40),
                "dwelling_units": _nullable({"type": "integer", "minimum": 0, "maximum": 10_000}),
                "current_category": _nullable({"anyOf": [{"const": ""}, _CATEGORY]}),
                "computed_category": _nullable(_CATEGORY),
                "billable_area_sqft": _nullable(_AREA),
                "billable_sqft_whole": _nullable(_WHOLE),
                "form_totals": {
                    "type": "object", "additionalProperties": False,
                    "properties": {k: {"anyOf": [_line(20), {"type": "integer"}]}
                                   for k in ("roofs", "driveway_parking", "other_hard_surfaces")},
                },
                "breakdown": {
                    "type": "object",
                    "properties": {
                        "by_type": {"type": "object", "maxProperties": 40, "additionalProperties": _AREA},
                        "problems": {"type": "array", "maxItems": MAX_SHAPES, "items": _text(500)},
                        "repaired": {"type": "boolean"},
                    },
                    "additionalProperties": _AREA,
                },
                "method": {
                    "type": "object", "additionalProperties": False,
                    "properties": {"how": {"enum": ["drawn", "tape", "uploaded", "mixed"]},
                                   "imagery": _line(200), "crs_measured": _line(100),
                                   "statement": _text(4000)},
                },
                "eligibility": {
                    "type": "object", "additionalProperties": False,
                    "properties": {k: {"type": "boolean"} for k in
                                   ("single_family", "one_dwelling_unit", "one_account", "account_holder")},
                },
                "requester": {
                    "type": "object", "additionalProperties": False,
                    "properties": {"name": _line(100), "email": _line(254), "phone": _line(40)},
                },
                "schedule": _nullable(_line(100)),
                "bill": _nullable({"type": "object", "maxProperties": 40}),
                "warnings": {"type": "array", "maxItems": MAX_SHAPES + 20, "items": _text(1000)},
                "attachments": {"type": "array", "maxItems": 3, "items": _line(100)},
            },
        },
        "files": {
            "type": "object",
            "maxProperties": MAX_ENTRIES - 1,
            "propertyNames": {"pattern": _FILE_NAME},
            "additionalProperties": {
                "type": "object", "required": ["sha256"], "additionalProperties": False,
                "properties": {"sha256": {"type": "string", "pattern": "\\A[0-9a-f]{64}\\Z"},
                               "bytes": {"type": "integer", "minimum": 0}},
            },
        },
    },
}

_GEOMETRY = _nullable({"type": "object", "required": ["type"], "properties": {"type": _line(40)}})

FEATURES_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "features"],
    "properties": {
        "type": {"const": "FeatureCollection"},
        "crs_measured": _line(100),
        "features": {
            "type": "array",
            "maxItems": MAX_SHAPES,
            "items": {
                "type": "object",
                "required": ["type", "geometry", "properties"],
                "properties": {
                    "type": {"const": "Feature"},
                    "geometry": _GEOMETRY,
                    "properties": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "feature_id": {"anyOf": [_line(64), {"type": "integer"}]},
                            "feature_type": _line(40),
                            "source": {"enum": ["drawn", "record", "upload", "tape"]},
                            "area_sqft": _nullable(_AREA),
                            "inside_lot_sqft": _nullable(_AREA),
                            "shape": _line(40),
                            "dimensions_ft": {"type": "array", "maxItems": 10, "items": _line(20)},
                            "label": _line(100),
                        },
                    },
                },
            },
        },
    },
}

LOT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "features"],
    "properties": {"type": {"const": "FeatureCollection"},
                   "features": {"type": "array", "maxItems": 10,
                                "items": {"type": "object", "properties": {"geometry": _GEOMETRY}}}},
}

_TYPE_WORDS = {"object": "a set of named fields", "array": "a list", "string": "text", "integer": "a whole number",
               "number": "a number", "boolean": "true or false", "null": "empty"}
_PATTERN_WORDS = {
    _LINE: "one line of text without control characters",
    _TEXT: "text without control characters",
    _CATEGORY["pattern"]: "a category name such as small, standard or large",
    "\\A[0-9]{1,9}\\Z": "a whole number of square feet",
    _AREA["anyOf"][0]["pattern"]: "a number of square feet",
    "\\A[0-9a-f]{64}\\Z": "a SHA-256 checksum",
    _UTC_TIME: "a UTC time such as 2026-03-02T17:00:00Z",
    _FILE_NAME: "features.geojson, lot.geojson, method.txt, report.pdf or attachments/<name>",
}


def check_json(doc: Any, schema: Mapping[str, Any], name: str) -> Any:
    """Return ``doc`` if it fits ``schema``; otherwise refuse with one sentence naming the first problem."""
    validator = jsonschema.Draft202012Validator(schema)
    try:
        # the best of the first 50 problems: a file with thousands of them costs no more than one with 50
        error = jsonschema.exceptions.best_match(itertools.islice(validator.iter_errors(doc), 50))
    except RecursionError as err:
        raise EvidencePackageError(f"The package's {name} is nested too deeply to be read.") from err
    if error is None:
        return doc
    if name == "features.geojson" and error.validator == "maxItems" and list(error.absolute_path) == ["features"]:
        raise EvidencePackageError(
            f"The package has {len(error.instance)} shapes; a request can have at most {MAX_SHAPES} on one lot.")
    raise EvidencePackageError(f"The package's {name} is not in the expected form: {_explain(error)}.")


def _explain(error: jsonschema.ValidationError) -> str:
    # best_match descends into anyOf; the deepest error names the field, the top one says what it should be
    while error.context and error.validator in ("anyOf", "oneOf"):
        error = jsonschema.exceptions.best_match(error.context)
    where = ".".join(str(p) for p in error.absolute_path) or "the whole file"
    where = where if where == "the whole file" else f"'{printable(where)}'"
    kind, value = error.validator, error.validator_value
    if kind == "type":
        wanted = [value] if isinstance(value, str) else list(value)
        return f"{where} must be {' or '.join(_TYPE_WORDS.get(t, t) for t in wanted)}"
    if kind == "required":
        missing = next((k for k in value if k not in error.instance), value[0])
        return f"{where} lacks the field '{missing}'"
    if kind == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        if not extra:
            return f"{where} has unknown fields"
        return f"{where} has a field a package cannot have ('{printable(extra[0], 40)}')"
    if kind == "maxLength":
        return f"{where} is longer than {value} characters"
    if kind in ("maxItems", "maxProperties"):
        return f"{where} has more than {value} entries"
    if kind == "pattern":
        return f"{where} must be {_PATTERN_WORDS.get(value, 'in the expected form')}"
    if kind in ("const", "enum"):
        allowed = [value] if kind == "const" else value
        return f"{where} must be {' or '.join(repr(v) for v in allowed)}"
    if kind in ("minimum", "maximum"):
        return f"{where} is out of range"
    return f"{where} is not valid"
