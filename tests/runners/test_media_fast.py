"""The cheap paths of runners.media (issue 18: media cost a small share of a short run): the frame caption
drawn on a strip only, the font loaded once, and the GIF's frames on one shared palette."""
import numpy as np
from PIL import Image, ImageDraw

from gymlab.runners import media
from gymlab.runners.media import annotate, save_gif


def whole_frame_annotate(frame, text):
    """The reference: the caption drawn by PIL on the whole frame (how annotate drew it before)."""
    im = Image.fromarray(np.ascontiguousarray(frame[..., :3], dtype=np.uint8))
    draw = ImageDraw.Draw(im)
    font = media._font(max(10, im.height // 22))
    box = draw.textbbox((4, 2), text, font=font)
    draw.rectangle([0, 0, box[2] + 4, box[3] + 4], fill=(0, 0, 0))
    draw.text((4, 2), text, fill=(255, 255, 255), font=font)
    return np.asarray(im)


def test_annotate_equals_drawing_on_the_whole_frame_and_leaves_the_input_alone():
    rng = np.random.default_rng(0)
    for shape in [(200, 300, 3), (400, 600, 4), (30, 40, 3)]:
        frame = rng.integers(0, 256, shape, dtype=np.uint8)
        before = frame.copy()
        for text in ["return 0", "return 123.5  step 456", "x" * 80]:  # the last one is wider than the frame
            out = annotate(frame[::2, ::2] if shape[0] == 400 else frame, text)
            ref = whole_frame_annotate(frame[::2, ::2] if shape[0] == 400 else frame, text)
            assert out.dtype == np.uint8 and out.shape == ref.shape and np.array_equal(out, ref), (shape, text)
        assert np.array_equal(frame, before)
    out = annotate(np.full((200, 300, 3), 128, np.uint8), "return 7")
    assert (out[:2, :20] == 0).all() and (out[:20, :80] > 200).any() and (out[100:, 150:] == 128).all()  # strip, text, scene


def test_the_caption_font_is_loaded_once_per_size():
    assert media._font(12) is media._font(12)


def test_the_gif_maps_every_frame_to_one_palette_and_reads_back(tmp_path):
    rng = np.random.default_rng(1)
    colours = rng.integers(0, 256, (12, 3), dtype=np.uint8)  # a rendered scene: few colours
    frames = colours[rng.integers(0, 12, (9, 20, 30))]
    path = save_gif(frames, tmp_path / "a.gif", fps=10)
    with Image.open(path) as gif:
        assert gif.n_frames == 9 and gif.size == (30, 20)
        for i in range(9):
            gif.seek(i)
            assert np.array_equal(np.asarray(gif.convert("RGB")), frames[i])  # 12 colours fit a palette exactly
