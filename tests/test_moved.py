"""Modules that moved keep importing under their old names, as the very same module objects (issue 13)."""
import importlib

import pytest

from gymlab._moved import MOVED


@pytest.mark.parametrize("old", sorted(MOVED))
def test_an_old_path_is_the_new_module(old):
    assert importlib.import_module(old) is importlib.import_module(MOVED[old])


def test_public_names_of_earlier_issues():
    from gymlab.vision.classify.knn import KNearestNeighbor
    from gymlab.vision.knn import KNearestNeighbor as Old

    assert Old is KNearestNeighbor
    from gymlab.envs.tabular import TabularMDP  # noqa: F401  (never moved)
    from gymlab.agents import value_iteration  # noqa: F401


def test_a_moved_packages_submodules_are_not_loaded_twice():
    from gymlab.vision.backbones.resnet import ResNet as Old
    from gymlab.vision.nn.backbones.resnet import ResNet

    assert Old is ResNet and ResNet.__module__ == "gymlab.vision.nn.backbones.resnet"
