"""A user's own experiment, registered from a script (--plugin, $GYMLAB_PLUGINS) or a package (entry
point), seen by every command in new processes: list, show, run, eval, resume, compare (also on Ray)."""
import json
import os
import subprocess
import sys
import textwrap

import pytest

ENV = {**os.environ, "WANDB_MODE": "disabled", "OMP_NUM_THREADS": "1", "RAY_AUTH_MODE": "disabled"}
ENV.pop("GYMLAB_PLUGINS", None)

# A real (if small) experiment: fits the mean of a fixed sample by SGD; no torch, so it is quick.
PLUGIN = textwrap.dedent('''
    """Mean estimation by SGD: the smallest experiment that has all five methods."""
    from dataclasses import dataclass

    import numpy as np

    from gymlab import register
    from gymlab.runners.config import RunConfig


    @dataclass
    class MeanConfig(RunConfig):
        steps: int = 40
        eval_every: int = 10
        lr: float = 0.1
        eval_samples: int = 100


    @register("{name}", data="gaussian(3, 1)", metric="eval/error", mode="min",
              description="SGD on the squared error to a Gaussian sample's mean")
    class MeanSGD:
        Config = MeanConfig

        def setup(self, cfg, ctx):
            self.cfg = cfg
            self.x = np.random.default_rng(cfg.seed).normal(3.0, 1.0, 256)
            self.w, self.t = 0.0, 0

        def train_step(self):
            xi = self.x[self.t % len(self.x)]
            self.w -= self.cfg.lr * (self.w - xi)
            self.t += 1
            return {{"train/loss": (self.w - xi) ** 2}}

        def evaluate(self):
            return {{"eval/error": abs(self.w - self.x[: self.cfg.eval_samples].mean()), "eval/w": self.w}}

        def media(self):
            return {{}}

        def state_dict(self):
            return {{"w": float(self.w), "t": self.t}}

        def load_state_dict(self, state):
            self.w, self.t = state["w"], state["t"]
''')


def write_plugin(folder, module="myexp", name="mean-sgd"):
    path = folder / f"{module}.py"
    path.write_text(PLUGIN.format(name=name))
    return path


def gymlab(*args, cwd, env=None, check=True):
    p = subprocess.run([sys.executable, "-m", "gymlab.runners.cli", *args], cwd=cwd, env={**ENV, **(env or {})},
                       capture_output=True, text=True, timeout=300)
    if check:
        assert p.returncode == 0, p.stderr
    return p


def test_plugin_file_seen_by_list_show_run_eval_resume_compare(tmp_path):
    write_plugin(tmp_path)
    listing = gymlab("--plugin", "myexp.py", "list", cwd=tmp_path).stdout
    line = next(x for x in listing.splitlines() if x.startswith("mean-sgd"))
    assert "gaussian(3, 1)" in line and "SGD on the squared error" in line
    assert "softmax" in listing  # the built-in experiments are still there
    shown = gymlab("show", "mean-sgd", "--plugin", "myexp.py", cwd=tmp_path).stdout  # the flag goes anywhere
    assert "eval_samples: 100" in shown and "main metric: eval/error (min)" in shown

    s = json.loads(gymlab("run", "mean-sgd", "steps=20", "run_dir=r", "--json", "--plugin=myexp.py",
                          cwd=tmp_path).stdout)
    assert s["experiment"] == "mean-sgd" and s["steps"] == 20 and s["eval/error"] < 1.0
    # A new process that knows the plugin only from the environment, as Ray workers and torchrun do.
    env = {"GYMLAB_PLUGINS": str(tmp_path / "myexp.py")}
    ev = json.loads(gymlab("eval", "r", "eval_samples=50", "--json", cwd=tmp_path, env=env).stdout)
    assert ev["experiment"] == "mean-sgd" and ev["eval/w"] == pytest.approx(s["eval/w"])
    res = json.loads(gymlab("resume", "r", "steps=30", "--json", cwd=tmp_path, env=env).stdout)
    assert res["steps"] == 30
    cmp = json.loads(gymlab("--plugin", "myexp.py", "compare", "mean-sgd", "seeds=2", "steps=10", "--json",
                            cwd=tmp_path).stdout)
    assert {row["experiment"] for row in cmp["table"]} == {"mean-sgd"}
    # Without the plugin the name is unknown, and the error says how to bring one.
    p = gymlab("run", "mean-sgd", cwd=tmp_path, check=False)
    assert p.returncode == 2 and "unknown experiment 'mean-sgd'" in p.stderr and "--plugin" in p.stderr


