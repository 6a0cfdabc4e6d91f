"""`gymlab sweep`: hyperparameter search on Ray Tune, with ASHA early stopping at the runner's evaluations.

    gymlab sweep softmax lr=0.001,0.01,0.1,1.0 --metric eval/val_accuracy --mode max
    gymlab sweep softmax lr='loguniform(1e-3,1)' reg='loguniform(1e-5,1e-2)' --samples 16
    gymlab sweep softmax lr=0.1,0.5 steps=2000 --address 10.0.0.1:6379    # a cluster started with `ray start`
    gymlab sweep --resume runs/sweep-softmax-20260101-120000               # continue an interrupted sweep

Search space: one ``key=...`` per hyperparameter (any config key, dotted for nested ones):

    key=a,b,c               grid: every value in turn (several grids multiply)
    key=loguniform(lo,hi)   a float drawn log-uniformly from [lo, hi), 0 < lo < hi (learning rates, decay)
    key=uniform(lo,hi)      a float drawn uniformly from [lo, hi)
    key=randint(lo,hi)      an integer from lo..hi-1 (the upper bound is excluded, as in range())
    key=choice(a,b,c)       one of the values, drawn at random
    key=value               the same value for every trial (e.g. steps=2000 logger.mode=offline)

``--samples N`` draws N configurations of the random keys, each with every grid combination: the
notes' random search, coarse to fine (sweep a wide range with few steps, then a narrow one longer).

Every trial is an ordinary run of the experiment (the runner's loop, seeding, checkpoints, W&B run
grouped under the sweep's name) in its own run directory, ``<sweep folder>/trials/<trial id>/``.
The trial reports its evaluation metrics to Tune after every evaluation; with ``--scheduler asha``
(asynchronous successive halving) a trial that reaches a rung r_k = g * 2^k steps (g: the first
evaluation, ``eval_every``) goes on only if its metric is in the better half of the trials that
reached that rung before it; otherwise it stops there, as a finished run, and frees its worker.
``--scheduler fifo`` runs every trial to the end.

The metric defaults to the experiment's selection metric (a validation metric: choosing
hyperparameters on the test set would make its accuracy an optimistic estimate). Ray runs locally
with one worker per core unless ``--address`` (or ``$RAY_ADDRESS``) names a cluster; for several
machines the sweep folder must be on a filesystem that every node mounts at the same path (NFS).
A crashed trial is reported in the table and the others go on. Ctrl-C stops the sweep: Tune saves
its state and the running trials stop at their next evaluation (a second Ctrl-C: at once).
``--resume DIR`` continues it: finished and crashed trials are kept, interrupted ones go on from
their runner checkpoint.

Two machines (gymlab installed in the same environment on both, the working folder on NFS at the
same path)::

    head$    ray start --head --port 6379
    other$   ray start --address HEAD_IP:6379
    head$    gymlab sweep resnet lr='loguniform(1e-4,1e-1)' --samples 32 --address HEAD_IP:6379

Results in the sweep folder (``runs/sweep-<name>-<timestamp>/``): ``sweep.md`` (the table of trials:
config, metric, steps, status; the best config), ``sweep.png`` (the metric against steps for all
trials), ``results.json``, and Tune's own state in ``tune/``.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import re
import shlex
import shutil
import socket
import sys
import threading
from datetime import datetime
from pathlib import Path

from gymlab.runners import checkpoint as ckpt
from gymlab.runners import config as config_mod
from gymlab.runners import registry
from gymlab.runners.errors import GymlabError

os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # before anything imports ray: no token for a local cluster

SYNTAX = "key=a,b,c | key=loguniform(lo,hi) | key=uniform(lo,hi) | key=randint(lo,hi) | key=choice(a,b,c) | key=value"
_FUNCS = {"loguniform": 2, "uniform": 2, "randint": 2, "choice": None}


# ----------------------------------------------------------------------------- search space
def _value(text: str):
    """A command-line value as Python: int, float, bool or null, else the string itself."""
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return {"true": True, "false": False, "null": None, "none": None}.get(text.lower(), text)


def _literal(v) -> str:
    """A value as it goes back into a ``key=value`` override."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "null"
    if hasattr(v, "item"):  # numpy scalars from Tune's samplers
        v = v.item()
    return repr(v) if isinstance(v, float) else str(v)


