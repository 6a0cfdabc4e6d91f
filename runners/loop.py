"""The loop that every experiment runs in: seeding, device, budget, evaluation, checkpoints,
resume, the NaN guard, Ctrl-C and SIGTERM, logging and the run directory.

    runs/<experiment>-<timestamp>/config.yaml    the resolved config
                                  summary.json   final metrics, versions, seed, wall time
                                  metrics.jsonl  every logged row (step, metrics), for plots without W&B
                                  checkpoints/   latest.pt and best.pt (plain data: runners.checkpoint)
                                  media/         what media() returned, as files
                                  .gymlab.lock   while a process runs or resumes there (runners.run_folder)

A run folder belongs to one run of one experiment: it is locked while in use, created only when new,
empty or ours, and removed again if the experiment's setup fails. A resume continues from a
checkpoint of the same experiment and trained config (its fingerprint), drops the metrics rows of
work done after that checkpoint (it is redone), and changes only run keys (budget, cadence).
"""
from __future__ import annotations

import json
import math
import os
import platform
import random
import signal
import sys
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import torch
import yaml

from gymlab.runners import checkpoint as ckpt
from gymlab.runners import config as config_mod
from gymlab.runners import distributed
from gymlab.runners import registry
from gymlab.runners import run_folder
from gymlab.runners.errors import FileSystemError, GymlabError
from gymlab.runners.media import save_media
from gymlab.runners.wandb_logger import WandbLogger, log_evaluation


class NonFiniteError(GymlabError):
    pass


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def pick_device(name: str) -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("cpu")
    try:
        dev = torch.device(name)
    except RuntimeError:
        raise GymlabError(f"bad value for 'device': {name!r}; valid: auto, cpu, cuda, cuda:N, mps") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise GymlabError("device=cuda was asked for but torch sees no CUDA device; use device=auto or device=cpu")
    return dev


