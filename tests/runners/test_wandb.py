"""W&B, read back from the offline .wandb files: history and config, run identity (id, name, group,
job_type, tags, notes), define_metric axes and summaries, console capture, model artifacts, one W&B run
across an interrupted and resumed run; disabled writes nothing; a broken W&B never stops a run."""
import os
import signal

import pytest

from gymlab.runners import config as config_mod
from gymlab.runners import registry
from gymlab.runners.loop import RunInterrupted, resume, run
from gymlab.runners.wandb_logger import (ID_FILE, offline_run_dirs, read_offline_run, run_identity,
                                         summary_mode)


def test_offline_run_holds_history_config_identity_axes_console_and_artifact(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_DIR", str(tmp_path / "wb"))
    monkeypatch.setattr("sys.argv", ["/somewhere/bin/gymlab", "run", "softmax", "lr=0.3"])  # as the CLI starts it
    printed = []

    def on_evaluate(step, metrics, is_last):
        print(f"evaluated at step {step}")  # the console goes to W&B (the Logs tab)
        printed.append(step)

    s = run("softmax", ["logger.mode=offline", "steps=40", "eval_every=20", "lr=0.3", "progress=false",
                        "logger.tags=[mine]", f"run_dir={tmp_path / 'r'}"], quiet=True, on_evaluate=on_evaluate)
    dirs = offline_run_dirs(tmp_path / "wb")
    assert len(dirs) == 1 and "wandb_dir" in s
    logged = read_offline_run(dirs[0])
    # history and config, without the plumbing keys
    assert logged["config"]["lr"] == 0.3 and logged["config"]["experiment"] == "softmax"
    assert not {"out", "progress", "run_dir"} & set(logged["config"])
    losses = [row["train/loss"] for row in logged["history"] if "train/loss" in row]
    evals = [row["eval/accuracy"] for row in logged["history"] if "eval/accuracy" in row]
    assert len(losses) == 40 and len(evals) == 2
    assert evals[-1] == pytest.approx(s["eval/accuracy"])
    # identity: the id kept in the run folder, a unique readable name, group, job type, tags, notes
    r = logged["run"]
    assert (tmp_path / "r" / ID_FILE).read_text().strip() == r["id"] and len(r["id"]) == 8
    assert r["name"] == f"softmax-{r['id']}-s0" and r["job_type"] == "train" and r["project"] == "gymlab"
    assert r["group"].startswith("softmax-") and r["tags"] == ["classification", "softmax", "digits", "mine"]
    assert "gymlab run softmax lr=0.3" in r["notes"]
    # axes and summaries: vision charts against epochs; the accuracy summary is the best, not the last
    metrics = {m["name"]: m for m in logged["metrics"]}
    assert metrics["eval/*"]["step_metric"] == "train/epoch" and metrics["train/*"]["step_metric"] == "train/epoch"
    assert metrics["eval/accuracy"]["summary"] == ["max"]
    assert logged["summary"]["eval/accuracy"] == {"max": pytest.approx(max(evals))}
    assert all("train/epoch" in row for row in logged["history"] if "eval/accuracy" in row)
    # console capture
    assert printed == [20, 40] and "evaluated at step 20" in logged["console"]
    # the checkpoints as a model artifact laid out as a run folder (gymlab.load takes it), the config in its metadata
    (art,) = [a for a in logged["artifacts"] if a["type"] == "model"]
    assert art["type"] == "model" and art["name"] == f"softmax-{r['id']}" and sorted(art["aliases"]) == ["best", "latest"]
    assert art["metadata"]["config"]["lr"] == 0.3
    assert sorted(art["files"]) == ["checkpoints/best.pt", "checkpoints/latest.pt", "config.yaml"]


def test_resume_continues_the_same_wandb_run(tmp_path, monkeypatch):
    """A SIGINT at step 30, then `resume`: two offline segments of ONE W&B run, the second marked resumed,
    its history going on from the checkpoint's step; media at every 2nd evaluation (logger.media_every)."""
    from gymlab.runners.experiments.vision.linear import Softmax

    monkeypatch.setenv("WANDB_DIR", str(tmp_path / "wb"))
    original = Softmax.train_step

    def interrupting(self):
        out = original(self)
        if self.step == 30:
            os.kill(os.getpid(), signal.SIGINT)
        return out

    monkeypatch.setattr(Softmax, "train_step", interrupting)
    args = ["logger.mode=offline", "steps=60", "eval_every=10", "progress=false", "logger.media_every=2",
            f"run_dir={tmp_path / 'r'}"]
    with pytest.raises(RunInterrupted):
        run("softmax", args, quiet=True)
    monkeypatch.setattr(Softmax, "train_step", original)
    resume(tmp_path / "r", quiet=True)
    segments = [read_offline_run(d) for d in offline_run_dirs(tmp_path / "wb")]
    first, second = sorted(segments, key=lambda seg: seg["history"][0]["_step"])  # folders of one second tie
    assert first["run"]["id"] == second["run"]["id"] == (tmp_path / "r" / ID_FILE).read_text().strip()
    assert first["run"]["name"] == second["run"]["name"] and not first["run"]["resumed"] and second["run"]["resumed"]
    steps1 = [row["_step"] for row in first["history"] if "train/loss" in row]
    steps2 = [row["_step"] for row in second["history"] if "train/loss" in row]
    assert steps1 == list(range(1, 31)) and steps2 == list(range(31, 61))
    # media: at the 2nd and 4th evaluation of each process (steps 20; 50) and at the end (60)
    media_steps = sorted({row["_step"] for seg in (first, second) for row in seg["history"]
                          if any(k.startswith("media/") for k in row)})
    assert media_steps == [20, 50, 60]
    # each segment logged its checkpoints as versions of one model artifact
    for seg in (first, second):
        models = [a for a in seg["artifacts"] if a["type"] == "model"]
        assert {a["name"] for a in models} == {f"softmax-{first['run']['id']}"}
        assert {"latest", "best"} <= {alias for a in models for alias in a["aliases"]}


def test_eval_is_a_wandb_run_of_job_type_eval_in_the_training_group(tmp_path, monkeypatch):
    from gymlab.runners.loop import evaluate_run

    monkeypatch.setenv("WANDB_DIR", str(tmp_path / "wb"))
    run("softmax", ["logger.mode=offline", "steps=20", "eval_every=20", "progress=false", "logger.artifacts=false",
                    f"run_dir={tmp_path / 'r'}"], quiet=True)
    again = evaluate_run(tmp_path / "r")
    runs = {r["run"]["job_type"]: r for r in map(read_offline_run, offline_run_dirs(tmp_path / "wb"))}
    assert sorted(runs) == ["eval", "train"]  # by job type: two runs started in one second sort by their random ids
    train, ev = runs["train"], runs["eval"]
    assert not train["artifacts"]
    assert ev["run"]["group"] == train["run"]["group"] and ev["run"]["id"] != train["run"]["id"]
    assert ev["run"]["name"] == f"{train['run']['name']}-eval" and "eval" in ev["run"]["tags"]
    assert ev["config"]["trained_run_id"] == train["run"]["id"] and ev["config"]["checkpoint"] == "best.pt"
    assert ev["summary"]["eval/accuracy"] == pytest.approx(again["eval/accuracy"])


def test_identity_groups_seeds_of_one_config_and_takes_job_type_from_the_config(tmp_path):
    spec = registry.get("softmax")

    def ident(*overrides):
        cfg = config_mod.build(spec.config_cls, list(overrides))
        return run_identity("softmax", spec, cfg, tmp_path)

    a, b, c = ident("seed=0"), ident("seed=1", "device=cpu", "logger.tags=[x]"), ident("seed=0", "lr=0.1")
    assert a["group"] == b["group"] != c["group"] and a["id"] != b["id"]
    assert ident("logger.group=g", "logger.job_type=sweep")["group"] == "g"
    assert ident("logger.job_type=sweep")["job_type"] == "sweep" and a["job_type"] == "train"
    assert ident("logger.project=other")["config"]["logger"]["project"] == "other"
    rl = registry.get("ppo")
    cfg = config_mod.build(rl.config_cls, ["env=Acrobot-v1"])
    assert run_identity("ppo", rl, cfg, tmp_path)["tags"][:3] == ["rl", "ppo", "Acrobot-v1"]


def test_artifact_references_need_wandb_online(tmp_path, monkeypatch):
    from gymlab.runners.errors import GymlabError
    from gymlab.runners.wandb_logger import fetch_run_folder, is_artifact_ref

    assert is_artifact_ref("me/gymlab/ppo-ab12cd34:best") and is_artifact_ref("ppo-ab12cd34:latest")
    assert not is_artifact_ref(tmp_path) and not is_artifact_ref("runs/ppo-20260101-120000")
    monkeypatch.setenv("WANDB_MODE", "offline")
    with pytest.raises(GymlabError, match="W&B artifact reference and W&B is offline"):
        fetch_run_folder("me/gymlab/ppo-ab12cd34:best")


def test_summary_modes_fit_the_metric():
    assert summary_mode("eval/accuracy") == summary_mode("eval/map50") == summary_mode("eval/miou") == "max"
    assert summary_mode("eval/bits_per_dim") == summary_mode("eval/fid") == summary_mode("eval/nll_nats") == "min"
    assert summary_mode("eval/mean_return") == "last" and summary_mode("train/loss") is None


def test_bad_media_every_is_one_line(tmp_path):
    from gymlab.runners.errors import GymlabError

    with pytest.raises(GymlabError, match="logger.media_every"):
        run("softmax", ["logger.media_every=-1", f"run_dir={tmp_path / 'r'}"], quiet=True)


def test_wandb_mode_env_is_the_default_and_disabled_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "disabled")
    monkeypatch.delenv("WANDB_DIR", raising=False)
    s = run("softmax", ["steps=10", "progress=false", f"run_dir={tmp_path / 'r'}"], quiet=True)
    assert "wandb_dir" not in s
    assert not list(tmp_path.rglob("*wandb*"))


