"""Experiments, grouped by pillar: ``vision/``, ``rl/``, ``generative/``, ``lessons/``; each module
registers one or more with ``runners.register``.

Modules here are discovered automatically (every module whose name has no leading underscore, in
every folder); adding a file is all it takes to run it. Then rewrite the index that `gymlab list`
and `show` read without importing anything (``_index.json``) with ``python -m gymlab.runners.experiments``;
tests/runners/test_cli_fast.py fails until then. The flat module names of before
(``gymlab.runners.experiments.linear``) still import, as the same modules.
"""
from gymlab._moved import alias

alias(__name__, {
    "classifiers": "vision.classifiers",
    "linear": "vision.linear",
    "transfer": "vision.transfer",
    "detection": "vision.detection",
    "segmentation": "vision.segmentation",
    "captioning": "vision.captioning",
    "adversarial": "vision.adversarial",
    "understanding": "vision.understanding",
    "embedding": "vision.embedding",
    "maximal_patches": "vision.maximal_patches",
    "fooling": "vision.fooling",
    "style": "vision.style",
    "fast_style": "vision.fast_style",
    "compress": "vision.compress",
    "complexity": "vision.complexity",
    "tabular": "rl.tabular",
    "deep_rl": "rl.deep_rl",
    "sb3": "rl.sb3",
    "pca_autoencoder": "generative.pca_autoencoder",
    "backprop": "lessons.backprop",
    "rnn_gradients": "lessons.rnn_gradients",
})
