"""CartPole-v1: our deep RL agents against Stable-Baselines3 with the rl-baselines3-zoo hyperparameters.

For every seed, each pair (ours, SB3) trains back to back in this process under the same conditions
(torch on one thread, the same evaluation function). After every update whose env-step count has
crossed the next multiple of ``--eval-every``, both are evaluated on a separate env (10 deterministic
episodes, seeds 10000..10009); evaluation time is excluded from the wall time. Reported per agent:
seeds that reached an evaluation return >= 475, env steps and wall seconds to the first such
evaluation (median over the seeds that got there), final evaluation return, training steps per second.
Ours run with their own defaults (``agents.actor_critic.A2CConfig``, ``agents.ppo.PPOConfig``,
``agents.dqn.DQNConfig``: chosen by searches on seeds 100-109 and checked on seeds 200-219, never on the
benchmark's seeds 0-19); SB3 with the zoo's. ``--set actor-critic.n_envs=8 ...`` overrides ours. Evaluations come every 1024 env steps
(``--eval-every``): a coarser grid rounds every run up to its next multiple and hides differences.

    .venv/bin/python benchmarks/bench_rl.py            # 5 seeds, the zoo's budgets (a2c 500k, ppo 100k, dqn 50k)
    .venv/bin/python benchmarks/bench_rl.py --quick    # 5 seeds, each run stops once it reaches 475
    .venv/bin/python benchmarks/bench_rl.py --lunar    # instead: PPO and DQN on LunarLander-v3 (needs box2d)
    .venv/bin/python benchmarks/bench_rl.py --quick --agents dqn --seeds $(seq 0 19) --name rl_dqn  # one pair alone

Writes benchmarks/results/rl.md (the table, headed by the command that made it), rl.json (every run) and
rl.png (return curves), or ``--name``.md/.json/.png; ``--lunar`` writes rl_lunar.md and rl_lunar.json.
Each pair's line of ratios gives the median same-seed ratios of wall time and env steps to 475 with a
Wilcoxon signed-rank p for each (seeds where both solved).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from gymlab.agents.actor_critic import A2C  # noqa: E402
from gymlab.agents.base import evaluate  # noqa: E402
from gymlab.agents.dqn import DQN  # noqa: E402
from gymlab.agents.ppo import PPO  # noqa: E402
from gymlab.agents.reinforce import REINFORCE  # noqa: E402
from gymlab.agents.sb3 import SB3Agent  # noqa: E402

OURS = {"reinforce": REINFORCE, "actor-critic": A2C, "ppo": PPO, "dqn": DQN}
PAIRS = [("actor-critic", "sb3-a2c"), ("ppo", "sb3-ppo"), ("dqn", "sb3-dqn"), ("reinforce", None)]
BUDGET = {"actor-critic": 500_000, "ppo": 100_000, "dqn": 50_000, "reinforce": 200_000}  # the zoo's n_timesteps
SOLVED = 475.0


def make_agent(name: str, env: str, seed: int, overrides: dict):
    if name.startswith("sb3-"):
        return SB3Agent(name[4:], env, seed=seed)
    return OURS[name](env, seed=seed, **overrides.get(name, {}))


def train(name: str, env: str, seed: int, budget: int, eval_every: int, stop_at: float | None, overrides: dict,
          threshold: float = SOLVED, evaluator=None) -> dict:
    """Train one agent, evaluating it after every update that crosses a multiple of ``eval_every`` env steps
    (``evaluator(agent) -> mean return``; default: 10 deterministic episodes on ``env``, seeds 10000..)."""
    evaluator = evaluator or (lambda a: evaluate(a, env, n_episodes=10, seed=10_000)["mean_return"])
    torch.manual_seed(seed)
    agent = make_agent(name, env, seed, overrides)
    clock = {"train": 0.0, "last": time.perf_counter(), "next": eval_every}
    curve, first = [], None

    def callback(a, metrics):
        nonlocal first
        now = time.perf_counter()
        clock["train"] += now - clock["last"]
        stop = False
        if a.num_timesteps >= clock["next"] or a.num_timesteps >= budget:
            clock["next"] = (a.num_timesteps // eval_every + 1) * eval_every
            r = evaluator(a)
            curve.append((a.num_timesteps, r))
            if first is None and r >= threshold:
                first = (a.num_timesteps, clock["train"])
            stop = stop_at is not None and r >= stop_at
        clock["last"] = time.perf_counter()
        return not stop

    agent.learn(budget, callback=callback)
    if not curve or curve[-1][0] != agent.num_timesteps:  # SB3 may end between two reports
        curve.append((agent.num_timesteps, evaluator(agent)))
    return {"agent": name, "env": env, "seed": seed, "steps_to_solve": first[0] if first else None,
            "seconds_to_solve": first[1] if first else None, "final_return": curve[-1][1],
            "env_steps": agent.num_timesteps, "train_seconds": clock["train"],
            "steps_per_s": agent.num_timesteps / max(clock["train"], 1e-9), "curve": curve}


def summarise(runs: list[dict], name: str) -> dict:
    rs = [r for r in runs if r["agent"] == name]
    solved = [r for r in rs if r["steps_to_solve"] is not None]
    med = lambda xs: float(np.median(xs)) if xs else float("nan")  # noqa: E731
    return {"agent": name, "solved": f"{len(solved)}/{len(rs)}",
            "steps_to_475": med([r["steps_to_solve"] for r in solved]),
            "seconds_to_475": med([r["seconds_to_solve"] for r in solved]),
            "final_return": float(np.mean([r["final_return"] for r in rs])),
            "final_std": float(np.std([r["final_return"] for r in rs])),
            "steps_per_s": med([r["steps_per_s"] for r in rs])}


def table(runs: list[dict], pairs, args) -> str:
    lines = ["| agent | solved (>= 475) | env steps to 475 (median) | wall s to 475 (median) | final return "
             "(mean ± std) | train steps/s |", "|---|---|---|---|---|---|"]
    ratios = []
    for ours, sb3 in pairs:
        rows = [summarise(runs, ours)] + ([summarise(runs, sb3)] if sb3 else [])
        for s in rows:
            lines.append(f"| {s['agent']} | {s['solved']} | {s['steps_to_475']:.0f} | {s['seconds_to_475']:.1f} | "
                         f"{s['final_return']:.1f} ± {s['final_std']:.1f} | {s['steps_per_s']:.0f} |")
        if sb3:
            ratios.append(f"- {ours} / {sb3}: wall time to 475 x{paired(runs, ours, sb3, 'seconds_to_solve'):.2f}"
                          f"{signed_rank(runs, ours, sb3, 'seconds_to_solve')}, "
                          f"env steps to 475 x{paired(runs, ours, sb3, 'steps_to_solve'):.2f}"
                          f"{signed_rank(runs, ours, sb3, 'steps_to_solve')}, "
                          f"training throughput x{paired(runs, ours, sb3, 'steps_per_s'):.2f}")
    mode = "quick: each run stops at its first evaluation >= 475" if args.quick else "full budgets"
    command = getattr(args, "command", None)
    head = ("# CartPole-v1: gymlab agents vs Stable-Baselines3 (rl-baselines3-zoo hyperparameters)\n\n"
            + (f"Command: `{command}`\n\n" if command else "")
            + f"{len(args.seeds)} seeds ({', '.join(map(str, args.seeds))}), {mode}; evaluation every "
            f"{args.eval_every} env steps on a separate env (10 deterministic episodes), evaluation time excluded; "
            f"torch {torch.__version__} on {torch.get_num_threads()} CPU thread(s); budgets (env steps): "
            + ", ".join(f"{k} {v}" for k, v in args.budgets.items()) + ". Wall times were measured on a "
            "shared machine: compare ratios within one run, not across runs.\n\n")
    return head + "\n".join(lines) + ("\n\nRatios ours / SB3 (median over seeds of the same-seed ratio; the two runs of a "
                                       "seed ran back to back, so load changes on the machine largely cancel):\n\n") \
        + "\n".join(ratios) + "\n"


def pairs(runs: list[dict], ours: str, sb3: str, key: str) -> list[tuple[float, float]]:
    """(ours[key], sb3[key]) for each seed where both have a value."""
    by = {(r["agent"], r["seed"]): r[key] for r in runs}
    return [(by[(ours, s)], by[(sb3, s)]) for (a, s) in by if a == ours and by.get((sb3, s)) and by[(ours, s)] is not None]


def paired(runs: list[dict], ours: str, sb3: str, key: str) -> float:
    """Median over seeds of ours[key] / sb3[key], over the seeds where both have a value."""
    xs = [a / b for a, b in pairs(runs, ours, sb3, key)]
    return float(np.median(xs)) if xs else float("nan")


def signed_rank(runs: list[dict], ours: str, sb3: str, key: str) -> str:
    """' (Wilcoxon signed-rank p = ...)' on the same-seed pairs, when there are enough for a test (>= 6)."""
    from scipy.stats import wilcoxon

    both = pairs(runs, ours, sb3, key)
    if len(both) < 6:
        return ""
    return f" (Wilcoxon signed-rank p = {wilcoxon(*zip(*both)).pvalue:.2g}, {len(both)} seeds)"


def plot(runs: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(dict.fromkeys(r["agent"] for r in runs))
    fig, ax = plt.subplots(figsize=(7, 4))
    for i, name in enumerate(names):
        for j, r in enumerate(x for x in runs if x["agent"] == name):
            s, v = zip(*r["curve"])
            ax.plot(s, v, color=f"C{i}", alpha=0.6, lw=1, ls="--" if name.startswith("sb3") else "-",
                    label=name if j == 0 else None)
    ax.axhline(SOLVED, color="k", lw=0.5)
    ax.set_xlabel("env steps")
    ax.set_ylabel("evaluation return (10 episodes)")
    ax.set_title("CartPole-v1, one line per seed")
    ax.legend(fontsize=8)
    fig.savefig(path, dpi=100, bbox_inches="tight")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="stop each run at its first return >= 475")
    p.add_argument("--seeds", type=int, nargs="*", default=None)
    p.add_argument("--agents", nargs="*", default=None, help="subset of: " + ", ".join(a for a, _ in PAIRS))
    p.add_argument("--eval-every", type=int, default=1024)
    p.add_argument("--lunar", action="store_true", help="PPO and DQN on LunarLander-v3 (box2d) instead of CartPole")
    p.add_argument("--set", nargs="*", default=[], metavar="AGENT.KEY=VALUE", help="override our agents' config")
    p.add_argument("--out", default=str(Path(__file__).parent / "results"))
    p.add_argument("--name", default="rl", help="file names: NAME.md, NAME.json, NAME.png in --out")
    p.add_argument("--report", action="store_true", help="rewrite NAME.md and NAME.png from the runs saved in NAME.json")
    args = p.parse_args(argv)
    args.command = ".venv/bin/python benchmarks/bench_rl.py " + " ".join(sys.argv[1:] if argv is None else argv)
    torch.set_num_threads(1)
    args.seeds = args.seeds if args.seeds is not None else list(range(5))
    pairs = [pr for pr in PAIRS if args.agents is None or pr[0] in args.agents]
    overrides: dict = {}
    for item in args.set:
        key, value = item.split("=", 1)
        agent, field = key.split(".", 1)
        overrides.setdefault(agent, {})[field] = json.loads(value) if value[:1] in "[{0123456789-tf" else value
    args.budgets = {a: BUDGET[a] for a, _ in pairs}
    out = Path(args.out)
    if args.lunar:
        out.mkdir(parents=True, exist_ok=True)
        md = lunar(args, out)
        (out / "rl_lunar.md").write_text(md)
        print(md)
        return
    if args.report:
        runs = json.loads((out / f"{args.name}.json").read_text())
        args.seeds = sorted({r["seed"] for r in runs})
        pairs = [pr for pr in pairs if any(r["agent"] == pr[0] for r in runs)]
        args.budgets = {a: BUDGET[a] for a, _ in pairs}
        old = (out / f"{args.name}.md").read_text() if (out / f"{args.name}.md").exists() else ""
        args.command = next((line[len("Command: `"):-1] for line in old.splitlines() if line.startswith("Command: `")),
                            None)  # the command that made the runs, not this --report
        args.quick = args.quick or "quick: each run stops" in old
        md = table(runs, pairs, args)
        (out / f"{args.name}.md").write_text(md)
        plot(runs, out / f"{args.name}.png")
        print(md)
        return
    runs = []
    for seed in args.seeds:
        for ours, sb3 in pairs:
            for name in (ours, sb3):
                if name is None:
                    continue
                r = train(name, "CartPole-v1", seed, BUDGET[ours], args.eval_every, SOLVED if args.quick else None,
                          overrides)
                runs.append(r)
                print(f"seed {seed} {name:13s} steps to 475: {r['steps_to_solve']}, seconds: "
                      f"{r['seconds_to_solve'] and round(r['seconds_to_solve'], 1)}, final {r['final_return']:.1f}, "
                      f"{r['steps_per_s']:.0f} steps/s", flush=True)
    md = table(runs, pairs, args)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{args.name}.md").write_text(md)
    (out / f"{args.name}.json").write_text(json.dumps(runs, indent=1))
    plot(runs, out / f"{args.name}.png")
    print(md)


def lunar(args, out: Path) -> str:
    """PPO and DQN on LunarLander-v3, ours and SB3's with the zoo's hyperparameters, one seed each."""
    try:
        import gymnasium as gym

        gym.make("LunarLander-v3").close()
    except Exception as e:  # noqa: BLE001 - box2d missing
        return f"\nLunarLander-v3 skipped: {e}\n"
    ours_hp = {"ppo": dict(n_envs=16, n_steps=1024, batch_size=64, gae_lambda=0.98, gamma=0.999, n_epochs=4,
                           ent_coef=0.01, lr=3e-4, lr_schedule="constant", clip_range=0.2, clip_schedule="constant"),
               "dqn": dict(lr=6.3e-4, batch_size=128, buffer_size=50_000, learning_starts=0, target_update_interval=250,
                           train_freq=4, gradient_steps=4, exploration_fraction=0.12, exploration_final_eps=0.1)}
    budgets = {"ppo": 1_000_000, "dqn": 100_000}
    lines = ["# LunarLander-v3: gymlab vs Stable-Baselines3, zoo hyperparameters (seed 0, zoo budgets)\n",
             "Evaluation every 50000 env steps, 10 deterministic episodes, evaluation time excluded.\n",
             "| agent | env steps | first eval >= 200 at (env steps) | wall s to it | final return | train steps/s |",
             "|---|---|---|---|---|---|"]
    runs = []
    for algo in ("ppo", "dqn"):
        for name in (algo, f"sb3-{algo}"):
            r = train(name, "LunarLander-v3", 0, budgets[algo], 50_000, None, {algo: ours_hp[algo]}, threshold=200)
            runs.append(r)
            secs = f"{r['seconds_to_solve']:.0f}" if r["seconds_to_solve"] is not None else "-"
            lines.append(f"| {name} | {r['env_steps']} | {r['steps_to_solve'] or '-'} | {secs} | "
                         f"{r['final_return']:.1f} | {r['steps_per_s']:.0f} |")
            print(lines[-1], flush=True)
            (out / "rl_lunar.json").write_text(json.dumps(runs, indent=1))
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
