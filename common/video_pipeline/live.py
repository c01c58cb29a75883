"""The pipeline on a live source: a camera (``0``, ``1`` ...), a stream URL, or a file played at its frame rate.

    stats = run_live('0', LiftSettings(), make_detector=MediaPipePose, max_frames=300)

Frames come from OpenCV (``cv2.VideoCapture``, the video extra). A camera or a stream delivers its
frames at its own rate; a file is played at the rate it states (`LiveSource`), so that it behaves
as a camera would: when the work of one frame takes longer than the time between frames, the
frames that went by meanwhile are dropped, as a camera's driver drops them, and the poses stay
current instead of falling further and further behind.

Per frame (no look-ahead): the detector, `common.detection.OnlineTrack` (one person, swaps, gaps),
`KeypointCodec` (COCO pixels -> normalised Human3.6M), `common.streaming.Lifter` (the pose of the
frame whose window just completed: a centred model waits (F-1)/2 frames, a causal one none), the
root made the origin, the One-Euro filter (`smoothing.OneEuroStream`, causal) and the placement of
that frame alone (`scene.fit_trajectory` without the temporal prior). Bones (unless ``fit_bones`` is
off): `skeleton.CausalBoneLengths` learns their lengths from the raw poses of the first
`skeleton.LIVE_BONE_WARMUP_SECONDS` (a running median, then frozen) and every pose, after the
filter, is fitted to the lengths known at its moment, scaled to ``person_height`` when given; so
the bones hold one length from the end of the warm-up on, and the placement sees that skeleton.

Latency of a pose: from the moment its frame arrived (a file: its due time) to the moment the pose is
ready, so it includes the model's wait for later frames.
"""
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from common.data.layouts import H36M_17
from common.data.types import Symmetry
from common.errors import UserError
from common.io.native_output import native_stderr_silenced
from common.video_pipeline.codec import KeypointCodec
from common.video_pipeline.scene import default_focal_length, fit_trajectory, keypoint_noise
from common.video_pipeline.skeleton import CausalBoneLengths, live_warmup_poses, standing_height
from common.video_pipeline.smoothing import OneEuroStream

FALLBACK_FPS = 30.0


class LiveSource:
    """Frames of a camera index, a URL or a file (played at its stated rate), through OpenCV.

    ``frames()`` yields ``(index, arrival seconds, (H, W, 3) uint8 RGB)``; ``fps``, ``size`` (width,
    height), ``dropped`` (frames skipped to keep up). UserError (setting ``camera``) when it cannot be opened.
    """

    def __init__(self, source, clock=time.perf_counter):
        try:
            import cv2
        except ImportError:
            raise UserError('live input needs OpenCV (cv2), which is not installed; pip install -r '
                            'requirements-video.txt', setting='camera') from None
        self._cv2, self.clock = cv2, clock
        self.name = str(source)
        self.paced = Path(str(source)).is_file()
        device = int(source) if str(source).isdigit() else str(source)
        with native_stderr_silenced():             # OpenCV's and ffmpeg's own lines; our error says it once
            self._capture = cv2.VideoCapture(device)
            ok, first = self._capture.read() if self._capture.isOpened() else (False, None)
        if not ok:
            self._capture.release()
            kind = 'camera' if isinstance(device, int) else ('file' if self.paced else 'stream')
            raise UserError(f'{source}: cannot open the {kind} or read a frame from it (check the camera index '
                            'or the URL, and that no other program holds the camera)', setting='camera')
        self._first = first
        self.fps = float(self._capture.get(cv2.CAP_PROP_FPS) or 0) or FALLBACK_FPS
        self.size = (int(first.shape[1]), int(first.shape[0]))
        self.dropped = 0

    def frames(self):
        cv2 = self._cv2
        start = self.clock()
        index, frame = 0, self._first
        while frame is not None:
            arrival = start + index / self.fps if self.paced else self.clock()
            yield index, arrival, cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
            index += 1
            if self.paced:
                due = int((self.clock() - start) * self.fps)          # the frame a camera would show now
                while index < due and self._capture.grab():          # skipped ones are not decoded
                    index += 1
                    self.dropped += 1
                wait = start + index / self.fps - self.clock()
                if wait > 0:
                    time.sleep(wait)
            ok, frame = self._capture.read()
            if not ok:
                frame = None

    def close(self):
        self._capture.release()


