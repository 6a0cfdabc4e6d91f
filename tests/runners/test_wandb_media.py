"""Media as W&B's own types, read back from the offline run: a video of an RL episode with the return
drawn on its frames, detector predictions as box overlays (truth and prediction groups, class labels,
scores), segmentation as mask overlays, a confusion-matrix chart and a per-class table."""
import json

import numpy as np
import pytest

from gymlab.runners.loop import run
from gymlab.runners.media import Boxes, Confusion, Curve, Masks, Video, annotate, save_media
from gymlab.runners.wandb_logger import WandbLogger, offline_run_dirs, read_offline_run


def _media_row(logged, name):
    rows = [row for row in logged["history"] if any(k.startswith(f"media/{name}/") for k in row)]
    assert rows, f"no media/{name} in the history"
    return {k[len(f"media/{name}/"):]: v for k, v in rows[-1].items() if k.startswith(f"media/{name}/")}


def test_structured_media_become_native_wandb_types(tmp_path):
    img = np.random.default_rng(0).random((2, 1, 16, 16)).astype(np.float32)
    truth = [{"boxes": np.array([[1, 2, 8, 9]]), "labels": np.array([3])}] * 2
    pred = [{"boxes": np.array([[1, 2, 7, 9.0]]), "labels": np.array([5]), "scores": np.array([0.8])}] * 2
    items = {"det": Boxes(list(img), truth, pred, {c: f"digit {c}" for c in range(10)}, ["a", "b"]),
             "seg": Masks(img, np.zeros((2, 16, 16), int), np.ones((2, 16, 16), int), {0: "background", 1: "one"}),
             "conf": Confusion([0, 1, 1, 2], [0, 1, 2, 2], ["a", "b", "c"]),
             "ep": Video(np.full((4, 16, 16, 3), 200, dtype=np.uint8), fps=10),
             "curve": Curve({"train": ([1, 2, 3], [3.0, 2.0, 1.5]), "eval": ([2], [2.2])}, "step", "nats")}
    files = save_media(items, tmp_path / "media")
    # the run folder keeps plain files a user can open without W&B
    assert {p.name for p in (tmp_path / "media").iterdir()} == {
        "det.png", "seg.png", "conf.png", "conf_per_class.json", "conf_per_class.md", "ep.gif", "curve.png"}
    per_class = json.loads((tmp_path / "media" / "conf_per_class.json").read_text())
    assert [r["recall"] for r in per_class] == [1.0, 0.5, 1.0] and [r["precision"] for r in per_class] == [1.0, 1.0, 0.5]

    logger = WandbLogger("offline", "gymlab-test", tmp_path, "media", {})
    logger.log_media(files, step=1)
    logger.finish()
    (run_dir,) = offline_run_dirs(tmp_path)
    logged = read_offline_run(run_dir)
    det = _media_row(logged, "det")
    assert det["_type"] == "images/separated" and det["count"] == 2 and det["captions"] == ["a", "b"]
    groups = det["all_boxes"][0]
    assert set(groups) == {"truth", "prediction"} and groups["truth"]["_type"] == "boxes2D"
    boxes = json.loads((run_dir / "files" / groups["prediction"]["path"]).read_text())
    (box,) = boxes["box_data"]
    assert box["class_id"] == 5 and box["scores"] == {"score": 0.8} and box["domain"] == "pixel"
    assert box["position"] == {"minX": 1.0, "minY": 2.0, "maxX": 7.0, "maxY": 9.0}
    assert box["box_caption"] == "digit 5 0.80"
    truth = json.loads((run_dir / "files" / groups["truth"]["path"]).read_text())
    assert [b["class_id"] for b in truth["box_data"]] == [3] and "scores" not in truth["box_data"][0]
    assert boxes["class_labels"]["3"] == "digit 3"
    seg = _media_row(logged, "seg")
    assert set(seg["all_masks"][0]) == {"truth", "prediction"} and seg["all_masks"][0]["truth"]["_type"] == "mask"
    assert _media_row(logged, "ep")["_type"] == "video-file"
    assert _media_row(logged, "conf_per_class")["_type"] == "table-file"
    assert _media_row(logged, "conf_table")["_type"] == "table-file"  # wandb.plot.confusion_matrix's data
    curve = _media_row(logged, "curve_table")  # wandb.plot.line_series's data: one row a point
    assert curve["_type"] == "table-file" and curve["nrows"] == 4


def test_annotate_draws_text_on_a_dark_strip():
    frame = np.full((60, 90, 3), 255, dtype=np.uint8)
    out = annotate(frame, "return 12")
    assert out.shape == frame.shape and (out[1, 1] == 0).all() and (out[40:] == 255).all()
    assert (out[:15, :60] == 255).any()  # white text on the strip


def test_rl_episode_is_a_video_with_the_return_on_its_frames(tmp_path, monkeypatch):
    import imageio

    monkeypatch.setenv("WANDB_DIR", str(tmp_path / "wb"))
    run("ppo", ["logger.mode=offline", "steps=2", "eval_every=1", "eval_episodes=1", "progress=false", "device=cpu",
                f"run_dir={tmp_path / 'r'}"], quiet=True)
    (run_dir,) = offline_run_dirs(tmp_path / "wb")
    logged = read_offline_run(run_dir)
    video = _media_row(logged, "episode")
    assert video["_type"] == "video-file" and video["path"].endswith(".gif")
    assert {m["name"]: m["step_metric"] for m in logged["metrics"]}["eval/*"] == "train/env_steps"
    assert {m["name"]: m["summary"] for m in logged["metrics"]}["eval/mean_return"] == ["last"]
    reader = imageio.get_reader(tmp_path / "r" / "media" / "episode.gif")
    first = np.asarray(reader.get_data(0))[..., :3]
    assert (first[2, 2] < 10).all()  # the return's dark strip over CartPole's white background (GIF palette)
    assert (first[-5, -5] > 240).all()


@pytest.mark.parametrize("name, key, kind", [("detector", "predictions", "all_boxes"),
                                             ("segmenter", "mask_overlays", "all_masks")])
def test_scene_experiments_log_native_overlays(tmp_path, monkeypatch, name, key, kind):
    monkeypatch.setenv("WANDB_DIR", str(tmp_path / "wb"))
    run(name, ["logger.mode=offline", "steps=2", "eval_every=2", "n_train=64", "n_val=16", "n_test=16",
               "progress=false", "device=cpu", f"run_dir={tmp_path / 'r'}"], quiet=True)
    (run_dir,) = offline_run_dirs(tmp_path / "wb")
    row = _media_row(read_offline_run(run_dir), key)
    assert row["count"] == 8 and set(row[kind][0]) == {"truth", "prediction"}
    assert (tmp_path / "r" / "media" / f"{key}.png").exists()
