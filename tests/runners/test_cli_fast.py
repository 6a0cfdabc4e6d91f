"""`gymlab --help`, `list` and `show` answer from the experiment index, importing neither torch nor
an experiment module; the index agrees with the real registry (regenerate it with
`python -m gymlab.runners.experiments` when this fails). Also: `gymlab eval RUN key=value`."""
import json
import os
import subprocess
import sys

import pytest

from gymlab.runners import registry

ENV = {**os.environ, "WANDB_MODE": "disabled", "OMP_NUM_THREADS": "1"}
ENV.pop("GYMLAB_PLUGINS", None)

# Runs a CLI command in a fresh interpreter, then reports which heavy modules it imported.
PROBE = """
import contextlib, io, json, sys
from gymlab.runners.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    try:
        rc = main(sys.argv[1:])
    except SystemExit as e:  # --help
        rc = e.code
heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'numpy', 'gymnasium', 'wandb')
               or m.startswith('gymlab.runners.experiments') or m == 'gymlab.runners.loop')
print(json.dumps({'rc': rc, 'heavy': heavy, 'out': out.getvalue()}))
"""


def probe(*args, cwd):
    p = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=cwd, env=ENV, capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout.splitlines()[-1])


@pytest.mark.parametrize("args", [["--help"], ["list"], ["show", "ppo"], ["show", "no-such-experiment"]])
def test_help_list_show_import_no_torch_and_no_experiment(tmp_path, args):
    fresh = json.loads(registry.INDEX.read_text())["sources"] == registry.sources_digest()
    assert fresh, "experiment sources changed since the index was written; run: python -m gymlab.runners.experiments"
    r = probe(*args, cwd=tmp_path)
    assert r["heavy"] == [], r["heavy"]
    assert r["rc"] == (2 if "no-such-experiment" in args else 0)


def test_index_matches_the_real_registry():
    index = json.loads(registry.INDEX.read_text())
    real = registry.build_index()  # imports every experiment module
    fix = "run: python -m gymlab.runners.experiments"
    assert sorted(index["experiments"]) == sorted(real["experiments"]), fix
    for name, entry in real["experiments"].items():
        assert index["experiments"][name] == entry, f"{name} drifted; {fix}"
    assert index["sources"] == real["sources"], f"experiment sources changed since the index was written; {fix}"


def test_list_and_show_from_the_index_equal_the_registry(tmp_path):
    listing = probe("list", cwd=tmp_path)["out"].splitlines()
    specs = [s for s in registry.all_specs() if s.module.startswith("gymlab.runners.experiments.")]  # built-in
    assert [line.split()[0] for line in listing] == [s.name for s in specs]
    for line, s in zip(listing, specs):
        assert (s.data or "-") in line and line.rstrip().endswith(s.description), line
    import yaml

    from gymlab.runners.config import annotated_yaml, to_yaml

    shown = probe("show", "softmax", cwd=tmp_path)["out"]
    cls = registry.get("softmax").config_cls
    assert annotated_yaml(cls) in shown  # the defaults, each key with its help as a comment
    assert yaml.safe_load(shown) == yaml.safe_load(to_yaml(cls()))


def test_stale_index_falls_back_on_the_registry(monkeypatch):
    monkeypatch.setattr(registry, "_index_cache", {"sources": "stale", "experiments": {}})
    names = [e["name"] for e in registry.catalog()]
    assert "softmax" in names and "ppo" in names
    assert registry.catalog_entry("softmax")["metric"] == "eval/accuracy"


def test_eval_takes_evaluation_keys_and_refuses_training_keys(tmp_path, monkeypatch, capsys):
    # In this process: `main` is what the `gymlab` command runs (exit code = its return value), and the
    # probes above already cover a fresh interpreter; seven more interpreters would only cost start-up time.
    from gymlab.runners.cli import main

    monkeypatch.chdir(tmp_path)

    def gymlab(*args):
        rc = main(list(args))
        out, err = capsys.readouterr()
        return rc, out, err

    rc, _, err = gymlab("run", "ppo", "timesteps=1024", "eval_episodes=2", "gif=false", "run_dir=r", "progress=false")
    assert rc == 0, err
    rc, out, err = gymlab("eval", "r", "eval_episodes=1", "device=cpu", "--json")
    assert rc == 0, err
    one = json.loads(out)
    assert one["eval/std_return"] == 0.0  # a single episode
    again = json.loads(gymlab("eval", "r", "eval_episodes=1", "eval_seed=10000", "--json")[1])
    assert again["eval/mean_return"] == one["eval/mean_return"]  # the same seed: the same episode
    for bad, needle in (("lr=0.1", "eval cannot change 'lr'"), ("eval_every=5", "eval cannot change 'eval_every'"),
                        ("eval_episodes=many", "bad value for 'eval_episodes'"), ("oops", "bad override 'oops'")):
        rc, _, err = gymlab("eval", "r", bad)
        lines = [x for x in err.splitlines() if x.strip()]
        assert rc == 2 and len(lines) == 1 and needle in lines[0], err
        if "cannot change" in needle:
            assert "eval_episodes, eval_seed" in lines[0]
