"""PixelObservation renders any env to small frames; Catch is a tiny pixel task with known dynamics."""
import gymnasium as gym
import numpy as np
import pytest

import gymlab.envs.catch  # noqa: F401
from gymlab.envs.catch import Catch
from gymlab.envs.pixels import PixelObservation, pixel_env


def test_catch_frames_are_the_board_at_one_pixel_per_cell():
    env = PixelObservation(Catch(render_mode="rgb_array"), size=(10, 5))
    obs, _ = env.reset(seed=3)
    assert env.observation_space.shape == (10, 5, 1) and obs.dtype == np.uint8
    base = env.unwrapped
    expect = np.zeros((10, 5), np.uint8)
    expect[0, base.ball[1]] = 255
    expect[9, base.paddle] = 255
    np.testing.assert_array_equal(obs[..., 0], expect)  # box filter of 4x4 white/black blocks is exact
    obs, *_ = env.step(2)  # paddle right, ball one row down
    assert obs[1, base.ball[1], 0] == 255 and obs[9, min(2 + 1, 4), 0] == 255


def test_catch_rewards():
    env = Catch()
    env.reset(seed=0)
    col = env.ball[1]
    total, done = 0.0, False
    while not done:
        move = np.sign(col - env.paddle) + 1  # walk to the ball's column, then stay
        _, r, done, _, _ = env.step(move)
        total += r
    assert total == 1.0 and env.ball[0] == 9
    with pytest.raises(ValueError, match="invalid action"):
        env.step(3)


def test_frame_stack_and_grayscale_on_cartpole():
    make = pixel_env("CartPole-v1", size=(24, 36), frame_stack=3)
    env = make()
    obs, _ = env.reset(seed=0)
    assert obs.shape == (24, 36, 3) and env.observation_space.contains(obs)
    np.testing.assert_array_equal(obs[..., 0], obs[..., 2])  # reset repeats the first frame
    obs2, *_ = env.step(1)
    np.testing.assert_array_equal(obs2[..., 1], obs[..., 2])  # frames shift by one
    assert env.render().shape == (400, 600, 3)  # render still gives the full frame
    color = PixelObservation(gym.make("CartPole-v1", render_mode="rgb_array"), size=16, grayscale=False)
    assert color.reset(seed=0)[0].shape == (16, 16, 3)


def test_pixel_wrapper_needs_rgb_array_rendering():
    with pytest.raises(ValueError, match="render_mode='rgb_array'"):
        PixelObservation(gym.make("CartPole-v1"))


def test_pixel_wrapper_passes_gymnasiums_env_checker():
    from gymnasium.utils.env_checker import check_env

    # through gym.make's spec (the wrapper is recorded, so check_env can re-make it for each render mode)
    check_env(PixelObservation(gym.make("CartPole-v1", render_mode="rgb_array"), size=(24, 36), frame_stack=2),
              skip_render_check=False)
    check_env(PixelObservation(Catch(render_mode="rgb_array"), size=(10, 5)), skip_render_check=False)
    env = PixelObservation(gym.make("gymlab/Catch-v0", render_mode="rgb_array"), size=(10, 5))
    assert env.spec.additional_wrappers[-1].kwargs == {"size": (10, 5), "grayscale": True, "frame_stack": 1}
    assert env.metadata["render_modes"] == ["rgb_array"]
