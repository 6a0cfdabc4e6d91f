"""k-nearest-neighbour classification, as in the notes: memorise the training set; label a test
image by a majority vote of the k training images closest to it.

Distances, fully vectorised (no Python loop over pairs), a chunk of test rows at a time so that
the (chunk, n_train) distance block stays under ``memory_mb``:

    L1:  d(a, b) = sum_p |a_p - b_p|                           (torch.cdist with p=1)
    L2:  d(a, b) = sqrt(sum_p (a_p - b_p)^2),  computed from
         ||a - b||^2 = ||a||^2 + ||b||^2 - 2 a.b               (one matrix multiply per chunk; the
         neighbours are ranked by ||b||^2 - 2 a.b, as ||a||^2 is the same for every candidate)

Four kernels compute the L2 neighbours (``kernel="auto"`` picks one at ``fit``; all give the neighbours
of the float32 formula above, pca those of exact arithmetic). Whether a low-precision kernel is faster depends
on the CPU, not on the data: ``torch._int_mm`` is ~5x a float32 multiply with AVX512-VNNI and ~100x *slower*
on an AVX2-only AMD EPYC (1000x784 by 784x4096: 11.4 s against 0.10 s). So ``auto`` takes int8 or bf16 only
where a one-off micro-benchmark (``kernel_speedup``: a chunk's multiply, combine, search and refinement, on the
data's feature count, cached for the process) finds it clearly faster than float32; how much pca saves depends
on the data too, so where pca is a candidate ``auto`` times it, and the kernels the micro-benchmark passed,
against float32 end to end on 64 training rows as queries (``speedups``). The fastest measured kernel wins if
it beats float32 by ``MIN_SPEEDUP``; otherwise float32:

    int8   images on a grid of at most 256 levels (pixels 0..255 or k/255, digits' k/16): their grid codes,
           centred on 0 (a shift and a scale: the same neighbours), fit in int8, and one int8 multiply with int32
           accumulation gives every a.b *exactly*, at about 4x the float32 throughput (the ranking
           value ||b||^2 - 2 a.b is then formed in float32: exact below 2^24, e.g. for digits).
    bf16   float data, large problems: *filter and refine*. A bfloat16 matrix multiply (about 4x the
           float32 throughput on CPUs with AVX512-BF16/AMX, and on GPUs) ranks approximately; each
           approximate value is within err = 2 c ||a|| max_b ||b|| of the float32 one (c = 3u + n 2^-24,
           u = 2^-8: rounding of the inputs, the fp32 accumulation and the bf16 output). A training point
           can be among the exact k nearest only if its approximate value is at most the k-th smallest
           approximate value + 2 err; those candidates (the ``candidates`` smallest approximate values
           cover them, which is checked per query) are re-ranked in float32. A query whose window holds
           more points than that is recomputed in float32 entirely. The answer is the float32 one.
    pca    many features, any CPU (float32 multiplies only): *bound and refine*. With mu the training mean,
           P the top-d principal directions (orthonormal, d = ``pca_dims``) and R = I - P P^T,
               z(x) = [P^T (x - mu), ||R (x - mu)||]                  (d + 1 numbers per point)
               ||a - b||^2 = ||P^T (a - b)||^2 + ||R (a - b)||^2      (Pythagoras: P P^T, R project orthogonally)
                          >= ||P^T (a - b)||^2 + (||R a'|| - ||R b'||)^2 = ||z(a) - z(b)||^2 = LB(a, b)
           (a' = a - mu; the triangle inequality ||R(a' - b')|| >= | ||R a'|| - ||R b'|| |). LB for all training
           points is one (d + 1)-wide float32 multiply (d = 64 of 784: ~12x fewer flops). U, the k-th smallest
           exact distance among a few points of small LB, bounds the k-th nearest distance from above, so
           every true neighbour b has LB(a, b) <= ||a - b||^2 <= U; all points with computed LB <= U + err
           (err = c (||a'|| + max ||b'||)^2, c = 4 (d + n + 9) 2^-24: a generous bound on the float32 rounding
           of z, its norms and the multiply) are measured in float64 (float32 inputs: relative error ~1e-13)
           and the k smallest kept, equal distances to the smaller training index. No neighbour is missed, so
           the answer is that of exact arithmetic, whatever the data; the data only decide how few points pass.
    fp32   the formula above, one float32 multiply-add per chunk (small problems, L1, anything else).

The vote counts the labels of the k nearest; a tie goes to the smallest label (as scikit-learn's
``KNeighborsClassifier`` does). Points tied in distance at the k-th place are picked arbitrarily
(scikit-learn's brute force does the same; pca takes the smaller training index).
``cross_validate_k`` picks k by k-fold cross-validation (the notes' hyperparameter lesson: never
tune on the test set).

API::

    knn = KNearestNeighbor(k=3, metric="l2").fit(X_train, y_train)   # X: (N, ...) array or tensor
    knn.kernel                               # which kernel fit chose: "int8", "bf16", "pca" or "fp32"
    kernel_speedup("int8", 784, n_train=60_000)   # the measured speed-up behind that choice (probed once a process)
    knn.speedups                             # auto: each candidate kernel's measured speed-up over float32
    y_pred = knn.predict(X_test)             # numpy in, numpy out; tensor in, tensor out
    dist, idx = knn.kneighbors(X_test)       # (M, k) distances and training indices, nearest first
    best_k, acc = cross_validate_k(X, y, ks=(1, 3, 5, 8, 10), folds=5, metric="l2")   # acc: {k: fold accuracies}
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch

METRICS = ("l1", "l2")
KERNELS = ("auto", "int8", "bf16", "pca", "fp32")
BF16_MIN_WORK = 2**22  # n_train x features below which bf16 screening does not pay for its refinement
PCA_MIN_WORK = 2**22  # n_train x features below which auto does not try the pca bound (set-up ~ the search)
PCA_MIN_FEATURES = 32  # fewer features: the bound's product is not much cheaper than the full one
# measured speed-up over float32 (``kernel_speedup``, which includes bf16's refinement) that a kernel must
# show for ``auto`` to take it: a margin over timing noise, as a wrong pick costs more than a missed one
MIN_SPEEDUP = {"int8": 1.3, "bf16": 1.3, "pca": 1.3}
_SET_UP = {"int8": ("X_int8", "int_sq_norms"), "bf16": ("X_bf16", "bf16_err"),
           "pca": ("pca_P", "pca_Z", "pca_Z_sq")}  # what each kernel keeps beside the training data
_PROBES: dict[tuple, tuple[float, float, float]] = {}  # kernel_speedup's measured costs, one probe per process


def _as_tensor(x, dtype) -> torch.Tensor:
    t = x if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x))
    return t.reshape(len(t), -1).to(dtype)


def pairwise_distances(A: torch.Tensor, B: torch.Tensor, metric: str = "l2", squared: bool = False) -> torch.Tensor:
    """(len(A), len(B)) distances between the rows of A and B (no chunking; see ``KNearestNeighbor``)."""
    if metric == "l1":
        return torch.cdist(A, B, p=1.0)
    if metric == "l2":
        d2 = (A * A).sum(1, keepdim=True) + (B * B).sum(1) - 2.0 * (A @ B.T)
        d2.clamp_(min=0.0)
        return d2 if squared else d2.sqrt_()
    raise ValueError(f"unknown metric {metric!r}; valid: {', '.join(METRICS)}")


def integer_grid(X: torch.Tensor, sample_rows: int = 256) -> tuple[float, float, int] | None:
    """(lo, step, levels) when every value of X is lo + step * q for an integer q in [0, levels], levels <= 255
    (pixels: 0..255, k/255, digits' k/16), else None. The step comes from the smallest gap between the
    values of the first ``sample_rows`` rows, and is then checked on all of X."""
    lo, hi = float(X.min()), float(X.max())
    if not X.dtype.is_floating_point or not math.isfinite(hi - lo) or hi == lo:
        return None
    if bool((X == X.round()).all()):
        step = 1.0
    else:
        gap = float(X[:sample_rows].unique().diff().min())
        step = (hi - lo) / round((hi - lo) / gap)
    levels = round((hi - lo) / step)
    if levels > 255:
        return None
    q = (X - lo) / step
    return (lo, step, levels) if bool(((q - q.round()).abs() < 1e-3).all()) else None


def _best_time(fn, repeats: int = 3) -> float:
    import time
    fn()  # warm-up: first touch of the output, oneDNN's kernel selection
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _probe(kernel: str, features: int, device: torch.device, candidates: int, rows: int = 256,
           n_probe: int = 2048) -> tuple[float, float, float]:
    """Measured seconds: the float32 and ``kernel`` blocks per (query, training point) pair (multiply,
    combine, search: they grow with n_train), and ``kernel``'s extra per query that does not grow with
    n_train (bf16: gathering its candidates and re-ranking them in float32; int8: none)."""
    gen = torch.Generator().manual_seed(0)
    a8 = torch.randint(-128, 128, (rows, features), dtype=torch.int8, generator=gen).to(device)
    b8 = torch.randint(-128, 128, (n_probe, features), dtype=torch.int8, generator=gen).to(device)
    a, b = a8.float(), b8.float()
    norms = (b * b).sum(1)
    d = torch.empty(rows, n_probe, device=device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)

    def fp32():  # what kneighbors does per chunk in float32 (k=1)
        torch.addmm(norms, a, b.T, beta=1.0, alpha=-2.0, out=d).min(1)
        sync()

    def nothing():
        pass

    extra = nothing
    if kernel == "int8":
        dot, bT = torch.empty(rows, n_probe, dtype=torch.int32, device=device), b8.T

        def block():
            torch.add(norms, torch._int_mm(a8, bT, out=dot), alpha=-2, out=d).min(1)
            sync()
    elif kernel == "bf16":
        dot, a16, bT = torch.empty(rows, n_probe, dtype=torch.bfloat16, device=device), a.bfloat16(), b.bfloat16().T
        m = min(candidates, n_probe)
        cidx = torch.randint(0, n_probe, (rows, m), generator=gen).to(device)
        cand = torch.empty(rows * m, features, device=device)

        def block():
            torch.add(norms, torch.mm(a16, bT, out=dot), alpha=-2.0, out=d)
            torch.topk(d, m, dim=1, largest=False, sorted=True)
            sync()

        def extra():  # gather the candidates and re-rank them in float32
            c = torch.index_select(b, 0, cidx.reshape(-1), out=cand).view(rows, m, -1)
            torch.topk(norms[cidx] - 2.0 * torch.bmm(c, a[:, :, None]).squeeze(2), 1, dim=1, largest=False)
            sync()
    else:
        raise ValueError(f"no probe for kernel {kernel!r}")
    t = {f: math.inf for f in (fp32, block, extra)} if extra is not nothing else {fp32: math.inf, block: math.inf}
    for _ in range(2):  # interleaved, best of each: a busy machine slows all of them, not one
        for f in t:
            t[f] = min(t[f], _best_time(f))
    return t[fp32] / (rows * n_probe), t[block] / (rows * n_probe), t.get(extra, 0.0) / rows


def kernel_speedup(kernel: str, features: int, device: str | torch.device = "cpu", n_train: int = 60_000,
                   candidates: int = 128) -> float:
    """How many times faster ``kernel`` ("int8" or "bf16") finds the nearest of ``n_train`` training points
    than float32 does, measured on this machine: one chunk's multiply, its combine with the squared norms
    and the nearest's search, as ``kneighbors`` does them (bf16: with its top-``candidates`` search and
    the float32 refinement of the candidates, which on a CPU with AVX512-BF16 but no AMX can eat its 2-3x
    faster multiply). The costs are probed once per (kernel, device, features, threads, candidates) and
    cached for the process (~0.1-0.5 s at MNIST's 784 features); 0.0 where the kernel does not run."""
    device = torch.device(device)
    key = (kernel, str(device), int(features), torch.get_num_threads(), int(candidates))
    if key not in _PROBES:
        try:
            _PROBES[key] = _probe(kernel, int(features), device, int(candidates))
        except (RuntimeError, NotImplementedError):  # e.g. no int8 multiply for this device or build
            _PROBES[key] = (1.0, math.inf, 0.0)
    fp32, block, extra = _PROBES[key]
    return fp32 * n_train / (block * n_train + extra)


def majority_vote(neighbor_labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Most frequent label in each row of (M, k) neighbour labels; ties go to the smallest label."""
    counts = torch.zeros(len(neighbor_labels), num_classes, dtype=torch.int64, device=neighbor_labels.device)
    counts.scatter_add_(1, neighbor_labels, torch.ones_like(neighbor_labels))
    return counts.argmax(1)  # argmax returns the first maximum: the smallest label


class KNearestNeighbor:
    """k-NN classifier with L1 or L2 distance; ``memory_mb`` bounds each distance block."""

    def __init__(self, k: int = 1, metric: str = "l2", memory_mb: float = 256.0, dtype=torch.float32,
                 device: str | torch.device = "cpu", kernel: str = "auto", candidates: int = 128,
                 pca_dims: int = 64):
        if metric not in METRICS:
            raise ValueError(f"unknown metric {metric!r}; valid: {', '.join(METRICS)}")
        if int(k) < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        if kernel not in KERNELS:
            raise ValueError(f"unknown kernel {kernel!r}; valid: {', '.join(KERNELS)}")
        self.k, self.metric, self.memory_mb, self.dtype = int(k), metric, memory_mb, dtype
        self.device, self.requested_kernel, self.candidates = torch.device(device), kernel, int(candidates)
        if int(pca_dims) < 1:
            raise ValueError(f"pca_dims must be at least 1, got {pca_dims}")
        self.pca_dims = int(pca_dims)

    def fit(self, X, y) -> "KNearestNeighbor":
        """Memorise the training data (the whole of 'training' for a nearest-neighbour classifier)."""
        self.X_train = _as_tensor(X, self.dtype).to(self.device)
        y = np.asarray(y.cpu() if isinstance(y, torch.Tensor) else y)
        if len(y) != len(self.X_train):
            raise ValueError(f"X has {len(self.X_train)} rows but y has {len(y)} labels")
        if self.k > len(y):
            raise ValueError(f"k={self.k} exceeds the number of training points ({len(y)})")
        self.train_sq_norms = (self.X_train * self.X_train).sum(1)  # ||b||^2, reused by every query
        self.classes_, codes = np.unique(y, return_inverse=True)
        self.y_train = torch.as_tensor(codes.reshape(-1), dtype=torch.int64, device=self.device)
        for names in _SET_UP.values():  # a refit starts afresh
            for name in names:
                self.__dict__.pop(name, None)
        self.__dict__.pop("speedups", None)
        self.kernel = self._choose_kernel()
        for kernel, names in _SET_UP.items():  # auto measured kernels it did not choose: free their set-up
            if kernel != self.kernel:
                for name in names:
                    self.__dict__.pop(name, None)
        self._set_up(self.kernel)
        return self

    def _set_up(self, kernel: str) -> None:
        """What ``kernel`` keeps beside the training data (once)."""
        if kernel == "int8" and not hasattr(self, "X_int8"):
            self.X_int8 = self._to_int8(self.X_train, check=False)
            self.int_sq_norms = (self.X_int8.float() ** 2).sum(1)  # ||b'||^2 (exact below 2^24)
        elif kernel == "bf16" and not hasattr(self, "X_bf16"):
            self.X_bf16 = self.X_train.to(torch.bfloat16)
            u = 2.0 ** -8  # bfloat16's unit roundoff
            c = 3 * u + 3 * u * u + 2 * self.X_train.shape[1] * 2.0 ** -24
            self.bf16_err = 2 * c * float(self.train_sq_norms.max().sqrt())  # err = bf16_err * ||a||
        elif kernel == "pca" and not hasattr(self, "pca_P"):
            self._fit_pca()

    def _fit_pca(self, sample_rows: int = 8192) -> None:
        """The pca bound's set-up: the mean mu, the top-d principal directions P (orthonormal columns, float64,
        from the covariance of at most ``sample_rows`` evenly spaced training rows: any orthonormal P gives a
        valid bound, the sample only decides how tight) and every training point's z(b), padded with points at
        infinity to a whole number of blocks of ``pca_block`` (the search keeps each block's minimum)."""
        X = self.X_train
        d = min(self.pca_dims, X.shape[1])
        sample = X[:: max(1, len(X) // sample_rows)].double()
        self.pca_mu = sample.mean(0)
        S = (sample - self.pca_mu).float()
        evals, evecs = torch.linalg.eigh((S.T @ S).double())
        self.pca_P = evecs[:, evals.argsort(descending=True)[:d]].contiguous()
        self.pca_block = 64 if len(X) >= 64 * 64 else 1
        n_pad = -len(X) % self.pca_block
        Z = torch.cat([self._pca_z(X[i:i + 8192]) for i in range(0, len(X), 8192)])
        Z_sq = (Z.double() ** 2).sum(1).float()  # ||z(b)||^2 (= ||b - mu||^2)
        self.pca_max_norm = float(Z_sq.max().sqrt())
        self.pca_Z = torch.cat([Z, Z.new_zeros(n_pad, d + 1)])
        self.pca_Z_sq = torch.cat([Z_sq, Z_sq.new_full((n_pad,), math.inf)])  # padding: LB = inf
        self.pca_c = 4 * (d + 1 + X.shape[1] + 8) * 2.0 ** -24  # err = pca_c (||a - mu|| + max ||b - mu||)^2

    def _pca_z(self, A: torch.Tensor) -> torch.Tensor:
        """z(a) = [P^T (a - mu), ||(I - P P^T)(a - mu)||] in float32, computed in float64 (the residual's norm
        from ||a - mu||^2 - ||P^T (a - mu)||^2: in float64 its cancellation error is ~1e-7 of ||a - mu||)."""
        a = A.double() - self.pca_mu
        p = a @ self.pca_P
        r = ((a * a).sum(1) - (p * p).sum(1)).clamp_(min=0.0).sqrt_()
        return torch.cat([p, r[:, None]], 1).float()

    def _choose_kernel(self) -> str:
        X, want = self.X_train, self.requested_kernel
        l2_f32 = self.metric == "l2" and X.dtype == torch.float32
        self.grid = integer_grid(X) if l2_f32 and self.device.type == "cpu" and want in ("auto", "int8") else None
        if want == "auto":  # by measured speed on this machine (and, for pca, on this data), never by guess
            speedup = {}  # over float32
            if self.grid is not None:
                speedup["int8"] = kernel_speedup("int8", X.shape[1], self.device, len(X), self.candidates)
            bf16_ok = self.device.type == "cpu" or torch.cuda.is_bf16_supported()
            if l2_f32 and bf16_ok and X.shape[0] * X.shape[1] >= BF16_MIN_WORK and X.shape[0] > self.candidates:
                speedup["bf16"] = kernel_speedup("bf16", X.shape[1], self.device, len(X), self.candidates)
            fast = [kernel for kernel, s in speedup.items() if s >= MIN_SPEEDUP[kernel]]
            if l2_f32 and X.shape[0] * X.shape[1] >= PCA_MIN_WORK and X.shape[1] >= PCA_MIN_FEATURES:
                fast.append("pca")  # timed end to end on the data, with the kernels the micro-benchmark passed
                speedup.update(self._measure_speedups(fast))
            self.speedups = speedup  # the measurements behind the choice
            best = max(fast, key=speedup.get, default="fp32")
            return best if best != "fp32" and speedup[best] >= MIN_SPEEDUP[best] else "fp32"
        if want == "int8" and self.grid is None:
            raise ValueError("kernel='int8' needs L2, float32 on CPU and training values on a grid of at most 256 "
                             "levels (e.g. image pixels); use kernel='auto' or 'fp32'")
        if want in ("bf16", "pca") and not l2_f32:
            raise ValueError(f"kernel={want!r} needs metric='l2' and float32; use kernel='auto' or 'fp32'")
        return want

    def _measure_speedups(self, kernels: list[str], queries: int = 64) -> dict[str, float]:
        """How many times faster each of ``kernels`` finds the k + 1 nearest of ``queries`` evenly spaced training
        rows than float32 does, end to end (``kneighbors``), on this data and machine (pca's bound is tight or
        loose by the data; a micro-benchmark can misjudge a kernel's search and refinement): interleaved, best
        of 2 each. pca is timed on 8 queries first, so that data on which its bound is loose cost little."""
        X, k = self.X_train, min(self.k + 1, len(self.X_train))
        rows = X[:: max(1, len(X) // queries)][:queries]
        for kernel in kernels:
            self._set_up(kernel)

        def search(Q, kernel):
            chosen, self.kernel = getattr(self, "kernel", None), kernel
            try:
                self.kneighbors(Q, k)
            finally:
                self.kernel = chosen

        def speedup(Q, kernels):
            t = {kernel: math.inf for kernel in ["fp32", *kernels]}
            for _ in range(2):
                for kernel in t:
                    t[kernel] = min(t[kernel], _best_time(lambda: search(Q, kernel), repeats=1))
            return {kernel: t["fp32"] / t[kernel] for kernel in kernels}

        first = speedup(rows[:8], ["pca"]) if "pca" in kernels else {}
        if first and first["pca"] < MIN_SPEEDUP["pca"]:
            kernels = [kernel for kernel in kernels if kernel != "pca"]
            return {**(speedup(rows, kernels) if kernels else {}), **first}
        return speedup(rows, kernels)

    def _to_int8(self, X: torch.Tensor, check: bool = True) -> torch.Tensor | None:
        """The grid codes q - c of X in int8 (c centres [0, levels] on 0), or None if X is off the grid
        (``check=False``: X is known to be on it, as the training data after ``integer_grid``)."""
        lo, step, levels = self.grid
        q = (X - lo) / step
        q_int = q.round()
        c = (levels + 1) // 2
        if check and not (bool(((q - q_int).abs() < 1e-3).all()) and float(q_int.min()) >= c - 128
                          and float(q_int.max()) <= c + 127):
            return None
        return (q_int - c).to(torch.int8)

    def _chunk_rows(self) -> int:
        bytes_per_row = len(self.X_train) * 4 * 2  # distances + topk scratch
        if self.kernel == "bf16":  # the bf16 product, and the gathered candidates of the refinement
            bytes_per_row += len(self.X_train) * 2 + self.candidates * self.X_train.shape[1] * 4
        if self.kernel == "pca":  # the candidate mask
            bytes_per_row += len(self.X_train)
        return max(1, int(self.memory_mb * 2**20 // bytes_per_row))

    def kneighbors(self, X, k: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Distances and training indices of the k nearest training points of each row, nearest first."""
        if not hasattr(self, "X_train"):
            raise ValueError("call fit(X, y) before kneighbors/predict")
        k = self.k if k is None else k
        Xq = _as_tensor(X, self.dtype).to(self.device)
        if Xq.shape[1] != self.X_train.shape[1]:
            raise ValueError(f"X has {Xq.shape[1]} features per row, the training data {self.X_train.shape[1]}")
        kernel = self.kernel
        if kernel == "int8":
            Xq8 = self._to_int8(Xq)
            if Xq8 is None:
                kernel = "fp32"  # queries off the training data's grid: the float32 formula
        dists, idxs = [], []
        self.full_rows = 0  # bf16: queries recomputed in float32 (too many near-ties for the candidates)
        rows = min(self._chunk_rows(), len(Xq))
        # the blocks are reused from chunk to chunk: allocating (and first touching) them anew costs as
        # much as the low-precision multiplies
        width = len(self.pca_Z) if kernel == "pca" else len(self.X_train)  # pca: padded to whole blocks
        buf = {"d": torch.empty(rows, width, dtype=self.dtype, device=self.device)}
        if kernel == "int8":
            buf["dot"] = torch.empty(rows, len(self.X_train), dtype=torch.int32, device=self.device)
        if kernel == "bf16":
            m = min(self.candidates, len(self.X_train))
            buf["dot"] = torch.empty(rows, len(self.X_train), dtype=torch.bfloat16, device=self.device)
            buf["cand"] = torch.empty(rows * m, self.X_train.shape[1], device=self.device)
        for start in range(0, len(Xq), rows):
            A = Xq[start:start + rows]
            d = buf["d"][:len(A)]
            if kernel == "bf16":
                val, idx = self._bf16_screened(A, k, d, buf["dot"][:len(A)], buf["cand"])
            elif kernel == "pca":  # already the squared distances
                val, idx = self._pca_search(A, k, d)
            else:
                if kernel == "int8":  # grid codes a' (a shift and a scale of a); a'.b' exact in int32
                    a8 = Xq8[start:start + rows]
                    dot = torch._int_mm(a8, self.X_int8.T, out=buf["dot"][:len(A)])
                    torch.add(self.int_sq_norms, dot, alpha=-2, out=d)
                elif self.metric == "l2":
                    # ||a||^2 is the same for every candidate of a query, so rank by ||b||^2 - 2 a.b (one fused
                    # multiply-add over the block) and add ||a||^2 to the k winners only
                    torch.addmm(self.train_sq_norms, A, self.X_train.T, beta=1.0, alpha=-2.0, out=d)
                else:
                    d = pairwise_distances(A, self.X_train, "l1")
                val, idx = d.min(1, keepdim=True) if k == 1 else torch.topk(d, k, dim=1, largest=False, sorted=True)
            if kernel == "pca":
                val = val.to(self.dtype).sqrt_()
            elif self.metric == "l2":
                if kernel == "int8":  # + ||a'||^2, back to the data's scale: the squared distances
                    val = (val + (a8.float() ** 2).sum(1, keepdim=True)) * self.grid[1] ** 2
                else:
                    val = val + (A * A).sum(1, keepdim=True)
                val = val.to(self.dtype).clamp_(min=0.0).sqrt_()
            dists.append(val)
            idxs.append(idx)
        return torch.cat(dists), torch.cat(idxs)

    def _pca_search(self, A: torch.Tensor, k: int, lbr: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Squared distances (float64) and training indices of the k nearest of each row of A, nearest first,
        by the pca bound (``lbr``: a float32 (rows, padded n_train) block to work in).

        1. screen: LB - ||z(a)||^2 = ||z(b)||^2 - 2 z(a).z(b) for every training point, one (d + 1)-wide product,
           and the minimum of each block of ``pca_block`` training points;
        2. U, the k-th smallest exact distance among the points behind the 2k + 2 smallest block minima: an upper
           bound on the k-th nearest distance;
        3. every point with LB <= U + err (looked for only in blocks whose minimum passes) measured exactly in
           float64; the k smallest of those, ties to the smaller training index."""
        X, B = self.X_train, self.pca_block
        za = self._pca_z(A)
        torch.addmm(self.pca_Z_sq, za, self.pca_Z.T, beta=1.0, alpha=-2.0, out=lbr)
        blocks = lbr.view(len(A), -1, B)
        bmin = blocks.amin(2)  # (amin: ~20x faster than min with its indices)
        m = min(bmin.shape[1], 2 * k + 2)
        rows = torch.arange(len(A), device=X.device)
        if m < k:  # fewer blocks than neighbours: the points of smallest LB themselves
            cidx = torch.topk(lbr, k, dim=1, largest=False, sorted=False).indices
        else:  # the point of smallest LB in each of the m blocks of smallest minimum
            top = torch.topk(bmin, m, dim=1, largest=False, sorted=False).indices
            cidx = top * B + blocks[rows[:, None], top].argmin(2)
        U = self._exact_sq(A, rows.repeat_interleave(cidx.shape[1]), cidx.reshape(-1)).view(len(A), -1) \
            .kthvalue(k, dim=1).values
        za_sq = (za.double() ** 2).sum(1)
        err = self.pca_c * (za_sq.sqrt() + self.pca_max_norm) ** 2
        thr = (U * (1 + 1e-9) + err - za_sq).float()
        thr = torch.nextafter(thr, torch.full_like(thr, math.inf))  # float32 rounding: only ever upwards
        qb, bb = (bmin <= thr[:, None]).nonzero(as_tuple=True)  # blocks that hold a candidate
        ii, jj = (blocks[qb, bb] <= thr[qb, None]).nonzero(as_tuple=True)
        qi, j = qb[ii], bb[ii] * B + jj  # by row, then by training index
        dist = self._exact_sq(A, qi, j)
        order = torch.sort(dist, stable=True).indices  # by distance, equal distances by training index ...
        order = order[torch.sort(qi[order], stable=True).indices]  # ... within each row
        counts = torch.bincount(qi, minlength=len(A))
        if bool((counts < k).any()):  # impossible while the bound holds: the k points behind U pass the screen
            raise RuntimeError("pca bound screened out a nearest neighbour; please report this as a bug")
        pick = order[(counts.cumsum(0) - counts)[:, None] + torch.arange(k, device=X.device)]
        return dist[pick], j[pick]

    def _exact_sq(self, A: torch.Tensor, qi: torch.Tensor, j: torch.Tensor) -> torch.Tensor:
        """||A[qi] - X_train[j]||^2 in float64 for each pair (float32 inputs), a 2 MB block of pairs at a time
        so that the work stays in the cache."""
        out = torch.empty(len(qi), dtype=torch.float64, device=A.device)
        F = A.shape[1]
        step = max(64, 2**18 // F)
        b32 = torch.empty(min(step, len(qi)), F, dtype=A.dtype, device=A.device)
        b64, a32 = torch.empty(len(b32), F, dtype=torch.float64, device=A.device), torch.empty_like(b32)
        for s in range(0, len(qi), step):
            n = min(step, len(qi) - s)
            b, a, d = b64[:n], a32[:n], out[s:s + n]
            b.copy_(torch.index_select(self.X_train, 0, j[s:s + n], out=b32[:n]))
            b.sub_(torch.index_select(A, 0, qi[s:s + n], out=a[:n]))
            torch.sum(b.mul_(b), 1, out=d)
        return out

    def _bf16_screened(self, A, k, approx, dot, cand) -> tuple[torch.Tensor, torch.Tensor]:
        """The float32 ranking values ||b||^2 - 2 a.b of the k nearest, by bf16 filter and float32 refine
        (``approx``, ``dot`` and ``cand``: float32, bf16 and candidate blocks to work in)."""
        torch.mm(A.to(torch.bfloat16), self.X_bf16.T, out=dot)
        torch.add(self.train_sq_norms, dot, alpha=-2.0, out=approx)  # in float32
        window = 2 * self.bf16_err * A.norm(dim=1)  # |approx - float32| <= err, so 2 err covers both sides
        m = min(self.candidates, len(self.X_train))
        cval, cidx = torch.topk(approx, m, dim=1, largest=False, sorted=True)
        covered = cval[:, -1] > cval[:, k - 1] + window  # every possible neighbour is among the candidates
        if m == len(self.X_train):
            covered[:] = True
        cand = torch.index_select(self.X_train, 0, cidx.reshape(-1), out=cand[:len(A) * m]).view(len(A), m, -1)
        exact = self.train_sq_norms[cidx] - 2.0 * torch.bmm(cand, A[:, :, None]).squeeze(2)
        val, j = torch.topk(exact, k, dim=1, largest=False, sorted=True)
        idx = cidx.gather(1, j)
        miss = ~covered
        if bool(miss.any()):  # too many near-ties for the candidate list: float32 over all the training points
            self.full_rows += int(miss.sum())
            d = torch.addmm(self.train_sq_norms, A[miss], self.X_train.T, beta=1.0, alpha=-2.0)
            val[miss], idx[miss] = torch.topk(d, k, dim=1, largest=False, sorted=True)
        return val, idx

    def predict(self, X):
        """Majority vote over the k nearest neighbours' labels."""
        _, idx = self.kneighbors(X)
        pred = majority_vote(self.y_train[idx], len(self.classes_)).cpu()
        labels = self.classes_[pred.numpy()]
        return torch.as_tensor(labels) if isinstance(X, torch.Tensor) else labels

    def score(self, X, y) -> float:
        pred = np.asarray(self.predict(X))
        return float((pred == np.asarray(y.cpu() if isinstance(y, torch.Tensor) else y)).mean())


def cross_validate_k(X, y, ks: Sequence[int] = (1, 3, 5, 8, 10, 12, 15, 20, 50, 100), folds: int = 5, metric: str = "l2",
                     seed: int = 0, memory_mb: float = 256.0) -> tuple[int, dict[int, np.ndarray]]:
    """Choose k by ``folds``-fold cross-validation on (X, y); returns (best k, {k: fold accuracies}).

    Each fold's neighbours are searched once for the largest k; every smaller k reuses them.
    Ties in mean accuracy go to the smaller k.
    """
    if folds < 2:
        raise ValueError(f"folds must be at least 2, got {folds}")
    Xt = _as_tensor(X, torch.float32)
    y = np.asarray(y.cpu() if isinstance(y, torch.Tensor) else y)
    ks = sorted(set(int(k) for k in ks))
    perm = np.random.default_rng(seed).permutation(len(y))
    parts = np.array_split(perm, folds)
    acc = {k: np.zeros(folds) for k in ks}
    for f in range(folds):
        val = parts[f]
        tr = np.concatenate([parts[j] for j in range(folds) if j != f])
        knn = KNearestNeighbor(max(ks), metric, memory_mb).fit(Xt[tr], y[tr])
        _, idx = knn.kneighbors(Xt[val])
        neigh = knn.y_train[idx]
        for k in ks:
            pred = knn.classes_[majority_vote(neigh[:, :k], len(knn.classes_)).numpy()]
            acc[k][f] = (pred == y[val]).mean()
    best = max(ks, key=lambda k: (acc[k].mean(), -k))
    return best, acc
