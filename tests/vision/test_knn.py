import numpy as np
import pytest
import torch
from sklearn.neighbors import KNeighborsClassifier

from vision.datasets import load_digits_split
from vision.knn import KNearestNeighbor, cross_validate_k, majority_vote, pairwise_distances


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
