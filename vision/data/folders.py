"""A user's own labelled images as a ``Dataset``, like the built-in sets: a folder of images or NumPy arrays.

    load_user_data("pets/")          # pets/cat/*.png, pets/dog/*.jpg ...: one subfolder per class
    load_user_data("pets.npz")       # arrays x (images) and y (labels); optional x_test, y_test

**A folder** is read as torchvision's ``ImageFolder`` reads it: the classes are the subfolders in
sorted order (label i = the i-th name), the images the files with an image extension (``.png .jpg
.jpeg .bmp .gif .ppm .pgm .tif .tiff .webp``, any case) in each, sorted by path; anything else is
skipped. Images are decoded with pillow and converted consistently: all grayscale (mode L) when every
image is grayscale, else all RGB (an alpha channel is dropped), then resized (bilinear) to one size,
``size`` or else the most common one among the images. A folder holding ``train/`` and ``test/``
(each with the class subfolders) keeps that test split as given.

**A .npz file** holds ``x``, uint8 pixels in 0..255 or floats in [0, 1], shaped (N, H, W) for grey,
(N, C, H, W) or (N, H, W, C) with C in 1 or 3 (channels last is recognised when the last axis is 1 or 3
and the second is not), and ``y``, N integer labels (any integers: they are renumbered 0..K-1 in
sorted order). ``x_test``/``y_test``, when present, are the test split.

Splits are the built-in sets': without a given test split, 60% train, 20% validation, 20% test,
stratified by class and fixed by the seed (``datasets.stratified_splits``, the ``digits`` split);
with one, a stratified 20% of the training images is the validation split. Images are float32 in
[0, 1], shape (N, C, H, W), so the experiments' normalisation (fitted on the training split) and
metrics apply unchanged.
"""
from __future__ import annotations

import zipfile
from collections import Counter
from pathlib import Path
from typing import Optional, Union

import numpy as np
import torch

from gymlab.vision.data.datasets import Dataset, Split, stratified_splits

__all__ = ["load_user_data", "load_image_folder", "load_npz", "is_user_data", "IMAGE_EXTENSIONS"]

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".ppm", ".pgm", ".tif", ".tiff", ".webp")
Size = Optional[Union[int, tuple]]


def is_user_data(data: str) -> bool:
    """Whether ``data=`` names a path (a folder or an .npz file) rather than a built-in dataset."""
    return "/" in data or "\\" in data or data.endswith(".npz") or Path(data).exists()


def load_user_data(path, seed: int = 0, size: Size = None) -> Dataset:
    """A folder of class subfolders or an .npz file, as a Dataset (see the module docstring)."""
    p = Path(path).expanduser()
    if p.is_dir():
        return load_image_folder(p, seed, size)
    if p.is_file() and p.suffix == ".npz":
        return load_npz(p, seed)
    what = "does not exist" if not p.exists() else "is neither a folder nor an .npz file"
    raise ValueError(f"{str(path)!r} {what}; give a folder with one subfolder of images per class, "
                     f"or an .npz file with arrays x and y")


# -------------------------------------------------------------------------------------------- folders
def _class_folders(root: Path) -> list[Path]:
    return sorted((d for d in root.iterdir() if d.is_dir() and not d.name.startswith(".")), key=lambda d: d.name)


def _images(folder: Path) -> list[Path]:
    return sorted(f for f in folder.rglob("*") if f.is_file() and f.suffix.lower() in IMAGE_EXTENSIONS)


def _scan(root: Path, classes: Optional[list[str]] = None) -> tuple[list[str], list[Path], list[int]]:
    folders = _class_folders(root)
    names = classes if classes is not None else [d.name for d in folders]
    files, labels = [], []
    for d in folders:
        if d.name not in names:
            raise ValueError(f"{d} is a class folder that the training folder does not have; "
                             f"classes: {', '.join(names)}")
        found = _images(d)
        files += found
        labels += [names.index(d.name)] * len(found)
    return names, files, labels


