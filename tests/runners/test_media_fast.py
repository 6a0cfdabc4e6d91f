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


def test_colormaps_equal_matplotlibs():
    import matplotlib

    for name in ("gray", "RdBu_r"):
        ref = np.round(np.asarray(matplotlib.colormaps[name](np.arange(256)))[:, :3] * 255)
        assert np.abs(media.colormap(name).astype(int) - ref).max() <= 1, name
    try:
        media.colormap("jet")
    except ValueError as e:
        assert "valid: gray, RdBu_r" in str(e)
    else:
        raise AssertionError("an unknown cmap was accepted")


def test_image_row_scales_each_image_to_its_range_and_colours_it():
    a = np.arange(16.0).reshape(4, 4)  # min 0 at the top left, max 15 at the bottom right
    b = -3 * np.ones((4, 4))  # constant: the low end of the map
    row = media.image_row([a, b], cmap="RdBu_r", height=8, gap=2)
    lut = media.colormap("RdBu_r")
    assert row.shape == (8, 8 + 2 + 8, 3) and row.dtype == np.uint8  # 4x4 enlarged twice
    assert (row[:2, :2] == lut[0]).all() and (row[6:, 6:8] == lut[255]).all()  # nearest enlargement, own range
    assert (row[:, 8:10] == 255).all() and (row[:, 10:] == lut[0]).all()  # the gap, then b
    captioned = media.image_row([a, b], captions=["0", "1"], cmap="gray", height=8)
    assert captioned.shape[0] > 8 and (captioned[: captioned.shape[0] - 8] < 100).any()  # dark text above the images
