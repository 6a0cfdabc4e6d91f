"""Pluggable agents: planners and learners (plain NumPy/PyTorch/gymnasium)."""
