"""Faults injected for real: a run folder belongs to one run, and every failure is one line.

Two processes on one folder, SIGTERM and a second Ctrl-C, mismatched and corrupt checkpoints, a failed
setup, resume's budget and summary, umask and leftover files, operating-system errors (a file where
a folder should be, a name too long, a read-only and a full file system on a real tmpfs where the
machine allows mounting one, else a simulated OSError at the write), bad config values.
"""
import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from gymlab.runners import checkpoint as ckpt
from gymlab.runners import config as config_mod
from gymlab.runners import registry
from gymlab.runners.errors import FileSystemError, GymlabError
from gymlab.runners.loop import NonFiniteError, RunInterrupted, evaluate_run, resume, run

BASE = ["logger.mode=disabled", "progress=false"]
ENV = {**os.environ, "WANDB_MODE": "disabled", "OMP_NUM_THREADS": "1"}


def gymlab(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "gymlab.runners.cli", *args], env=ENV, capture_output=True,
                          text=True, timeout=timeout)


def one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


# ------------------------------------------------------------------ two processes, SIGTERM
def test_second_process_is_refused_and_sigterm_checkpoints(tmp_path, capsys):
    from gymlab.runners.cli import main as cli

    d = tmp_path / "run"
    first = subprocess.Popen([sys.executable, "-m", "gymlab.runners.cli", "run", "softmax", *BASE, "steps=100000000",
                              "eval_every=50", f"run_dir={d}"], env=ENV, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 120
        while not (d / "checkpoints" / "latest.pt").exists() and time.time() < deadline:
            time.sleep(0.2)
        assert (d / "checkpoints" / "latest.pt").exists(), first.stderr.read() if first.poll() is not None else ""
        second = gymlab("resume", str(d))  # a second process
        assert second.returncode == 2
        line = one_line(second.stderr)
        assert f"in use by another gymlab process (pid {first.pid} on" in line, line
        capsys.readouterr()  # and the same refusal for `run`, through the command's main() in this process
        assert cli(["run", "softmax", *BASE, f"run_dir={d}"]) == 2
        line = one_line(capsys.readouterr().err)
        assert f"in use by another gymlab process (pid {first.pid} on" in line, line
        first.send_signal(signal.SIGTERM)
        _, err = first.communicate(timeout=120)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == 130, err
    assert "checkpoint saved, continue with: gymlab resume" in err
    step = int(err.split("interrupted at step ")[1].split(";")[0])
    assert ckpt.load(d / "checkpoints" / "latest.pt")["step"] == step
    assert not (d / ".gymlab.lock").exists()
    # the folder is free again: a resume with a budget just past the step finishes
    done = resume(d, [f"steps={step + 1}"], quiet=True)
    assert done["steps"] == step + 1


def test_sigkill_mid_run_then_resume_takes_the_stale_lock_and_logs_each_step_once(tmp_path):
    d = tmp_path / "run"
    victim = subprocess.Popen([sys.executable, "-m", "gymlab.runners.cli", "run", "softmax", *BASE, "steps=100000000",
                               "eval_every=40", f"run_dir={d}"], env=ENV, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        while time.time() < deadline and not (d / "checkpoints" / "latest.pt").exists():
            time.sleep(0.2)
        time.sleep(1.0)  # some steps after the checkpoint, maybe mid-save
    finally:
        victim.kill()
        victim.wait()
    assert (d / ".gymlab.lock").exists()  # left behind by the killed process: stale
    step = ckpt.load(d / "checkpoints" / "latest.pt")["step"]
    assert resume(d, [f"steps={step + 3}"], quiet=True)["steps"] == step + 3
    rows = [json.loads(line) for line in open(d / "metrics.jsonl")]
    train = [r["step"] for r in rows if "train/loss" in r]
    assert train == list(range(1, step + 4))
    assert not list((d / "checkpoints").glob(".*.tmp")) and not (d / ".gymlab.lock").exists()


def test_stale_lock_of_a_dead_process_is_taken_over(tmp_path):
    run("softmax", [*BASE, "steps=20", "eval_every=10", f"run_dir={tmp_path}"], quiet=True)
    (tmp_path / "summary.json").unlink()
    (tmp_path / ".gymlab.lock").write_text("pid 999999999 on elsewhere\n")  # killed long ago: no flock held
    assert resume(tmp_path, ["steps=30"], quiet=True)["steps"] == 30


def test_second_ctrl_c_never_claims_an_unwritten_checkpoint(tmp_path, monkeypatch):
    from gymlab.runners.experiments.vision.linear import Softmax

    original = Softmax.train_step

    def twice(self):
        if self.step == 137:
            os.kill(os.getpid(), signal.SIGINT)  # asks for a stop at the step boundary
            os.kill(os.getpid(), signal.SIGINT)  # stops now, mid-step: no checkpoint for step 137
        return original(self)

    monkeypatch.setattr(Softmax, "train_step", twice)
    with pytest.raises(RunInterrupted) as err:
        run("softmax", [*BASE, "steps=300", "eval_every=50", f"run_dir={tmp_path}"], quiet=True)
    assert "before its checkpoint was written; the last checkpoint is at step 100" in str(err.value)
    assert ckpt.load(tmp_path / "checkpoints" / "latest.pt")["step"] == 100


def test_nan_stop_names_a_checkpoint_only_if_one_exists(tmp_path):
    with pytest.raises(NonFiniteError, match="no checkpoint was written"):
        run("softmax", [*BASE, "lr=1e30", "eval_every=1000", f"run_dir={tmp_path / 'a'}"], quiet=True)
    assert not (tmp_path / "a" / "checkpoints" / "latest.pt").exists()
    with pytest.raises(NonFiniteError, match=r"the last good checkpoint is .*latest.pt \(step 1\)"):
        run("softmax", [*BASE, "lr=1e30", "eval_every=1", f"run_dir={tmp_path / 'b'}"], quiet=True)


# ------------------------------------------------------------------ whose folder, whose checkpoint
def test_non_empty_folder_that_is_not_a_run_is_refused_untouched(tmp_path):
    (tmp_path / "config.yaml").write_text("my: own\n")
    (tmp_path / "metrics.jsonl").write_text("mine\n")
    with pytest.raises(GymlabError, match="non-empty folder that is not a gymlab run"):
        run("softmax", [*BASE, "steps=5", f"run_dir={tmp_path}"], quiet=True)
    assert (tmp_path / "config.yaml").read_text() == "my: own\n"
    assert (tmp_path / "metrics.jsonl").read_text() == "mine\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.yaml", "metrics.jsonl"]


def test_checkpoint_of_another_run_is_refused(tmp_path):
    run("softmax", [*BASE, "steps=20", "eval_every=10", f"run_dir={tmp_path / 'softmax'}"], quiet=True)
    run("svm", [*BASE, "steps=20", "eval_every=10", f"run_dir={tmp_path / 'svm'}"], quiet=True)
    run("softmax", [*BASE, "steps=20", "eval_every=10", "lr=0.01", f"run_dir={tmp_path / 'other'}"], quiet=True)
    for f in ("best.pt", "latest.pt"):
        shutil.copy(tmp_path / "softmax" / "checkpoints" / f, tmp_path / "svm" / "checkpoints" / f)
        shutil.copy(tmp_path / "softmax" / "checkpoints" / f, tmp_path / "other" / "checkpoints" / f)
    (tmp_path / "svm" / "summary.json").unlink()
    with pytest.raises(GymlabError, match="belongs to a 'softmax' run, not to this 'svm' run"):
        evaluate_run(tmp_path / "svm")
    with pytest.raises(GymlabError, match="belongs to a 'softmax' run"):
        resume(tmp_path / "svm", ["steps=30"], quiet=True)
    with pytest.raises(GymlabError, match="saved under another softmax config"):
        evaluate_run(tmp_path / "other")


def test_resume_cannot_change_what_is_trained(tmp_path):
    run("softmax", [*BASE, "steps=20", "eval_every=10", f"run_dir={tmp_path}"], quiet=True)
    with pytest.raises(GymlabError, match="resume cannot change 'lr'"):
        resume(tmp_path, ["lr=0.5", "steps=30"], quiet=True)


def test_corrupt_latest_points_to_best_and_resume_from_best_works(tmp_path):
    run("softmax", [*BASE, "steps=40", "eval_every=10", f"run_dir={tmp_path}"], quiet=True)
    (tmp_path / "summary.json").unlink()
    (tmp_path / "checkpoints" / "latest.pt").write_bytes(b"garbage")
    with pytest.raises(GymlabError) as err:
        resume(tmp_path, ["steps=50"], quiet=True)
    assert "corrupt" in str(err.value) and f"gymlab resume {tmp_path} --checkpoint best" in str(err.value)
    best = ckpt.load(tmp_path / "checkpoints" / "best.pt")["step"]
    assert resume(tmp_path, ["steps=50"], quiet=True, checkpoint="best")["steps"] == 50
    assert best <= 40
    (tmp_path / "checkpoints" / "best.pt").unlink()
    (tmp_path / "checkpoints" / "latest.pt").write_bytes(b"garbage")
    with pytest.raises(GymlabError, match="no other checkpoint is left; start a new run"):
        resume(tmp_path, ["steps=60"], quiet=True)


def test_failed_setup_leaves_no_folder(tmp_path):
    with pytest.raises(GymlabError, match="not a registered gymnasium env"):
        run("ppo", ["logger.mode=offline", "progress=false", "env=NoSuchEnv-v9", f"run_dir={tmp_path / 'r'}"],
            quiet=True)
    assert not (tmp_path / "r").exists()
    with pytest.raises(GymlabError):
        run("ppo", ["logger.mode=offline", "progress=false", "env=NoSuchEnv-v9", f"out={tmp_path / 'runs'}"],
            quiet=True)
    assert list((tmp_path / "runs").iterdir()) == []


# ------------------------------------------------------------------ resume's budget, summary, rows, files
def test_resume_rewrites_config_refuses_small_budget_and_keeps_finished_summary(tmp_path):
    run("softmax", [*BASE, "steps=40", "eval_every=10", f"run_dir={tmp_path}"], quiet=True)
    summary = (tmp_path / "summary.json").read_text()
    with pytest.raises(GymlabError, match="already reached step 40; a budget of 30 steps is below it"):
        resume(tmp_path, ["steps=30"], quiet=True)
    assert "steps: 40" in (tmp_path / "config.yaml").read_text()
    assert resume(tmp_path, quiet=True)["steps"] == 40  # nothing to do
    assert (tmp_path / "summary.json").read_text() == summary
    assert resume(tmp_path, ["steps=60"], quiet=True)["steps"] == 60
    assert "steps: 60" in (tmp_path / "config.yaml").read_text()


def test_rows_after_the_last_checkpoint_are_not_duplicated(tmp_path):
    """Kill after the checkpoint at step 100 (rows up to 150 written): the resumed run logs 101-150 once."""
    kept = tmp_path / "at100.pt"

    def keep(step, metrics, is_last):
        if step == 100:
            shutil.copy(tmp_path / "r" / "checkpoints" / "latest.pt", kept)

    run("softmax", [*BASE, "steps=150", "eval_every=50", f"run_dir={tmp_path / 'r'}"], quiet=True, on_evaluate=keep)
    shutil.copy(kept, tmp_path / "r" / "checkpoints" / "latest.pt")
    (tmp_path / "r" / "summary.json").unlink()
    with open(tmp_path / "r" / "metrics.jsonl", "a") as f:
        f.write('{"step": 151, "train/lo')  # a row cut by the kill
    resume(tmp_path / "r", quiet=True)
    rows = [json.loads(line) for line in open(tmp_path / "r" / "metrics.jsonl")]
    train = [r["step"] for r in rows if "train/loss" in r]
    assert train == list(range(1, 151))


def test_files_keep_the_umask_and_leftover_tmp_files_go(tmp_path):
    old = os.umask(0o022)
    try:
        run("softmax", [*BASE, "steps=20", "eval_every=10", f"run_dir={tmp_path}"], quiet=True)
    finally:
        os.umask(old)
    for f in ("checkpoints/latest.pt", "checkpoints/best.pt", "config.yaml", "summary.json", "metrics.jsonl"):
        assert (tmp_path / f).stat().st_mode & 0o777 == 0o644, f
    leftover = tmp_path / "checkpoints" / ".latest.pt.abc123.tmp"
    leftover.write_bytes(b"half a save")
    (tmp_path / "summary.json").unlink()
    resume(tmp_path, ["steps=30"], quiet=True)
    assert not leftover.exists()


# ------------------------------------------------------------------ operating-system errors
def test_run_dir_that_is_a_file_or_too_long_is_one_line(tmp_path, capsys):
    from gymlab.runners.cli import main as cli

    (tmp_path / "afile").write_text("x")
    p = gymlab("run", "softmax", *BASE, f"run_dir={tmp_path / 'afile'}")
    assert p.returncode == 2 and "is a file, not a folder" in one_line(p.stderr)
    long = tmp_path / ("x" * 300)
    with pytest.raises(FileSystemError, match=f"cannot create the run folder {long}: File name too long"):
        run("softmax", [*BASE, f"run_dir={long}"], quiet=True)
    capsys.readouterr()  # the same command in this process: a new one costs seconds
    assert cli(["run", "softmax", *BASE, f"run_dir={tmp_path / 'afile' / 'sub'}"]) == 2
    assert "Not a directory" in one_line(capsys.readouterr().err)


@pytest.fixture
def tmpfs(tmp_path):
    """A 1 MiB tmpfs at tmp_path/fs (needs root and a kernel that lets us mount); skipped otherwise."""
    mnt = tmp_path / "fs"
    mnt.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)],
                                           capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here (the simulated-OSError tests cover the same paths)")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def test_read_only_file_system_is_one_line_before_training(tmpfs, capsys):
    from gymlab.runners.cli import main as cli

    run("softmax", [*BASE, "steps=20", "eval_every=10", f"run_dir={tmpfs / 'r'}"], quiet=True)
    (tmpfs / "r" / "summary.json").unlink()
    good = (tmpfs / "r" / "checkpoints" / "latest.pt").read_bytes()
    assert subprocess.run(["mount", "-o", "remount,ro", str(tmpfs)]).returncode == 0
    p = gymlab("resume", str(tmpfs / "r"), "steps=40")
    assert p.returncode == 2
    assert f"{tmpfs / 'r'}" in one_line(p.stderr) and "Read-only file system" in p.stderr
    assert (tmpfs / "r" / "checkpoints" / "latest.pt").read_bytes() == good
    capsys.readouterr()  # the same command in this process: a new one costs seconds
    assert cli(["run", "softmax", *BASE, f"run_dir={tmpfs / 'new'}"]) == 2
    err = capsys.readouterr().err
    assert "Read-only file system" in one_line(err)


