"""A sweep's results on disk: a parquet dataset that grows batch by batch and resumes.

Layout of the output directory::

    sweep.json              what was swept: base spec, grid keys, designs (key -> labels), seeds
    rows/part-*.parquet     one file per finished batch of runs
    .lock                   held while a sweep writes (a second writer is refused)

Why one file per batch, written to a temporary name and renamed: a rename is atomic,
so a reader (or a sweep killed with SIGKILL at any instant) sees a batch either whole
or not at all — an interrupted sweep loses at most the batches in flight and never
holds half a batch or a duplicated row. Re-running the sweep reads the keys already
written, ``(design, seed)``, and runs only the rest.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

import polars as pl

from llmteams_lab.errors import ArgumentError, DatasetError

__all__ = ["ROW_SCHEMA", "ResultStore", "batch_frame", "in_order", "load_results"]

try:  # advisory locks: POSIX only; elsewhere a second writer is not detected
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


class ResultStore:
    """The output directory of one sweep (see the module docstring)."""

    def __init__(self, out: str | os.PathLike):
        self.root = Path(out)
        self.rows_dir = self.root / "rows"
        self._lock: Any = None

    # --- the sweep's description -----------------------------------------------------
    @property
    def manifest_path(self) -> Path:
        return self.root / "sweep.json"

    def manifest(self) -> dict[str, Any] | None:
        if not self.manifest_path.is_file():
            return None
        return json.loads(self.manifest_path.read_text(encoding="utf-8"))

    def record(self, manifest: dict[str, Any]) -> None:
        """Write ``manifest``, merged with what the directory already holds: a sweep may
        be extended (more seeds, more designs), never changed to other grid keys."""
        old = self.manifest()
        if old is not None:
            if old.get("grid_keys") != manifest["grid_keys"]:
                raise ArgumentError("out", f"holds a sweep over other grid keys {old.get('grid_keys')}; "
                                    "use another directory", str(self.root))
            known = {d["key"] for d in old["designs"]}
            manifest = {**manifest,
                        "designs": old["designs"] + [d for d in manifest["designs"] if d["key"] not in known],
                        "seeds": sorted(set(old["seeds"]) | set(manifest["seeds"]))}
        _write_atomic(self.manifest_path, json.dumps(manifest, indent=1, sort_keys=True).encode())

    # --- rows ---------------------------------------------------------------------------
    def open(self) -> "ResultStore":
        """Create the directory and take its lock (refused while another sweep writes)."""
        self.rows_dir.mkdir(parents=True, exist_ok=True)
        handle = open(self.root / ".lock", "a+b")
        if fcntl is not None:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                handle.close()
                raise ArgumentError("out", "is being written by another sweep right now", str(self.root)) from None
        self._lock = handle
        for stale in self.rows_dir.glob("*.tmp"):  # a batch whose writer was killed mid-write
            stale.unlink(missing_ok=True)
        return self

    def close(self) -> None:
        if self._lock is not None:
            self._lock.close()  # releases the lock
            self._lock = None

    def __enter__(self) -> "ResultStore":
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def done(self) -> set[tuple[str, int]]:
        """The ``(design, seed)`` keys already written."""
        parts = self.parts()
        if not parts:
            return set()
        keys = pl.read_parquet(parts, columns=["design", "seed"])
        return set(zip(keys["design"].to_list(), keys["seed"].to_list()))

    def parts(self) -> list[Path]:
        return sorted(self.rows_dir.glob("part-*.parquet")) if self.rows_dir.is_dir() else []

    def append(self, rows: pl.DataFrame | list[dict[str, Any]], schema: dict[str, Any] | None = None) -> Path | None:
        """Write one batch of rows (a frame, or dicts typed by ``schema``) as a new part
        file (atomically)."""
        frame = rows if isinstance(rows, pl.DataFrame) else pl.DataFrame(rows, schema=schema)
        if frame.is_empty():
            return None
        path = self.rows_dir / f"part-{uuid.uuid4().hex}.parquet"
        tmp = path.with_name(path.name + ".tmp")
        frame.write_parquet(tmp, statistics=False)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        return path

    def table(self) -> pl.DataFrame:
        """Every row, in the sweep's order: designs as listed in ``sweep.json``, then seeds."""
        return load_results(self.root)


def load_results(out: str | os.PathLike) -> pl.DataFrame:
    """The results table of the sweep written to ``out`` (finished runs so far)."""
    store = ResultStore(out)
    manifest = store.manifest()
    if manifest is None:
        raise DatasetError(f"{str(out)!r} holds no sweep (no sweep.json); run a sweep with out=... first")
    parts = store.parts()
    if not parts:
        return pl.DataFrame(schema=ROW_SCHEMA)
    frame = pl.concat([pl.read_parquet(p) for p in parts], how="diagonal_relaxed")
    return in_order(frame, [d["key"] for d in manifest["designs"]])


def batch_frame(columns: dict[str, list[Any]], schema: dict[str, Any]) -> pl.DataFrame:
    """A task's rows (columns, as ``runner.run_task`` returns them) as a frame of the
    sweep's ``schema``; a column no row has is null."""
    size = len(next(iter(columns.values()), ()))
    return pl.DataFrame({name: columns.get(name, [None] * size) for name in schema}, schema=schema, strict=False)


def in_order(frame: pl.DataFrame, design_keys: list[str]) -> pl.DataFrame:
    """Rows sorted the sweep's way: designs in grid order, then seeds, the team's row first."""
    if frame.is_empty():
        return frame
    order = {key: i for i, key in enumerate(design_keys)}
    rank = frame["design"].replace_strict(order, default=len(order), return_dtype=pl.Int64)
    return (frame.with_columns(_rank=rank, _baseline=pl.col("arm") != "team")
            .sort("_rank", "design", "seed", "_baseline", "arm").drop("_rank", "_baseline"))


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".{uuid.uuid4().hex}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


ROW_SCHEMA: dict[str, Any] = {
    "design": pl.String, "seed": pl.Int64, "arm": pl.String, "run_id": pl.String, "n_agents": pl.Int64,
    "reason": pl.String, "decision": pl.String, "correct": pl.Boolean, "decided": pl.Boolean, "rounds": pl.Int64,
    "rounds_to_consensus": pl.Int64, "agreement": pl.Float64, "accuracy_first": pl.Float64,
    "accuracy_last": pl.Float64, "messages": pl.Int64, "delivered": pl.Int64, "dropped": pl.Int64,
    "tokens_in": pl.Int64, "tokens_out": pl.Int64, "tokens": pl.Int64, "cost_usd": pl.Float64,
    "failures": pl.Int64, "faults_applied": pl.Int64, "clock_s": pl.Float64, "samples": pl.Int64,
    "token_ratio": pl.Float64, "error": pl.String,
}
