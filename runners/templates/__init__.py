"""Templates that own the parts of the loop experiments used to rewrite (DESIGN.md, "The experiment
contract"): ``supervised`` (data, build, loss), ``rl`` (an agent and its envs), ``planner`` (a
model-based solver that converges)."""
