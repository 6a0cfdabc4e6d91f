import os

os.environ.setdefault("WANDB_MODE", "disabled")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")
os.environ.setdefault("WANDB_SILENT", "true")

if os.environ.get("PYTEST_XDIST_WORKER"):
    # Under `pytest -n 2` on 2 cores each worker gets one core: more intra-op threads only fight.
    import torch

    torch.set_num_threads(1)
