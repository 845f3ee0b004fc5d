"""Networks: darknet layer specs and modules, the zoo, config edits and inference copies. It imports neither
``darknet/`` (darknet's files, which build on it) nor ``checkpoints/`` (networks from files)."""
from yolo9000.models.darknet import Darknet, DarknetConfig, darknet_float_count
from yolo9000.models.zoo import ZOO, zoo_config

__all__ = ["Darknet", "DarknetConfig", "ZOO", "darknet_float_count", "zoo_config"]
