import numpy as np
import pytest
import torch
from sklearn.neighbors import KNeighborsClassifier

from gymlab.vision.data.datasets import load_digits_split
from gymlab.vision.classify.knn import KNearestNeighbor, cross_validate_k, integer_grid, majority_vote, pairwise_distances


@pytest.fixture(scope="module")
def digits():
    ds = load_digits_split(0)
    flat = lambda s: s.x.reshape(len(s), -1).numpy()  # noqa: E731
    return flat(ds.train), ds.train.y.numpy(), flat(ds.test), ds.test.y.numpy()


@pytest.mark.parametrize("metric,sk_metric", [("l2", "euclidean"), ("l1", "manhattan")])
@pytest.mark.parametrize("k", [1, 3, 5])
def test_predictions_equal_sklearn(digits, metric, sk_metric, k):
    xtr, ytr, xte, _ = digits
    ours = KNearestNeighbor(k, metric).fit(xtr, ytr).predict(xte)
    ref = KNeighborsClassifier(k, metric=sk_metric, algorithm="brute").fit(xtr, ytr).predict(xte)
    np.testing.assert_array_equal(ours, ref)


def test_chunked_distances_equal_one_block(digits):
    xtr, ytr, xte, _ = digits
    big = KNearestNeighbor(4, "l2").fit(xtr, ytr)
    tiny = KNearestNeighbor(4, "l2", memory_mb=0.05).fit(xtr, ytr)  # a few rows per chunk
    assert tiny._chunk_rows() < 30
    d1, i1 = big.kneighbors(xte)
    d2, i2 = tiny.kneighbors(xte)
    torch.testing.assert_close(d1, d2)
    np.testing.assert_array_equal(big.predict(xte), tiny.predict(xte))


def test_distances_match_scipy():
    from scipy.spatial.distance import cdist

    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(7, 5)), rng.normal(size=(9, 5))
    for metric, sp in [("l1", "cityblock"), ("l2", "euclidean")]:
        ours = pairwise_distances(torch.from_numpy(a), torch.from_numpy(b), metric).numpy()
        np.testing.assert_allclose(ours, cdist(a, b, sp), rtol=1e-10, atol=1e-10)


def test_vote_ties_go_to_smallest_label_and_labels_are_kept():
    votes = torch.tensor([[2, 1, 2, 1], [0, 3, 3, 0], [4, 4, 4, 1]])
    assert majority_vote(votes, 5).tolist() == [1, 0, 4]
    x = np.array([[0.0], [1.0], [10.0], [11.0]])
    knn = KNearestNeighbor(1, "l1").fit(x, np.array(["a", "a", "z", "z"]))
    assert list(knn.predict(np.array([[0.4], [10.6]]))) == ["a", "z"]
    assert torch.is_tensor(knn.fit(x, [3, 3, 7, 7]).predict(torch.tensor([[9.0]])))


def test_cross_validation_picks_the_best_mean(digits):
    xtr, ytr, _, _ = digits
    best, acc = cross_validate_k(xtr, ytr, ks=(1, 3, 50), folds=3)
    assert set(acc) == {1, 3, 50} and all(len(a) == 3 for a in acc.values())
    means = {k: a.mean() for k, a in acc.items()}
    assert best == max(means, key=means.get)
    assert means[50] < means[1]  # a large k blurs the classes of 8x8 digits
    # fold accuracies equal a KNearestNeighbor fitted on the same fold
    perm = np.random.default_rng(0).permutation(len(ytr))
    val, tr = np.array_split(perm, 3)[0], np.concatenate(np.array_split(perm, 3)[1:])
    assert acc[3][0] == pytest.approx(KNearestNeighbor(3).fit(xtr[tr], ytr[tr]).score(xtr[val], ytr[val]))


def test_errors():
    with pytest.raises(ValueError, match="valid: l1, l2"):
        KNearestNeighbor(1, "cosine")
    with pytest.raises(ValueError, match="call fit"):
        KNearestNeighbor(1).predict(np.zeros((1, 2)))
    with pytest.raises(ValueError, match="exceeds"):
        KNearestNeighbor(5).fit(np.zeros((2, 2)), [0, 1])


