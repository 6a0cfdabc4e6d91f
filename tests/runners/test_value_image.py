"""runners.value_image: each cell coloured by its value, the policy's arrows pointing its way, the map's letters."""
import numpy as np

from gymlab.agents import value_iteration
from gymlab.envs.tabular import mdp_by_name
from gymlab.runners.media import colormap
from gymlab.runners.value_image import LEFT, TOP, action_moves, cell_size, value_grid, value_image

LUT = colormap("RdBu_r")


def cell_pixels(img, r, c, cell):
    return img[TOP + r * cell:TOP + (r + 1) * cell, LEFT + c * cell:LEFT + (c + 1) * cell]


def ink_offset(img, r, c, cell):
    """(d_row, d_col) of the mean pixel that differs from the cell's corner colour, from the cell's centre, in cells."""
    px = cell_pixels(img, r, c, cell).astype(int)
    ink = (px != px[1, 1]).any(axis=-1)
    assert ink.sum() > 10, "nothing drawn on the cell"
    rows, cols = np.nonzero(ink)
    return (rows.mean() + 0.5 - cell / 2) / cell, (cols.mean() + 0.5 - cell / 2) / cell


def test_each_cell_is_coloured_by_its_value_from_the_colormaps_bottom_to_its_top():
    values = np.array([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]])
    img = value_grid(values, "v")
    cell = cell_size(2, 3)
    assert cell == 56 and img.dtype == np.uint8
    for (r, c), v in np.ndenumerate(values):
        expected = LUT[min(255, int(v / 5 * 256))]
        assert (cell_pixels(img, r, c, cell) == expected).all(), (r, c)
    assert (cell_pixels(img, 1, 2, cell) == LUT[255]).all() and (cell_pixels(img, 0, 0, cell) == LUT[0]).all()
    assert (cell_pixels(value_grid(np.full((2, 2), 7.0)), 1, 1, cell_size(2, 2)) == LUT[0]).all()  # constant V


def test_an_arrow_points_the_way_its_move_goes():
    moves = np.array([[[0, -1], [1, 0]], [[0, 1], [-1, 0]]])  # left, down / right, up
    img = value_grid(np.zeros((2, 2)), "arrows", arrows=moves)
    cell = cell_size(2, 2)
    for r in range(2):
        for c in range(2):
            dr, dc = ink_offset(img, r, c, cell)
            along, across = dr * moves[r, c, 0] + dc * moves[r, c, 1], dr * moves[r, c, 1] - dc * moves[r, c, 0]
            assert along > 0.04 and abs(across) < 0.02, (r, c, along, across)
            cy, cx = TOP + (r + 0.5) * cell, LEFT + (c + 0.5) * cell  # the tip's side is drawn, the far side not
            tip = img[round(cy + 0.3 * cell * moves[r, c, 0]), round(cx + 0.3 * cell * moves[r, c, 1])]
            far = img[round(cy - 0.4 * cell * moves[r, c, 0]), round(cx - 0.4 * cell * moves[r, c, 1])]
            assert (tip != LUT[0]).any() and (far == LUT[0]).all(), (r, c)


def test_frozenlake_shows_holes_and_goal_as_letters_and_the_greedy_policy_as_arrows():
    mdp = mdp_by_name("FrozenLake-v1")
    sol = value_iteration(mdp, 1e-8)
    img = value_image(mdp, sol.V, sol.policy, "vi", "FrozenLake-v1")
    cell = cell_size(4, 4)
    for r, c in [(1, 1), (1, 3), (2, 3), (3, 0), (3, 3)]:  # H H H H G: V = 0, the darkest colour, white letters
        px = cell_pixels(img, r, c, cell)
        assert (px[2, 2] == LUT[0]).all() and (px == 255).all(-1).sum() > 30, (r, c)
    assert sol.policy[0] == 0  # left, in FrozenLake's order
    dr, dc = ink_offset(img, 0, 0, cell)
    assert dc < -0.04 and abs(dr) < 0.02
    no_policy = value_image(mdp, sol.V, None, "V", "FrozenLake-v1")  # letters still, no arrows
    assert (cell_pixels(no_policy, 1, 1, cell) == 255).all(-1).sum() > 30
    assert (cell_pixels(no_policy, 0, 0, cell) == cell_pixels(no_policy, 0, 0, cell)[0, 0]).all()


def test_cliffwalking_arrows_follow_its_own_action_order():
    mdp = mdp_by_name("CliffWalking-v1")
    sol = value_iteration(mdp, 1e-8)
    img = value_image(mdp, sol.V, sol.policy, "vi", "CliffWalking-v1")
    cell = cell_size(4, 12)
    assert sol.policy[36] == 0 and tuple(action_moves("CliffWalking-v1")[0]) == (-1, 0)  # the start: up
    dr, dc = ink_offset(img, 3, 0, cell)
    assert dr < -0.04 and abs(dc) < 0.02
    px = cell_pixels(img, 3, 5, cell)  # the cliff: a letter C
    assert (px != px[1, 1]).any(-1).sum() > 30


def test_off_the_grid_a_histogram_and_huge_grids_are_subsampled_to_fit():
    hist = value_image(mdp_by_name("random", states=40), np.arange(40.0), None, "random")
    assert hist.shape == (320, 500, 3) and (hist == (31, 119, 180)).all(-1).sum() > 100
    big = value_grid(np.arange(1200 * 900, dtype=np.float64).reshape(1200, 900), "big")
    assert big.shape[0] <= TOP + 560 + 12 and big.shape[1] < 700
