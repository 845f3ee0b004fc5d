"""``yolo9000 predict``'s options (besides its sources): field names are the flags (``save_dir`` =
``--save-dir``); see :meth:`yolo9000.YOLO.predict` for what each does."""
from __future__ import annotations

from dataclasses import dataclass

from yolo9000.fields import option
from yolo9000.models.inference import PRECISIONS


#: ``--weights`` of the commands that load a network to run it (predict, val, export, convert)
WEIGHTS_HELP = ("darknet .weights or checkpoint (.pt); a name from 'yolo9000 download --list' (e.g. "
                "yolov2-voc.weights) downloads once into the cache; 'random': darknet's random initialisation; "
                "none: a zoo name's published weights (downloaded once), a checkpoint's own, else random")


@dataclass(frozen=True)
class PredictOptions:
    model: str = option(help="zoo name, darknet .cfg, a checkpoint (.pt) or an exported raw-head .onnx")
    weights: str | None = option(None, WEIGHTS_HELP)
    imgsz: int | None = option(None, "network input size, a multiple of 32; none: the model's own (the size it was "
                                     "trained and validated at, its cfg's [net] width)")
    exif: bool = option(True, "turn photos upright by their EXIF orientation (--no-exif: darknet's exact decode)")
    conf: float = option(0.25, "score threshold (objectness x P(class))")
    nms: float = option(0.45, "NMS IoU threshold")
    hier: float | None = option(None, "YOLO9000 hierarchy threshold of the top-down walk; none: darknet's 0.5")
    tree_depth: int | None = option(None, "YOLO9000: label boxes at this WordTree depth")
    label_map: str | None = option(None, "YOLO9000: label boxes with a flat label set, a map file of tree nodes "
                                         "(e.g. inet9k.map)")
    names: str | None = option(None, "class names file, one per line")
    batch: int = option(4, "images per forward pass")
    device: str = option("auto", "cpu, cuda, cuda:N, a GPU index (0) or auto (CUDA when present)")
    precision: str = option("fp32", "inference precision: fp32 (darknet-exact), bf16 (CPU with AVX512-BF16/AMX, or "
                                    "CUDA), fp16 (CUDA only); the decode stays float32", choices=PRECISIONS)
    compile: bool = option(False, "compile the inference copy with torch.compile (slow first call; faster after)")
    save_dir: str | None = option(None, "write annotated images (and videos) here")
    save_json: str | None = option(None, "write all detections as a JSON list here")
    save_txt: bool = option(False, "write YOLO-format labels (class cx cy w h, normalised) to "
                                   "--save-dir/labels/<stem>.txt")
    save_conf: bool = option(False, "with --save-txt: the score as a sixth column")
    save_crop: bool = option(False, "write each detection's pixels to --save-dir/crops/<class>/<stem>.jpg")
    exist_ok: bool = option(False, "replace files of the same names already in --save-dir (default: refuse them, "
                                   "with nothing written)")
    classes: tuple[int, ...] | None = option(None, "keep only detections of these class ids")
    max_det: int | None = option(None, "keep at most this many detections per image (none: all, as darknet)")
    skip_bad: bool = option(False, "go on past unreadable inputs; they are listed on stderr and in the JSON")
    ext_output: bool = option(False, "after each image's line, one line per detection as darknet prints them: "
                                     "class, score and the box in pixels (left_x, top_y, width, height)")
    quiet: bool = option(False, "no line per image and no speed line: only the closing counts")


@dataclass(frozen=True)
class TrackOptions(PredictOptions):
    """``yolo9000 track``'s options: ``predict``'s, a lower ``--conf`` (ByteTrack matches low-scored boxes
    too) and the MOT text files."""

    conf: float = option(0.1, "the least score predicted (ByteTrack's low threshold: its second matching uses "
                              "boxes from here to 0.5)")
    save_mot: bool = option(False, "write each video's tracks to --save-dir/mot/<stem>.txt in the MOT Challenge "
                                   "format: frame,id,x,y,w,h,score,-1,-1,-1 (frames from 1, pixels)")