@pytest.mark.parametrize("mode, warning", [("online", "W&B is unreachable"), ("offline", "wandb.init failed")])
def test_broken_wandb_init_does_not_stop_the_run(tmp_path, monkeypatch, mode, warning):
    import wandb

    def boom(*a, **k):
        raise RuntimeError("no network, no key")

    monkeypatch.setattr(wandb, "init", boom)
    with pytest.warns(RuntimeWarning, match=warning):
        s = run("softmax", [f"logger.mode={mode}", "steps=20", "progress=false", f"run_dir={tmp_path / 'r'}"],
                quiet=True)
    assert s["steps"] == 20 and (tmp_path / "r" / "summary.json").exists()


def test_generative_charts_use_examples_seen_and_keep_the_lowest_bits_per_dim(tmp_path):
    from gymlab.runners.wandb_logger import WandbLogger, axis_of, pillar

    spec = registry.get("pixelcnn")
    assert pillar(spec) == "generative" and axis_of("generative") == "train/examples"
    logger = WandbLogger("offline", "gymlab-test", tmp_path, "gen", {}, axis="train/examples", spec=spec, batch_size=64)
    for step, bpd in ((1, 3.0), (2, 2.0), (3, 2.5)):
        logger.log({"train/nll_nats": 100.0 / step}, step=step)
        logger.log({"eval/bits_per_dim": bpd}, step=step)
    logger.summary({"eval/bits_per_dim": 2.5, "steps": 3})
    logger.finish()
    logged = read_offline_run(offline_run_dirs(tmp_path)[0])
    assert [r["train/examples"] for r in logged["history"] if "train/nll_nats" in r] == [64, 128, 192]
    assert [r["train/examples"] for r in logged["history"] if "eval/bits_per_dim" in r] == [64, 128, 192]
    metrics = {m["name"]: m for m in logged["metrics"]}
    assert metrics["eval/*"]["step_metric"] == "train/examples" and metrics["eval/bits_per_dim"]["summary"] == ["min"]
    assert logged["summary"]["eval/bits_per_dim"] == {"min": 2.0} and logged["summary"]["steps"] == 3


