"""Experiments: each module registers one or more with ``runners.register``.

Modules here are discovered automatically; adding a file is all it takes.
"""