def parse_space(spec, items: list[str]) -> tuple[dict, list[str]]:
    """``key=...`` items -> (searched keys: ("grid"|"loguniform"|..., args), fixed overrides).

    Every value is checked against the experiment's config before Ray starts, so a typo is one
    line, not a sweep of crashed trials.
    """
    space, fixed = {}, []
    for item in items:
        if "=" not in item or item.startswith("="):
            raise GymlabError(f"bad search space item {item!r}: expected {SYNTAX}")
        key, text = item.split("=", 1)
        if key in ("run_dir", "out"):
            raise GymlabError(f"{key!r} cannot be swept: each trial's run directory is "
                              f"<sweep folder>/trials/<trial id> (use --out to choose the parent of the sweep folder)")
        m = re.fullmatch(r"(\w+)\((.*)\)", text.strip())
        if m:
            func, args = m.group(1), [a.strip() for a in m.group(2).split(",")]
            if func not in _FUNCS:
                raise GymlabError(f"bad search space {item!r}: unknown {func}(); valid: {SYNTAX}")
            want = _FUNCS[func]
            if any(a == "" for a in args) or (want is not None and len(args) != want):
                raise GymlabError(f"bad search space {item!r}: {func} takes "
                                  f"{'two numbers (lo,hi)' if want else 'one or more values'}; valid: {SYNTAX}")
            values = [_value(a) for a in args]
            if func != "choice":
                num = int if func == "randint" else (int, float)
                if not all(isinstance(v, num) and not isinstance(v, bool) for v in values):
                    raise GymlabError(f"bad search space {item!r}: {func} needs "
                                      f"{'integers' if func == 'randint' else 'numbers'} lo,hi")
                lo, hi = values
                if not lo < hi or (func == "loguniform" and lo <= 0):
                    bound = "0 < lo < hi" if func == "loguniform" else "lo < hi"
                    raise GymlabError(f"bad search space {item!r}: need {bound}")
            space[key] = (func, values)
        elif "," in text and not text.lstrip().startswith("["):
            values = [_value(v.strip()) for v in text.split(",")]
            if any(v == "" for v in values):
                raise GymlabError(f"bad search space {item!r}: an empty value in the list; valid: {SYNTAX}")
            space[key] = ("grid", values)
        else:
            fixed.append(item)
    config_mod.build(spec.config_cls, fixed)  # unknown keys and bad fixed values
    for key, (func, values) in space.items():
        probe = values if func in ("grid", "choice") else values[:1]
        for v in probe:
            config_mod.build(spec.config_cls, [*fixed, f"{key}={_literal(v)}"])
    return space, fixed


def tune_space(space: dict) -> dict:
    from ray import tune

    make = {"grid": tune.grid_search, "choice": tune.choice,
            "loguniform": lambda a: tune.loguniform(*a), "uniform": lambda a: tune.uniform(*a),
            "randint": lambda a: tune.randint(*a)}
    return {key: make[func](values) for key, (func, values) in space.items()}


def _step_budget(base, space: dict) -> int | None:
    """The most steps a trial can run (ASHA's max_t), None when epochs/seconds decide."""
    if base.epochs is not None or "epochs" in space:
        return None
    if "steps" in space:
        func, values = space["steps"]
        return int(max(values)) if func != "randint" else int(values[1]) - 1
    return base.steps


# ----------------------------------------------------------------------------- one trial
_IDLE = threading.Event()  # in a Ray worker: set while no run is writing (a worker runs one trial at a time)
_IDLE.set()


def trial(config: dict, *, name: str, fixed: list[str], sweep_dir: str, metric: str) -> None:
    """One Tune trial: a runner run that reports each evaluation to Tune (and stops when ASHA says so)."""
    from ray import tune

    # A reused worker waits this long for the previous trial's run to finish writing (Tune's default: 2 s).
    os.environ.setdefault("TUNE_FUNCTION_THREAD_TIMEOUT_S", "600")
    _IDLE.clear()
    try:
        _run_trial(config, Path(sweep_dir) / "trials" / tune.get_context().get_trial_id(), name, fixed, sweep_dir,
                   metric)
    finally:
        _IDLE.set()


