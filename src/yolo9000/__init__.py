"""yolo9000: YOLOv2 and YOLO9000 (Redmon & Farhadi, CVPR 2017) in PyTorch, exact to darknet."""
from yolo9000.api import YOLO, load_model
from yolo9000.errors import Yolo9000Error
from yolo9000.models import ZOO, Darknet, DarknetConfig, zoo_config
from yolo9000.predict.results import Results
from yolo9000.version import __version__  # noqa: F401 (yolo9000.__version__)

__all__ = ["YOLO", "Darknet", "DarknetConfig", "Results", "Yolo9000Error", "ZOO", "load_model", "zoo_config"]