# ------------------------------------------------------------------------------ the fast kernels
def _same_neighbours(fast: KNearestNeighbor, xtr, ytr, xq, k):
    exact = KNearestNeighbor(k, "l2", kernel="fp32").fit(xtr, ytr)
    d1, i1 = fast.kneighbors(xq)
    d2, i2 = exact.kneighbors(xq)
    np.testing.assert_array_equal(i1.numpy(), i2.numpy())
    torch.testing.assert_close(d1, d2, rtol=1e-4, atol=1e-3)


def test_integer_grid_finds_pixel_grids():
    rng = np.random.default_rng(0)
    q = torch.as_tensor(rng.integers(0, 256, (50, 20)), dtype=torch.float32)
    q[0, 0], q[0, 1] = 0, 255
    assert integer_grid(q) == (0.0, 1.0, 255)  # raw pixels
    lo, step, levels = integer_grid(q / 255)  # k/255
    assert lo == 0 and levels == 255 and step == pytest.approx(1 / 255)
    d = torch.as_tensor(rng.integers(0, 17, (50, 20)), dtype=torch.float32)
    d[0, 0], d[0, 1] = 0, 16
    assert integer_grid(d / 16 - 3) == (-3.0, 1 / 16, 16)  # digits' k/16, shifted
    assert integer_grid(q * 1.5 + 0.3 * torch.rand_like(q)) is None  # off any grid
    assert integer_grid(torch.arange(300.0)[:, None]) is None  # 300 levels: not int8


@pytest.mark.parametrize("k", [1, 4])
def test_int8_kernel_gives_the_float32_neighbours(digits, k):
    xtr, ytr, xte, _ = digits  # digits are k/16: a 17-level grid
    fast = KNearestNeighbor(k, kernel="int8").fit(xtr, ytr)
    assert fast.kernel == "int8" and fast.grid[2] == 16
    _same_neighbours(fast, xtr, ytr, xte, k)
    rng = np.random.default_rng(1)  # 8-bit pixels, as in MNIST and CIFAR
    xtr8, xq8 = rng.integers(0, 256, (500, 100)).astype(np.float32), rng.integers(0, 256, (40, 100)).astype(np.float32)
    fast = KNearestNeighbor(k, memory_mb=0.05, kernel="int8").fit(xtr8, ytr[:500])
    assert fast.kernel == "int8" and fast._chunk_rows() < 40
    _same_neighbours(fast, xtr8, ytr[:500], xq8, k)
    # queries off the grid go through the float32 formula, with the same answer
    _same_neighbours(fast, xtr8, ytr[:500], xq8 + 0.5, k)


@pytest.mark.parametrize("candidates", [8, 64])
def test_bf16_screening_gives_the_float32_neighbours(candidates):
    """Filter in bfloat16, refine in float32: the float32 answer, including queries whose error window
    holds more points than the candidate list (few candidates: recomputed in float32 entirely)."""
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 1, (5, 64))
    y = rng.integers(0, 5, 2000)
    x = (centres[y] + rng.normal(0, 1.0, (2000, 64))).astype(np.float32)
    xq = (centres[y[:100]] + rng.normal(0, 1.0, (100, 64))).astype(np.float32)
    fast = KNearestNeighbor(5, kernel="bf16", candidates=candidates).fit(x, y)
    _same_neighbours(fast, x, y, xq, 5)
    assert (fast.full_rows > 0) == (candidates == 8)
    np.testing.assert_array_equal(fast.predict(xq), KNeighborsClassifier(5, algorithm="brute").fit(x, y).predict(xq))


