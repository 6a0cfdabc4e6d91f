"""Weights & Biases logging that never stops training.

Offline by default (``WANDB_MODE`` or ``logger.mode`` override it); ``WANDB_DIR`` is respected,
otherwise the W&B files go in the run directory. Any failure of wandb (no key, no network, a broken
install) is reported once as a warning and the run goes on with its local run directory.

What a W&B user sees (issue 16):

- one W&B run per training run: its id is kept in ``<run_dir>/wandb-run-id`` and ``gymlab resume``
  continues that run (``resume="allow"``), its history going on from the checkpoint's step;
- a unique readable name ``<experiment>-<id>-s<seed>``; ``group`` (``logger.group``, else the
  experiment and a hash of its config without the seed, so that seeds of one configuration group
  together); ``job_type`` (``logger.job_type``: train, eval, compare, sweep); tags (pillar,
  experiment, env or dataset, plus ``logger.tags``); the command line in the notes;
- ``define_metric``: RL charts against ``train/env_steps``, generative ones against
  ``train/examples`` (train steps x batch size), the others against ``train/epoch``; summaries
  that fit the metric (max accuracy, min bits/dim, last return);
- media as W&B's own types (see ``wandb_media``); console capture; the checkpoints as a model
  artifact with the aliases ``latest`` and ``best`` and the config in its metadata
  (``logger.artifacts``); a config without the plumbing keys (``out``, ``progress``, ``run_dir``).
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shlex
import string
import struct
import sys
import warnings
from pathlib import Path

import numpy as np

PLUMBING = ("out", "progress", "run_dir")  # where and how a run is shown, not what it computes
# keys that do not make another configuration: runs that differ only in these share a W&B group
_NOT_GROUPED = ("seed", "logger", "device", "log_every", "checkpoint_every", "media_every_eval", "sanity")
ID_FILE = "wandb-run-id"
INIT_TIMEOUT_S = float(os.environ.get("GYMLAB_WANDB_INIT_TIMEOUT", "10"))  # seconds wandb.init may wait online

# experiment module -> pillar (a tag, and a section of `gymlab dashboard`)
_PILLAR_OF_MODULE = {
    "deep_rl": "rl", "sb3": "rl", "tabular": "rl",
    "generative": "generative",
    "detection": "detection", "segmentation": "segmentation",
    "linear": "classification", "classifiers": "classification", "backprop": "classification",
    "compress": "classification", "adversarial": "classification", "transfer": "classification",
    "lessons": "classification", "mnist": "classification",
}
AXES = {"rl": "train/env_steps", "generative": "train/examples"}  # the others: train/epoch
_MAX = ("accuracy", "map", "ap50", "miou", "success_rate", "auc", "exact_match", "inception_score", "in_box")
_MIN = ("bits_per_dim", "nll_nats", "fid", "loss", "recon_nats", "error")
_LAST = ("mean_return", "std_return", "mean_length")


def pillar(spec) -> str:
    """The pillar of an experiment: from its module, else an env id (``...-vN``) means RL, else vision."""
    parts = getattr(spec.cls, "__module__", "").split(".")
    for part in parts[3:]:  # gymlab.runners.experiments.<module>[.<sub>]
        if part in _PILLAR_OF_MODULE:
            return _PILLAR_OF_MODULE[part]
    return "rl" if re.search(r"-v\d+$", spec.data or "") else "vision"


def axis_of(pillar_name: str) -> str:
    return AXES.get(pillar_name, "train/epoch")


def summary_mode(key: str, spec=None) -> str | None:
    """W&B summary of an eval metric: max for scores, min for losses and bits/dim, last for returns."""
    if not key.startswith("eval/"):
        return None
    leaf = key.split("/", 1)[1]
    if any(leaf.endswith(s) for s in _LAST):
        return "last"
    if any(s in leaf for s in _MAX):
        return "max"
    if any(s in leaf for s in _MIN):
        return "min"
    if spec is not None and key in (spec.metric, spec.select):
        return spec.mode
    return None


def new_run_id() -> str:
    """Eight base-36 characters, as W&B's own ids."""
    return "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(8))


def stored_run_id(run_dir) -> str | None:
    path = Path(run_dir) / ID_FILE
    return path.read_text().strip() or None if path.exists() else None


def command_line() -> str:
    """The command that started this process, for the run's notes (``gymlab ...`` for the CLI)."""
    if sys.argv and (Path(sys.argv[0]).name == "gymlab" or sys.argv[0].endswith("runners/cli.py")):
        return shlex.join(["gymlab", *sys.argv[1:]])  # the console script, or python -m gymlab.runners.cli
    return shlex.join(sys.argv)


