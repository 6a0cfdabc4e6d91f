"""Acrobot-v1 and LunarLander-v3: our PPO and A2C against SB3's, both with the rl-baselines3-zoo hyperparameters.

Issue 18, item 1: final returns beside SB3's zoo settings on two envs besides CartPole. For each seed and each
(env, algorithm), ours and SB3's train back to back in this process with ``bench_rl.train`` (torch on one thread;
after every update that crosses a multiple of the evaluation interval, 10 deterministic episodes on a separate
env, seeds 10000..10009; evaluation time excluded from the wall time). Reported per agent and env: final
evaluation return (mean and std over seeds), env steps, wall seconds, training steps/s, and the zoo's published
figure (``benchmark.md`` of rl-baselines3-zoo: one trained agent, LunarLander-v2, ~150k evaluation steps).

Both sides get the same zoo setting (``ZOO`` below, from rl-baselines3-zoo ``hyperparams/{ppo,a2c}.yml``; the
keys the zoo leaves out take SB3's defaults, spelled out for ours). ``ZOO_ONLY`` lists the zoo settings that
neither side applies here (``normalize: true``, i.e. VecNormalize, on Acrobot: our agents have no observation
or reward normalisation and ``SB3Agent`` builds a plain vec env), so both run without them.

    .venv/bin/python benchmarks/bench_rl_envs.py --seeds 0 1           # the default budgets (BUDGET), 2 seeds
    .venv/bin/python benchmarks/bench_rl_envs.py --seeds 2 --resume    # add a seed to the saved runs
    .venv/bin/python benchmarks/bench_rl_envs.py --zoo-budgets         # the zoo's n_timesteps (ZOO_BUDGET)
    .venv/bin/python benchmarks/bench_rl_envs.py --report              # rewrite the .md from the saved .json

Writes benchmarks/results/rl_envs.md (headed by the command) and rl_envs.json (every run, with its curve),
after each run, so a partial run leaves a partial table. ``--resume`` keeps the runs already in the .json and
skips those (agent, env, seed, budget) it already holds.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import bench_rl  # noqa: E402
from gymlab.agents.sb3 import SB3Agent  # noqa: E402

ENVS = ("Acrobot-v1", "LunarLander-v3")
ALGOS = {"ppo": ("ppo", "sb3-ppo"), "a2c": ("actor-critic", "sb3-a2c")}  # ours, SB3's (bench_rl's names)

# rl-baselines3-zoo hyperparams/{ppo,a2c}.yml (master, 2026-04): SB3's keyword arguments (n_envs included)
ZOO = {
    ("ppo", "Acrobot-v1"): dict(n_envs=16, n_steps=256, gae_lambda=0.94, gamma=0.99, n_epochs=4, ent_coef=0.0),
    ("a2c", "Acrobot-v1"): dict(n_envs=16, ent_coef=0.0),
    ("ppo", "LunarLander-v3"): dict(n_envs=16, n_steps=1024, batch_size=64, gae_lambda=0.98, gamma=0.999,
                                    n_epochs=4, ent_coef=0.01),
    ("a2c", "LunarLander-v3"): dict(n_envs=8, gamma=0.995, n_steps=5, learning_rate="lin_0.00083", ent_coef=0.00001),
}
ZOO_ONLY = {("ppo", "Acrobot-v1"): {"normalize": True}, ("a2c", "Acrobot-v1"): {"normalize": True}}
ZOO_BUDGET = {("ppo", "Acrobot-v1"): 1_000_000, ("a2c", "Acrobot-v1"): 500_000,
              ("ppo", "LunarLander-v3"): 1_000_000, ("a2c", "LunarLander-v3"): 200_000}
# the default: the zoo's where it fits a session on 2 shared cores, less for PPO (see the .md)
BUDGET = {("ppo", "Acrobot-v1"): 300_000, ("a2c", "Acrobot-v1"): 200_000,
          ("ppo", "LunarLander-v3"): 500_000, ("a2c", "LunarLander-v3"): 200_000}
ORDER = [("a2c", "Acrobot-v1"), ("a2c", "LunarLander-v3"), ("ppo", "Acrobot-v1"), ("ppo", "LunarLander-v3")]
# rl-baselines3-zoo benchmark.md: (mean, std, n_timesteps) of its one trained agent (LunarLander: -v2)
ZOO_PUBLISHED = {("ppo", "Acrobot-v1"): (-73.506, 18.201, "1M"), ("a2c", "Acrobot-v1"): (-83.353, 17.213, "500k"),
                 ("ppo", "LunarLander-v3"): (242.119, 31.823, "1M"), ("a2c", "LunarLander-v3"): (155.751, 80.419, "200k")}

# SB3's defaults for the keys the zoo leaves out, which ours must be given (ours have their own defaults)
SB3_DEFAULTS = {"ppo": dict(n_steps=2048, batch_size=64, n_epochs=10, gamma=0.99, gae_lambda=0.95, learning_rate=3e-4,
                            clip_range=0.2, ent_coef=0.0, vf_coef=0.5, max_grad_norm=0.5),
                "a2c": dict(n_steps=5, gamma=0.99, gae_lambda=1.0, learning_rate=7e-4, ent_coef=0.0, vf_coef=0.5,
                            max_grad_norm=0.5)}


def ours_config(algo: str, env: str) -> dict:
    """The zoo setting (plus SB3's defaults) as our PPOConfig / A2CConfig fields."""
    hp = {**SB3_DEFAULTS[algo], **ZOO[(algo, env)]}
    lr = hp.pop("learning_rate")
    linear = isinstance(lr, str) and lr.startswith("lin_")
    cfg = dict(hp, lr=float(lr[4:]) if linear else float(lr), lr_schedule="linear" if linear else "constant",
               net_arch=[64, 64], activation="tanh", shared=False)  # SB3's MlpPolicy: two tanh 64-64 networks
    if algo == "ppo":
        cfg.update(clip_schedule="constant", clip_range_vf=None, target_kl=None, normalize_advantage=True)
    else:  # SB3's A2C: RMSprop (alpha 0.99, eps 1e-5), advantages not normalised
        cfg.update(optimizer="rmsprop", normalize_advantage=False)
    return cfg


def sb3_kwargs(algo: str, env: str) -> dict:
    """SB3Agent keyword arguments: the zoo setting given explicitly (SB3Agent's own ZOO lacks Acrobot)."""
    hp = dict(ZOO[(algo, env)])
    lr = hp.get("learning_rate")
    if isinstance(lr, str) and lr.startswith("lin_"):
        from gymlab.agents.sb3 import LinearSchedule

        hp["learning_rate"] = LinearSchedule(float(lr[4:]))
    return hp


_bench_make_agent = bench_rl.make_agent


def make_agent(name: str, env: str, seed: int, overrides: dict):
    """bench_rl.make_agent, but SB3 agents take keyword arguments too (``overrides["sb3-ppo"]``)."""
    if name.startswith("sb3-") and overrides.get(name):
        return SB3Agent(name[4:], env, seed=seed, **overrides[name])
    return _bench_make_agent(name, env, seed, overrides)


bench_rl.make_agent = make_agent  # bench_rl.train builds its agent through this name


def run_one(name: str, algo: str, env: str, seed: int, budget: int, evals: int) -> dict:
    ours, sb3 = ALGOS[algo]
    overrides = {ours: ours_config(algo, env), sb3: sb3_kwargs(algo, env)}
    r = bench_rl.train(name, env, seed, budget, max(budget // evals, 1), None, overrides, threshold=float("inf"))
    for k in ("steps_to_solve", "seconds_to_solve"):
        r.pop(k)
    r.update(algo=algo, budget=budget, hyperparams=overrides[name] if name == ours else ZOO[(algo, env)])
    return r


def report(runs: list[dict], command: str | None) -> str:
    seeds = sorted({r["seed"] for r in runs})
    lines = ["# Acrobot-v1 and LunarLander-v3: gymlab PPO/A2C vs Stable-Baselines3, rl-baselines3-zoo settings\n",
             *([f"Command: `{command}`\n"] if command else []),
             f"Seeds {', '.join(map(str, seeds))}; torch {torch.__version__} on {torch.get_num_threads()} CPU thread; "
             "final return: 10 deterministic episodes on a separate env (seeds 10000..10009) after the last update, "
             "mean ± std (population) over seeds, each seed's value beside it; last 3 evaluations: the mean over seeds of "
             "each run's last three evaluations (at 6/8, 7/8 and 8/8 of the budget), less noisy than the last alone; "
             "env steps: median over seeds, counting "
             "real transitions (ours count none for the autoreset step, so they can end one rollout past the budget); "
             "wall s: training time only (evaluations excluded), median over seeds, on 2 cores shared with other "
             "jobs, so compare ours/SB3 within a pair (same seed, back to back), not across tables. Zoo figure: "
             "rl-baselines3-zoo `benchmark.md`, one trained agent at the zoo's budget (in brackets in the env-steps "
             "column), mean ± std over ~150k evaluation steps (LunarLander-v2 there).\n",
             "| env | agent | env steps (zoo budget) | final return | per seed | last 3 evaluations | wall s | "
             "train steps/s | zoo figure |",
             "|---|---|---|---|---|---|---|---|---|"]
    for env in ENVS:
        for algo, names in ALGOS.items():
            for name in names:
                rs = sorted((r for r in runs if r["agent"] == name and r["env"] == env), key=lambda r: r["seed"])
                if not rs:
                    continue
                f = [r["final_return"] for r in rs]
                zm, zs, zb = ZOO_PUBLISHED[(algo, env)]
                steps = int(np.median([r["env_steps"] for r in rs]))
                lines.append(f"| {env} | {name} | {steps} ({ZOO_BUDGET[(algo, env)]}) | {np.mean(f):.1f} ± "
                             f"{np.std(f):.1f} | {', '.join(f'{x:.1f}' for x in f)} | "
                             f"{np.mean([np.mean([v for _, v in r['curve'][-3:]]) for r in rs]):.1f} | "
                             f"{np.median([r['train_seconds'] for r in rs]):.0f} | "
                             f"{np.median([r['steps_per_s'] for r in rs]):.0f} | "
                             + (f"{zm:.1f} ± {zs:.1f} ({zb})" if name.startswith("sb3") else "") + " |")
    lines += ["", "Ours / SB3, median over seeds of the same-seed ratio (wall time, training steps/s) and the mean "
              "same-seed difference of final return:", ""]
    for env in ENVS:
        for algo, (ours, sb3) in ALGOS.items():
            by = {(r["agent"], r["seed"]): r for r in runs if r["env"] == env}
            both = [(by[(ours, s)], by[(sb3, s)]) for s in seeds if (ours, s) in by and (sb3, s) in by]
            if both:
                med = lambda xs: float(np.median(xs))  # noqa: E731
                lines.append(f"- {env} {algo} ({len(both)} seeds): wall time x"
                             f"{med([a['train_seconds'] / b['train_seconds'] for a, b in both]):.2f}, steps/s x"
                             f"{med([a['steps_per_s'] / b['steps_per_s'] for a, b in both]):.2f}, final return "
                             f"{np.mean([a['final_return'] - b['final_return'] for a, b in both]):+.1f}")
    lunar = Path(__file__).parent / "results" / "rl_lunar.json"  # bench_rl.py --lunar: PPO at the zoo's 1M steps
    full = [r for r in json.loads(lunar.read_text()) if r["agent"] in ALGOS["ppo"]] if lunar.exists() else []
    if full:
        lines += ["", "At the zoo's full budget, `benchmarks/results/rl_lunar.md` (`bench_rl.py --lunar`, same zoo "
                  "setting) has LunarLander-v3 PPO: " + "; ".join(
                      f"{r['agent']} seed {r['seed']}: {r['final_return']:.1f} after {r['env_steps']} steps"
                      for r in full) + "."]
    lines += ["", "Settings (both sides; the zoo's keys, SB3's defaults for the rest; ours as `PPOConfig`/`A2CConfig` "
              "fields: `learning_rate` -> `lr` + `lr_schedule`, `lin_x` -> `lr_schedule=\"linear\"`; SB3's A2C "
              "-> `optimizer=\"rmsprop\"`, `normalize_advantage=False`):", ""]
    for (algo, env), hp in ZOO.items():
        missing = ZOO_ONLY.get((algo, env))
        lines.append(f"- {algo} {env}: `{json.dumps(hp)}`"
                     + (f"; not applied on either side: `{json.dumps(missing)}` (VecNormalize: our agents have no "
                        "observation/reward normalisation, `SB3Agent` builds a plain vec env)" if missing else ""))
    return "\n".join(lines) + "\n"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, nargs="*", default=[0, 1])
    p.add_argument("--envs", nargs="*", default=list(ENVS))
    p.add_argument("--algos", nargs="*", default=list(ALGOS))
    p.add_argument("--zoo-budgets", action="store_true", help="the zoo's n_timesteps instead of BUDGET")
    p.add_argument("--evals", type=int, default=8, help="evaluations per run (every budget/evals env steps)")
    p.add_argument("--resume", action="store_true", help="keep the saved runs, skip those already there")
    p.add_argument("--report", action="store_true", help="rewrite the .md from the saved .json")
    p.add_argument("--out", default=str(Path(__file__).parent / "results"))
    p.add_argument("--name", default="rl_envs")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    js, md = out / f"{args.name}.json", out / f"{args.name}.md"
    command = ".venv/bin/python benchmarks/bench_rl_envs.py " + " ".join(sys.argv[1:] if argv is None else argv)
    saved = json.loads(js.read_text()) if (args.resume or args.report) and js.exists() else {"commands": [], "runs": []}
    if args.report:
        md.write_text(report(saved["runs"], " && ".join(saved["commands"]) or None))
        print(md.read_text())
        return
    if "LunarLander-v3" in args.envs:
        import gymnasium as gym

        gym.make("LunarLander-v3").close()  # fails early without box2d
    saved["commands"].append(command)
    runs = saved["runs"]
    done = {(r["agent"], r["env"], r["seed"], r["budget"]) for r in runs}
    budgets = ZOO_BUDGET if args.zoo_budgets else BUDGET
    order = [(a, e) for a, e in ORDER if a in args.algos and e in args.envs]  # cheapest first, all seeds each
    for algo, env in order:
        budget = budgets[(algo, env)]
        for seed in args.seeds:
            for name in ALGOS[algo]:
                if (name, env, seed, budget) in done:
                    continue
                r = run_one(name, algo, env, seed, budget, args.evals)
                runs.append(r)
                print(f"seed {seed} {env} {name:13s} final {r['final_return']:.1f} after {r['env_steps']} steps, "
                      f"{r['train_seconds']:.0f} s, {r['steps_per_s']:.0f} steps/s", flush=True)
                js.write_text(json.dumps(saved, indent=1))
                md.write_text(report(runs, " && ".join(saved["commands"])))
    print(md.read_text())


if __name__ == "__main__":
    main()