def test_full_disk_mid_run_is_one_line_and_keeps_the_last_checkpoint(tmpfs):
    """The tmpfs is filled up to its last 128 kB: with a checkpoint (~20 kB) and metrics rows every step,
    a few hundred steps fill the rest, the last good checkpoint written long before."""
    st = os.statvfs(tmpfs)
    (tmpfs / "filler").write_bytes(bytes(st.f_bavail * st.f_frsize - 128 * 1024))
    d = tmpfs / "r"
    p = gymlab("run", "softmax", *BASE, "steps=100000", "eval_every=1", "media_every_eval=false", f"run_dir={d}")
    assert p.returncode == 2
    line = one_line(p.stderr)
    assert "No space left on device" in line and str(d) in line, line
    payload = ckpt.load(d / "checkpoints" / "latest.pt")  # the last good one is intact
    assert payload["step"] >= 1 and torch.isfinite(payload["state"]["W"]).all()
    assert not list((d / "checkpoints").glob(".*.tmp"))


def test_simulated_write_errors_keep_the_last_checkpoint(tmp_path, monkeypatch):
    """Where no tmpfs can be mounted: ENOSPC, EROFS and EACCES raised at the checkpoint's write."""
    for code, text in ((errno.ENOSPC, "No space left on device"), (errno.EROFS, "Read-only file system"),
                       (errno.EACCES, "Permission denied")):
        d = tmp_path / str(code)
        real = os.fsync

        def failing(fd, code=code, d=d):
            if (d / "checkpoints" / "best.pt").exists():  # the first checkpoint (step 10) is written, then no more
                raise OSError(code, os.strerror(code))
            return real(fd)

        monkeypatch.setattr(os, "fsync", failing)
        with pytest.raises(FileSystemError) as err:
            run("softmax", [*BASE, "steps=50", "eval_every=10", f"run_dir={d}"], quiet=True)
        monkeypatch.undo()
        assert str(err.value) == f"cannot write {d / 'checkpoints' / 'latest.pt'}: {text}"
        assert ckpt.load(d / "checkpoints" / "latest.pt")["step"] == 10
        assert not list((d / "checkpoints").glob(".*.tmp"))


