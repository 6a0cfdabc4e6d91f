"""How the defaults of our A2C and PPO were chosen: random search, then a check on other seeds.

The score of a configuration is the env steps to its first evaluation return >= 475 on CartPole-v1
(an evaluation every 1024 env steps: 10 deterministic episodes played at once on a vector env; a
run that never gets there scores twice the cap). Configurations are ranked by the geometric mean over
seeds. The search used seeds 100-109; the check, against SB3 with the zoo's setting, seeds 200-219;
the benchmark (bench_rl.py) uses seeds 0-19, which neither touched.

    .venv/bin/python benchmarks/tune_rl.py search a2c --configs 30 --seeds 100-109 --out a2c.jsonl
    .venv/bin/python benchmarks/tune_rl.py check a2c --seeds 200-219 --set lr=3e-3 n_envs=16 --out check.jsonl

``check`` runs our agent with its defaults (plus ``--set``) and the SB3 peer on the same seeds and
prints the median same-seed ratio of env steps and a Wilcoxon signed-rank p.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from bench_rl import SOLVED, train  # noqa: E402

AGENTS = {"a2c": "actor-critic", "ppo": "ppo"}  # our agent's name in bench_rl; the peer is sb3-<algo>
CAP = 100_000


def space(algo: str, rng: np.random.Generator) -> dict:
    """One random configuration (the second A2C search's space; PPO's)."""
    if algo == "a2c":
        return dict(n_envs=int(rng.choice([8, 16, 32])), n_steps=int(rng.choice([8, 16, 32, 64])),
                    lr=float(10 ** rng.uniform(-3, -2)), optimizer=str(rng.choice(["rmsprop", "adam"])),
                    gae_lambda=float(rng.choice([0.9, 0.95, 1.0])), gamma=float(rng.choice([0.98, 0.99, 0.995])),
                    normalize_advantage=bool(rng.choice([True, False])), ent_coef=float(rng.choice([0.0, 0.01])),
                    max_grad_norm=float(rng.choice([0.5, 1.0, 5.0])), vf_coef=float(rng.choice([0.25, 0.5, 1.0])))
    return dict(n_envs=int(rng.choice([4, 8, 16])), n_steps=int(rng.choice([16, 32, 64])),
                n_epochs=int(rng.choice([4, 8, 10, 20])), batch_size=int(rng.choice([64, 128, 256])),
                lr=float(10 ** rng.uniform(-3.5, -2.3)), gae_lambda=float(rng.choice([0.8, 0.9, 0.95])),
                gamma=float(rng.choice([0.98, 0.99])), lr_schedule=str(rng.choice(["linear", "constant"])),
                clip_range=float(rng.choice([0.1, 0.2, 0.3])))


def vector_eval(agent, n: int = 10, seed: int = 10_000) -> float:
    """Mean return of n deterministic episodes played side by side on a CartPole vector env."""
    env = gym.make_vec("CartPole-v1", num_envs=n)
    obs, _ = env.reset(seed=seed)
    alive, total = np.ones(n, bool), np.zeros(n)
    while alive.any():
        action, _ = agent.predict(obs, deterministic=True)
        obs, r, term, trunc, _ = env.step(action)
        total += r * alive
        alive &= ~(term | trunc)
    env.close()
    return float(total.mean())


def steps_to_solve(agent: str, seed: int, hp: dict) -> int:
    """Env steps to the first evaluation >= 475 (bench_rl's loop, evaluated by ``vector_eval``); 2 * CAP if never."""
    run = train(agent, "CartPole-v1", seed, CAP, 1024, SOLVED, {agent: hp}, evaluator=vector_eval)
    return run["steps_to_solve"] or 2 * CAP


def seeds_arg(text: str) -> list[int]:
    lo, _, hi = text.partition("-")
    return list(range(int(lo), int(hi or lo) + 1))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=["search", "check"])
    p.add_argument("algo", choices=list(AGENTS))
    p.add_argument("--configs", type=int, default=30, help="search: how many random configurations")
    p.add_argument("--seeds", type=seeds_arg, default=seeds_arg("100-109"), help="a range, e.g. 100-109")
    p.add_argument("--search-seed", type=int, default=0)
    p.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="check: overrides of our defaults")
    p.add_argument("--out", default=None, help="append one JSON line per configuration (search) or run (check)")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    ours = AGENTS[args.algo]

    def emit(record):
        print(json.dumps(record), flush=True)
        if args.out:
            with open(args.out, "a") as f:
                f.write(json.dumps(record) + "\n")

    if args.mode == "search":
        rng = np.random.default_rng(args.search_seed)
        for _ in range(args.configs):
            hp = space(args.algo, rng)
            steps = [steps_to_solve(ours, s, hp) for s in args.seeds]
            emit({"hp": hp, "steps": steps, "gmean": float(np.exp(np.mean(np.log(steps)))),
                  "median": float(np.median(steps))})
        return
    from scipy.stats import wilcoxon

    hp = {k: json.loads(v) if v[:1] in "[{0123456789-tf." else v for k, v in (s.split("=", 1) for s in args.set)}
    mine, peer = [], []
    for s in args.seeds:
        mine.append(steps_to_solve(ours, s, hp))
        peer.append(steps_to_solve(f"sb3-{args.algo}", s, {}))
        emit({"seed": s, "ours": mine[-1], "sb3": peer[-1]})
    ratio = np.median(np.array(mine) / np.array(peer))
    pval = wilcoxon(mine, peer).pvalue if len(mine) >= 6 else float("nan")
    print(f"{args.algo} {hp or '(defaults)'}: median env steps {np.median(mine):.0f} vs SB3 {np.median(peer):.0f}; "
          f"median same-seed ratio x{ratio:.2f}; Wilcoxon p = {pval:.3f} over {len(mine)} seeds")


if __name__ == "__main__":
    main()
