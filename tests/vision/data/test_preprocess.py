import pytest
import torch

from gymlab.vision.data.preprocess import augment_batch, fit_normalization


def test_per_channel_and_mean_image_statistics():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(200, 3, 6, 6, generator=g) * torch.tensor([1.0, 2.0, 3.0]).view(1, 3, 1, 1) + 5
    y = fit_normalization(x, "channel")(x)
    torch.testing.assert_close(y.mean(dim=(0, 2, 3)), torch.zeros(3), atol=1e-5, rtol=0)
    torch.testing.assert_close(y.std(dim=(0, 2, 3)), torch.ones(3), atol=1e-4, rtol=0)
    norm = fit_normalization(x, "image")
    assert norm.mean.shape == (3, 6, 6)
    torch.testing.assert_close(norm(x).mean(0), torch.zeros(3, 6, 6), atol=1e-5, rtol=0)
    centred = fit_normalization(x, "image", scale=False)(x)
    torch.testing.assert_close(centred, x - x.mean(0), atol=1e-5, rtol=0)
    torch.testing.assert_close(norm.inverse(norm(x)), x, atol=1e-5, rtol=0)


def test_statistics_come_from_training_data_only_and_constant_pixels_survive():
    train = torch.zeros(10, 1, 2, 2)
    train[:, 0, 0, 0] = torch.arange(10.0)
    norm = fit_normalization(train, "image")
    test = torch.full((1, 1, 2, 2), 4.5)
    out = norm(test)
    assert out[0, 0, 0, 0].item() == pytest.approx(0.0)  # 4.5 is the training mean of that pixel
    assert out[0, 0, 1, 1].item() == pytest.approx(4.5)  # constant pixel: std replaced by 1
    with pytest.raises(ValueError, match="valid: image, channel"):
        fit_normalization(train, "pixel")


def test_crop_is_a_shift_and_flip_a_mirror():
    x = torch.arange(2 * 1 * 5 * 5, dtype=torch.float32).view(2, 1, 5, 5) + 1
    out = augment_batch(x, pad=2, flip=False, generator=torch.Generator().manual_seed(3))
    for img, src in zip(out, x):
        # every crop of a zero-padded image is the source shifted: find the shift
        padded = torch.nn.functional.pad(src, (2, 2, 2, 2))
        assert any(torch.equal(img, padded[:, dy:dy + 5, dx:dx + 5]) for dy in range(5) for dx in range(5))
    flipped = augment_batch(x.repeat(20, 1, 1, 1), flip=True, generator=torch.Generator().manual_seed(0))
    same = [torch.equal(f, s) for f, s in zip(flipped, x.repeat(20, 1, 1, 1))]
    mirrored = [torch.equal(f, s.flip(-1)) for f, s in zip(flipped, x.repeat(20, 1, 1, 1))]
    assert all(a or b for a, b in zip(same, mirrored)) and 5 < sum(mirrored) < 35
