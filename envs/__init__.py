"""Environments: the tabular MDP model, gymnasium envs of our own, wrappers, and env factories
(``gymlab.envs.factory``: ``make_env``, ``make_vec_env`` and ``check_env_id`` for any id
``gymnasium.make`` accepts, ``module:Env-v0`` included, a factory or an env instance)."""