def _read(files: list[Path], size: Size) -> np.ndarray:
    """Decode with pillow, convert every image to one mode (L or RGB), resize to one size: (N, C, H, W) uint8."""
    from PIL import Image

    images = []
    for f in files:
        try:
            with Image.open(f) as im:
                images.append(im.copy())  # decoded into memory; the file is closed
        except Exception as e:  # noqa: BLE001 - any undecodable file is the same one-line error
            raise ValueError(f"{f} could not be read as an image ({type(e).__name__}: {e})") from None
    grey = all(im.mode in ("1", "L", "LA", "I", "I;16", "F") for im in images)
    mode = "L" if grey else "RGB"
    if size is None:
        w, h = Counter(im.size for im in images).most_common(1)[0][0]  # PIL sizes are (width, height)
    else:
        h, w = (size, size) if isinstance(size, int) else tuple(size)
    out = np.empty((len(images), 1 if grey else 3, h, w), np.uint8)
    for i, im in enumerate(images):
        if im.mode in ("I", "I;16", "F"):  # high bit depth: scale to 8 bits by the image's own range
            a = np.asarray(im, dtype=np.float64)
            im = Image.fromarray(np.uint8(np.round(255 * (a - a.min()) / max(a.max() - a.min(), 1e-12))))
        im = im.convert(mode)
        if im.size != (w, h):
            im = im.resize((w, h), Image.BILINEAR)
        a = np.asarray(im, dtype=np.uint8)
        out[i] = a[None] if grey else a.transpose(2, 0, 1)
    return out


def load_image_folder(root, seed: int = 0, size: Size = None) -> Dataset:
    """One subfolder per class (or ``train/`` and ``test/`` holding them), read as ImageFolder reads it."""
    root = Path(root)
    subs = {d.name for d in _class_folders(root)}
    if subs == {"train", "test"}:
        classes, files, labels = _scan(root / "train")
        _, test_files, test_labels = _scan(root / "test", classes)
        _check_found(root / "train", classes, files, labels)
        x = _read(files + test_files, size)
        n = len(files)
        return _with_test(x[:n], np.array(labels), x[n:], np.array(test_labels), seed, root.name, len(classes))
    classes, files, labels = _scan(root)
    _check_found(root, classes, files, labels)
    return _as_dataset(_read(files, size), np.array(labels, dtype=np.int64), seed, root.name, len(classes))


def _check_found(root: Path, classes: list[str], files: list, labels: list) -> None:
    if len(classes) < 2:
        raise ValueError(f"{root} has {len(classes)} class subfolder(s); a classification folder needs at least 2 "
                         f"(one subfolder of images per class)")
    counts = np.bincount(labels, minlength=len(classes))
    empty = [c for c, n in zip(classes, counts) if n == 0]
    if empty:
        raise ValueError(f"{root}: class folder(s) {', '.join(empty)} hold no image "
                         f"(extensions read: {' '.join(IMAGE_EXTENSIONS)})")


# ------------------------------------------------------------------------------------------------ npz
def load_npz(path, seed: int = 0) -> Dataset:
    """Arrays ``x`` and ``y`` (and optionally ``x_test``, ``y_test``) from an .npz file."""
    try:
        with np.load(path, allow_pickle=False) as f:
            keys = set(f.files)
            if not {"x", "y"} <= keys:
                raise ValueError(f"{path} holds arrays {', '.join(sorted(keys)) or 'none'}; it needs x (images) and "
                                 f"y (labels), and optionally x_test and y_test")
            arrays = {k: f[k] for k in ("x", "y", "x_test", "y_test") if k in keys}
    except (zipfile.BadZipFile, EOFError, ValueError) as e:  # truncated, not an npz, or arrays of Python objects
        msg = str(e)
        raise ValueError(msg if msg.startswith(str(path)) else
                         f"{path} is not a readable .npz of numeric arrays ({type(e).__name__}: {msg})") from None
    if ("x_test" in arrays) != ("y_test" in arrays):
        raise ValueError(f"{path}: give both x_test and y_test, or neither")
    x = _images_array(arrays["x"], "x", path)
    classes, y = np.unique(_labels_array(arrays["y"], "y", len(x), path), return_inverse=True)
    name = Path(path).stem
    if "x_test" not in arrays:
        return _as_dataset(x, y.astype(np.int64), seed, name, len(classes))
    xte = _images_array(arrays["x_test"], "x_test", path)
    yte = _labels_array(arrays["y_test"], "y_test", len(xte), path)
    if xte.shape[1:] != x.shape[1:]:
        raise ValueError(f"{path}: x_test images are {xte.shape[1:]}, x images {x.shape[1:]}; they must match")
    unknown = np.setdiff1d(yte, classes)
    if unknown.size:
        raise ValueError(f"{path}: y_test has labels {unknown[:5].tolist()} that y does not have")
    return _with_test(x, y.astype(np.int64), xte, np.searchsorted(classes, yte), seed, name, len(classes))


