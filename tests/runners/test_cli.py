"""The `gymlab` command as a user types it: exit codes, one-line errors, --json, Ctrl-C and resume."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from gymlab.runners.loop import run
from gymlab.vision.data.safe_load import load_checkpoint

ENV = {**os.environ, "WANDB_MODE": "disabled", "OMP_NUM_THREADS": "1"}


def gymlab(*args, cwd, check=False):
    p = subprocess.run([sys.executable, "-m", "gymlab.runners.cli", *args], cwd=cwd, env=ENV, capture_output=True,
                       text=True, timeout=300)
    if check:
        assert p.returncode == 0, p.stderr
    return p


@pytest.mark.parametrize("args, needle, process", [
    (["run", "nope"], "unknown experiment 'nope'", True),
    (["run", "softmax", "foo=1"], "unknown key 'foo'", False),
    (["run", "softmax", "lr=fast"], "bad value for 'lr'", False),
    (["eval", "no/such/run"], "no run directory", False),
    (["resume", "no/such/run"], "no run directory", False),
    (["compare", "softmax", "seeds=0"], "bad value for 'seeds'", False),
])
def test_bad_input_is_one_line_exit_2_no_traceback(tmp_path, args, needle, process, capsys, monkeypatch):
    """One case in a real process (its exit status and all it writes); the others through the command's
    own main() in this process, which returns the exit status (a new process costs seconds)."""
    if process:
        p = gymlab(*args, cwd=tmp_path)
        code, stderr = p.returncode, p.stderr
    else:
        from gymlab.runners.cli import main

        monkeypatch.chdir(tmp_path)
        code = main(args)
        stderr = capsys.readouterr().err
    assert code == 2
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in stderr, stderr


def test_corrupt_checkpoint_from_the_command_line(tmp_path, capsys, monkeypatch):
    from gymlab.runners.cli import main

    run("softmax", ["steps=20", "eval_every=10", f"run_dir={tmp_path / 'r'}", "progress=false"], quiet=True)
    (tmp_path / "r" / "checkpoints" / "latest.pt").write_bytes(b"\x00garbage")
    p = gymlab("resume", "r", cwd=tmp_path)
    assert p.returncode == 2 and "corrupt" in p.stderr and "Traceback" not in p.stderr
    monkeypatch.chdir(tmp_path)  # eval through the command's main() in this process: a new one costs seconds
    capsys.readouterr()
    assert main(["eval", "r", "--checkpoint", "latest"]) == 2
    assert "corrupt" in capsys.readouterr().err


def test_json_prints_only_the_summary_and_list_shows_experiments(tmp_path):
    p = gymlab("run", "softmax", "steps=30", "--json", "eval_every=10", cwd=tmp_path, check=True)
    summary = json.loads(p.stdout)
    assert summary["experiment"] == "softmax" and summary["steps"] == 30 and "eval/accuracy" in summary
    ev = json.loads(gymlab("eval", summary["run_dir"], "--json", cwd=tmp_path, check=True).stdout)
    assert ev["eval/accuracy"] == pytest.approx(summary["eval/accuracy"]) or ev["step"] != 30
    listing = gymlab("list", cwd=tmp_path, check=True).stdout
    assert any(line.startswith("softmax") and "digits" in line for line in listing.splitlines())


def test_ctrl_c_checkpoints_exits_130_and_resume_matches_uninterrupted(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "gymlab.runners.cli", "run", "softmax", "steps=100000000",
                             "eval_every=20", "run_dir=cut", "progress=false"], cwd=tmp_path, env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    latest = tmp_path / "cut" / "checkpoints" / "latest.pt"
    deadline = time.time() + 120
    while not latest.exists() and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "gymlab resume" in err and "Traceback" not in err
    step = load_checkpoint(latest)["step"]
    total = step + 45
    gymlab("resume", "cut", f"steps={total}", cwd=tmp_path, check=True)
    # the uninterrupted reference needs no process of its own; one thread, as the command's processes
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        run("softmax", [f"steps={total}", "eval_every=20", f"run_dir={tmp_path / 'ref'}", "progress=false"],
            quiet=True)
    finally:
        torch.set_num_threads(threads)
    a = load_checkpoint(tmp_path / "cut" / "checkpoints" / "latest.pt")
    b = load_checkpoint(tmp_path / "ref" / "checkpoints" / "latest.pt")
    assert a["step"] == b["step"] == total
    assert torch.equal(a["state"]["W"], b["state"]["W"])
