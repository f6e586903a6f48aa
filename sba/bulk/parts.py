"""The finished chunks of a bulk run on disk, so that ``--resume`` can continue it.

``<out>.parts/`` holds one uncompressed Arrow file per finished chunk and a
``manifest.json`` that only the run's parent process writes (atomically):
the fingerprint of the inputs and settings, and for each chunk whose part is
complete its row count and the SHA-256 of the file's bytes.  A resumed run
uses a part only when the manifest records it, its bytes hash to the recorded
value, and it holds exactly the lots of that chunk (the caller checks the
ids); any other part is measured again.  A part written but not yet recorded
(the run was killed in between) is measured again too.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from sba.output import write_atomic

__all__ = ["MANIFEST", "PARTS_SUFFIX", "PartRecord", "PartStore", "fingerprint"]

PARTS_SUFFIX = ".parts"
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class PartRecord:
    """What the manifest keeps of a finished part."""

    rows: int
    sha256: str

    def to_json(self) -> dict:
        """The record as the manifest stores it."""
        return {"rows": self.rows, "sha256": self.sha256}


def fingerprint(paths: Iterable[Path | None], settings: dict) -> str:
    """A digest of the input files (path, size, mtime) and the run's settings."""
    h = hashlib.sha256()
    for p in paths:
        if p is None:
            h.update(b"-")
            continue
        st = Path(p).stat()
        h.update(f"{Path(p).resolve()}|{st.st_size}|{st.st_mtime_ns}".encode())
    h.update(json.dumps(settings, sort_keys=True, default=str).encode())
    return h.hexdigest()


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def part_path(folder: Path, k: int) -> Path:
    return folder / f"chunk-{k:05d}.arrow"


def write_part(table, folder: Path, k: int) -> PartRecord:
    """Write chunk ``k`` (a DataFrame, or the Arrow table of one) atomically and return what the
    manifest should record."""
    import pyarrow as pa
    import pyarrow.feather as feather

    path = part_path(folder, k)
    arrow = table if isinstance(table, pa.Table) else pa.Table.from_pandas(table, preserve_index=False)
    write_atomic(path, lambda tmp: feather.write_feather(arrow, tmp, compression="uncompressed"))
    return PartRecord(len(table), _sha256(path))


@dataclass
class PartStore:
    """The parts folder of one run, and the manifest the parent keeps of it."""

    folder: Path
    fingerprint: str
    settings: dict
    records: dict[int, PartRecord] = field(default_factory=dict)
    #: one sentence per problem found while resuming (shown in the summary)
    notes: list[str] = field(default_factory=list)

    @classmethod
    def open(cls, out: Path, paths: list, settings: dict, resume: bool) -> PartStore:
        """The parts of ``out``: those of an earlier run with the same fingerprint when
        ``resume``, else an empty folder."""
        folder = out.with_name(out.name + PARTS_SUFFIX)
        store = cls(folder, fingerprint([Path(p) if p else None for p in paths], settings), settings)
        if resume:
            store._load()
        if not store.records:
            if folder.exists():
                shutil.rmtree(folder)
            folder.mkdir()
            store.save()
        return store

    def _load(self) -> None:
        manifest = self.folder / MANIFEST
        if not manifest.exists():
            return
        try:
            data = json.loads(manifest.read_text())
            if data.get("fingerprint") != self.fingerprint:
                self.notes.append("The saved chunks are of other inputs or settings; starting over.")
                return
            self.records = {int(k): PartRecord(int(v["rows"]), str(v["sha256"]))
                            for k, v in data.get("parts", {}).items()}
        except (ValueError, TypeError, KeyError, AttributeError, OSError):
            self.notes.append(f"The record of the saved chunks ({manifest}) could not be read; starting over.")
            self.records = {}

    def save(self) -> None:
        """Write the manifest atomically (the parent's only)."""
        data = {"fingerprint": self.fingerprint, "settings": self.settings,
                "parts": {str(k): r.to_json() for k, r in sorted(self.records.items())}}
        text = json.dumps(data, default=str)
        write_atomic(self.folder / MANIFEST, lambda tmp: Path(tmp).write_text(text))

    def record(self, k: int, rec: PartRecord) -> None:
        """Note part ``k`` as finished and save the manifest."""
        self.records[k] = rec
        self.save()

    def done(self) -> set[int]:
        """The numbers of the parts the manifest records as finished."""
        return set(self.records)

    def read(self, k: int) -> pd.DataFrame | None:
        """Chunk ``k``'s saved table, or None (and a note) when its file is not the one recorded."""
        import pyarrow.feather as feather

        rec = self.records.get(k)
        path = part_path(self.folder, k)
        try:
            if rec is None or _sha256(path) != rec.sha256:
                raise ValueError("changed")
            table = feather.read_table(path).to_pandas()
            if len(table) != rec.rows:
                raise ValueError("rows")
        except (OSError, ValueError):
            self.reject(k, "does not match what the run recorded (changed, cut short or missing)")
            return None
        return table

    def reject(self, k: int, why: str) -> None:
        """Forget chunk ``k``'s part: it will be measured again."""
        self.records.pop(k, None)
        self.notes.append(f"The saved part of chunk {k} {why}; it was measured again.")
        self.save()

    def sweep(self) -> None:
        """Remove the temporary files of parts whose writing was cut short."""
        for tmp in self.folder.glob(".chunk-*.tmp*"):
            tmp.unlink(missing_ok=True)

    def remove(self) -> None:
        """Delete the parts folder and everything in it (the run's result is written)."""
        shutil.rmtree(self.folder, ignore_errors=True)