def test_plugin_module_name_on_the_python_path(tmp_path):
    write_plugin(tmp_path, module="my_lab_plugin", name="mean-mod")
    env = {"PYTHONPATH": str(tmp_path), "GYMLAB_PLUGINS": "my_lab_plugin"}
    work = tmp_path / "elsewhere"
    work.mkdir()
    assert "mean-mod" in gymlab("list", cwd=work, env=env).stdout
    s = json.loads(gymlab("run", "mean-mod", "steps=10", "--json", cwd=work, env=env).stdout)
    assert s["experiment"] == "mean-mod"


def test_entry_point_of_an_installed_package(tmp_path):
    """A package declaring [project.entry-points."gymlab.experiments"] mean-ep = "mean_pkg:MeanSGD"."""
    site = tmp_path / "site"
    site.mkdir()
    write_plugin(site, module="mean_pkg", name="mean-ep")
    dist = site / "mean_pkg-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: mean-pkg\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[gymlab.experiments]\nmean-ep = mean_pkg:MeanSGD\n")
    env = {"PYTHONPATH": str(site)}
    assert any(x.startswith("mean-ep") for x in gymlab("list", cwd=tmp_path, env=env).stdout.splitlines())
    assert "eval_samples: 100" in gymlab("show", "mean-ep", cwd=tmp_path, env=env).stdout
    s = json.loads(gymlab("run", "mean-ep", "steps=10", "--json", cwd=tmp_path, env=env).stdout)
    assert s["experiment"] == "mean-ep" and s["metric"] == "eval/error"


@pytest.mark.parametrize("plugin, needle", [
    ("nothere.py", "no such file"),
    ("no_such_module_xyz", "no module named 'no_such_module_xyz'"),
    ("broken.py", "failed to import: NameError"),
])
def test_bad_plugin_is_one_line(tmp_path, plugin, needle):
    (tmp_path / "broken.py").write_text("x = undefined_name\n")
    p = gymlab("--plugin", plugin, "list", cwd=tmp_path, check=False)
    lines = [x for x in p.stderr.splitlines() if x.strip()]
    assert p.returncode == 2 and len(lines) == 1 and needle in lines[0] and "Traceback" not in p.stderr, p.stderr


@pytest.mark.slow
def test_plugin_on_ray_workers(tmp_path, ray_cluster):
    write_plugin(tmp_path)
    # compare starts a Ray of its own, as a user's `gymlab compare ... workers=2` does: its workers
    # inherit $GYMLAB_PLUGINS.
    cmp = json.loads(gymlab("--plugin", "myexp.py", "compare", "mean-sgd", "seeds=2", "workers=2", "steps=10",
                            "--json", cwd=tmp_path).stdout)
    assert {row["experiment"] for row in cmp["table"]} == {"mean-sgd"}
    # The sweep joins a running cluster (the session's) through $RAY_ADDRESS: its trials run on
    # workers started before the plugin was named, which get it through Ray's runtime environment.
    out = gymlab("--plugin", "myexp.py", "sweep", "mean-sgd", "lr=0.05,0.2", "steps=20", "--scheduler", "fifo",
                 "--quiet", cwd=tmp_path, env={"RAY_ADDRESS": ray_cluster}).stdout
    assert "best: lr=0.2" in out and out.count("| finished |") == 2
    assert f"reproduce: `gymlab --plugin {tmp_path / 'myexp.py'} run mean-sgd" in out
