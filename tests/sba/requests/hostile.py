"""Hostile evidence packages, built as an attacker would (issue 13), for the tests and for measuring.

Each builder takes a good package (bytes, from ``sample_packages``) and returns
a bad one. :func:`raw_zip` writes a ZIP by hand so an entry can lie about its
size, or a name can appear twice, which :mod:`zipfile` will not write.
"""

from __future__ import annotations

import hashlib
import io
import json
import random
import struct
import zipfile
import zlib
from pathlib import Path

MiB = 1024 * 1024
SAMPLE = Path(__file__).resolve().parents[3] / "sample_data"
XSS_TYPE = "<img src=x onerror=alert(document.domain)>"
PHISH_ADDRESS = "[click](https://evil.example/phish) ![t](https://evil.example/track.png)"


def unpack(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def feature_collection(data: bytes) -> dict:
    """The package's features.geojson."""
    return json.loads(unpack(data)["features.geojson"])


def zeros_deflate(size: int) -> tuple[bytes, int]:
    """Raw deflate data of ``size`` zero bytes, and its CRC-32, made in 1 MiB steps (fast, little memory)."""
    step = b"\0" * MiB
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = comp.compress(step) + comp.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(size // MiB):
        crc = zlib.crc32(step, crc)
    # after a full flush the compressor starts afresh, so each MiB of zeros compresses to the same bytes
    return first * (size // MiB) + comp.flush(), crc


def raw_zip(entries: list[tuple[str, bytes, int, int, int]]) -> bytes:
    """A ZIP from ``(name, raw deflate data, crc, declared size, method)`` rows, written as given."""
    out = io.BytesIO()
    central = []
    for name, raw, crc, size, method in entries:
        offset = out.tell()
        fname = name.encode()
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0, crc, len(raw), size, len(fname), 0))
        out.write(fname)
        out.write(raw)
        central.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, method, 0, 0, crc, len(raw),
                                   size, len(fname), 0, 0, 0, 0, 0, offset) + fname)
    start = out.tell()
    for c in central:
        out.write(c)
    end = out.tell()
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(central), len(central), end - start, start, 0))
    return out.getvalue()


def stored(name: str, blob: bytes) -> tuple[str, bytes, int, int, int]:
    return (name, blob, zlib.crc32(blob), len(blob), 0)


def with_manifest(files: dict[str, bytes], manifest: dict) -> list[tuple[str, bytes, int, int, int]]:
    """Entries (stored, no compression) for a manifest and files, the manifest's checksums made to match."""
    manifest = json.loads(json.dumps(manifest))
    manifest["files"] = {n: {"sha256": hashlib.sha256(b).hexdigest(), "bytes": len(b)} for n, b in files.items()}
    return [stored("manifest.json", json.dumps(manifest).encode())] + [stored(n, b) for n, b in files.items()]


def parts(good: bytes) -> tuple[dict, dict[str, bytes]]:
    files = unpack(good)
    return json.loads(files.pop("manifest.json")), files


def bomb(good: bytes, size: int = 1024 * MiB, *, lie: bool = False) -> bytes:
    """An attachment of ``size`` zero bytes compressed ~1000:1; ``lie``: its header says 100 KB."""
    manifest, files = parts(good)
    raw, crc = zeros_deflate(size)
    entries = with_manifest(files, manifest)
    listed = json.loads(entries[0][1])
    listed["files"]["attachments/photo.png"] = {"sha256": "0" * 64, "bytes": size}  # refused before it matters
    entries[0] = stored("manifest.json", json.dumps(listed).encode())
    entries.append(("attachments/photo.png", raw, crc, 100_000 if lie else size, 8))
    return raw_zip(entries)


def sparse_deflate(size: int) -> tuple[bytes, int]:
    """Raw deflate data of ``size`` bytes that compress ~47:1 (a random byte every 120), and the CRC-32."""
    rng = random.Random(13)
    blob = bytearray(size)
    for i in range(0, size, 120):
        blob[i] = rng.randrange(256)
    comp = zlib.compressobj(6, zlib.DEFLATED, -15)
    return comp.compress(bytes(blob)) + comp.flush(), zlib.crc32(blob)


