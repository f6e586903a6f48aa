"""Hostile evidence packages (issue 13): each is refused whole, fast, in one sentence, and audited."""

from __future__ import annotations

import time
import tracemalloc

import pytest

from sba.evidence import EvidencePackageError, read_package
from sba.requests import PackageRejected, import_package
from tests.requests import hostile
from tests.requests.conftest import counts

MiB = hostile.MiB


def _refused(store, records, data, who, match):
    """Import ``data``: refused with ``match``, nothing stored, one sentence, and the refusal audited."""
    before = counts(store)
    start = time.perf_counter()
    with pytest.raises(PackageRejected, match=match) as err:
        import_package(store, data, records, actor="alice", requester=who, filename="hostile.zip")
    took = time.perf_counter() - start
    assert counts(store) == before, "a refused package left rows behind"
    msg = str(err.value)
    assert "\n" not in msg
    assert msg.endswith(".")
    last = store.audit_log()[-1]
    assert (last["action"], last["detail"]) == ("import_refused", msg)
    return msg, took


# --------------------------------------------------------------------------
# 2. zip bombs


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda good: hostile.bomb(good, 256 * MiB), "larger than 10 MB unpacked|limit is 10 MB"),
        (lambda good: hostile.bomb(good, 256 * MiB, lie=True), "photo.png in the package is damaged"),
        (hostile.many_small_bombs, "This package unpacks to more than 60 MB; it cannot be imported."),
    ],
    ids=["declared-256MiB", "header-lies", "6x10MB-entries"],
)
def test_read_package__a_zip_bomb_is_refused_in_under_a_second_with_bounded_memory(packages, build, match):
    data = build(packages["R100040"][0])
    assert len(data) < 2 * MiB
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(EvidencePackageError, match=match):
            read_package(data)
        took = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert took < 1.0
    assert peak < 40 * MiB, f"peak {peak / MiB:.0f} MiB"


def test_read_package__an_entry_compressed_1000_to_1_is_refused_by_its_ratio(packages):
    good = packages["R100040"][0]
    manifest, files = hostile.parts(good)
    raw, crc = hostile.zeros_deflate(4 * MiB)  # under the 5 MB cap of features.geojson, but 1000:1
    entries = hostile.with_manifest(files, manifest)
    entries = [e for e in entries if e[0] != "features.geojson"] + [("features.geojson", raw, crc, 4 * MiB, 8)]
    with pytest.raises(EvidencePackageError, match="compressed more than 100 to 1, as a zip bomb is"):
        read_package(hostile.raw_zip(entries))


def test_import__a_zip_bomb_is_refused_and_audited(sqlite_store, records, packages):
    data, who = packages["R100040"]
    msg, took = _refused(sqlite_store, records, hostile.bomb(data, 256 * MiB), who, "10 MB")
    assert msg == "Attachment 'photo.png' is 256.0 MB; the limit is 10 MB per file."
    assert took < 1.0


# --------------------------------------------------------------------------
# 3. malformed manifests and duplicate names


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("manifest-list", "This ZIP is not a category change evidence package."),
        ("files-list", "The package's manifest.json is not in the expected form: 'files' must be a set of named "
                       "fields."),
        ("request-list", "The package's manifest.json is not in the expected form: 'request' must be a set of "
                         "named fields."),
        ("feature-number", "The package's features.geojson is not in the expected form: 'features.0' must be a set "
                           "of named fields."),
        ("properties-list", "The package's features.geojson is not in the expected form: 'features.0.properties' "
                            "must be a set of named fields."),
        ("deep-nesting", "The package's manifest.json is damaged: it is not readable JSON."),
    ],
)
def test_import__a_malformed_manifest_is_refused_in_one_sentence_and_audited(sqlite_store, records, packages,
                                                                             name, expected):
    data, who = packages["R100040"]
    msg, _ = _refused(sqlite_store, records, hostile.malformed(data)[name], who, ".")
    assert msg == expected


def test_import__two_entries_with_one_name_are_refused_not_last_one_wins(sqlite_store, records, packages):
    data, who = packages["R100040"]
    msg, _ = _refused(sqlite_store, records, hostile.duplicate_features(data), who, "two files called")
    assert msg == "The package holds two files called features.geojson; it was not made by the app."


def test_import__a_file_the_manifest_does_not_list_is_refused(sqlite_store, records, packages):
    manifest, files = hostile.parts(packages["R100040"][0])
    entries = [*hostile.with_manifest(files, manifest), hostile.stored("attachments/x.png", b"\x89PNG")]
    _refused(sqlite_store, records, hostile.raw_zip(entries), packages["R100040"][1],
             r"holds a file its manifest does not list \(attachments/x\.png\)")


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"address": "x" * 1_000_000}, "'request.address' is longer than 200 characters"),
        ({"account_number": "2813017106\n"}, "'request.account_number' must be one line of text without control"),
        ({"requester": {"name": "=Emery+Larch\u0000\n"}}, "'request.requester.name' must be one line of text"),
        ({"billable_sqft_whole": "-99999999999999999999"}, "'request.billable_sqft_whole' must be a whole number"),
        ({"computed_category": "=HYPERLINK(\"https://evil.example\")"}, "'request.computed_category' must be a "
                                                                         "category name"),
        ({"injected": True}, "'request' has a field a package cannot have \\('injected'\\)"),
    ],
    ids=["1MB-address", "newline-account", "control-chars-name", "negative-huge-sqft", "formula-category",
         "unknown-field"],
)
def test_import__manifest_fields_outside_the_schema_are_refused(sqlite_store, records, packages, change, match):
    data, who = packages["R100040"]
    _refused(sqlite_store, records, hostile.with_request(data, **change), who, match)


# --------------------------------------------------------------------------
# 5. shapes per lot


def test_import__more_than_200_shapes_on_a_lot_are_refused_fast(sqlite_store, records, packages):
    data, who = packages["R100040"]
    msg, took = _refused(sqlite_store, records, hostile.overlapping_squares(data, 1000), who, "at most 200")
    assert msg == "The package has 1000 shapes; a request can have at most 200 on one lot."
    assert took < 1.0
