"""A checkpoint is data, never code: planted pickles never run, whatever file they hide in.

Each planted object's ``__reduce__`` would create a marker file when unpickled; every test asserts
that the marker never appears, and that the user gets one line saying what was refused and how to
convert a trusted file.
"""
import io
import os
import pickle
import shutil

import numpy as np
import pytest
import torch

from gymlab.runners import checkpoint as ckpt
from gymlab.runners.cli import main as cli
from gymlab.runners.errors import GymlabError
from gymlab.runners.loop import evaluate_run, resume, run

BASE = ["logger.mode=disabled", "progress=false"]
RL = [*BASE, "eval_episodes=1", "gif=false", "n_envs=2", "n_steps=16", "batch_size=16", "n_epochs=1", "eval_every=2"]


class Payload:
    """Unpickling this calls os.system: it touches the marker file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


@pytest.fixture(scope="module")
def softmax_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("softmax") / "run"
    run("softmax", [*BASE, "steps=20", "eval_every=10", f"run_dir={d}"], quiet=True)
    return d


def _copy(run_dir, tmp_path):
    dst = tmp_path / "run"
    shutil.copytree(run_dir, dst)
    (dst / "summary.json").unlink()
    return dst


def _planted(marker) -> bytes:
    buf = io.BytesIO()
    torch.save({"step": 5, "state": {"W": Payload(marker)}, "rng": {}, "best": None, "elapsed": 0.0}, buf)
    return buf.getvalue()


@pytest.mark.parametrize("which", ["best", "latest"])
def test_planted_checkpoint_is_refused_by_eval_and_resume(softmax_run, tmp_path, which):
    d, marker = _copy(softmax_run, tmp_path), tmp_path / "marker"
    (d / "checkpoints" / f"{which}.pt").write_bytes(_planted(marker))
    with pytest.raises(GymlabError, match=r"refused: it names posix\.system.*gymlab convert"):
        evaluate_run(d, which)
    if which == "latest":
        with pytest.raises(GymlabError, match="refused"):
            resume(d, quiet=True)
    assert cli(["eval", str(d), "--checkpoint", which]) == 2
    assert not marker.exists()


def test_raw_pickle_as_checkpoint_is_one_line_and_never_runs(softmax_run, tmp_path, capfd):
    d, marker = _copy(softmax_run, tmp_path), tmp_path / "marker"
    (d / "checkpoints" / "best.pt").write_bytes(pickle.dumps(Payload(marker), protocol=4))
    assert cli(["eval", str(d)]) == 2
    err = capfd.readouterr().err
    assert err.count("\n") == 1 and "is corrupt or unreadable" in err and "--checkpoint latest" in err, err
    assert not marker.exists()


def test_payload_nested_in_a_valid_checkpoint_is_refused(softmax_run, tmp_path):
    d, marker = _copy(softmax_run, tmp_path), tmp_path / "marker"
    path = d / "checkpoints" / "latest.pt"
    payload = ckpt.load(path)
    payload["rng"]["python"] = [payload["rng"]["python"], {"deep": [Payload(marker)]}]
    torch.save(payload, path)
    with pytest.raises(GymlabError, match="refused"):
        resume(d, quiet=True)
    assert not marker.exists()


def test_save_refuses_objects_that_are_not_plain_data(tmp_path):
    with pytest.raises(GymlabError, match=r"the checkpoint\['state'\]\['env'\] is a .*Payload, not plain data"):
        ckpt.save(tmp_path / "x.pt", {"step": 1, "state": {"env": Payload(tmp_path / "m")}})
    assert not (tmp_path / "x.pt").exists()


def test_pickled_env_bytes_in_an_agent_checkpoint_are_never_unpickled(tmp_path):
    """An older gymlab stored the envs as pickle bytes inside the agent's state: bytes are plain data to
    torch, so only the agent must refuse to unpickle them; the run resumes with envs rebuilt instead."""
    marker = tmp_path / "marker"
    run("ppo", [*RL, "steps=2", f"run_dir={tmp_path / 'r'}"], quiet=True)
    path = tmp_path / "r" / "checkpoints" / "latest.pt"
    payload = ckpt.load(path)
    payload["state"]["agent"]["envs"] = pickle.dumps(Payload(marker))
    torch.save(payload, path)
    (tmp_path / "r" / "summary.json").unlink()
    resumed = resume(tmp_path / "r", ["steps=3"], quiet=True)
    assert resumed["steps"] == 3 and not marker.exists()


def test_agent_load_refuses_a_planted_file_and_reads_a_cli_checkpoint(tmp_path):
    from gymlab.agents.base import Agent
    from gymlab.agents.ppo import PPO

    marker = tmp_path / "marker"
    (tmp_path / "evil.pt").write_bytes(_planted(marker))
    with pytest.raises(ValueError, match="refused.*gymlab convert"):
        PPO.load(tmp_path / "evil.pt")
    assert not marker.exists()
    # one checkpoint format: a run's best.pt loads with the agent's own class, and with Agent.load
    run("ppo", [*RL, "steps=2", f"run_dir={tmp_path / 'r'}"], quiet=True)
    best = tmp_path / "r" / "checkpoints" / "best.pt"
    weights = ckpt.load(best)["state"]["agent"]["policy"]
    for agent in (PPO.load(best), Agent.load(best)):
        assert type(agent) is PPO
        for k, v in agent.policy.state_dict().items():
            assert torch.equal(v, weights[k]), k
    obs = np.zeros(4, dtype=np.float32)
    assert PPO.load(best).predict(obs, deterministic=True)[0] == Agent.load(best).predict(obs, deterministic=True)[0]


def test_sb3_checkpoint_is_plain_data_and_resumes_exactly(tmp_path):
    """The SB3 adapter saves its policy's state_dict and the envs' state as data; a resume rebuilds the model
    from the config and ends with the same weights as an uninterrupted run."""
    from gymlab.agents.sb3 import SB3Agent

    args = [*BASE, "eval_episodes=1", "gif=false", "zoo=false", "n_envs=2", "n_steps=16", "batch_size=16", "eval_every=2"]
    full = run("sb3-ppo", [*args, "steps=4", f"run_dir={tmp_path / 'full'}"], quiet=True)
    run("sb3-ppo", [*args, "steps=2", f"run_dir={tmp_path / 'part'}"], quiet=True)
    resumed = resume(tmp_path / "part", ["steps=4"], quiet=True)
    a = ckpt.load(tmp_path / "full" / "checkpoints" / "latest.pt")["state"]["agent"]["policy"]
    b = ckpt.load(tmp_path / "part" / "checkpoints" / "latest.pt")["state"]["agent"]["policy"]
    for k in a:
        assert torch.equal(a[k], b[k]), k
    assert resumed["eval/mean_return"] == full["eval/mean_return"]
    agent = SB3Agent.load(tmp_path / "full" / "checkpoints" / "latest.pt")
    assert agent.model.n_envs == 2 and agent.num_timesteps == 4 * 32


def test_planted_cifar_batch_never_runs_even_without_verify(tmp_path):
    from gymlab.vision.data.datasets import SOURCES, load_cifar10

    marker = tmp_path / "marker"
    folder = tmp_path / "cifar10" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for name in SOURCES["cifar10"].files:
        with open(folder / name, "wb") as f:
            pickle.dump({b"data": Payload(marker), b"labels": [0]}, f)
    with pytest.raises(ValueError, match=r"data_batch_1 is not a CIFAR-10 python batch.*refused global posix\.system"):
        load_cifar10(root=tmp_path, download=False, verify=False)
    assert not marker.exists()


def test_a_real_cifar_batch_still_reads(tmp_path):
    from gymlab.vision.data.datasets import read_cifar_batch, write_cifar_batch

    x = np.random.default_rng(0).integers(0, 256, (5, 3, 32, 32), dtype=np.uint8)
    write_cifar_batch(tmp_path / "b", x, [1, 2, 3, 4, 5])
    got, labels = read_cifar_batch(tmp_path / "b")
    assert np.array_equal(got, x) and labels.tolist() == [1, 2, 3, 4, 5]


def test_truncated_gzip_is_a_value_error_naming_the_file(tmp_path):
    from gymlab.vision.data.datasets import read_idx, write_idx

    write_idx(tmp_path / "x.gz", np.arange(2000, dtype=np.uint8).reshape(20, 100))
    data = (tmp_path / "x.gz").read_bytes()
    (tmp_path / "x.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=f"{tmp_path / 'x.gz'} is truncated"):
        read_idx(tmp_path / "x.gz")


def test_convert_rewrites_a_trusted_old_agent_file(tmp_path):
    """An older gymlab's agent.save file (gymnasium spaces pickled inside) is refused; `gymlab convert`
    rewrites it as plain data, keeps the original, and the agent then loads with the same weights."""
    from gymlab.agents.ppo import PPO

    agent = PPO("CartPole-v1", seed=0, n_envs=2, n_steps=16, batch_size=16)
    state = agent.state_dict()
    state.pop("envs")
    state.pop("meta")
    old = tmp_path / "old.pt"
    torch.save({"agent": "ppo", "config": vars(agent.cfg), "seed": 0, "env": "CartPole-v1",
                "observation_space": agent.observation_space, "action_space": agent.action_space, "state": state}, old)
    with pytest.raises(ValueError, match="refused.*gymlab convert"):
        PPO.load(old)
    assert cli(["convert", str(old)]) == 0
    assert (tmp_path / "old.pt.orig").exists()
    back = PPO.load(old)
    for k, v in agent.policy.state_dict().items():
        assert torch.equal(v, back.policy.state_dict()[k]), k


def test_malformed_npz_is_a_value_error_naming_the_file(tmp_path):
    from gymlab.vision.data.folders import load_npz

    np.savez(tmp_path / "ok.npz", x=np.zeros((4, 8, 8), np.uint8), y=np.arange(4) % 2)
    data = (tmp_path / "ok.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    np.savez(tmp_path / "objects.npz", x=np.array([Payload(tmp_path / "marker")] * 2, dtype=object), y=np.arange(2))
    for name in ("cut.npz", "objects.npz"):
        with pytest.raises(ValueError, match=f"{tmp_path / name} is not a readable .npz"):
            load_npz(tmp_path / name)
    assert not (tmp_path / "marker").exists()


@pytest.mark.parametrize("make", ["dqn-cartpole", "a2c-catch-pixels", "reinforce-pendulum"])
def test_env_state_as_data_resumes_every_agent_exactly(make):
    """An agent restored from its (plain-data) state into envs rebuilt from scratch with another seed trains
    on exactly as the original: vector envs native and synchronous, wrappers, frame stacks, env RNGs."""
    from gymlab.agents.actor_critic import A2C
    from gymlab.agents.dqn import DQN
    from gymlab.agents.reinforce import REINFORCE
    import gymlab.envs.catch  # noqa: F401  (registers gymlab/Catch-v0)
    from gymlab.envs.pixels import pixel_env
    from gymlab.vision.data.safe_load import check_plain, load_checkpoint

    def fresh(seed):
        torch.manual_seed(0)
        if make == "dqn-cartpole":
            return DQN("CartPole-v1", seed=seed, n_envs=2, train_freq=8, gradient_steps=2, learning_starts=16,
                       batch_size=8, net_arch=[16])
        if make == "a2c-catch-pixels":
            return A2C(pixel_env("gymlab/Catch-v0", size=(10, 5), frame_stack=2), seed=seed, n_envs=2, n_steps=8)
        return REINFORCE("Pendulum-v1", seed=seed, n_envs=2, max_episode_steps=20, net_arch=[8])

    a = fresh(0)
    for _ in range(6):
        a.train_iteration()
    b = fresh(0)
    for _ in range(3):
        b.train_iteration()
    buf = io.BytesIO()
    state = b.state_dict()
    check_plain(state)
    torch.save(state, buf)
    c = fresh(7)  # other seed, other envs: everything that matters comes from the checkpoint
    c.load_state_dict(load_checkpoint(io.BytesIO(buf.getvalue())))
    rng = torch.get_rng_state()  # torch's RNG is the runner's to restore: b and c continue from the same one
    for _ in range(3):
        b.train_iteration()
    torch.set_rng_state(rng)
    for _ in range(3):
        c.train_iteration()
    assert c.num_timesteps == b.num_timesteps
    for (k, v), (_, w) in zip(b.policy.state_dict().items() if hasattr(b, "policy") else b.q.state_dict().items(),
                              c.policy.state_dict().items() if hasattr(c, "policy") else c.q.state_dict().items()):
        assert torch.equal(v, w), k


def test_sb3_takes_dict_observations_with_multi_input_policy(tmp_path):
    """Our agents send Dict observations to sb3-*; SB3 needs MultiInputPolicy for them: picked by default,
    or given as ``policy``; the agent saves and loads as plain data like the others."""
    import gymnasium as gym

    from gymlab.agents.sb3 import SB3Agent

    class AsDict(gym.ObservationWrapper):
        def __init__(self, env):
            super().__init__(env)
            self.observation_space = gym.spaces.Dict({"state": env.observation_space})

        def observation(self, obs):
            return {"state": obs}

    def make():
        return AsDict(gym.make("CartPole-v1"))

    for policy in (None, "MultiInputPolicy"):
        agent = SB3Agent("ppo", make, seed=0, n_envs=1, n_steps=32, batch_size=32, policy=policy)
        assert type(agent.model.policy).__name__ == "MultiInputActorCriticPolicy"
    agent.total_timesteps = 32
    agent.train_iteration()
    path = agent.save(tmp_path / "dict.pt")
    back = SB3Agent.load(path, env=make)
    obs = {"state": np.zeros((1, 4), np.float32)}
    assert agent.predict(obs, deterministic=True)[0] == back.predict(obs, deterministic=True)[0]
