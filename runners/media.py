"""Save what an experiment's ``media()`` returned into ``run_dir/media`` as files.

Accepted values: a matplotlib Figure, an image array (H, W) or (H, W, 3|4) (uint8, or float in
[0, 1]), a path to a file already written (a GIF, say), a list of row dicts (a table, saved as
Markdown and JSON) or a string (saved as text).
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np


def save_media(items: dict, folder: Path) -> dict:
    """Write each item; return name -> path (or the row list for tables) for the logger."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, value in items.items():
        safe = name.replace("/", "_")
        if hasattr(value, "savefig"):
            import matplotlib.pyplot as plt

            path = folder / f"{safe}.png"
            value.savefig(path, dpi=100, bbox_inches="tight")
            plt.close(value)
            out[name] = path
        elif isinstance(value, np.ndarray) or hasattr(value, "numpy"):
            path = folder / f"{safe}.png"
            save_image(np.asarray(value), path)
            out[name] = path
        elif isinstance(value, Path):
            path = folder / value.name
            if value.resolve() != path.resolve():
                shutil.copyfile(value, path)
            out[name] = path
        elif isinstance(value, list):
            (folder / f"{safe}.json").write_text(json.dumps(value, indent=1, default=str))
            (folder / f"{safe}.md").write_text(markdown_table(value))
            out[name] = value
        elif isinstance(value, str):
            (folder / f"{safe}.txt").write_text(value)
        else:
            raise TypeError(f"media {name!r}: unsupported type {type(value).__name__}")
    return out


def save_image(img: np.ndarray, path: Path) -> None:
    from PIL import Image

    img = np.asarray(img)
    if img.dtype != np.uint8:
        img = (np.clip(img, 0, 1) * 255).round().astype(np.uint8)
    if img.ndim == 3 and img.shape[0] in (1, 3) and img.shape[-1] not in (1, 3, 4):
        img = np.moveaxis(img, 0, -1)
    if img.ndim == 3 and img.shape[-1] == 1:
        img = img[..., 0]
    Image.fromarray(img).save(path)


def fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def markdown_table(rows: list[dict]) -> str:
    if not rows:
        return ""
    cols = list(dict.fromkeys(k for r in rows for k in r))
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    lines += ["| " + " | ".join(fmt(r.get(c, "")) for c in cols) + " |" for r in rows]
    return "\n".join(lines) + "\n"
