"""The end-of-run episode GIF: every fifth step, frames at most 320 px wide, one palette for all frames."""
import numpy as np
from PIL import Image

from gymlab.runners.media import episode_video, save_gif


class Balancer:
    """A hand-written CartPole controller (push toward where the pole falls): holds it for 500 steps."""

    def predict(self, obs, state=None, episode_start=None, deterministic=True):
        return int(obs[2] + 0.5 * obs[3] > 0), None


def test_episode_video_keeps_every_fifth_step_at_a_fifth_of_the_rate_and_the_gif_reads_back(tmp_path):
    v = episode_video(Balancer(), "CartPole-v1", max_frames=80)
    assert v.frames.shape == (17, 200, 300, 3) and v.frames.dtype == np.uint8 and v.fps == 6  # steps 0, 5, ..., 80
    path = save_gif(v.frames, tmp_path / "episode.gif", v.fps)
    with Image.open(path) as gif:
        assert gif.n_frames == 17 and gif.size == (300, 200) and abs(gif.info["duration"] - 1000 / 6) <= 10  # in centiseconds
        for i in (0, 8, 16):
            gif.seek(i)
            back = np.asarray(gif.convert("RGB"), dtype=np.int16)
            assert np.abs(back - v.frames[i]).mean() < 4  # the same picture (to a few levels): one palette, no dithering
    full = episode_video(Balancer(), "CartPole-v1", max_frames=6, every=1, max_width=1000)
    assert full.frames.shape == (7, 400, 600, 3) and full.fps == 30