def run_identity(name: str, spec, cfg, run_dir, *, resuming: bool = False) -> dict:
    """What ``wandb.init`` gets for one run of ``name`` with ``cfg``: id, resume, name, group, tags, ..."""
    from gymlab.runners import config as config_mod

    full = config_mod.to_dict(cfg)
    config = {"experiment": name, **{k: v for k, v in full.items() if k not in PLUMBING}}
    run_id = (stored_run_id(run_dir) if resuming else None) or new_run_id()
    same = {k: v for k, v in config.items() if k not in _NOT_GROUPED}
    digest = hashlib.sha1(json.dumps(same, sort_keys=True, default=str).encode()).hexdigest()[:6]
    p = pillar(spec)
    data = getattr(cfg, "env", None) or getattr(cfg, "data", None) or spec.data
    data = getattr(data, "name", data)  # a data group (data.name)
    tags = list(dict.fromkeys([p, name, str(data), *map(str, cfg.logger.tags)]))
    return dict(id=run_id, resume="allow" if resuming else None, name=f"{name}-{run_id}-s{cfg.seed}",
                group=cfg.logger.group or f"{name}-{digest}", tags=tags,
                job_type=cfg.logger.job_type or "train", notes=command_line(), config=config,
                pillar=p)


class WandbLogger:
    """One W&B run; every call is a no-op once wandb has failed (one warning) or when disabled."""

    def __init__(self, mode: str | None, project: str, run_dir: Path, name: str, config: dict,
                 group: str | None = None, tags=(), job_type: str = "train", *, id: str | None = None,
                 resume: str | None = None, notes: str | None = None, axis: str | None = None, spec=None,
                 artifacts: bool = False, batch_size: int | None = None):
        self.mode = mode or os.environ.get("WANDB_MODE") or "offline"
        if self.mode == "dryrun":
            self.mode = "offline"
        self.run = None
        self._warned = False
        self.run_dir, self.config, self.spec, self.artifacts = Path(run_dir), config, spec, artifacts
        self.axis, self.batch_size = axis, batch_size
        self._defined: dict[str, str | None] = {}  # metric -> its summary mode, once define_metric ran
        if self.mode == "disabled":
            return
        try:
            import wandb

            self._wandb = wandb
            wandb_dir = os.environ.get("WANDB_DIR") or str(run_dir)
            Path(wandb_dir).mkdir(parents=True, exist_ok=True)
            init = dict(project=project, name=name, group=group, tags=list(tags), job_type=job_type, notes=notes,
                        id=id, resume=resume, config=config, dir=wandb_dir, reinit="create_new")
            try:  # online without a network: W&B would wait 90 s; give up after INIT_TIMEOUT_S and log offline
                self.run = wandb.init(**init, mode=self.mode, settings=wandb.Settings(
                    silent=True, console="wrap", init_timeout=INIT_TIMEOUT_S))
            except Exception as e:  # noqa: BLE001
                if self.mode != "online":
                    raise
                self._warn(f"W&B is unreachable ({type(e).__name__}); this run logs offline in {wandb_dir}: "
                           f"upload it later with `wandb sync`")
                self.mode = "offline"
                self.run = wandb.init(**init, mode="offline", settings=wandb.Settings(silent=True, console="wrap"))
            if id is not None:
                (self.run_dir / ID_FILE).write_text(self.run.id + "\n")
        except Exception as e:  # noqa: BLE001 - W&B must never stop a run
            self._warn(f"wandb.init failed ({type(e).__name__}: {e}); continuing without W&B")
            self.run = None

    @classmethod
    def for_run(cls, name: str, spec, cfg, run_dir: Path, *, resuming: bool = False, rank: int = 0) -> "WandbLogger":
        """The logger of one runner run (rank 0 logs; the others get a disabled one)."""
        mode = cfg.logger.mode if rank == 0 else "disabled"
        if (mode or os.environ.get("WANDB_MODE")) == "disabled":
            return cls("disabled", cfg.logger.project, run_dir, name, {})
        ident = run_identity(name, spec, cfg, run_dir, resuming=resuming)
        return cls(mode, cfg.logger.project, run_dir, ident["name"], ident["config"], ident["group"], ident["tags"],
                   ident["job_type"], id=ident["id"], resume=ident["resume"], notes=ident["notes"],
                   axis=axis_of(ident["pillar"]), spec=spec, artifacts=cfg.logger.artifacts,
                   batch_size=getattr(cfg, "batch_size", None))

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

    def _define(self, metrics: dict) -> None:
        """define_metric for keys seen for the first time: the x axis once it is logged, summary modes."""
        run = self.run
        if self.axis and self.axis in metrics and self.axis not in self._defined:
            run.define_metric(self.axis)
            run.define_metric("train/*", step_metric=self.axis)
            run.define_metric("eval/*", step_metric=self.axis)
            self._defined[self.axis] = None
        for key in metrics:
            if key not in self._defined:
                mode = summary_mode(key, self.spec)
                if mode is not None:
                    run.define_metric(key, summary=mode)
                self._defined[key] = mode

    def log(self, metrics: dict, step: int) -> None:
        if self.run is None:
            return
        try:
            if self.axis == "train/examples" and self.batch_size and any(k.startswith("train/") for k in metrics):
                metrics = {**metrics, "train/examples": step * self.batch_size}
            self._define(metrics)
            self.run.log(metrics, step=step)
        except Exception as e:  # noqa: BLE001
            self._warn(f"wandb.log failed ({type(e).__name__}: {e}); continuing without W&B")
            self.run = None

    def log_media(self, files: dict, step: int) -> None:
        """``files``: what ``media.save_media`` returned; each becomes W&B's own type (``wandb_media``)."""
        if self.run is None:
            return
        try:
            out = {}
            for name, value in files.items():
                out.update(wandb_media(self._wandb, f"media/{name}", value))
            self.run.log(out, step=step)
        except Exception as e:  # noqa: BLE001
            self._warn(f"wandb media logging failed ({type(e).__name__}: {e}); media stay in the run folder")

    def summary(self, metrics: dict) -> None:
        """Final values; metrics with a max/min summary keep W&B's (the best, not the last)."""
        if self.run is None:
            return
        try:
            for k, v in metrics.items():
                if self._defined.get(k) not in ("max", "min"):
                    self.run.summary[k] = v
        except Exception as e:  # noqa: BLE001
            self._warn(f"wandb summary failed ({type(e).__name__}: {e})")

    def log_checkpoints(self, folder: Path) -> None:
        """The run's checkpoints as a new version of one model artifact, laid out as a run folder
        (``config.yaml``, ``checkpoints/latest.pt``, ``checkpoints/best.pt``) so that ``gymlab.load``
        can use it; aliased ``latest`` and, when it holds one, ``best``; the config in its metadata."""
        if self.run is None or not self.artifacts:
            return
        folder = Path(folder)
        files = [folder / "latest.pt", folder / "best.pt"]
        if not any(f.exists() for f in files):
            return
        try:
            art = self._wandb.Artifact(f"{self.config.get('experiment', 'model')}-{self.run.id}", type="model",
                                       metadata={"config": self.config, "run_dir": str(self.run_dir)})
            if (self.run_dir / "config.yaml").exists():
                art.add_file(str(self.run_dir / "config.yaml"), name="config.yaml")
            for f in files:
                if f.exists():
                    art.add_file(str(f), name=f"checkpoints/{f.name}")
            self.run.log_artifact(art, aliases=["latest", "best"] if files[1].exists() else ["latest"])
        except Exception as e:  # noqa: BLE001
            self._warn(f"wandb artifact logging failed ({type(e).__name__}: {e}); checkpoints stay in {folder}")

    def finish(self, exit_code: int = 0) -> None:
        if self.run is None:
            return
        if exit_code in (0, 130):  # finished or interrupted: the checkpoints are consistent
            self.log_checkpoints(self.run_dir / "checkpoints")
        try:
            self.run.finish(exit_code=exit_code)
            # Shut the wandb-core service down too: this waits until it has flushed the run's
            # transaction log, so the offline files are complete when the run returns.
            self._wandb.teardown()
        except Exception as e:  # noqa: BLE001
            self._warn(f"wandb.finish failed ({type(e).__name__}: {e})")
        self.run = None


