"""yolo9000: YOLOv2 and YOLO9000 (Redmon & Farhadi, CVPR 2017) in PyTorch, exact to darknet."""
from .api import YOLO, load_model
from .errors import Yolo9000Error
from .models import ZOO, Darknet, DarknetConfig, zoo_config
from .results import Results

__version__ = "0.1.0"
__all__ = ["YOLO", "Darknet", "DarknetConfig", "Results", "Yolo9000Error", "ZOO", "load_model", "zoo_config"]