@dataclass
class LiveStats:
    """What a live run did: frames read / lifted, poses (N, 17, 3) root-relative and (N, 3) trajectory of the
    frames lifted, latencies (seconds, one per pose made while the stream ran), the model's wait in frames;
    bones: the `skeleton.CausalBoneLengths` the poses were fitted with (None: not fitted)."""
    source: str
    fps: float
    frames: int = 0
    dropped: int = 0
    seconds: float = 0.0
    wait_frames: int = 0
    latencies: list = field(default_factory=list)
    poses: list = field(default_factory=list)
    trajectory: list = field(default_factory=list)
    bones: CausalBoneLengths | None = None

    def describe(self):
        done = len(self.poses)
        rate = self.frames / self.seconds if self.seconds else float('nan')
        line = (f'live {self.source}: {self.frames} frames lifted at {rate:.1f} frames/s ({self.fps:g} fps source, '
                f'{self.dropped} frames dropped to keep up), {done} poses')
        if self.latencies:
            ms = np.array(self.latencies) * 1000
            line += (f'; latency median {np.median(ms):.0f} ms, 95th percentile {np.percentile(ms, 95):.0f} ms '
                     f'(the model waits for {self.wait_frames} later frames: {self.wait_frames / rate * 1000:.0f} ms '
                     f'at {rate:.1f} frames/s)')
        if self.bones is not None and self.bones.lengths is not None:
            state = ('frozen' if self.bones.frozen else
                     f'not yet frozen: {self.bones.warmup} poses needed') + f' after {self.bones.poses_seen} poses'
            line += f'; bones fitted ({state}), skeleton height {standing_height(self.bones.lengths):.2f} m'
        return line


def run_live(source, lifter, make_detector, max_frames=None, on_pose=None, clock=time.perf_counter):
    """Lift a live source frame by frame with `lifter` (a `VideoLifter`: its model and settings); returns `LiveStats`.

    make_detector: the 2D backend's factory; max_frames: stop after that many frames (None: until the
    source ends or Ctrl-C); on_pose(stats): called after each pose (e.g. to print progress).
    """
    from common.detection.tracking import OnlineTrack
    from common.streaming import Lifter
    settings = lifter.settings
    video = LiveSource(source, clock)
    codec = KeypointCodec(*video.size)
    symmetry = Symmetry(list(H36M_17.left), list(H36M_17.right), list(H36M_17.left), list(H36M_17.right))
    stream = Lifter(lifter.model, symmetry=symmetry, tta=settings.tta, device=settings.device)
    smoother = OneEuroStream(video.fps, settings.smoothing) if settings.smoothing is not None else None
    focal = settings.focal_length or default_focal_length(*video.size)
    centre, noise = (video.size[0] / 2, video.size[1] / 2), keypoint_noise(*video.size)
    stats = LiveStats(source=str(source), fps=video.fps, wait_frames=stream.latency_frames)
    if settings.fit_bones:
        stats.bones = CausalBoneLengths(H36M_17.parents, live_warmup_poses(video.fps), settings.person_height)
    waiting = deque()                                          # (arrival, pixels) of frames pushed, not yet posed
    track = OnlineTrack(settings.min_confidence)
    start = clock()

    def finish(pose, arrival, pixels, live=True):
        pose = codec.root_relative(pose[None])[0]
        if stats.bones is not None:
            stats.bones.update(pose)                                  # the raw pose's bones, as offline
        if smoother is not None:
            pose = codec.root_relative(smoother.step(pose)[None])[0]
        if stats.bones is not None:
            pose = stats.bones.fit(pose)
        root = fit_trajectory(pose[None], pixels[None], np.ones((1, len(pixels))), focal, centre, video.fps, noise,
                              acceleration=None)[0]
        stats.poses.append(pose)
        stats.trajectory.append(root.astype(np.float32))
        if live:
            stats.latencies.append(clock() - arrival)
        if on_pose is not None:
            on_pose(stats)

    try:
        with make_detector() as detector:
            for index, arrival, picture in video.frames():
                keypoints = track.push(detector.detect(picture))
                stats.frames += 1
                if keypoints is not None:
                    pixels = codec.pixels(keypoints[None])[0]
                    waiting.append((arrival, pixels))
                    pose = stream.push(codec.normalise(pixels[None])[0])
                    if pose is not None:
                        finish(pose, *waiting.popleft())
                if max_frames is not None and stats.frames >= max_frames:
                    break
            stats.seconds = clock() - start
            for pose in stream.flush():                          # the last frames' poses (the stream ended)
                finish(pose, *waiting.popleft(), live=False)
    finally:
        stats.dropped = video.dropped
        video.close()
    return stats
