"""The RL figures (agents.figures) draw what they say: arrows and map letters on grids, curves of the data."""
import numpy as np

from gymlab.agents import value_iteration
from gymlab.agents.figures import convergence, episode_returns, return_curve, value_map
from gymlab.envs.tabular import mdp_by_name


def test_value_map_marks_frozenlake_holes_goal_and_greedy_arrows():
    mdp = mdp_by_name("FrozenLake-v1")
    sol = value_iteration(mdp)
    ax = value_map(mdp, sol.V, sol.policy, "vi", "FrozenLake-v1").axes[0]
    texts = [t.get_text() for t in ax.texts]
    assert len(texts) == 16 and texts.count("H") == 4 and texts.count("G") == 1
    assert set(texts) - {"H", "G"} <= {"\u2190", "\u2193", "\u2192", "\u2191"}
    off_grid = value_map(mdp_by_name("random", states=40), np.arange(40.0), None, "random")
    assert sum(p.get_height() for p in off_grid.axes[0].patches) == 40  # a histogram of the 40 values


def test_curves_plot_their_data():
    fig = return_curve([(10, 1.0), (20, 3.0)], [(20, 2.0, 0.5)], "t")
    assert fig.axes[0].get_title() == "t" and list(fig.axes[0].lines[0].get_xdata()) == [10, 20]
    assert len(episode_returns(np.arange(1000.0), "q").axes[0].lines[0].get_xdata()) == 100  # means of 10
    ax = convergence([1.0, 0.1, 0.01], "residual", "vi").axes[0]
    assert ax.get_yscale() == "log" and convergence([3, 0], "changed", "pi", log=False).axes[0].get_yscale() == "linear"