def _run_trial(config, run_dir: Path, name, fixed, sweep_dir, metric) -> None:
    from ray import tune

    from gymlab.runners import loop

    payload = None
    summary = json.loads((run_dir / "summary.json").read_text()) if (run_dir / "summary.json").exists() else {}
    if summary and not summary.get("stopped_early"):  # it finished before the sweep was interrupted
        tune.report({**loop._scalars(summary), "step": summary["steps"], "final": True})
        return
    if (run_dir / "checkpoints" / "latest.pt").exists():  # interrupted: continue from the runner's checkpoint
        _, cfg = loop.load_run(run_dir)
        payload = ckpt.load(run_dir / "checkpoints" / "latest.pt")
    else:
        overrides = [*fixed, *(f"{k}={_literal(v)}" for k, v in config.items()),
                     f"run_dir={run_dir}", "progress=false"]
        # W&B: the trials of one sweep share a group and the job type "sweep"; the project is logger.project
        if not any(o.startswith("logger.group=") for o in fixed):
            overrides.append(f"logger.group={Path(sweep_dir).name}")
        if not any(o.startswith("logger.job_type=") for o in fixed):
            overrides.append("logger.job_type=sweep")
        cfg = config_mod.build(registry.get(name).config_cls, overrides)
        shutil.rmtree(run_dir, ignore_errors=True)  # a start that died before its first checkpoint
        run_dir.mkdir(parents=True)

    stopped = []

    def report(step: int, metrics: dict, is_last: bool) -> bool:
        if metric not in metrics:
            raise GymlabError(f"{name} reports no {metric!r} at evaluation; it reports: {', '.join(sorted(metrics))}")
        try:
            tune.report({**metrics, "step": step, "final": is_last})
        except SystemExit:  # Tune stops this trial (ASHA): end the run here, cleanly, as a finished run
            stopped.append(step)
            return True
        return False

    run = loop.Run(name, cfg, run_dir, resume_payload=payload, quiet=True, on_evaluate=report)
    run.execute()
    if stopped:
        raise SystemExit(0)  # what Tune's stop request expects of the trial's thread


def _trainable(**params):
    """Tune's trainable for ``trial``, whose stop waits until the run has finished writing.

    Tune stops a trial (ASHA, or its last report) by waking the thread blocked in ``tune.report`` and
    ending the actor at once; waiting here lets the run write its summary, media and W&B run first.
    """
    from ray import tune
    from ray.tune.trainable import wrap_function

    class GymlabTrial(wrap_function(tune.with_parameters(trial, **params))):
        def cleanup(self):
            super().cleanup()
            from gymlab.runners import sweep  # the worker's module, not a pickled copy of its globals

            sweep._IDLE.wait(timeout=600)

    return GymlabTrial


def _trial_dirname(trial) -> str:
    return trial.trial_id


# ----------------------------------------------------------------------------- Ray
def _check_reachable(address: str) -> None:
    if address == "auto":
        return
    hostport = address.split("://", 1)[-1]
    host, _, port = hostport.rpartition(":")
    if not host:
        host, port = hostport, "6379"
    try:
        with socket.create_connection((host, int(port)), timeout=5):
            pass
    except (OSError, ValueError) as e:
        raise GymlabError(f"cannot reach the Ray cluster at {address!r} ({type(e).__name__}: {e}); start one with "
                          f"'ray start --head' on the head node and pass the address it prints (host:6379), "
                          f"or leave --address out (and $RAY_ADDRESS unset) for a local Ray") from None


def cluster_address(address: str | None = None) -> str | None:
    """The Ray cluster to join: ``address`` if given, else ``$RAY_ADDRESS`` (as ``ray`` itself reads it),
    else None (start a local one)."""
    return address or os.environ.get("RAY_ADDRESS") or None


