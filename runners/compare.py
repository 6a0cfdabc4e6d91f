"""`gymlab compare A B ... seeds=N`: the same budget for several experiments over several seeds, judged
with the statistics of Agarwal et al. (NeurIPS 2021, rliable); definitions in :mod:`gymlab.agents.stats`.

Writes, into runs/compare-<timestamp>/: one run directory per (experiment, seed), and

- ``compare.md``: per experiment, for each final metric, the interquartile mean (IQM) over seeds with
  its 95% stratified bootstrap interval, and the mean and std; for each pair of experiments sharing a
  main metric, the probability of improvement P(X > Y) with its interval (on the "better" direction of
  the metric: for a metric to minimise, X improves on Y when it is lower);
- ``compare.json``: the same as numbers (``table``: one row per experiment and metric; ``improvement``:
  one row per ordered pair), what ``gymlab compare --json`` prints;
- ``compare.png``: each experiment's main metric over training, the IQM over seeds with its 95%
  interval (RL curves against ``train/env_steps``, so agents with different rollout sizes line up;
  others against the runner's step), and the performance profile of the final scores (the fraction
  of seeds scoring better than tau);
- a W&B run (project ``logger.project``, group ``logger.group`` or the compare folder's name,
  job_type ``compare``) with the tables and the plot.

``workers=N`` (N > 1) runs the seeds side by side on Ray: a local Ray with N workers, or the cluster
named by ``$RAY_ADDRESS`` (started with ``ray start``; its CPUs then set how many run at once). A
seed gives the same numbers wherever it runs.
"""
from __future__ import annotations

import json
import math
from datetime import datetime
from pathlib import Path

import numpy as np

from gymlab.agents import stats
from gymlab.runners import config as config_mod
from gymlab.runners import registry
from gymlab.runners.checkpoint import atomic_write_text
from gymlab.runners.errors import GymlabError
from gymlab.runners.media import markdown_table

CONFIDENCE = 0.95
REPS = 2000  # bootstrap replicates; the generator is seeded, so a table is the same every time
ENV_STEPS = "train/env_steps"


def _split_overrides(items):
    seeds, workers, out, rest = 3, 1, "runs", []
    for item in items:
        key, _, value = item.partition("=")
        if key in ("seeds", "workers"):
            try:
                n = int(value)
                assert n >= 1
            except (ValueError, AssertionError):
                raise GymlabError(f"bad value for {key!r}: {value!r}; it must be a whole number >= 1") from None
            seeds, workers = (n, workers) if key == "seeds" else (seeds, n)
        elif key == "out":
            out = value
        else:
            rest.append(item)
    return seeds, workers, out, rest


def _run_one(name, overrides):
    from gymlab.runners.loop import run

    return run(name, overrides, quiet=True)


def compare(names: list[str], items: list[str] = (), *, quiet: bool = False) -> dict:
    if len(names) < 1:
        raise GymlabError("compare needs at least one experiment name")
    seeds, workers, out, overrides = _split_overrides(list(items))
    specs = [registry.get(n) for n in names]
    # validate every override against every experiment before running anything
    cfgs = [config_mod.build(spec.config_cls, overrides) for spec in specs]
    if workers > 1:
        _check_cluster()
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    folder = Path(out) / f"compare-{stamp}"
    i = 1
    while folder.exists():
        folder = Path(out) / f"compare-{stamp}-{i}"
        i += 1
    folder.mkdir(parents=True)
    group = cfgs[0].logger.group or folder.name
    jobs = [(spec.name, seed, [*overrides, f"seed={seed}", f"run_dir={folder.resolve() / f'{spec.name}-s{seed}'}",
                                f"logger.group={group}", "progress=false"])
            for spec in specs for seed in range(seeds)]
    summaries = _execute(jobs, workers, quiet)
    finals = {spec.name: _finals(spec.name, summaries) for spec in specs}
    table = _table(specs, finals)
    improvement = _improvement(specs, finals)
    text = _markdown(specs, seeds, table, improvement)
    atomic_write_text(folder / "compare.md", text)
    plot = _plot(specs, summaries, finals, folder / "compare.png")
    _log_wandb(folder, cfgs[0], group, names, overrides, table, improvement, plot)
    result = {"folder": str(folder), "seeds": seeds, "confidence": CONFIDENCE, "table": table,
              "improvement": improvement, "markdown": str(folder / "compare.md"), "plot": str(plot) if plot else None}
    atomic_write_text(folder / "compare.json", json.dumps(result, indent=1))
    return result


def _check_cluster() -> None:
    """The cluster in $RAY_ADDRESS, if one is named, answers: else one line, before any folder is made."""
    try:
        from gymlab.runners import sweep
    except ImportError:
        return  # no Ray: _execute says so
    address = sweep.cluster_address()
    if address:
        sweep._check_reachable(address)