def is_artifact_ref(ref) -> bool:
    """``[entity/][project/]name:alias`` (what ``log_checkpoints`` writes) and not a local path."""
    text = str(ref)
    return bool(re.fullmatch(r"(?:[\w.-]+/){0,2}[\w.-]+:[\w.-]+", text)) and not Path(text).exists()


def fetch_run_folder(ref: str, root: str | None = None) -> Path:
    """Download a gymlab model artifact (``entity/project/<experiment>-<run id>:best``) as a run folder
    (config.yaml, checkpoints/); needs W&B online and a key."""
    from gymlab.runners.errors import GymlabError

    if (os.environ.get("WANDB_MODE") or "online") in ("offline", "disabled", "dryrun"):
        raise GymlabError(f"{ref!r} is a W&B artifact reference and W&B is {os.environ['WANDB_MODE']}; "
                          f"set WANDB_MODE=online (with `wandb login`) or pass a run folder")
    try:
        import wandb

        path = Path(wandb.Api(timeout=20).artifact(ref, type="model").download(root=root))
    except Exception as e:  # noqa: BLE001
        raise GymlabError(f"cannot fetch the W&B artifact {ref!r} ({type(e).__name__}: {e}); "
                          f"check the name (entity/project/<experiment>-<run id>:best) and `wandb login`") from None
    if not (path / "config.yaml").exists():
        raise GymlabError(f"the W&B artifact {ref!r} is not a gymlab model (no config.yaml in it)")
    return path


