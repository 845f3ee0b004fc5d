"""Networks: darknet layer specs and modules, the zoo, and darknet ``.cfg`` parsing."""
from .darknet import Darknet, DarknetConfig, darknet_float_count
from .zoo import ZOO, zoo_config

__all__ = ["Darknet", "DarknetConfig", "ZOO", "darknet_float_count", "zoo_config"]
