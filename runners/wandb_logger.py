"""Weights & Biases logging that never stops training.

Offline by default (``WANDB_MODE`` or ``logger.mode`` override it); ``WANDB_DIR`` is respected,
otherwise the W&B files go in the run directory. Any failure of wandb (no key, no network, a broken
install) is reported once as a warning and the run goes on with its local run directory.
"""
from __future__ import annotations

import json
import os
import struct
import sys
import warnings
from pathlib import Path

import numpy as np


class WandbLogger:
    def __init__(self, mode: str | None, project: str, run_dir: Path, name: str, config: dict,
                 group: str | None = None, tags=(), job_type: str = "train"):
        self.mode = mode or os.environ.get("WANDB_MODE") or "offline"
        if self.mode == "dryrun":
            self.mode = "offline"
        self.run = None
        self._warned = False
        if self.mode == "disabled":
            return
        try:
            import wandb

            self._wandb = wandb
            self.run = wandb.init(
                project=project, name=name, group=group, tags=list(tags), job_type=job_type,
                config=config, mode=self.mode, dir=os.environ.get("WANDB_DIR") or str(run_dir),
                reinit="create_new", settings=wandb.Settings(silent=True, console="off"),
            )
        except Exception as e:  # noqa: BLE001 - W&B must never stop a run
            self._warn(f"wandb.init failed ({type(e).__name__}: {e}); continuing without W&B")
            self.run = None

    def _warn(self, msg: str) -> None:
        if not self._warned:
            self._warned = True
            warnings.warn(msg, RuntimeWarning, stacklevel=3)
            print(f"warning: {msg}", file=sys.stderr)

    @property
    def active(self) -> bool:
        return self.run is not None

    @property
    def dir(self) -> str | None:
        return getattr(self.run, "dir", None) and str(Path(self.run.dir).parent) if self.run else None

    def log(self, metrics: dict, step: int) -> None:
        if self.run is None:
            return
        try:
            self.run.log(metrics, step=step)
        except Exception as e:  # noqa: BLE001
            self._warn(f"wandb.log failed ({type(e).__name__}: {e}); continuing without W&B")
            self.run = None

    def log_media(self, files: dict, step: int) -> None:
        """``files``: name -> path of a PNG/GIF written by the runner, or a list of row dicts (a table)."""
        if self.run is None:
            return
        try:
            wandb = self._wandb
            out = {}
            for name, value in files.items():
                if isinstance(value, list):
                    cols = list(value[0]) if value else []
                    out[f"media/{name}"] = wandb.Table(columns=cols, data=[[r.get(c) for c in cols] for r in value])
                else:
                    out[f"media/{name}"] = wandb.Image(str(value))
            self.run.log(out, step=step)
        except Exception as e:  # noqa: BLE001
            self._warn(f"wandb media logging failed ({type(e).__name__}: {e}); media stay in the run folder")

    def summary(self, metrics: dict) -> None:
        if self.run is None:
            return
        try:
            for k, v in metrics.items():
                self.run.summary[k] = v
        except Exception as e:  # noqa: BLE001
            self._warn(f"wandb summary failed ({type(e).__name__}: {e})")

    def finish(self, exit_code: int = 0) -> None:
        if self.run is None:
            return
        try:
            self.run.finish(exit_code=exit_code)
            # Shut the wandb-core service down too: this waits until it has flushed the run's
            # transaction log, so the offline files are complete when the run returns.
            self._wandb.teardown()
        except Exception as e:  # noqa: BLE001
            self._warn(f"wandb.finish failed ({type(e).__name__}: {e})")
        self.run = None


def offline_run_dirs(root: Path) -> list[Path]:
    """The W&B offline run folders under ``root`` (for ``wandb sync``)."""
    return sorted(Path(root).rglob("offline-run-*"))


def read_offline_run(run_path: Path) -> dict:
    """Read a W&B ``.wandb`` transaction log back: {'config': {...}, 'history': [rows], 'summary': {...}}.

    The file is a 7-byte header (":W&B", magic, version) then LevelDB-style log records
    (crc32c, length, type) in 32 KiB blocks, each a serialized ``wandb_internal_pb2.Record``.
    """
    from wandb.proto import wandb_internal_pb2 as pb

    run_path = Path(run_path)
    file = run_path if run_path.suffix == ".wandb" else next(run_path.glob("*.wandb"))
    data = file.read_bytes()
    pos, block, buf, records = 7, 32768, b"", []
    while pos + 7 <= len(data):
        left = block - (pos % block)
        if left < 7:
            pos += left
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos:pos + 7])
        pos += 7
        chunk = data[pos:pos + length]
        pos += length
        if kind == 0 and length == 0:
            continue
        if kind in (1,):  # full
            records.append(chunk)
        elif kind == 2:  # first
            buf = chunk
        elif kind == 3:  # middle
            buf += chunk
        elif kind == 4:  # last
            records.append(buf + chunk)
            buf = b""
    out = {"config": {}, "history": [], "summary": {}}
    for raw in records:
        rec = pb.Record()
        rec.ParseFromString(raw)
        which = rec.WhichOneof("record_type")
        if which == "history":
            out["history"].append({i.key or "/".join(i.nested_key): json.loads(i.value_json) for i in rec.history.item})
        elif which == "config":
            for i in rec.config.update:
                out["config"][i.key] = json.loads(i.value_json)
        elif which == "summary":
            for i in rec.summary.update:
                out["summary"][i.key or "/".join(i.nested_key)] = json.loads(i.value_json)
        elif which == "run":
            for i in rec.run.config.update:
                out["config"][i.key] = json.loads(i.value_json)
    return out


def to_float(x):
    if isinstance(x, (np.floating, np.integer)):
        return x.item()
    return x
