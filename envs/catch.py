"""Catch (as in DeepMind's bsuite): a tiny game to test learning from pixels.

A ball starts in a random column of the top row of a ``rows`` x ``cols`` board and falls one row per
step; the agent moves a paddle along the bottom row (actions 0: left, 1: stay, 2: right). When the
ball reaches the bottom row the episode ends with reward +1 if the paddle is under it, -1 if not.
A random policy scores about -0.6, a perfect one +1.

The observation is the vector (ball row, ball column, paddle column) scaled to [0, 1]; with
``render_mode="rgb_array"`` the board renders as a (rows * scale, cols * scale, 3) image (ball
and paddle white on black), so ``envs.pixels.PixelObservation`` turns it into a pixel task in which
one frame says everything (no frame stacking needed). Registered as ``gymlab/Catch-v0``.
"""
from __future__ import annotations

import gymnasium as gym
import numpy as np

__all__ = ["Catch"]


class Catch(gym.Env):
    metadata = {"render_modes": ["rgb_array"], "render_fps": 8}

    def __init__(self, rows: int = 10, cols: int = 5, scale: int = 4, render_mode: str | None = None):
        if rows < 2 or cols < 1:
            raise ValueError(f"Catch needs rows >= 2 and cols >= 1; got rows={rows}, cols={cols}")
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be None or 'rgb_array'; got {render_mode!r}")
        self.rows, self.cols, self.scale, self.render_mode = rows, cols, scale, render_mode
        self.observation_space = gym.spaces.Box(0.0, 1.0, (3,), np.float32)
        self.action_space = gym.spaces.Discrete(3)

    def _obs(self):
        return np.array([self.ball[0] / (self.rows - 1), self.ball[1] / max(self.cols - 1, 1),
                         self.paddle / max(self.cols - 1, 1)], dtype=np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.ball = [0, int(self.np_random.integers(self.cols))]
        self.paddle = self.cols // 2
        return self._obs(), {}

    def step(self, action):
        if not self.action_space.contains(int(action)):
            raise ValueError(f"invalid action {action!r}; valid: 0 (left), 1 (stay), 2 (right)")
        self.paddle = int(np.clip(self.paddle + int(action) - 1, 0, self.cols - 1))
        self.ball[0] += 1
        terminated = self.ball[0] == self.rows - 1
        reward = (1.0 if self.ball[1] == self.paddle else -1.0) if terminated else 0.0
        return self._obs(), reward, terminated, False, {}

    def render(self):
        if self.render_mode != "rgb_array":
            return None
        board = np.zeros((self.rows, self.cols), dtype=np.uint8)
        board[self.ball[0], self.ball[1]] = 255
        board[self.rows - 1, self.paddle] = 255
        img = np.kron(board, np.ones((self.scale, self.scale), dtype=np.uint8))
        return np.repeat(img[..., None], 3, axis=-1)


if "gymlab/Catch-v0" not in gym.registry:
    gym.register("gymlab/Catch-v0", entry_point="gymlab.envs.catch:Catch")