def connect(address: str | None = None, num_cpus: int | None = None, log_to_driver: bool = True) -> bool:
    """Join the cluster at ``address`` (or ``$RAY_ADDRESS``), else start a local Ray with ``num_cpus``
    workers (default one per core); False if Ray was already running in this process.

    A joined cluster's workers get this process's plugins and W&B settings through the runtime
    environment; a local one's inherit them from this process."""
    os.environ.setdefault("RAY_CHDIR_TO_TRIAL_DIR", "0")  # trials keep the working directory of `gymlab sweep`
    import ray

    if ray.is_initialized():
        return False
    address = cluster_address(address)
    if address:
        _check_reachable(address)
        env = {k: os.environ[k] for k in ("RAY_CHDIR_TO_TRIAL_DIR", "WANDB_MODE", "WANDB_DIR", "WANDB_PROJECT",
                                          "GYMLAB_PLUGINS")
               if k in os.environ}
        try:
            ray.init(address=address, runtime_env={"env_vars": env}, logging_level="WARNING",
                     log_to_driver=log_to_driver)
        except Exception as e:  # noqa: BLE001 - ConnectionError, RuntimeError, gRPC errors: one line for all
            raise GymlabError(f"cannot join the Ray cluster at {address!r}: {' '.join(str(e).split())[:200]}") from None
    else:
        ray.init(num_cpus=num_cpus, include_dashboard=False, logging_level="WARNING", log_to_driver=log_to_driver)
    return True


# ----------------------------------------------------------------------------- the sweep
def run_sweep(settings: dict, sweep_dir: Path, *, address: str | None = None, resume: bool = False,
              verbose: int = 1) -> dict:
    """Run (or resume) the sweep described by ``settings`` (see ``main``) in ``sweep_dir``; return its results."""
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler, FIFOScheduler

    spec = registry.get(settings["experiment"])
    space, fixed = parse_space(spec, settings["space"])
    metric, mode = settings["metric"], settings["mode"]
    sweep_dir = Path(sweep_dir).resolve()
    owned = connect(address)
    try:
        trainable = _trainable(name=spec.name, fixed=fixed, sweep_dir=str(sweep_dir), metric=metric)
        resources = {"cpu": settings["cpus_per_trial"], "gpu": settings["gpus_per_trial"]}
        trainable = tune.with_resources(trainable, resources)
        if resume:
            tuner = tune.Tuner.restore(str(sweep_dir / "tune"), trainable, resume_unfinished=True, resume_errored=False)
        else:
            base = config_mod.build(spec.config_cls, fixed)
            if settings["scheduler"] == "asha":
                budget = _step_budget(base, space)
                scheduler = ASHAScheduler(time_attr="step", max_t=budget or 10**9, reduction_factor=2,
                                          grace_period=min(base.eval_every, budget or base.eval_every))
            else:
                scheduler = FIFOScheduler()
            tuner = tune.Tuner(
                trainable, param_space=tune_space(space),
                tune_config=tune.TuneConfig(metric=metric, mode=mode, scheduler=scheduler, reuse_actors=True,
                                            num_samples=settings["samples"], trial_dirname_creator=_trial_dirname),
                run_config=tune.RunConfig(name="tune", storage_path=str(sweep_dir), verbose=verbose,
                                          failure_config=tune.FailureConfig(max_failures=0, fail_fast=False)))
        tuner.fit()
    finally:
        if owned:
            import ray

            ray.shutdown()
    # Tune's saved state, not fit()'s answer: after Ctrl-C it still shows the trials that did not finish.
    return report(settings, sweep_dir, tune.ExperimentAnalysis(str(sweep_dir / "tune")), space)


def _status(trial, last: dict) -> str:
    if trial.status == "ERROR":
        err = trial.get_error()
        lines = [ln.strip() for ln in str(err or "crashed").splitlines() if ln.strip()]
        msg = next((ln for ln in reversed(lines) if "Error" in ln or "Exception" in ln), lines[-1] if lines else "")
        return f"error: {msg[:160]}"
    if trial.status != "TERMINATED":
        return "interrupted" if last else "not started"
    return "finished" if last.get("final") else f"stopped early at step {last.get('step')}"


