"""Small videos and scripted detectors for the detection tests (no download, no mediapipe needed).

`write_video` encodes frames with the ffmpeg that imageio-ffmpeg ships (a core requirement);
`walking_person` draws nothing: it is a COCO-17 person whose keypoints move smoothly, and
`ScriptedDetector` hands out scripted candidates frame by frame, as a real backend would.
"""
import importlib.util
from pathlib import Path

import numpy as np

from common.data.layouts import COCO_17
from common.detection.base import Detector

REPO = Path(__file__).resolve().parent.parent
CLIP = REPO / 'tests' / 'data' / 'pose2sim_cam01.mp4'     # 100 frames, 60 fps, 540x960, one person


def load_script(relative, name):
    """A program of the repository (e.g. tools/video_to_3d.py) as a module named `name`."""
    spec = importlib.util.spec_from_file_location(name, REPO / relative)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

# A standing person, COCO-17 order, pixels of a 200 x 300 picture (facing the camera: its left is image right).
STANDING = np.array([
    [100, 40], [106, 35], [94, 35], [112, 38], [88, 38],          # nose, eyes, ears
    [125, 70], [75, 70], [135, 110], [65, 110], [140, 150], [60, 150],   # shoulders, elbows, wrists
    [115, 150], [85, 150], [117, 210], [83, 210], [118, 270], [82, 270],  # hips, knees, ankles
], dtype=np.float64)


def write_video(path, frames, fps=25):
    """(N, H, W, 3) uint8 RGB -> an H.264 .mp4 (or whatever the suffix says) at `fps`."""
    import imageio_ffmpeg
    frames = np.asarray(frames, dtype=np.uint8)
    height, width = frames.shape[1:3]
    writer = imageio_ffmpeg.write_frames(str(path), (width, height), fps=fps, macro_block_size=1,
                                         output_params=['-loglevel', 'error'])
    writer.send(None)
    for frame in frames:
        writer.send(np.ascontiguousarray(frame))
    writer.close()
    return Path(path)


def walking_person(frames, scale=1.0, shift=(0.0, 0.0), speed=1.0):
    """(frames, 17, 3) [x, y, score=0.9]: `STANDING` scaled, shifted and swaying smoothly."""
    t = np.arange(frames)[:, None]
    points = np.repeat(STANDING[None] * scale, frames, axis=0)
    points[..., 0] += shift[0] + speed * t
    points[..., 1] += shift[1] + 3 * np.sin(t / 5.0)
    return np.concatenate([points, np.full(points.shape[:2] + (1,), 0.9)], axis=-1)


class ScriptedDetector(Detector):
    """Returns ``script[i]`` (a list of (17, 3) candidates) for the i-th frame it is given."""

    name = 'scripted'
    layout = COCO_17

    def __init__(self, script):
        self.script = script
        self.frame = 0

    def detect(self, frame):
        assert frame.ndim == 3 and frame.shape[2] == 3 and frame.dtype == np.uint8
        people = self.script[self.frame] if self.frame < len(self.script) else []
        self.frame += 1
        return [np.array(p, dtype=np.float64) for p in people]
