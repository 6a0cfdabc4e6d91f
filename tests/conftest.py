import os

import pytest

os.environ.setdefault("WANDB_MODE", "disabled")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")
os.environ.setdefault("WANDB_SILENT", "true")

if os.environ.get("PYTEST_XDIST_WORKER"):
    # Under `pytest -n 2` on 2 cores each worker gets one core: more intra-op threads only fight.
    import torch

    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def ray_cluster():
    """One local Ray for this test process (under xdist, one per worker), shut down at the end: tests
    run on it in-process, and CLI subprocesses join it with RAY_ADDRESS set to the address it yields."""
    ray = pytest.importorskip("ray", reason="needs Ray: pip install 'gymlab[ray]'")
    # Workers inherit the raylet's environment, which ray.init gives it: one thread each, no W&B.
    with pytest.MonkeyPatch.context() as mp:
        for k, v in {"OMP_NUM_THREADS": "1", "WANDB_MODE": "disabled", "RAY_CHDIR_TO_TRIAL_DIR": "0"}.items():
            mp.setenv(k, os.environ.get(k, v))
        mp.delenv("RAY_ADDRESS", raising=False)  # a local cluster of its own, whatever the shell says
        info = ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    yield info.address_info["gcs_address"]
    ray.shutdown()