def many_small_bombs(good: bytes) -> bytes:
    """Each file under its own cap and its ratio under 100, but the package unpacks to over 60 MB."""
    manifest, files = parts(good)
    raw, crc = sparse_deflate(10 * MiB)
    entries = with_manifest(files, manifest)
    for i in range(6):
        entries.append((f"attachments/p{i}.png", raw, crc, 10 * MiB, 8))
    return raw_zip(entries)


def duplicate_features(good: bytes) -> bytes:
    """Two features.geojson entries: a decoy first (what a ZIP viewer shows), the real one last."""
    manifest, files = parts(good)
    decoy = json.dumps({"type": "FeatureCollection", "features": []}).encode()
    entries = with_manifest(files, manifest)
    return raw_zip([*entries[:1], stored("features.geojson", decoy), *entries[1:]])


def with_request(good: bytes, **changes) -> bytes:
    """The package with manifest request fields changed (checksums kept valid)."""
    manifest, files = parts(good)
    manifest["request"].update(changes)
    return raw_zip(with_manifest(files, manifest))


def with_manifest_doc(good: bytes, doc) -> bytes:
    """The package with ``doc`` (any JSON value) as its manifest."""
    _, files = parts(good)
    return raw_zip([stored("manifest.json", json.dumps(doc).encode())] + [stored(n, b) for n, b in files.items()])


def with_features(good: bytes, features: dict | list) -> bytes:
    manifest, files = parts(good)
    files["features.geojson"] = json.dumps(features).encode()
    return raw_zip(with_manifest(files, manifest))


def malformed(good: bytes) -> dict[str, bytes]:
    """The malformed manifests and features of the issue, by name."""
    manifest, files = parts(good)
    fc = json.loads(files["features.geojson"])
    return {
        "manifest-list": with_manifest_doc(good, []),
        "files-list": with_manifest_doc(good, {**manifest, "files": list(manifest["files"])}),
        "request-list": with_manifest_doc(good, {**manifest, "request": [1, 2]}),
        "feature-number": with_features(good, {**fc, "features": [1]}),
        "properties-list": with_features(good, {**fc, "features": [{**fc["features"][0], "properties": [1]}]}),
        "deep-nesting": raw_zip([stored("manifest.json", b"[" * 100_000 + b"]" * 100_000)]
                                + [stored(n, b) for n, b in files.items()]),
    }


def overlapping_squares(good: bytes, n: int = 1000) -> bytes:
    """``n`` overlapping 2 ft squares on the lot of the package's first feature."""
    manifest, files = parts(good)
    fc = json.loads(files["features.geojson"])
    ring = fc["features"][0]["geometry"]["coordinates"][0]
    x0, y0 = ring[0]
    d = 2 / 3.28084 / 111_320 * 1.4  # ~2 ft in degrees at 45°N (longitude)
    feats = [{"type": "Feature", "properties": {"feature_id": f"s{i}", "feature_type": "patio", "source": "drawn"},
              "geometry": {"type": "Polygon", "coordinates": [[[x0 + i * 1e-8, y0], [x0 + d + i * 1e-8, y0],
                                                               [x0 + d + i * 1e-8, y0 - d / 1.4],
                                                               [x0 + i * 1e-8, y0 - d / 1.4], [x0 + i * 1e-8, y0]]]}}
             for i in range(n)]
    files["features.geojson"] = json.dumps({"type": "FeatureCollection", "features": feats}).encode()
    return raw_zip(with_manifest(files, manifest))


