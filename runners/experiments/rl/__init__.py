"""Reinforcement-learning experiments: tabular planners and Q-learning, deep RL agents, Stable-Baselines3 peers."""