def test_gymlab_load_takes_a_model_artifact_reference(tmp_path, monkeypatch):
    """The artifact a run logs is a run folder: gymlab.load("entity/project/<name>:best") fetches it (here
    W&B's download is replaced by a copy of the files the offline run staged) and loads the same model."""
    import shutil

    import torch
    import wandb

    import gymlab

    monkeypatch.setenv("WANDB_DIR", str(tmp_path / "wb"))
    run("mlp", ["logger.mode=offline", "epochs=null", "steps=4", "eval_every=2", "progress=false", "device=cpu",
                f"run_dir={tmp_path / 'r'}"], quiet=True)
    (art,) = [a for a in read_offline_run(offline_run_dirs(tmp_path / "wb")[0])["artifacts"] if a["type"] == "model"]
    asked = []

    class Artifact:
        def download(self, root=None):
            dest = tmp_path / "download"
            for path, staged in art["staged"].items():
                (dest / path).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(staged, dest / path)
            return str(dest)

    class Api:
        def __init__(self, timeout=None):
            pass

        def artifact(self, ref, type=None):
            asked.append((ref, type))
            return Artifact()

    monkeypatch.setattr(wandb, "Api", Api)
    monkeypatch.setenv("WANDB_MODE", "online")
    ref = f"me/gymlab/{art['name']}:best"
    fetched, local = gymlab.load(ref), gymlab.load(tmp_path / "r")
    assert asked == [(ref, "model")] and fetched.experiment == "mlp"
    x = torch.rand(5, 1, 8, 8)  # raw digits in [0, 1]
    assert torch.equal(fetched(x), local(x))