def _execute(jobs, workers, quiet):
    import sys

    summaries = {}
    if workers > 1:
        try:
            from gymlab.runners.sweep import connect  # first: it sets RAY_AUTH_MODE=disabled for a local Ray

            import ray
        except ImportError:
            raise GymlabError("workers > 1 runs seeds on Ray, which is not installed: pip install 'gymlab[ray]'") from None
        # a local Ray with `workers` workers, or the cluster in $RAY_ADDRESS; or the Ray this process runs
        started = connect(num_cpus=workers, log_to_driver=False)
        try:
            remote = ray.remote(_run_one)
            refs = {(n, s): remote.remote(n, ov) for n, s, ov in jobs}  # seeds run side by side on Ray workers
            for key, ref in refs.items():
                summaries[key] = ray.get(ref)
        finally:
            if started:
                ray.shutdown()
        return summaries
    for n, s, ov in jobs:
        if not quiet:
            print(f"compare: {n} seed {s}", file=sys.stderr)
        summaries[(n, s)] = _run_one(n, ov)
    return summaries


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _finals(name: str, summaries) -> dict[str, np.ndarray]:
    """Final value of each numeric eval/, train/env_steps and time/ metric, one per seed (seed order);
    a metric some seed lacks, and the bounds of a run's own intervals, are left out."""
    runs = [v for (n, _), v in sorted(summaries.items()) if n == name]
    keys = sorted({k for r in runs for k in r if (k.startswith(("eval/", "time/")) or k == ENV_STEPS)
                   and not k.endswith(("_ci_low", "_ci_high"))})  # a seed's own interval is not a score
    return {k: np.array([r[k] for r in runs], dtype=float) for k in keys if all(_is_number(r.get(k)) for r in runs)}


def _table(specs, finals) -> list[dict]:
    """One row per experiment and metric: IQM over seeds with its stratified bootstrap interval, mean, std."""
    rows = []
    for spec in specs:
        for key, values in finals[spec.name].items():
            iv = stats.bootstrap_interval(values, "iqm", confidence=CONFIDENCE, reps=REPS, rng=np.random.default_rng(0))
            rows.append({"experiment": spec.name, "metric": key, "main": key == spec.metric, "seeds": len(values),
                         "iqm": iv.estimate, "ci_low": iv.low, "ci_high": iv.high,
                         "mean": float(values.mean()), "std": float(values.std()), "values": values.tolist()})
    return rows


def _improvement(specs, finals) -> list[dict]:
    """P(X > Y) on the main metric for every ordered pair sharing it (negated for a metric to minimise)."""
    rows = []
    for x in specs:
        for y in specs:
            if x.name == y.name or x.metric != y.metric:
                continue
            a, b = finals[x.name].get(x.metric), finals[y.name].get(y.metric)
            if a is None or b is None:
                continue
            sign = -1.0 if x.mode == "min" else 1.0
            iv = stats.probability_of_improvement_interval(sign * a, sign * b, confidence=CONFIDENCE, reps=REPS,
                                                           rng=np.random.default_rng(0))
            rows.append({"metric": x.metric, "x": x.name, "y": y.name, "probability": iv.estimate,
                         "ci_low": iv.low, "ci_high": iv.high})
    return rows


def _g(v: float) -> str:
    return f"{v:.4g}"


def _markdown(specs, seeds: int, table, improvement) -> str:
    c = f"{CONFIDENCE:.0%}"
    text = [f"# gymlab compare ({seeds} seeds)\n",
            f"IQM: interquartile mean over seeds; {c} CI: stratified bootstrap percentile interval "
            f"({REPS} resamples of the seeds); P(X > Y): probability that a seed of X beats a seed of Y, "
            f"ties one half (0.5: neither is better).\n"]
    for metric in dict.fromkeys(s.metric for s in specs):
        modes = {s.mode for s in specs if s.metric == metric}
        better = "lower" if modes == {"min"} else "higher"
        rows = [{"experiment": r["experiment"], "seeds": r["seeds"], "IQM": _g(r["iqm"]),
                 f"{c} CI": f"[{_g(r['ci_low'])}, {_g(r['ci_high'])}]",
                 "mean ± std": f"{_g(r['mean'])} ± {_g(r['std'])}"}
                for r in table if r["metric"] == metric and r["main"]]
        text += [f"## {metric} ({better} is better)\n", markdown_table(rows)]
        pairs = [{"X": r["x"], "Y": r["y"], "P(X > Y)": _g(r["probability"]),
                  f"{c} CI": f"[{_g(r['ci_low'])}, {_g(r['ci_high'])}]"} for r in improvement if r["metric"] == metric]
        if pairs:
            text += [f"### Probability of improvement on {metric}\n", markdown_table(pairs)]
    wide = {}
    for r in table:
        wide.setdefault(r["experiment"], {"experiment": r["experiment"]})[r["metric"]] = \
            f"{_g(r['iqm'])} [{_g(r['ci_low'])}, {_g(r['ci_high'])}]"
    text += [f"## Every final metric: IQM [{c} CI]\n", markdown_table(list(wide.values()))]
    return "\n".join(text)