def test_kernel_choice_and_errors(digits):
    xtr, ytr, _, _ = digits
    rng = np.random.default_rng(0)
    assert KNearestNeighbor(1, "l1").fit(xtr, ytr).kernel == "fp32"
    assert KNearestNeighbor(1).fit(rng.normal(size=(50, 4)), np.arange(50)).kernel == "fp32"  # small: plain float32
    with pytest.raises(ValueError, match="valid: auto, int8, bf16, pca, fp32"):
        KNearestNeighbor(1, kernel="fp16")
    with pytest.raises(ValueError, match="kernel='pca' needs metric='l2'"):
        KNearestNeighbor(1, "l1", kernel="pca").fit(xtr, ytr)
    with pytest.raises(ValueError, match="pca_dims must be at least 1"):
        KNearestNeighbor(1, pca_dims=0)
    with pytest.raises(ValueError, match="grid of at most 256"):
        KNearestNeighbor(1, kernel="int8").fit(rng.normal(size=(50, 4)), np.arange(50))


def test_auto_picks_a_low_precision_kernel_only_where_it_measured_faster(digits, monkeypatch):
    """auto follows the measured speed of the machine at hand, never the data alone: pixels on a grid go
    to int8 where int8 was measured faster, and to float32 where it was measured slower (as on CPUs
    without VNNI, where torch._int_mm is ~100x slower than a float32 multiply)."""
    from gymlab.vision.classify import knn as knn_module

    xtr, ytr, xte, _ = digits
    key = ("int8", "cpu", xtr.shape[1], torch.get_num_threads(), 128)
    for fp32_cost, int8_cost, expected in [(1.0, 0.25, "int8"), (1.0, 100.0, "fp32"), (1.0, 0.9, "fp32")]:
        monkeypatch.setitem(knn_module._PROBES, key, (fp32_cost, int8_cost, 0.0))
        assert knn_module.kernel_speedup("int8", xtr.shape[1]) == pytest.approx(fp32_cost / int8_cost)
        auto = KNearestNeighbor(3).fit(xtr, ytr)
        assert auto.kernel == expected
        np.testing.assert_array_equal(auto.predict(xte), KNearestNeighbor(3, kernel="fp32").fit(xtr, ytr).predict(xte))
    # a real probe on this machine: a speed-up, cached for the process
    monkeypatch.setattr(knn_module, "_PROBES", {})
    s = knn_module.kernel_speedup("int8", 16, n_train=1000)
    assert s > 0 and list(knn_module._PROBES) == [("int8", "cpu", 16, torch.get_num_threads(), 128)]
    assert knn_module.kernel_speedup("int8", 16, n_train=1000) == s


# ------------------------------------------------------------------------------ the pca bound
def _float64_neighbours(xtr, xq, k):
    """Brute force in float64, equal distances to the smaller training index (a stable sort)."""
    from scipy.spatial.distance import cdist

    d2 = torch.as_tensor(cdist(np.asarray(xq, np.float64), np.asarray(xtr, np.float64), "sqeuclidean"))
    idx = torch.sort(d2, dim=1, stable=True).indices[:, :k]
    return d2.gather(1, idx).sqrt(), idx


def test_pca_bound_is_a_lower_bound(digits):
    """||z(a) - z(b)||^2 <= ||a - b||^2 for every pair (Pythagoras and the triangle inequality), and not a trivial
    one: with 16 of 64 directions it recovers most of the distance on average."""
    xtr, ytr, xte, _ = digits
    knn = KNearestNeighbor(1, kernel="pca", pca_dims=16).fit(xtr, ytr)
    za, zb = knn._pca_z(torch.as_tensor(xte)).double(), knn.pca_Z[:len(xtr)].double()
    lb = torch.cdist(za, zb) ** 2
    d2 = torch.cdist(torch.as_tensor(xte, dtype=torch.float64), torch.as_tensor(xtr, dtype=torch.float64)) ** 2
    assert bool((lb <= d2 * (1 + 1e-5) + 1e-4).all())
    assert float((lb / d2.clamp(min=1e-9)).mean()) > 0.6


