"""The compression table of one trained network (vision.efficient.compress): for the dense model, each
pruned-and-retrained sparsity, the pruned model with shared weights, and the dense model quantized to
int8 after training, its size in bytes, CPU latency of one batch, and test accuracy.

Snapshots (state dicts and accuracies) come from the training schedule, under these keys:
``dense`` | ``prune{s}`` (retrained at sparsity s) | ``share`` (after centroid fine-tuning) : state dicts;
``oneshot{s}`` (right after pruning to s) | ``shared_before_finetune`` : test accuracies.
``dense_pruned_at_once`` prunes the dense model straight to s and does not retrain it."""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from gymlab.vision.classify.accuracy import accuracy
from gymlab.vision.efficient import compress as C


def compression_table(make_model: Callable[[], nn.Module], snapshots: dict, levels, target: float, shared: dict,
                      bits: int, scope: str, x: torch.Tensor, y: torch.Tensor, calibration: torch.Tensor,
                      latency_batch: int = 256, batch: int = 1000) -> list[dict]:
    """Rows {model, sparsity, bytes, latency_ms, accuracy[, accuracy_before_retrain, dense_pruned_at_once]}
    on the test images ``x``, ``y``; ``make_model()`` gives a fresh CPU model of the trained architecture."""
    def model(state):
        m = make_model()
        m.load_state_dict(state)
        return m

    xl = x[:latency_batch].cpu()
    dense = model(snapshots["dense"])
    rows = [{"model": "dense fp32", "sparsity": 0.0, "bytes": C.model_bytes(dense),
             "latency_ms": C.latency_ms(dense, xl), "accuracy": accuracy(dense, x, y, batch)}]
    for s in levels:
        m, once = model(snapshots[f"prune{s}"]), model(snapshots["dense"])
        C.apply_masks(once, C.magnitude_masks(once, s, scope))
        rows.append({"model": f"pruned {s:.0%} + retrain", "sparsity": C.sparsity(m), "bytes": C.sparse_bytes(m),
                     "latency_ms": C.latency_ms(m, xl), "accuracy": accuracy(m, x, y, batch),
                     "accuracy_before_retrain": snapshots[f"oneshot{s}"],
                     "dense_pruned_at_once": accuracy(once, x, y, batch)})
    m = model(snapshots["share"])
    rows.append({"model": f"pruned {target:.0%} + shared {bits}-bit", "sparsity": C.sparsity(m),
                 "bytes": C.shared_bytes(m, shared, bits), "latency_ms": C.latency_ms(m, xl),
                 "accuracy": accuracy(m, x, y, batch), "accuracy_before_retrain": snapshots["shared_before_finetune"]})
    q = C.quantize_int8(dense, calibration)
    rows.append({"model": "dense int8 (post-training)", "sparsity": 0.0, "bytes": C.model_bytes(q),
                 "latency_ms": C.latency_ms(q, xl), "accuracy": accuracy(q, x, y, batch)})
    return rows


def headline(rows: list[dict], target: float) -> dict:
    """The table's summary numbers: accuracy and bytes of the dense, pruned (at ``target``), shared and
    int8 models, the pruned model's sparsity, and the int8 speed-up (dense latency / int8 latency)."""
    r = {row["model"]: row for row in rows}
    dense, pruned, int8 = r["dense fp32"], r[f"pruned {target:.0%} + retrain"], r["dense int8 (post-training)"]
    shared = next(row for row in rows if "shared" in row["model"])
    out = {f"{k}_{m}": row[m] for k, row in (("dense", dense), ("pruned", pruned), ("shared", shared), ("int8", int8))
           for m in ("accuracy", "bytes")}
    return {**out, "pruned_sparsity": pruned["sparsity"], "int8_speedup": dense["latency_ms"] / int8["latency_ms"]}