# -------------------------------------------------------------------------------------------- plot
def _history(run_dir: Path, key: str, x_key: str = "step"):
    """(x, value) of every logged row holding ``key``; x is ``x_key`` from the same row, or the last
    value of ``x_key`` logged before it (RL logs env steps at evaluations and with training rows)."""
    xs, vals, last_x = [], [], None
    path = Path(run_dir) / "metrics.jsonl"
    if path.exists():
        for line in path.read_text().splitlines():
            row = json.loads(line)
            if _is_number(row.get(x_key)):
                last_x = row[x_key]
            if key in row and _is_number(row[key]) and last_x is not None:
                xs.append(last_x)
                vals.append(row[key])
    return np.array(xs, dtype=float), np.array(vals, dtype=float)


def _curves(spec, summaries):
    """The main metric's curve of each seed, on env steps when every seed logs them, else on steps."""
    dirs = [v["run_dir"] for (n, _), v in sorted(summaries.items()) if n == spec.name]
    for x_key in (ENV_STEPS, "step"):
        curves = [_history(d, spec.metric, x_key) for d in dirs]
        if curves and all(len(c[0]) for c in curves):
            return x_key, curves
    return "step", []


def _iqm_band(curves, rng):
    """IQM over seeds on the union of their x values, with its bootstrap band. A seed that stopped
    early (an RL run stops once solved; its last policy is its result) holds its last value."""
    grid = np.unique(np.concatenate([c[0] for c in curves]))
    ys = np.stack([np.interp(grid, x, y) for x, y in curves])  # (seeds, grid)
    samples = ys[rng.choice(len(ys), (500, len(ys)), replace=True)]  # (reps, seeds, grid)
    from scipy.stats import trim_mean

    boot = trim_mean(samples, 0.25, axis=1)
    low, high = np.percentile(boot, [100 * (1 - CONFIDENCE) / 2, 100 * (1 + CONFIDENCE) / 2], axis=0)
    return grid, trim_mean(ys, 0.25, axis=0), low, high


def _plot(specs, summaries, finals, path: Path):
    import matplotlib.pyplot as plt

    fig = _figure(specs, summaries, finals)
    if fig is None:
        return None
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path


def _figure(specs, summaries, finals):
    """Learning curves (IQM and band over seeds) beside the performance profile; None without curves."""
    import matplotlib.pyplot as plt

    fig, (ax, prof) = plt.subplots(1, 2, figsize=(11, 4), gridspec_kw={"width_ratios": [3, 2]})
    x_keys, metrics, drawn = set(), [], False
    for spec in specs:
        x_key, curves = _curves(spec, summaries)
        if not curves:
            continue
        grid, mid, low, high = _iqm_band(curves, np.random.default_rng(0))
        ax.plot(grid, mid, label=spec.name, marker="o" if len(grid) <= 30 else None, ms=3)
        ax.fill_between(grid, low, high, alpha=0.25)
        x_keys.add(x_key)
        metrics.append(spec.metric)
        drawn = True
    if not drawn:
        plt.close(fig)
        return None
    ax.set_xlabel(" / ".join(sorted(x_keys)))
    ax.set_ylabel(" / ".join(dict.fromkeys(metrics)))
    ax.set_title(f"IQM over seeds, {CONFIDENCE:.0%} bootstrap band", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    _profile(prof, specs, finals)
    fig.tight_layout()
    return fig


def _profile(ax, specs, finals) -> None:
    """Performance profile of the final main metric of the experiments sharing the first one's."""
    metric, mode = specs[0].metric, specs[0].mode
    scores = {s.name: finals[s.name][metric] for s in specs if s.metric == metric and metric in finals[s.name]}
    if not scores:
        ax.set_visible(False)
        return
    pooled = np.concatenate(list(scores.values()))
    pad = 0.05 * (pooled.max() - pooled.min() or abs(pooled.max()) or 1.0)
    taus = np.linspace(pooled.min() - pad, pooled.max() + pad, 200)
    sign = -1.0 if mode == "min" else 1.0  # "better than tau": above it, or below it for a metric to minimise
    for name, values in scores.items():
        mid, low, high = stats.performance_profile(sign * values, sign * taus, confidence=CONFIDENCE, reps=500,
                                                   rng=np.random.default_rng(0))
        ax.plot(taus, mid, label=name)
        ax.fill_between(taus, low, high, alpha=0.2)
    ax.set_xlabel(f"tau ({metric}, final)")
    ax.set_ylabel(f"fraction of seeds {'<' if mode == 'min' else '>'} tau")
    ax.set_title("performance profile", fontsize=10)
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)


# -------------------------------------------------------------------------------------------- W&B
def _log_wandb(folder: Path, cfg, group: str, names, overrides, table, improvement, plot):
    from gymlab.runners.wandb_logger import WandbLogger

    logger = WandbLogger(cfg.logger.mode, cfg.logger.project, folder, folder.name,
                         {"experiments": list(names), "overrides": list(overrides),
                          "seeds": max((r["seeds"] for r in table), default=0)},
                         group=group, tags=["compare", *names], job_type="compare")
    media = {"compare_table": [{k: v for k, v in r.items() if k != "values"} for r in table]}
    if improvement:
        media["compare_improvement"] = improvement
    if plot:
        media["compare_plot"] = plot
    logger.log_media(media, step=0)
    logger.finish()