def _images_array(x: np.ndarray, key: str, path) -> np.ndarray:
    """(N, C, H, W) uint8 or float32 from (N, H, W), (N, C, H, W) or (N, H, W, C)."""
    if x.ndim == 3:
        x = x[:, None]
    elif x.ndim == 4 and x.shape[-1] in (1, 3) and x.shape[1] not in (1, 3):
        x = x.transpose(0, 3, 1, 2)
    elif x.ndim != 4 or x.shape[1] not in (1, 3):
        raise ValueError(f"{path}: {key} has shape {x.shape}; give (N, H, W), (N, C, H, W) or (N, H, W, C) "
                         f"with C = 1 or 3")
    if x.dtype == np.uint8:
        return np.ascontiguousarray(x)
    if not np.issubdtype(x.dtype, np.floating) or not np.isfinite(x).all() or x.min() < 0 or x.max() > 1:
        raise ValueError(f"{path}: {key} is {x.dtype}" + (f" in [{x.min()}, {x.max()}]" if x.size else "") +
                         "; give uint8 pixels (0-255) or floats in [0, 1]")
    return np.ascontiguousarray(x, dtype=np.float32)


def _labels_array(y: np.ndarray, key: str, n: int, path) -> np.ndarray:
    if y.ndim != 1 or len(y) != n or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"{path}: {key} is {y.dtype} of shape {y.shape}; give {n} integer labels, one per image")
    return y


# ------------------------------------------------------------------------------------------- splitting
def _to_unit(x: np.ndarray) -> np.ndarray:
    return x.astype(np.float32) / 255.0 if x.dtype == np.uint8 else x.astype(np.float32)


def _as_dataset(x: np.ndarray, y: np.ndarray, seed: int, name: str, num_classes: int) -> Dataset:
    """The built-in 60/20/20 stratified split by seed (as digits)."""
    if np.bincount(y).min() < 3:
        raise ValueError(f"{name}: every class needs at least 3 images (one each for train, validation and test); "
                         f"counts per class: {np.bincount(y).tolist()}")
    return stratified_splits(_to_unit(x), y, seed, name, num_classes)


def _with_test(x, y, xte, yte, seed: int, name: str, num_classes: int, val_fraction: float = 0.2) -> Dataset:
    """The given test split; a stratified ``val_fraction`` of the training images (by seed) for validation."""
    from gymlab.vision.data.splits import train_test_split

    idx = np.arange(len(y))
    try:
        tr, va = train_test_split(idx, test_size=val_fraction, stratify=y, seed=seed)
    except ValueError:  # fewer than two images in some class: a plain random split
        tr, va = train_test_split(idx, test_size=val_fraction, seed=seed)

    def split(xs, ys):
        return Split(torch.from_numpy(_to_unit(xs)), torch.from_numpy(np.asarray(ys, dtype=np.int64)))

    return Dataset(split(x[tr], y[tr]), split(x[va], y[va]), split(xte, yte), num_classes, name)