def log_evaluation(run_dir, metrics: dict, checkpoint: Path) -> None:
    """``gymlab eval``: a W&B run of job type ``eval`` in the training run's group, named after it, with
    the metrics as its summary (the run's saved logger settings decide the mode; disabled logs nothing)."""
    from gymlab.runners import loop, registry

    name, cfg = loop.load_run(run_dir)
    if (cfg.logger.mode or os.environ.get("WANDB_MODE")) == "disabled":
        return
    spec = registry.get(name)
    ident = run_identity(name, spec, cfg, run_dir)
    trained = stored_run_id(run_dir) or "local"
    logger = WandbLogger(cfg.logger.mode, cfg.logger.project, Path(run_dir), f"{name}-{trained}-s{cfg.seed}-eval",
                         {**ident["config"], "trained_run_id": trained, "checkpoint": Path(checkpoint).name},
                         ident["group"], [*ident["tags"], "eval"], "eval", notes=ident["notes"], spec=spec)
    logger.summary(metrics)
    logger.finish()


def wandb_media(wandb, key: str, value) -> dict:
    """W&B's own types for one saved media item: key -> wandb object (some items give two keys).

    A table (row dicts) -> ``wandb.Table``; a GIF/MP4 -> ``wandb.Video``; another file -> ``wandb.Image``;
    ``media.Boxes`` -> ``wandb.Image`` list with ``truth`` and ``prediction`` box groups; ``media.Masks`` ->
    ``wandb.Image`` list with mask overlays; ``media.Confusion`` -> ``wandb.plot.confusion_matrix`` and a
    per-class ``wandb.Table`` (``<key>_per_class``); ``media.Curve`` -> ``wandb.plot.line_series``.
    """
    from gymlab.runners import media as M

    if isinstance(value, list):
        cols = list(dict.fromkeys(c for r in value for c in r))
        return {key: wandb.Table(columns=cols, data=[[_cell(r.get(c)) for c in cols] for r in value])}
    if isinstance(value, M.Boxes):
        labels = {int(k): str(v) for k, v in value.class_labels.items()}
        out = []
        for i, img in enumerate(value.images):
            groups = {"truth": _box_group(value.truth[i], labels)}
            if value.pred is not None:
                groups["prediction"] = _box_group(value.pred[i], labels)
            out.append(wandb.Image(M.to_uint8(img), boxes=groups, caption=_nth(value.captions, i)))
        return {key: out}
    if isinstance(value, M.Masks):
        labels = {int(k): str(v) for k, v in value.class_labels.items()}
        out = []
        for i, img in enumerate(value.images):
            masks = {"truth": {"mask_data": np.asarray(value.truth[i], dtype=np.uint8), "class_labels": labels}}
            if value.pred is not None:
                masks["prediction"] = {"mask_data": np.asarray(value.pred[i], dtype=np.uint8), "class_labels": labels}
            out.append(wandb.Image(M.to_uint8(img), masks=masks, caption=_nth(value.captions, i)))
        return {key: out}
    if isinstance(value, M.Confusion):
        names = [str(c) for c in value.class_names]
        rows = value.per_class()
        return {key: wandb.plot.confusion_matrix(y_true=[int(y) for y in value.y_true],
                                                 preds=[int(y) for y in value.y_pred], class_names=names,
                                                 title=key.split("/")[-1]),
                f"{key}_per_class": wandb.Table(columns=list(rows[0]), data=[list(r.values()) for r in rows])}
    if isinstance(value, M.Curve):
        lines = [(name, list(map(float, xs)), list(map(float, ys))) for name, (xs, ys) in value.lines.items() if len(xs)]
        if not lines:
            return {}
        return {key: wandb.plot.line_series(xs=[x for _, x, _ in lines], ys=[y for _, _, y in lines],
                                            keys=[n for n, _, _ in lines], title=value.title or key.split("/")[-1],
                                            xname=value.x_label)}
    path = Path(value)
    if path.suffix.lower() in (".gif", ".mp4", ".webm", ".ogg"):
        return {key: wandb.Video(str(path))}
    return {key: wandb.Image(str(path))}


