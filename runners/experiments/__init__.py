"""Experiments, grouped by pillar: ``vision/``, ``rl/``, ``generative/``, ``lessons/``; each module
registers one or more with ``runners.register``.

Modules here are discovered automatically (every module whose name has no leading underscore, in
every folder); adding a file is all it takes to run it. Then rewrite the index that `gymlab list`
and `show` read without importing anything (``_index.json``) with ``python -m gymlab.runners.experiments``;
tests/runners/test_cli_fast.py fails until then. The flat module names of before
(``gymlab.runners.experiments.linear``) still import, as the same modules (gymlab._moved).
"""
