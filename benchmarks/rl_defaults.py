"""Do the default deep-RL runs end solved? Each agent's default experiment (``gymlab run NAME seed=S``, no
other key but gif=false and W&B disabled) on CartPole-v1, one run per seed, as a user would start it.

A run stops at its first evaluation (10 deterministic episodes) whose mean return reaches 475 and a
second evaluation on the next 10 seeds confirms; the final evaluation is then that policy's. The table gives
the final evaluation (the policy the run reports, i.e. its last checkpoint), whether the run stopped solved,
the confirmation's mean, the env steps used of the budget, and the wall time (shared machine: indicative).
Goal (issue 18): final evaluation >= 475 in at least 4 of 5 seeds (0-4) for each agent.

    .venv/bin/python benchmarks/rl_defaults.py [--agents actor-critic ppo dqn reinforce] [--seeds 0 1 2 3 4]

Writes benchmarks/results/rl_defaults.md (the rows of the agents run; --out to write elsewhere).
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gymlab.runners.loop import run  # noqa: E402


def one(name: str, seed: int) -> dict:
    with tempfile.TemporaryDirectory() as d:
        t = time.perf_counter()
        s = run(name, ["logger.mode=disabled", "progress=false", "gif=false", f"seed={seed}", f"run_dir={d}/r"],
                quiet=True)
    return {"agent": name, "seed": seed, "final return": s["eval/mean_return"], "stopped solved": s.get("eval/solved"),
            "confirmation": s.get("eval/confirm_mean_return"), "env steps": s["train/env_steps"],
            "budget": s.get("train/budget_env_steps") or "-", "wall s": round(time.perf_counter() - t, 1)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--agents", nargs="+", default=["actor-critic", "ppo", "dqn", "reinforce"])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "rl_defaults.md"))
    args = ap.parse_args()
    rows = []
    for name in args.agents:
        for seed in args.seeds:
            rows.append(one(name, seed))
            print(json.dumps(rows[-1]), flush=True)
    cols = list(rows[0])
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(str(r[c]) for c in cols) + " |" for r in rows]
    summary = [f"- {a}: final >= 475 in {sum(r['final return'] >= 475 for r in rows if r['agent'] == a)}/"
               f"{sum(r['agent'] == a for r in rows)} seeds" for a in args.agents]
    text = (f"# Default deep-RL runs on CartPole-v1\n\nCommand: `.venv/bin/python benchmarks/rl_defaults.py "
            f"{' '.join(sys.argv[1:])}`\n\n" + "\n".join(lines) + "\n\n" + "\n".join(summary) + "\n")
    Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