def all_packages(good: bytes) -> dict[str, bytes]:
    """Every hostile package of the issue, by name, made from one good package (R100040's)."""
    fc = json.loads(unpack(good)["features.geojson"])
    xss = json.loads(json.dumps(fc))
    xss["features"][0]["properties"]["feature_type"] = XSS_TYPE
    return {
        "bomb-1GiB": bomb(good, 1024 * MiB),
        "bomb-1GiB-lying-header": bomb(good, 1024 * MiB, lie=True),
        "bomb-6x10MB": many_small_bombs(good),
        "duplicate-names": duplicate_features(good),
        **malformed(good),
        "xss-feature-type": with_features(good, xss),
        "markdown-address": with_request(good, address=PHISH_ADDRESS[:200]),
        "formula-category": with_request(good, computed_category='=HYPERLINK("https://evil.example")'),
        "control-char-requester": with_request(good, requester={"name": "=Emery+Larch\u0000\n"}),
        "negative-huge-sqft": with_request(good, billable_sqft_whole="-99999999999999999999"),
        "1MB-address": with_request(good, address="x" * 1_000_000),
        "1000-overlapping-squares": overlapping_squares(good, 1000),
        "10000-overlapping-squares": overlapping_squares(good, 10000),
    }


if __name__ == "__main__":  # python -m tests.sba.requests.hostile OUT_DIR: write them all, to measure the CLI
    import sys

    from sba.requests import Records
    from sba.requests.sample_queue import sample_packages

    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    good = next(d for pid, d, _ in sample_packages(Records.load(SAMPLE))
                if pid == "R100040")
    for name, blob in all_packages(good).items():
        (out / f"{name}.zip").write_bytes(blob)
        print(f"{name}.zip {len(blob):,} bytes")


def pdf(*objects: str) -> bytes:
    """A PDF from object bodies (object 1 is the catalog), with a correct cross-reference table."""
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for i, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


_PAGES = ("<< /Type /Pages /Kids [3 0 R] /Count 1 >>", "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] {} >>")
#: A PDF that runs JavaScript when it is opened.
PDF_OPEN_ACTION_JS = pdf("<< /Type /Catalog /Pages 2 0 R /OpenAction 4 0 R >>", _PAGES[0], _PAGES[1].format(""),
                         "<< /Type /Action /S /JavaScript /JS (app.alert\\(document.domain\\)) >>")
#: The same, its names spelt with #xx escapes as filters miss them.
PDF_ESCAPED_JS = pdf("<< /Type /Catalog /Pages 2 0 R /OpenAction << /S /J#61vaScript /J#53 (app.alert\\(1\\)) >> >>",
                     _PAGES[0], _PAGES[1].format(""))
#: A link on the page that launches a program.
PDF_LAUNCH = pdf("<< /Type /Catalog /Pages 2 0 R >>", _PAGES[0], _PAGES[1].format("/Annots [4 0 R]"),
                 "<< /Type /Annot /Subtype /Link /Rect [0 0 612 792] /A << /S /Launch /F (cmd.exe) >> >>")
#: A plain one-page PDF.
PDF_PLAIN = pdf("<< /Type /Catalog /Pages 2 0 R >>", _PAGES[0], _PAGES[1].format(""))
#: An HTML page that starts with JPEG's magic bytes.
HTML_AS_JPEG = b"\xff\xd8\xff\xe0<html><body><script>alert(document.domain)</script></body></html>"


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` × ``height`` pixels (a decompression bomb's header)."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new("L", (1, 1)).save(buf, "PNG")
    blob = bytearray(buf.getvalue())
    ihdr = 8 + 8  # signature, then length and "IHDR"
    blob[ihdr:ihdr + 8] = struct.pack(">II", width, height)
    blob[ihdr + 13:ihdr + 17] = struct.pack(">I", zlib.crc32(bytes(blob[ihdr - 4:ihdr + 13])))
    return bytes(blob)


def with_attachment(good: bytes, name: str, blob: bytes) -> bytes:
    """The package with one more attachment (listed in the manifest)."""
    manifest, files = parts(good)
    files[f"attachments/{name}"] = blob
    manifest["request"]["attachments"] = [*manifest["request"].get("attachments", []), name]
    return raw_zip(with_manifest(files, manifest))
