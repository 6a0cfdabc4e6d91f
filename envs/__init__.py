"""Environments: the tabular MDP model, gymnasium envs of our own, wrappers."""
