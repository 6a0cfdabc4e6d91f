"""A run's fixed cost (issue 18): the heavy libraries load only when a run needs them.

Each check runs in a fresh interpreter and lists the top-level packages that a module pulled in; the
times themselves are measured in benchmarks/bench_overhead.py and bench_startup.py, not here."""
import json
import os
import subprocess
import sys

ENV = {**os.environ, "OMP_NUM_THREADS": "1"}
ENV.pop("GYMLAB_PLUGINS", None)
HEAVY = ("torch", "numpy", "matplotlib", "wandb", "omegaconf", "scipy", "sklearn", "gymnasium", "PIL", "tqdm",
         "yaml", "pandas", "stable_baselines3", "ray", "imageio", "pygame")


def loaded_after(code: str) -> list[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))"
    p = subprocess.run([sys.executable, "-c", probe], env=ENV, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    return [m for m in json.loads(p.stdout.splitlines()[-1]) if m in HEAVY]


def test_the_cli_and_gymlab_start_without_heavy_libraries():
    assert loaded_after("import gymlab.runners.cli") == []
    assert loaded_after("import gymlab") == []


def test_the_run_loop_leaves_plotting_wandb_and_environments_to_the_experiments_that_use_them():
    # torch, numpy and yaml every run needs; omegaconf builds the config; tqdm comes with torch
    extra = set(loaded_after("import gymlab.runners.loop")) - {"torch", "numpy", "yaml", "omegaconf", "tqdm"}
    assert extra == set(), extra


def test_the_media_and_logger_modules_import_no_drawing_or_wandb_library():
    assert set(loaded_after("import gymlab.runners.media, gymlab.runners.wandb_logger")) <= {"numpy"}


def test_a_short_softmax_run_draws_its_templates_without_matplotlib(tmp_path):
    run = (f"from gymlab.runners.loop import run\n"
           f"run('softmax', ['steps=2', 'eval_every=1', 'logger.mode=disabled', 'progress=false', "
           f"'run_dir={tmp_path / 'softmax'}'], quiet=True)")
    assert "matplotlib" not in loaded_after(run)
    assert (tmp_path / "softmax" / "media" / "templates.png").stat().st_size > 0


def test_a_short_rl_run_draws_its_return_curve_and_gif_without_matplotlib(tmp_path):
    run = (f"from gymlab.runners.loop import run\n"
           f"run('ppo', ['timesteps=512', 'logger.mode=disabled', 'progress=false', "
           f"'run_dir={tmp_path / 'ppo'}'], quiet=True)")
    assert "matplotlib" not in loaded_after(run)
    media = tmp_path / "ppo" / "media"
    assert (media / "return_curve.png").stat().st_size > 0 and (media / "episode.gif").stat().st_size > 0
    summary = json.loads((tmp_path / "ppo" / "summary.json").read_text())
    assert 0 < summary["time/media_s"] < summary["time/wall_s"] + summary["time/media_s"]  # the media's seconds


def test_tabular_runs_draw_their_value_maps_and_curves_without_matplotlib(tmp_path):
    common = "'logger.mode=disabled', 'progress=false'"
    run = (f"from gymlab.runners.loop import run\n"
           f"run('value-iteration', [{common}, 'run_dir={tmp_path / 'vi'}'], quiet=True)\n"
           f"run('q-learning', ['steps=2', 'env_steps_per_step=200', 'eval_every=2', 'eval_episodes=10', {common}, "
           f"'run_dir={tmp_path / 'q'}'], quiet=True)")
    assert "matplotlib" not in loaded_after(run)
    for png in ("vi/media/values.png", "vi/media/convergence.png", "q/media/values.png", "q/media/learning_curve.png"):
        assert (tmp_path / png).stat().st_size > 0, png


def test_deep_rl_runs_leave_scipys_solvers_and_statistics_unimported():
    probe = ("import gymlab.runners.templates.rl, sys\n"
             "print(sorted(m for m in ('scipy.linalg', 'scipy.sparse.linalg', 'scipy.stats') if m in sys.modules))")
    p = subprocess.run([sys.executable, "-c", probe], env=ENV, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0 and p.stdout.strip() == "[]", (p.stdout, p.stderr)