def _box_group(boxes: dict, labels: dict) -> dict:
    """One box group in W&B's pixel domain: position, class id, caption, and the score when there is one."""
    data = []
    scores = boxes.get("scores")
    for j, (b, lab) in enumerate(zip(np.asarray(boxes["boxes"]).tolist(), np.asarray(boxes["labels"]).tolist())):
        item = {"position": {"minX": float(b[0]), "minY": float(b[1]), "maxX": float(b[2]), "maxY": float(b[3])},
                "domain": "pixel", "class_id": int(lab), "box_caption": labels.get(int(lab), str(lab))}
        if scores is not None:
            s = float(np.asarray(scores)[j])
            item["scores"] = {"score": s}
            item["box_caption"] += f" {s:.2f}"
        data.append(item)
    return {"box_data": data, "class_labels": labels}


def _nth(items, i):
    return items[i] if items is not None and i < len(items) else None


def _cell(v):
    if isinstance(v, (np.floating, np.integer)):
        return v.item()
    return v if isinstance(v, (int, float, str, bool)) or v is None else str(v)


# ------------------------------------------------------------------------ reading offline runs back
def offline_run_dirs(root: Path) -> list[Path]:
    """The W&B offline run folders under ``root`` (for ``wandb sync``)."""
    return sorted(Path(root).rglob("offline-run-*"))


def read_records(run_path: Path) -> list:
    """The ``wandb_internal_pb2.Record`` messages of a ``.wandb`` transaction log, in order.

    The file is a 7-byte header (":W&B", magic, version) then LevelDB-style log records
    (crc32c, length, type) in 32 KiB blocks, each a serialized ``Record``.
    """
    from wandb.proto import wandb_internal_pb2 as pb

    run_path = Path(run_path)
    file = run_path if run_path.suffix == ".wandb" else next(run_path.glob("*.wandb"))
    data = file.read_bytes()
    pos, block, buf, raw = 7, 32768, b"", []
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
        if kind == 1:  # full
            raw.append(chunk)
        elif kind == 2:  # first
            buf = chunk
        elif kind == 3:  # middle
            buf += chunk
        elif kind == 4:  # last
            raw.append(buf + chunk)
            buf = b""
    records = []
    for r in raw:
        rec = pb.Record()
        rec.ParseFromString(r)
        records.append(rec)
    return records


def read_offline_run(run_path: Path) -> dict:
    """A ``.wandb`` log as plain data: run (id, name, group, job_type, tags, notes, resumed), config,
    history rows, summary, metrics (define_metric records), artifacts (name, type, aliases, metadata)
    and console lines. Nested keys are joined with '/'."""
    out = {"run": {}, "config": {}, "history": [], "summary": {}, "metrics": [], "artifacts": [], "console": []}
    key = lambda i: i.key or "/".join(i.nested_key)  # noqa: E731
    for rec in read_records(run_path):
        which = rec.WhichOneof("record_type")
        if which == "history":
            out["history"].append({key(i): json.loads(i.value_json) for i in rec.history.item})
        elif which == "config":
            for i in rec.config.update:
                out["config"][key(i)] = json.loads(i.value_json)
        elif which == "summary":
            for i in rec.summary.update:
                out["summary"][key(i)] = json.loads(i.value_json)
        elif which == "run":
            r = rec.run
            out["run"] = {"id": r.run_id, "project": r.project, "name": r.display_name, "group": r.run_group,
                          "job_type": r.job_type, "tags": list(r.tags), "notes": r.notes, "resumed": r.resume}
            for i in r.config.update:
                out["config"][i.key] = json.loads(i.value_json)
        elif which == "metric":
            m = rec.metric
            modes = [f for f in ("min", "max", "mean", "last", "best", "none", "copy") if getattr(m.summary, f)]
            out["metrics"].append({"name": m.name or m.glob_name, "step_metric": m.step_metric, "summary": modes})
        elif which == "artifact":
            a = rec.artifact
            out["artifacts"].append({"name": a.name, "type": a.type, "aliases": list(a.aliases),
                                     "metadata": json.loads(a.metadata or "{}"),
                                     "files": [c.path for c in a.manifest.contents],
                                     "staged": {c.path: c.local_path for c in a.manifest.contents}})
        elif which in ("output_raw", "output"):
            out["console"].append(getattr(rec, which).line)
    out["config"] = {k: v for k, v in out["config"].items() if k and not k.startswith("_wandb")}
    return out