def test_unwritable_folder_is_found_before_training(tmp_path, monkeypatch):
    import gymlab.runners.run_folder as rf

    trained = []
    from gymlab.runners.experiments.vision.linear import Softmax

    monkeypatch.setattr(Softmax, "train_step", lambda self: trained.append(1) or {})
    real_open = open

    def no_write(path, mode="r", *a, **k):
        if "gymlab-probe" in str(path):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, mode, *a, **k)

    monkeypatch.setattr(rf, "open", no_write, raising=False)
    with pytest.raises(FileSystemError, match=f"cannot write in the run folder {tmp_path}: Permission denied"):
        run("softmax", [*BASE, f"run_dir={tmp_path}"], quiet=True)
    assert trained == []


# ------------------------------------------------------------------ config values
@pytest.mark.parametrize("item, needle", [
    ("seed=-1", "bad value for 'seed': -1; it must be an integer in [0, 2^32)"),
    ("seed=4294967296", "bad value for 'seed'"),
    ("batch_size=0", "bad value for 'agent.batch_size': 0; it must be at least 1"),
    ("log_every=0", "bad value for 'log_every'"),
    ("n_envs=0", "bad value for 'agent.n_envs'"),
    ("eval_episodes=0", "bad value for 'eval_episodes'"),
    ("epochs=0", "bad value for 'epochs'"),
    ("seconds=-1", "bad value for 'seconds'"),
    ("gamma=1.5", "bad value for 'agent.gamma'"),
    ("net_arch=[32,32", "bad value for 'agent.net_arch': '[32,32' is malformed"),
    ("lr=${nope}", "bad value for 'agent.lr': Interpolation key 'nope' not found"),
])
def test_bad_config_values_name_their_key(item, needle):
    with pytest.raises(GymlabError) as err:
        config_mod.build(registry.get("ppo").config_cls, [item])
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_bad_values_on_the_command_line_are_one_line(capsys):
    from gymlab.runners.cli import main as cli

    p = gymlab("run", "ppo", *BASE, "net_arch=[32,32")  # a real process: nothing else reaches its stderr
    assert p.returncode == 2 and "bad value for" in one_line(p.stderr)
    for item in ("seed=-1", "lr=${nope}"):  # the same command in this process: a new one costs seconds
        capsys.readouterr()
        assert cli(["run", "ppo", *BASE, item]) == 2
        assert "bad value for" in one_line(capsys.readouterr().err)


