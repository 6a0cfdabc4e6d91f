"""A model trained with the command line, used in Python with ``gymlab.load``.

    gymlab run mlp run_dir=runs/my-mlp && python examples/load_trained.py runs/my-mlp
    gymlab run ppo run_dir=runs/my-ppo && python examples/load_trained.py runs/my-ppo
    python examples/load_trained.py              # trains a small mlp first, as `gymlab run mlp` would

``gymlab.load`` rebuilds the run's experiment from its config.yaml and loads a checkpoint (best by
default). An agent comes back with ``predict``; a classifier as an ``nn.Module`` in eval mode that
takes raw images, its input normalisation attached; the run's config is ``run_config``.
"""
import argparse
import tempfile
from pathlib import Path

import torch

import gymlab
from gymlab.runners import registry


def classify(model) -> float:
    from gymlab.vision.data.datasets import load_digits_split

    test = load_digits_split(model.run_config.seed).test  # the run's own test split (raw images)
    with torch.no_grad():
        pred = model(test.x).argmax(1)
    print("first ten predictions:", pred[:10].tolist(), "labels:", test.y[:10].tolist())
    return (pred == test.y).float().mean().item()


def play(agent) -> float:
    import gymnasium as gym

    env = gym.make(agent.run_config.env)
    obs, _ = env.reset(seed=0)
    total, done = 0.0, False
    while not done:
        action, _ = agent.predict(obs, deterministic=True)
        obs, reward, terminated, truncated, _ = env.step(action)
        total, done = total + float(reward), terminated or truncated
    return total


def main(run_dir: str | None, steps: int) -> float:
    if run_dir is None:
        run_dir = str(Path(tempfile.mkdtemp()) / "mlp")
        gymlab.run("mlp", [f"steps={steps}", f"run_dir={run_dir}", "progress=false", "logger.mode=disabled"],
                   quiet=True)  # the run `gymlab run mlp` makes, in this process
    trained = gymlab.load(run_dir)
    print(f"loaded {trained.experiment} from {run_dir}: {type(trained).__name__}")
    data = getattr(trained.run_config, "data", registry.get(trained.experiment).data)
    if hasattr(trained, "predict"):
        score = play(trained)
        print(f"one episode of {trained.run_config.env}: return {score:.1f}")
    elif getattr(data, "name", data) == "digits":  # a data group (data.name) or a plain name
        score = classify(trained)
        print(f"test accuracy: {score:.3f}")
    else:
        raise SystemExit(f"{trained.experiment} is not an agent or a digits classifier; see gymlab.load's docs")
    return score


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dir", nargs="?", help="a run folder (default: train a small mlp first)")
    ap.add_argument("--steps", type=int, default=600, help="the mlp's budget when training one first")
    args = ap.parse_args()
    main(args.run_dir, args.steps)
