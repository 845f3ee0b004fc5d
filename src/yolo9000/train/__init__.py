"""Training: one engine (:mod:`.engine`) and three tasks on it: detection (:mod:`.detect`), classification
(:mod:`.classify`) and YOLO9000's joint training (:mod:`.joint`); the region loss (:mod:`.loss`), the
shared options (:mod:`.options`) and their checks (:mod:`.checks`), DDP (:mod:`.distributed`) and the run's
report (:mod:`.report`)."""
from yolo9000.train.classify import ClassifyConfig, train_classifier
from yolo9000.train.detect import TrainConfig, train
from yolo9000.train.joint import JointConfig, train_joint

__all__ = ["ClassifyConfig", "JointConfig", "TrainConfig", "train", "train_classifier", "train_joint"]
