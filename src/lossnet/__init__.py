"""lossnet: choose and use deep perceptual loss networks.

>>> import lossnet
>>> net = lossnet.LossNetwork("vgg16", layers=["M"], weights="imagenet")
>>> features = net(images)            # {"M": tensor}
>>> d = lossnet.distance("lpips", net(x), net(x0))   # one value per image pair
"""

from .distances import DISTANCES, distance
from .loss import PerceptualLoss
from .network import LossNetwork
from .zoo import ARCHITECTURES, LAYER_LABELS, register_architecture

__all__ = [
    "ARCHITECTURES",
    "DISTANCES",
    "LAYER_LABELS",
    "LossNetwork",
    "PerceptualLoss",
    "distance",
    "register_architecture",
]
__version__ = "0.1.0"
