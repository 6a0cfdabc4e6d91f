"""Conv encoders: shapes, channel layouts, uint8 scaling."""
import torch

from gymlab.vision.nn.encoders import ConvEncoder, NatureCNN, to_chw_float


def test_conv_encoder_accepts_both_layouts_and_agrees():
    torch.manual_seed(0)
    last = ConvEncoder((20, 12, 3), features_dim=32, channels_last=True)
    first = ConvEncoder((3, 20, 12), features_dim=32, channels_last=False)
    first.load_state_dict(last.state_dict())
    x = torch.randint(0, 256, (5, 20, 12, 3), dtype=torch.uint8)
    z = last(x)
    assert z.shape == (5, 32) and last.features_dim == 32
    torch.testing.assert_close(z, first(x.permute(0, 3, 1, 2)))
    torch.testing.assert_close(z, last(x.float() / 255))  # uint8 is scaled to [0, 1]


def test_tiny_frames_and_nature_cnn():
    assert ConvEncoder((5, 5, 1), features_dim=8)(torch.zeros(2, 5, 5, 1, dtype=torch.uint8)).shape == (2, 8)
    assert NatureCNN((4, 84, 84))(torch.zeros(2, 4, 84, 84)).shape == (2, 512)
    assert to_chw_float(torch.full((1, 2, 2, 1), 255, dtype=torch.uint8), True).shape == (1, 1, 2, 2)