def _history(run_dir: Path, metric: str, fallback) -> tuple[list, list]:
    """(steps, values) of the metric from the trial's metrics.jsonl (Tune's own record if that is elsewhere)."""
    rows = {}
    path = run_dir / "metrics.jsonl"
    if path.exists():
        for line in path.read_text().splitlines():
            row = json.loads(line)
            if metric in row:
                rows[row["step"]] = row[metric]  # a resumed run repeats steps after its checkpoint: keep the last
    elif fallback is not None and metric in fallback:
        rows = dict(zip(fallback["step"], fallback[metric]))
    steps = sorted(rows)
    return steps, [rows[s] for s in steps]


def report(settings: dict, sweep_dir: Path, analysis, space: dict) -> dict:
    """Write sweep.md, sweep.png and results.json; return {'trials': rows, 'best': row | None, ...}."""
    import matplotlib.pyplot as plt

    metric, mode, name = settings["metric"], settings["mode"], settings["experiment"]
    trials = analysis.trials  # Tune's Trial objects: status, config, last result
    rows, fig = [], plt.figure(figsize=(7, 4.5))
    ax = fig.gca()
    for trial in trials:
        last = dict(trial.last_result or {})
        run_dir = sweep_dir / "trials" / trial.trial_id
        row = {"trial": trial.trial_id, **{k: trial.config.get(k) for k in space},
               metric: last.get(metric), "steps": last.get("step"), "status": _status(trial, last),
               "run_dir": str(run_dir)}
        for k in space:
            if hasattr(row[k], "item"):
                row[k] = row[k].item()
        rows.append(row)
        steps, values = _history(run_dir, metric, analysis.trial_dataframes.get(trial.trial_id))
        if steps:
            label = " ".join(f"{k}={_fmt(row[k])}" for k in space) or trial.trial_id
            ax.plot(steps, values, marker=".", label=label)
    scored = [r for r in rows if isinstance(r[metric], (int, float)) and math.isfinite(r[metric])]
    best = (max if mode == "max" else min)(scored, key=lambda r: r[metric]) if scored else None
    ax.set_xlabel("step")
    ax.set_ylabel(metric)
    ax.set_title(f"sweep {name}: {metric} ({settings['scheduler']})")
    if rows and len(rows) <= 20:
        ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(sweep_dir / "sweep.png", dpi=100)
    plt.close(fig)

    cols = ["trial", *space, metric, "steps", "status"]
    lines = [f"# sweep `{name}`: {metric} ({mode}), scheduler {settings['scheduler']}, {len(rows)} trials", "",
             "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(_fmt(r[c]) for c in cols) + " |" for r in rows]
    lines.append("")
    if best is not None:
        overrides = " ".join(f"{k}={_literal(best[k])}" for k in space)
        lines += [f"best: {overrides or best['trial']} ({metric} = {_fmt(best[metric])}), run {best['run_dir']}", "",
                  f"reproduce: `gymlab{_plugin_flags()} run {name} {' '.join([*settings['fixed'], overrides]).strip()}`"]
    else:
        lines.append(f"no trial reported {metric}")
    lines += ["", "![metric against steps](sweep.png)", ""]
    text = "\n".join(lines)
    ckpt.atomic_write_text(sweep_dir / "sweep.md", text)
    result = {"experiment": name, "metric": metric, "mode": mode, "sweep_dir": str(sweep_dir), "trials": rows,
              "best": best, "markdown": str(sweep_dir / "sweep.md"), "plot": str(sweep_dir / "sweep.png"),
              "interrupted": any(r["status"] in ("interrupted", "not started") for r in rows)}
    ckpt.atomic_write_json(sweep_dir / "results.json", result)
    return result


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return "-" if v is None else str(v)


# ----------------------------------------------------------------------------- command line
def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="gymlab sweep", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("name", nargs="?", help="the experiment (gymlab list)")
    p.add_argument("space", nargs="*", metavar="key=values", help=SYNTAX)
    p.add_argument("--samples", type=int, default=1, help="configurations drawn for the random keys (default 1)")
    p.add_argument("--metric", help="metric to optimise (default: the experiment's selection metric)")
    p.add_argument("--mode", choices=["max", "min"], help="default: the experiment's")
    p.add_argument("--scheduler", choices=["asha", "fifo"], default="asha", help="early stopping (default asha)")
    p.add_argument("--address", help="join a Ray cluster started with `ray start` (host:6379, or auto; "
                                     "default $RAY_ADDRESS, else a local Ray)")
    p.add_argument("--resume", metavar="SWEEP_DIR", help="continue an interrupted sweep")
    p.add_argument("--out", default="runs", help="parent folder of the sweep folder (default runs)")
    p.add_argument("--cpus-per-trial", type=float, default=1.0)
    p.add_argument("--gpus-per-trial", type=float, default=None,
                   help="default: 0 without CUDA, else 0.25 (four trials share a GPU)")
    p.add_argument("--quiet", action="store_true", help="no Tune progress table")
    return p


def _plugin_flags() -> str:
    """`` --plugin X`` for each plugin in $GYMLAB_PLUGINS (a plugin's experiment needs it to rerun)."""
    from gymlab.runners.registry import _plugin_items

    return "".join(f" --plugin {shlex.quote(p)}" for p in _plugin_items())


def main(argv: list[str]) -> int:
    """``gymlab sweep ...`` (argv: the words after ``sweep``); returns the exit status."""
    args = _parser().parse_intermixed_args(argv)
    import importlib.util

    if importlib.util.find_spec("ray") is None:
        raise GymlabError("sweeps need Ray Tune, which is not installed; install it with: pip install 'gymlab[ray]'")
    address = cluster_address(args.address)
    if address:
        _check_reachable(address)  # before any folder is made
    if args.resume:
        sweep_dir = Path(args.resume)
        if not (sweep_dir / "sweep.json").exists() or not (sweep_dir / "tune").is_dir():
            raise GymlabError(f"{sweep_dir} is not a sweep folder (it needs sweep.json and tune/, "
                              f"written by gymlab sweep)")
        settings = json.loads((sweep_dir / "sweep.json").read_text())
        if args.name and args.name != settings["experiment"]:
            raise GymlabError(f"{sweep_dir} is a sweep of {settings['experiment']!r}, not {args.name!r}")
    else:
        if not args.name:
            raise GymlabError(f"which experiment? usage: gymlab sweep NAME {SYNTAX.split(' | ')[0]} ... "
                              f"(gymlab list shows the names)")
        if args.samples < 1:
            raise GymlabError(f"bad value for --samples: {args.samples}; it must be at least 1")
        spec = registry.get(args.name)
        space, fixed = parse_space(spec, args.space)
        if not space:
            raise GymlabError(f"nothing to search: give at least one key with several values ({SYNTAX})")
        import torch

        settings = {"experiment": spec.name, "space": args.space, "fixed": fixed,
                    "metric": args.metric or spec.select, "mode": args.mode or spec.mode,
                    "scheduler": args.scheduler, "samples": args.samples, "cpus_per_trial": args.cpus_per_trial,
                    "gpus_per_trial": args.gpus_per_trial if args.gpus_per_trial is not None
                    else (0.25 if torch.cuda.is_available() else 0.0)}
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        sweep_dir = Path(args.out) / f"sweep-{spec.name}-{stamp}"
        i = 1
        while sweep_dir.exists():
            sweep_dir, i = Path(args.out) / f"sweep-{spec.name}-{stamp}-{i}", i + 1
        sweep_dir.mkdir(parents=True)
        ckpt.atomic_write_json(sweep_dir / "sweep.json", settings)
    result = run_sweep(settings, sweep_dir, address=args.address, resume=bool(args.resume),
                       verbose=0 if args.quiet else 1)
    print(Path(result["markdown"]).read_text())
    print(f"table: {result['markdown']}\nplot:  {result['plot']}")
    if result["interrupted"]:
        print(f"gymlab: sweep interrupted; continue with: gymlab sweep --resume {sweep_dir}", file=sys.stderr)
        return 130
    if result["best"] is None:
        raise GymlabError(f"all {len(result['trials'])} trials failed; see {result['markdown']}")
    return 0


if __name__ == "__main__":  # python -m gymlab.runners.sweep ... = gymlab sweep ... (through the module, so that Ray
    from gymlab.runners.cli import main as cli_main  # pickles the trial function by reference, not this __main__ copy)

    sys.exit(cli_main(["sweep", *sys.argv[1:]]))