@pytest.mark.parametrize("k,dims", [(1, 6), (5, 16), (3, 64)])
def test_pca_kernel_gives_the_exact_neighbours(digits, k, dims):
    """Same indices as float64 brute force on digits (one point a block) and on 5000 x 100 clustered floats
    (64 points a block), for a loose bound (few directions: many points pass) and a tight one."""
    xtr, ytr, xte, _ = digits
    fast = KNearestNeighbor(k, kernel="pca", pca_dims=dims).fit(xtr, ytr)
    assert fast.kernel == "pca" and fast.pca_block == 1
    d, i = fast.kneighbors(xte)
    d_ref, i_ref = _float64_neighbours(xtr, xte, k)
    np.testing.assert_array_equal(i.numpy(), i_ref.numpy())
    torch.testing.assert_close(d.double(), d_ref, rtol=1e-6, atol=1e-6)
    rng = np.random.default_rng(k)
    centres = rng.normal(0, 3, (10, 100))
    y = rng.integers(0, 10, 5000)
    x = (centres[y] + rng.normal(0, 1, (5000, 100)) * rng.uniform(0.1, 2, 100)).astype(np.float32)
    xq = (centres[y[:100]] + rng.normal(0, 1, (100, 100))).astype(np.float32)
    fast = KNearestNeighbor(k, kernel="pca", pca_dims=dims, memory_mb=1.0).fit(x, y)
    assert fast.pca_block == 64 and fast._chunk_rows() < 100
    np.testing.assert_array_equal(fast.kneighbors(xq)[1].numpy(), _float64_neighbours(x, xq, k)[1].numpy())
    np.testing.assert_array_equal(fast.predict(xq), KNeighborsClassifier(k, algorithm="brute").fit(x, y).predict(xq))


def test_pca_kernel_ties_go_to_the_smaller_index():
    """Every training point twice (and a query on a training point): equal distances at the k-th place go to
    the smaller training index, as in a stable sort."""
    rng = np.random.default_rng(0)
    base = rng.normal(size=(2500, 40)).astype(np.float32)
    x = np.concatenate([base, base])
    xq = np.concatenate([base[:5], rng.normal(size=(20, 40)).astype(np.float32)])
    knn = KNearestNeighbor(3, kernel="pca", pca_dims=8).fit(x, np.arange(5000) % 7)
    _, i = knn.kneighbors(xq)
    np.testing.assert_array_equal(i.numpy(), _float64_neighbours(x, xq, 3)[1].numpy())
    assert i[0].tolist()[:2] == [0, 2500]


def test_auto_picks_the_fastest_kernel_it_measured_end_to_end(digits, monkeypatch):
    """Where pca is a candidate, auto times it (and int8, if the micro-benchmark passed it) against float32
    end to end on the data at hand and takes the fastest; a kernel it does not choose keeps nothing."""
    from gymlab.vision.classify import knn as knn_module

    xtr, ytr, xte, _ = digits
    monkeypatch.setattr(knn_module, "PCA_MIN_WORK", 0)  # digits are below the size where auto tries it
    key = ("int8", "cpu", 64, torch.get_num_threads(), 128)
    expected = KNearestNeighbor(3, kernel="fp32").fit(xtr, ytr).predict(xte)
    for int8_probe, measured, kernel in [(100.0, {"pca": 5.0}, "pca"),  # int8 slow (no VNNI): pca or fp32
                                         (100.0, {"pca": 1.1}, "fp32"),
                                         (0.25, {"int8": 2.0, "pca": 5.0}, "pca"),
                                         (0.25, {"int8": 3.0, "pca": 1.5}, "int8")]:
        monkeypatch.setitem(knn_module._PROBES, key, (1.0, int8_probe, 0.0))
        asked = []
        monkeypatch.setattr(KNearestNeighbor, "_measure_speedups",
                            lambda self, kernels, m=measured: (asked.append(list(kernels)), m)[1])
        auto = KNearestNeighbor(3).fit(xtr, ytr)
        assert asked == [list(measured)] and auto.kernel == kernel
        assert hasattr(auto, "pca_Z") == (kernel == "pca") and hasattr(auto, "X_int8") == (kernel == "int8")
        np.testing.assert_array_equal(auto.predict(xte), expected)
    monkeypatch.undo()
    real = KNearestNeighbor(3, kernel="fp32").fit(xtr, ytr)
    real.grid = integer_grid(real.X_train)
    speedups = real._measure_speedups(["int8", "pca"])  # a real measurement, end to end
    assert set(speedups) == {"int8", "pca"} and all(s > 0 for s in speedups.values()) and real.kernel == "fp32"
