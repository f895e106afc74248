"""The transformation network: shapes, output range, upsampling blocks per scale, reflection padding."""

import pytest
import torch
from torch import nn

from lossnet.benchmarks.superres.model import TransformNet


@pytest.mark.parametrize("scale, blocks", [(4, 2), (8, 3)])
def test_output_shape_and_range(scale, blocks):
    model = TransformNet(scale).eval()
    lr = torch.rand(2, 3, 7, 11)  # odd, non-square: the network is fully convolutional
    with torch.no_grad():
        sr = model(lr)
    assert sr.shape == (2, 3, 7 * scale, 11 * scale)
    assert 0 <= float(sr.min()) and float(sr.max()) <= 1
    assert sum(isinstance(m, nn.Upsample) for m in model.modules()) == blocks


def test_every_convolution_pads_by_reflection():
    model = TransformNet(4)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    pads = [m for m in model.modules() if isinstance(m, nn.ReflectionPad2d)]
    assert len(convs) == len(pads) == 1 + 4 * 2 + 2 + 1
    assert all(conv.padding == (0, 0) for conv in convs)
    assert [conv.kernel_size for conv in (convs[0], convs[-1])] == [(9, 9), (9, 9)]


def test_unknown_scale():
    with pytest.raises(ValueError, match="scale must be one of"):
        TransformNet(3)
