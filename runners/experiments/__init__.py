"""Experiments: each module registers one or more with ``runners.register``.

Modules here are discovered automatically; adding a file is all it takes to run it. Then rewrite the
index that `gymlab list` and `show` read without importing anything (``_index.json``) with
``python -m gymlab.runners.experiments``; tests/runners/test_cli_fast.py fails until then.
"""