def test_sb3_policy_key(tmp_path):
    with pytest.raises(GymlabError, match="bad value for 'agent.policy': 'Foo'; valid: MlpPolicy, CnnPolicy, MultiInputPolicy"):
        run("sb3-ppo", [*BASE, "policy=Foo", f"run_dir={tmp_path / 'a'}"], quiet=True)
    s = run("sb3-ppo", [*BASE, "policy=MlpPolicy", "zoo=false", "n_envs=1", "n_steps=32", "batch_size=32", "steps=1",
                        "eval_episodes=1", "gif=false", f"run_dir={tmp_path / 'b'}"], quiet=True)
    assert s["steps"] == 1
    cfg = json.loads(json.dumps(ckpt.load(tmp_path / "b" / "checkpoints" / "latest.pt")["state"]["agent"]["meta"]))
    assert cfg["policy"] == "MlpPolicy"


def test_wandb_online_without_network_gives_up_quickly_and_logs_offline(tmp_path, monkeypatch):
    import gymlab.runners.wandb_logger as wl

    monkeypatch.setattr(wl, "INIT_TIMEOUT_S", 2.0)
    monkeypatch.setenv("WANDB_API_KEY", "a" * 40)
    monkeypatch.setenv("WANDB_BASE_URL", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.delenv("WANDB_MODE", raising=False)
    t0 = time.time()
    with pytest.warns(RuntimeWarning, match="W&B is unreachable .* logs offline"):
        logger = wl.WandbLogger("online", "gymlab", Path(tmp_path), "t", {"a": 1})
    try:
        assert logger.mode == "offline" and logger.active and time.time() - t0 < 60
    finally:
        logger.finish()
