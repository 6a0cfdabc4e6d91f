"""benchmarks/runner_timing.py: the bare loop computes what the runner computes, so their times compare."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from runner_timing import interleaved  # noqa: E402


def test_bare_loop_gives_the_runners_losses_with_augmentation_and_dropout():
    # crop_pad: the augmentation draws; dropout: the global random state; across an epoch boundary (200 / 64 -> 4)
    r = interleaved("mlp", steps=5, warmup=1, overrides=["max_train=200", "hidden=[16]", "dropout=0.5", "crop_pad=1",
                                                         "batch_size=64", "device=cpu"])
    assert r["same_losses"]
    assert len(r["bare_s"]) == len(r["runner_s"]) == 5
    assert all(t > 0 for t in r["bare_s"] + r["runner_s"])


def test_a_different_recipe_shows_as_different_losses():
    # the runner without the augmentation the bare loop was built with: the check must notice
    from gymlab.runners import registry

    cls = registry.get("mlp").cls
    original = cls.augment
    cls.augment = lambda self, batch, g: batch
    try:
        r = interleaved("mlp", steps=2, warmup=0, overrides=["max_train=200", "hidden=[16]", "crop_pad=1", "device=cpu"])
    finally:
        cls.augment = original
    assert not r["same_losses"]
