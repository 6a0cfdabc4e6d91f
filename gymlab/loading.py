"""``gymlab.load(run_dir)``: the trained object of a run, ready to use in Python.

(This module is ``gymlab.loading``, not ``gymlab.load``: a submodule of that name would replace the
function ``gymlab.load`` on the package once imported.)

    agent = gymlab.load("runs/ppo-20260101-120000")            # an agent: predict, evaluate, save
    action, _ = agent.predict(obs, deterministic=True)
    model = gymlab.load("runs/mlp-20260101-120000")             # an nn.Module in eval mode
    logits = model(images)                                      # raw images in [0, 1], (N, C, H, W)

The run's experiment is rebuilt from ``config.yaml`` and loaded from a checkpoint exactly as
``gymlab eval`` does (``runners.loop.restore``: a checkpoint is data, loaded with
``torch.load(weights_only=True)``). What comes back is, in this order:

1. what the experiment's ``export()`` returns, when it has one;
2. its ``agent`` (the RL experiments: our agents and the SB3 adapters);
3. its network ``net``, ``model`` or ``G`` (a GAN's generator) in eval mode; with a ``norm`` (the classifiers' input
   normalisation, fitted on the training images) it comes wrapped in :class:`Preprocessed`, so that
   it takes raw images as training did.

Every object returned carries ``run_config`` (the run's config dataclass) and ``experiment``
(its name).
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from gymlab.runners.errors import GymlabError

__all__ = ["load", "Preprocessed"]


class Preprocessed(nn.Module):
    """``model((x - mean) / std)``: a trained network with the input normalisation it was trained with.

    ``mean`` and ``std`` are buffers (they follow ``.to(device)`` and the module's ``state_dict``)."""

    def __init__(self, model: nn.Module, mean: torch.Tensor, std: torch.Tensor):
        super().__init__()
        self.model = model
        self.register_buffer("mean", mean.detach().clone().float())
        self.register_buffer("std", std.detach().clone().float())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model((x - self.mean.to(x.dtype)) / self.std.to(x.dtype))


# Where a trained network is looked for, in this order ("G": the GAN's generator, what one samples from).
MODEL_ATTRIBUTES = ("net", "model", "G")


def _export(name: str, exp):
    if callable(getattr(exp, "export", None)):
        return exp.export()
    if getattr(exp, "agent", None) is not None:
        return exp.agent
    model = next((m for m in (getattr(exp, a, None) for a in MODEL_ATTRIBUTES) if isinstance(m, nn.Module)), None)
    if model is not None:
        norm = getattr(exp, "norm", None)
        if norm is not None:
            return Preprocessed(model, norm.mean, norm.std).eval()
        return model.eval()
    raise GymlabError(f"{name} keeps no trained agent or nn.Module to load (it has no export(), agent, "
                      f"{', '.join(MODEL_ATTRIBUTES)}); re-evaluate its run with: gymlab eval RUN_DIR")


def load(run_dir, checkpoint: str = "best", *, device: str = "cpu", **eval_keys):
    """The trained agent or model of ``run_dir`` (a folder written by ``gymlab run`` or ``gymlab.run``, or
    a W&B model artifact reference ``entity/project/<experiment>-<run id>:best`` when W&B is online).

    ``checkpoint``: ``"best"`` (the best validation score; ``latest.pt`` when there is no best) or
    ``"latest"``. ``device``: where the model lives (``"auto"``: CUDA when present). Other keywords
    are evaluation keys of the run's config (``eval_episodes=20``, as ``gymlab eval RUN key=value``).
    """
    if checkpoint not in ("best", "latest"):
        raise GymlabError(f"bad checkpoint {checkpoint!r}; valid: best, latest")
    from gymlab.runners import loop
    from gymlab.runners.wandb_logger import fetch_run_folder, is_artifact_ref

    if is_artifact_ref(run_dir):  # a W&B model artifact, entity/project/<experiment>-<run id>:best (W&B online)
        run_dir = fetch_run_folder(str(run_dir))
    overrides = [f"device={device}", *(f"{k}={v}" for k, v in eval_keys.items())]
    name, exp, _payload, _path = loop.restore(Path(run_dir), checkpoint, overrides)
    obj = _export(name, exp)
    obj.run_config = exp.cfg if getattr(exp, "cfg", None) is not None else loop.load_run(run_dir)[1]
    obj.experiment = name
    return obj