def versions() -> dict:
    out = {"python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__}
    from importlib import metadata

    for mod in ("gymnasium", "wandb"):  # from the installed metadata: importing wandb only for this took ~1 s a run
        try:
            out[mod] = metadata.version(mod)
        except Exception:  # noqa: BLE001
            pass
    return out


def _new_run_dir(cfg, name: str, made: list | None = None) -> Path:
    """The new run's folder (``run_folder.claim``: new, empty, or a gymlab run with nothing in it yet);
    ``made`` gets True appended when this call created it (a failed setup then removes it)."""
    if cfg.run_dir:
        path = Path(cfg.run_dir)
    else:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        path = Path(cfg.out) / f"{name}-{stamp}"
        i = 1
        while path.exists():
            path = Path(cfg.out) / f"{name}-{stamp}-{i}"
            i += 1
    created = run_folder.claim(path)
    if made is not None:
        made.append(created)
    return path


def _is_bad(v) -> bool:
    try:
        return not math.isfinite(float(v))
    except (TypeError, ValueError):
        return False


def _scalars(metrics: dict) -> dict:
    out = {}
    for k, v in metrics.items():
        if isinstance(v, torch.Tensor) and v.numel() == 1:
            v = v.item()
        if isinstance(v, (np.floating, np.integer)):
            v = v.item()
        if isinstance(v, (int, float, bool)):
            out[k] = v
    return out


class _Interrupt:
    """First Ctrl-C (or SIGTERM, as schedulers and clusters stop jobs) asks the loop to stop at the next step
    boundary, with a checkpoint; a second one stops at once."""

    def __init__(self):
        self.requested = False
        self._old = None

    def __enter__(self):
        try:
            self._old = {s: signal.signal(s, self._handle) for s in (signal.SIGINT, signal.SIGTERM)}
        except ValueError:  # not the main thread
            self._old = None
        return self

    def _handle(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __exit__(self, *exc):
        if self._old is not None:
            for s, old in self._old.items():
                signal.signal(s, old)


class Run:
    """One run of one experiment; ``execute()`` returns the summary dict.

    ``on_evaluate(step, metrics, is_last)``, if given, is called after each evaluation (and its
    checkpoint); returning True stops the run there, as a finished run (a sweep's early stopping).
    """

    def __init__(self, name: str, cfg, run_dir: Path, *, resume_payload: dict | None = None, quiet: bool = False,
                 on_evaluate=None, made_dir: bool = False):
        self.name, self.cfg, self.run_dir, self.quiet = name, cfg, Path(run_dir), quiet
        self.made_dir = made_dir  # this process created run_dir: a failed setup removes it
        self.spec = registry.get(name)
        self.resume_payload = resume_payload
        self.rank = int(os.environ.get("RANK", "0"))
        self.on_evaluate = on_evaluate
        self._rows = None  # metrics.jsonl, open for the run; flushed with every checkpoint
        self.logger = None  # made once setup has succeeded (no orphan W&B run after a failed setup)
        self._saved_step = resume_payload["step"] if resume_payload else None  # the last checkpoint's step
        self._media_s = 0.0  # seconds spent making, saving and logging media in this process (time/media_s)

    # ---------------------------------------------------------------- helpers
    def _log_row(self, step: int, metrics: dict) -> None:
        if self.rank != 0 or not metrics:
            return
        try:
            if self._rows is None:
                self._rows = open(self.run_dir / "metrics.jsonl", "a")
            self._rows.write(json.dumps({"step": step, **metrics}) + "\n")
        except OSError as e:
            raise FileSystemError("write", self.run_dir / "metrics.jsonl", e) from None
        if self.logger is not None:
            self.logger.log(metrics, step=step)

    def _close_rows(self) -> None:
        if self._rows is not None:
            self._rows.close()
            self._rows = None

    def _better(self, value, best) -> bool:
        if value is None or _is_bad(value):
            return False
        if best is None:
            return True
        return value > best if self.spec.mode == "max" else value < best

    def _save(self, step: int, best_value, elapsed: float, *, is_best: bool) -> None:
        if self.rank != 0:
            return
        if self._rows is not None:
            try:
                self._rows.flush()
            except OSError as e:
                raise FileSystemError("write", self.run_dir / "metrics.jsonl", e) from None
        payload = {"step": step, "state": self.exp.state_dict(), "rng": ckpt.rng_state(),
                   "best": best_value, "elapsed": elapsed, "experiment": self.name, "fingerprint": self._fingerprint}
        ckpt.save(self.run_dir / "checkpoints" / "latest.pt", payload)
        self._saved_step = step
        if is_best:
            ckpt.save(self.run_dir / "checkpoints" / "best.pt", payload)

    def _media(self, step: int) -> None:
        if self.rank != 0:
            return
        t = time.perf_counter()
        items = self.exp.media() if hasattr(self.exp, "media") else {}
        if items:
            try:
                files = save_media(items, self.run_dir / "media")
            except OSError as e:
                raise FileSystemError("write media in", self.run_dir / "media", e) from None
            self.logger.log_media(files, step=step)
        self._media_s += time.perf_counter() - t

    # ---------------------------------------------------------------- the loop
    def execute(self) -> dict:
        """The run, holding the folder's lock (rank 0); the folder is checked writable and cleared of a killed
        save's temporary files first. A setup that fails leaves no folder behind when this run made it."""
        if self.rank != 0:
            return self._execute()
        with run_folder.RunLock(self.run_dir):
            run_folder.check_writable(self.run_dir)
            for folder in (self.run_dir, self.run_dir / "checkpoints"):
                ckpt.remove_leftovers(folder)
            return self._execute()

    def _execute(self) -> dict:
        cfg, spec = self.cfg, self.spec
        seed_everything(cfg.seed)
        device = distributed.device_for_rank(pick_device(cfg.device))
        cfg_dict = config_mod.to_dict(cfg)
        self._fingerprint = ckpt.fingerprint(cfg_dict)
        ctx = registry.Context(device=device, seed=cfg.seed, run_dir=self.run_dir,
                               log=lambda m: self._log_row(self._step, _scalars(m)),
                               rank=self.rank, world_size=int(os.environ.get("WORLD_SIZE", "1")),
                               amp=cfg.amp, compile=cfg.compile)
        self._step = 0
        self.exp = spec.cls()
        try:
            self.exp.setup(cfg, ctx)
        except BaseException:
            if self.rank == 0 and self.resume_payload is None:
                run_folder.discard(self.run_dir, self.made_dir)
            raise
        total = cfg.steps
        if cfg.epochs is not None:
            total = max(1, math.ceil(cfg.epochs * getattr(self.exp, "steps_per_epoch", 1)))
        start, best, prior = 0, None, 0.0
        if self.resume_payload is not None:
            start = self.resume_payload["step"]
            if start > total:
                raise GymlabError(f"this run already reached step {start}; a budget of {total} steps is below it "
                                  f"(give steps={start} or more)")
            summary_path = self.run_dir / "summary.json"
            if start >= total and summary_path.exists():
                return json.loads(summary_path.read_text())  # nothing to do: the finished run stays as it is
        if self.rank == 0:  # a resume writes the overrides it was given (a new budget) into config.yaml
            ckpt.atomic_write_text(self.run_dir / "config.yaml",
                                   yaml.safe_dump({"experiment": self.name, **cfg_dict}, sort_keys=False))
        self.logger = WandbLogger.for_run(self.name, spec, cfg, self.run_dir,
                                          resuming=self.resume_payload is not None, rank=self.rank)

        if cfg.sanity:
            from gymlab.runners.sanity import run_sanity

            report = run_sanity(self.exp, cfg)
            self._log_row(0, {f"sanity/{k}": v for k, v in report.items() if isinstance(v, (int, float))})
            if not self.quiet:
                for k, v in report.items():
                    print(f"sanity {k}: {v}", file=sys.stderr)

        if self.resume_payload is not None:
            self.exp.load_state_dict(self.resume_payload["state"])
            ckpt.set_rng_state(self.resume_payload["rng"])
            start, best, prior = self.resume_payload["step"], self.resume_payload["best"], self.resume_payload["elapsed"]
            if self.rank == 0:
                _drop_rows_after(self.run_dir / "metrics.jsonl", start)
        ckpt_every = cfg.checkpoint_every or cfg.eval_every
        t0 = time.perf_counter()
        elapsed = lambda: prior + time.perf_counter() - t0  # noqa: E731
        last_eval: dict = {}
        step = start
        self._evals = 0  # evaluations in this process (media every logger.media_every of them)
        bar = None
        if cfg.progress and not self.quiet and self.rank == 0:
            from tqdm import tqdm

            bar = tqdm(total=total, initial=start, desc=self.name, file=sys.stderr, dynamic_ncols=True, leave=False)
        status = "finished"
        stopped_early = False
        try:
            with _Interrupt() as interrupt:
                while step < total and not getattr(self.exp, "done", False):
                    if cfg.seconds is not None and elapsed() >= cfg.seconds:
                        break
                    self._step = step + 1
                    metrics = _scalars(self.exp.train_step() or {})
                    bad = [k for k, v in metrics.items() if _is_bad(v)]
                    if bad:
                        last = self.run_dir / "checkpoints" / "latest.pt"
                        where = (f"the last good checkpoint is {last} (step {self._saved_step})"
                                 if self._saved_step is not None and last.exists() else "no checkpoint was written")
                        raise NonFiniteError(f"non-finite {', '.join(bad)} at step {step + 1}; stopped, {where} "
                                             f"(try a lower learning rate)")
                    step += 1
                    if step % cfg.log_every == 0:
                        self._log_row(step, metrics)
                    is_last = step >= total or getattr(self.exp, "done", False) or (
                        cfg.seconds is not None and elapsed() >= cfg.seconds)
                    if step % cfg.eval_every == 0 or is_last:
                        last_eval = _scalars(self.exp.evaluate() or {})
                        is_last = is_last or getattr(self.exp, "done", False)  # e.g. an RL run solved at this evaluation
                        self._log_row(step, last_eval)
                        value = last_eval.get(spec.select, last_eval.get(spec.metric))
                        is_best = self._better(value, best)
                        if is_best:
                            best = value
                        self._evals += 1
                        media_every = cfg.logger.media_every or int(cfg.media_every_eval)
                        if media_every and self._evals % media_every == 0 and not is_last:
                            self._media(step)
                        if step % ckpt_every == 0 or is_last or is_best:
                            self._save(step, best, elapsed(), is_best=is_best)
                        if self.on_evaluate is not None and self.on_evaluate(step, last_eval, is_last):
                            stopped_early = not is_last
                    elif cfg.checkpoint_every and step % cfg.checkpoint_every == 0:
                        self._save(step, best, elapsed(), is_best=False)
                    if bar is not None:
                        bar.update(1)
                        shown = {k.split("/")[-1]: f"{v:.4g}" for k, v in list({**metrics, **last_eval}.items())[:4]
                                 if isinstance(v, (int, float))}
                        bar.set_postfix(shown, refresh=False)
                    if interrupt.requested:
                        self._save(step, best, elapsed(), is_best=False)
                        status = "interrupted"
                        break
                    if stopped_early:
                        break
        except KeyboardInterrupt:
            status = "interrupted"
        except BaseException:
            self.logger.finish(exit_code=1)
            raise
        finally:
            if bar is not None:
                bar.close()
            self._close_rows()
        wall = elapsed()
        if status == "interrupted":
            self.logger.finish(exit_code=130)
            raise RunInterrupted(self.run_dir, step, self._saved_step)
        if not last_eval:  # e.g. resumed after the last step, or a seconds budget hit before any step
            last_eval = _scalars(self.exp.evaluate() or {})
        self._media(step)
        steps_done = step - start
        summary = {
            **last_eval,
            "experiment": self.name,
            "seed": cfg.seed,
            "steps": step,
            "best": best,
            "metric": spec.metric,
            "time/wall_s": wall,
            "time/steps_per_s": steps_done / max(time.perf_counter() - t0, 1e-9),
            "time/media_s": self._media_s,
            "device": str(device),
            "versions": versions(),
            "run_dir": str(self.run_dir),
        }
        if stopped_early:
            summary["stopped_early"] = True
        wdir = self.logger.dir
        if wdir:
            summary["wandb_dir"] = wdir
        if self.rank == 0:
            ckpt.atomic_write_json(self.run_dir / "summary.json", summary)
            self.logger.summary(_scalars(summary))
        self._close_rows()
        self.logger.finish()
        return summary


class RunInterrupted(GymlabError):
    """Ctrl-C or SIGTERM; the message claims a checkpoint only for the step that one was written at."""

    def __init__(self, run_dir: Path, step: int, saved_step: int | None = None):
        saved_step = step if saved_step is None and step == 0 else saved_step
        if saved_step == step:
            msg = f"interrupted at step {step}; checkpoint saved, continue with: gymlab resume {run_dir}"
        elif saved_step is not None:
            msg = (f"interrupted at step {step} before its checkpoint was written; the last checkpoint is at step "
                   f"{saved_step}, continue from it with: gymlab resume {run_dir}")
        else:
            msg = f"interrupted at step {step} before any checkpoint was written; start the run again"
        super().__init__(msg)
        self.run_dir, self.step, self.saved_step = run_dir, step, saved_step


def _drop_rows_after(path: Path, step: int) -> None:
    """Remove the metrics rows of steps after ``step`` (work done after the last checkpoint, about to be redone)."""
    if not path.exists():
        return
    lines = path.read_text().splitlines(keepends=True)
    kept = [line for line in lines if _row_step(line) <= step]
    if len(kept) != len(lines):
        ckpt.atomic_write_text(path, "".join(kept))


def _row_step(line: str) -> float:
    try:
        return json.loads(line)["step"]
    except (ValueError, KeyError, TypeError):
        return float("inf")  # a row cut by a kill mid-write: dropped


# -------------------------------------------------------------------- entry points
def run(name: str, overrides=(), *, quiet: bool = False, on_evaluate=None) -> dict:
    spec = registry.get(name)
    cfg = config_mod.build(spec.config_cls, list(overrides))
    with distributed.process_group(cfg.device):  # under torchrun: join the group; rank 0 makes the run dir
        made: list = []
        run_dir = distributed.shared_run_dir(lambda: _new_run_dir(cfg, name, made))
        return Run(name, cfg, run_dir, quiet=quiet, on_evaluate=on_evaluate, made_dir=any(made)).execute()


def load_run(run_dir) -> tuple[str, object]:
    run_dir = Path(run_dir)
    path = run_dir / "config.yaml"
    if not run_dir.is_dir():
        raise GymlabError(f"no run directory {run_dir}; runs live under runs/<experiment>-<timestamp>")
    if not path.exists():
        raise GymlabError(f"{run_dir} is not a run directory: it has no config.yaml")
    try:
        saved = yaml.safe_load(path.read_text())
        name = saved.pop("experiment")
    except Exception:  # noqa: BLE001
        raise GymlabError(f"{path} is unreadable; it should be the YAML written by gymlab run") from None
    spec = registry.get(name)
    return name, config_mod.build(spec.config_cls, [], base=saved)


def resume(run_dir, overrides=(), *, quiet: bool = False, on_evaluate=None, checkpoint: str = "latest") -> dict:
    """Continue an interrupted run from checkpoints/latest.pt (or best.pt when asked). Overrides may change
    only the run keys (budget, cadence, logging: ``checkpoint.RUN_KEYS``), never what is trained."""
    name, cfg = load_run(run_dir)
    saved = config_mod.to_dict(cfg)
    if overrides:
        for item in config_mod.parse_overrides(list(overrides)):
            key = item.split("=", 1)[0]
            if key.split(".")[0] not in ckpt.RUN_KEYS:
                raise GymlabError(f"resume cannot change {key!r}: it would not continue the same run; resume may "
                                  f"change {', '.join(k for k in ckpt.RUN_KEYS if k in saved)}")
        cfg = config_mod.build(registry.get(name).config_cls, list(overrides), base=saved)
    if checkpoint not in ("latest", "best"):
        raise GymlabError(f"bad checkpoint {checkpoint!r}; valid: latest, best")
    folder = Path(run_dir) / "checkpoints"
    other = "best" if checkpoint == "latest" else "latest"
    hint = (f"resume from checkpoints/{other}.pt with: gymlab resume {run_dir} --checkpoint {other}"
            if (folder / f"{other}.pt").exists() else "no other checkpoint is left; start a new run")
    path = folder / f"{checkpoint}.pt"
    payload = ckpt.load(path, hint=hint)
    ckpt.check_match(payload, path, name, saved)
    with distributed.process_group(cfg.device):
        return Run(name, cfg, Path(run_dir), resume_payload=payload, quiet=quiet, on_evaluate=on_evaluate).execute()


# Keys `gymlab eval RUN key=value` may change: where and how to evaluate, never what was trained.
EVAL_KEYS = ("device", "data_root", "torch_threads", "n_beam_eval")


def eval_keys(cfg_cls) -> list[str]:
    """The keys of a config that evaluation may override: EVAL_KEYS and every ``eval_*`` key but eval_every."""
    return [k for k in config_mod.flat_keys(cfg_cls)
            if k in EVAL_KEYS or (k.startswith("eval_") and k != "eval_every")]


def evaluate_run(run_dir, which: str = "best", overrides=()) -> dict:
    """Rebuild the experiment of a run, load a checkpoint, and evaluate it; ``overrides`` (key=value)
    may change only evaluation keys (eval_keys: device, eval_episodes, eval_seed, ...)."""
    name, exp, payload, path = restore(run_dir, which, overrides)
    metrics = _scalars(exp.evaluate() or {})
    log_evaluation(run_dir, metrics, path)  # W&B: a run of job type "eval" in the training run's group
    return {**metrics, "experiment": name, "checkpoint": str(path), "step": payload["step"]}


def restore(run_dir, which: str = "best", overrides=()):
    """The experiment of a run, set up from its config.yaml and loaded from a checkpoint (best, else
    latest); returns (name, experiment, checkpoint payload, checkpoint path). ``gymlab eval`` and
    ``gymlab.load`` start here."""
    name, cfg = load_run(run_dir)
    saved = config_mod.to_dict(cfg)
    if overrides:
        cls = registry.get(name).config_cls
        allowed = eval_keys(cls)
        for item in config_mod.parse_overrides(list(overrides)):
            key = item.split("=", 1)[0]
            if key not in allowed:
                raise GymlabError(f"eval cannot change {key!r} (it would not be the trained run); "
                                  f"evaluation keys of {name}: {', '.join(allowed)}")
        cfg = config_mod.build(cls, list(overrides), base=config_mod.to_dict(cfg))
    path = Path(run_dir) / "checkpoints" / f"{which}.pt"
    if which == "best" and not path.exists():
        path = Path(run_dir) / "checkpoints" / "latest.pt"
    other = Path(run_dir) / "checkpoints" / ("latest.pt" if path.name == "best.pt" else "best.pt")
    hint = (f"evaluate checkpoints/{other.name} with --checkpoint {other.stem}" if other.exists()
            else "no other checkpoint is left")
    payload = ckpt.load(path, hint=hint)
    ckpt.check_match(payload, path, name, saved)
    seed_everything(cfg.seed)
    spec = registry.get(name)
    exp = spec.cls()
    ctx = registry.Context(device=pick_device(cfg.device), seed=cfg.seed, run_dir=Path(run_dir), log=lambda m: None)
    exp.setup(cfg, ctx)
    exp.load_state_dict(payload["state"])
    return name, exp, payload, path
