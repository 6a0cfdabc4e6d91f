import os

import pytest

os.environ.setdefault("WANDB_MODE", "disabled")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")
os.environ.setdefault("WANDB_SILENT", "true")

if os.environ.get("PYTEST_XDIST_WORKER"):
    # Under `pytest -n 2` on 2 cores each worker gets one core: more intra-op threads only fight.
    import torch

    torch.set_num_threads(1)


_ray_address = None  # the shared local Ray of this test process while one runs (see ray_cluster)


@pytest.fixture
def ray_cluster():
    """The address of a local Ray that the tests needing one share (under xdist, one per worker): they
    run on it in-process, and CLI subprocesses join it with RAY_ADDRESS set to it. Started by the first
    such test; the tests that use it run one after the other (pytest_collection_modifyitems), and it is
    shut down once the next test does not need it, since an idle cluster still costs CPU."""
    global _ray_address
    ray = pytest.importorskip("ray", reason="needs Ray: pip install 'gymlab[ray]'")
    if _ray_address is None:
        # Workers inherit the raylet's environment, which ray.init gives it: one thread each, no W&B.
        with pytest.MonkeyPatch.context() as mp:
            for k, v in {"OMP_NUM_THREADS": "1", "WANDB_MODE": "disabled", "RAY_CHDIR_TO_TRIAL_DIR": "0"}.items():
                mp.setenv(k, os.environ.get(k, v))
            mp.delenv("RAY_ADDRESS", raising=False)  # a local cluster of its own, whatever the shell says
            info = ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
        _ray_address = info.address_info["gcs_address"]
    return _ray_address


def pytest_collection_modifyitems(items):
    """The tests that use ray_cluster run together, where the first of them stands (order otherwise kept)."""
    uses = [i for i in items if "ray_cluster" in getattr(i, "fixturenames", ())]
    if uses:
        at = items.index(uses[0])
        rest = [i for i in items if "ray_cluster" not in getattr(i, "fixturenames", ())]
        items[:] = rest[:at] + uses + rest[at:]


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item, nextitem):
    global _ray_address
    if _ray_address is not None and (nextitem is None or "ray_cluster" not in nextitem.fixturenames):
        import ray

        ray.shutdown()
        _ray_address = None
