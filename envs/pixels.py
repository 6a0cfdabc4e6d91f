"""Pixel observations for any environment: the observation becomes the env's rendered frame.

    env = PixelObservation(gym.make("CartPole-v1", render_mode="rgb_array"), size=(40, 60), frame_stack=2)
    env.observation_space   # Box(0, 255, (40, 60, 2), uint8): two grayscale frames, channels last

Each frame is ``env.render()`` resized (PIL, area averaging) to ``size`` = (height, width), converted to
grayscale with ITU-R 601 luma weights when ``grayscale=True``. ``frame_stack=k`` stacks the last k
frames along the channel axis, so that motion (velocities) can be read from the observation; on
reset the first frame is repeated. ``render()`` still returns the full-size frame.
"""
from __future__ import annotations

import os
from collections import deque

import gymnasium as gym
import numpy as np

__all__ = ["PixelObservation", "pixel_env"]

if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):  # headless: no SDL window/audio warnings
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    os.environ.setdefault("SDL_AUDIODRIVER", "dummy")


def _resize(frame: np.ndarray, size: tuple[int, int], grayscale: bool) -> np.ndarray:
    from PIL import Image

    img = Image.fromarray(np.asarray(frame, dtype=np.uint8))
    if grayscale:
        img = img.convert("L")
    img = img.resize((size[1], size[0]), Image.BOX)
    out = np.asarray(img, dtype=np.uint8)
    return out[..., None] if out.ndim == 2 else out


class PixelObservation(gym.ObservationWrapper, gym.utils.RecordConstructorArgs):
    """Replace observations by small rendered frames, uint8 of shape (H, W, C * frame_stack).

    It records its constructor arguments (``gymnasium.utils.RecordConstructorArgs``), as gymnasium's own
    wrappers do, so that the env's spec lists it and ``gymnasium.utils.env_checker.check_env`` passes."""

    def __init__(self, env: gym.Env, size=(64, 64), grayscale: bool = True, frame_stack: int = 1):
        gym.utils.RecordConstructorArgs.__init__(self, size=size, grayscale=grayscale, frame_stack=frame_stack)
        gym.ObservationWrapper.__init__(self, env)
        if env.render_mode != "rgb_array":
            raise ValueError(f"PixelObservation needs an env made with render_mode='rgb_array'; got {env.render_mode!r}")
        if frame_stack < 1:
            raise ValueError(f"frame_stack must be at least 1; got {frame_stack}")
        self.size = (size, size) if isinstance(size, int) else tuple(size)
        self.grayscale, self.frame_stack = grayscale, frame_stack
        c = 1 if grayscale else 3
        self.observation_space = gym.spaces.Box(0, 255, (*self.size, c * frame_stack), np.uint8)
        self.metadata = {**env.metadata, "render_modes": ["rgb_array"]}  # frames need rgb_array rendering
        self._frames: deque = deque(maxlen=frame_stack)

    def frame(self) -> np.ndarray:
        frame = self.env.render()
        if frame.ndim == 3 and frame.shape[-1] == 4:
            frame = frame[..., :3]
        return _resize(frame, self.size, self.grayscale)

    def reset(self, **kwargs):
        _, info = self.env.reset(**kwargs)
        f = self.frame()
        for _ in range(self.frame_stack):
            self._frames.append(f)
        return self._stacked(), info

    def observation(self, observation):
        self._frames.append(self.frame())
        return self._stacked()

    def _stacked(self) -> np.ndarray:
        return np.concatenate(list(self._frames), axis=-1)


def pixel_env(env_id: str, size=(64, 64), grayscale: bool = True, frame_stack: int = 1, **make_kwargs):
    """A factory (for vector envs) of ``PixelObservation(gym.make(env_id, render_mode="rgb_array"))``."""
    def make():
        return PixelObservation(gym.make(env_id, render_mode="rgb_array", **make_kwargs), size, grayscale, frame_stack)

    return make
