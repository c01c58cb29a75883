"""Video -> 2D -> 3D in one object: detection, person choice, gaps, lifting, placement, bones, smoothing.

    from common.video_pipeline import lift_video
    result = lift_video('clip.mp4')             # a `VideoResult`
    result.poses_camera                         # (N, 17, 3) metres, camera frame

`VideoLifter(settings)` loads and checks the model when made (before any detection: a checkpoint
that does not lift Human3.6M-17 joints from COCO keypoints converted to Human3.6M, by joint count
AND recorded layout, is refused as every program refuses it: `common.model.loading.check_data_fit`),
then ``lift(path)`` runs the stages on one video:

1. 2D (`common.detection.video.detect_video`, one decode of the video): the detector on every
   frame, one person kept, left/right swaps repaired, gaps filled;
2. lift: `KeypointCodec` (pixels -> normalised Human3.6M-17) and PoseFormer on every frame
   (`common.evaluation.predict_sequence`, flip test-time augmentation unless ``tta`` is off); the
   prediction made root-relative (joint 0 subtracted from every joint): the stage ``'raw'``;
3. bones (`skeleton`, unless ``fit_bones`` is off): one length per bone for the video (median;
   scaled to ``person_height`` when given), every frame fitted to it: the stage ``'fitted'``;
4. smoothing (`smoothing.one_euro`, unless ``smoothing`` is None) of the raw poses, then the bones
   fitted again: the stage ``'smoothed'``; the last stage made is the result's ``poses``;
5. placement (`scene.fit_trajectory`): the camera-frame pelvis per frame from the 2D keypoints
   through a pinhole camera of focal length ``focal_length`` (default: `scene.default_focal_length`).

Everything is in memory; nothing is written (see `common.video_pipeline.outputs`).
"""
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from common.data.custom import DEFAULT_FPS
from common.data.layouts import H36M_17
from common.data.types import Symmetry
from common.errors import UserError
from common.video_pipeline.codec import KeypointCodec
from common.video_pipeline.scene import check_focal_length, default_focal_length, fit_trajectory, keypoint_noise
from common.video_pipeline.skeleton import bone_lengths, check_person_height, fit_bones, scale_to_height
from common.video_pipeline.smoothing import OneEuro, one_euro

REPO = Path(__file__).resolve().parents[2]
DEFAULT_CHECKPOINT = 'models/embedded_f9.bin'      # relative to the repository; the model that ships with it


@dataclass(frozen=True)
class LiftSettings:
    """How a video is lifted (see the module); each field is also the name of the setting in messages.

    checkpoint: a PoseFormer checkpoint file (None: `DEFAULT_CHECKPOINT`); min_confidence: 2D
    joints scored lower are interpolated over time; tta: flip test-time augmentation; focal_length:
    pixels (None: `default_focal_length`); fit_bones: one length per bone; smoothing: the One-Euro
    filter's parameters, or None for no smoothing; device: where the model runs; person_height: metres,
    the fitted skeleton scaled to that standing height (`skeleton.standing_height`) before the placement,
    so the distance scales with it (None: the model's own size; needs ``fit_bones``).
    """
    checkpoint: str | None = None
    min_confidence: float = 0.3
    tta: bool = True
    focal_length: float | None = None
    fit_bones: bool = True
    smoothing: OneEuro | None = field(default_factory=OneEuro)
    device: str = 'cpu'
    person_height: float | None = None


@dataclass
class VideoResult:
    """One video lifted. Arrays: N frames, Human3.6M-17 joints (`joints`), metres, camera frame (x right,
    y down, z away from the camera) unless said otherwise.

    keypoints: the 2D stage's `common.detection.video.VideoKeypoints` (COCO-17 pixels, scores, report);
    pixels / weights: (N, 17, 2) Human3.6M-17 pixels and (N, 17) confidences the placement uses;
    stages: ``{'raw' | 'fitted' | 'smoothed': (N, 17, 3)}`` root-relative poses (joint 0 at the origin);
    poses: the last stage; trajectory: (N, 3) the pelvis in the camera frame; poses_camera: poses + trajectory;
    bone_lengths: (17,) each joint's bone to its parent (0 for the root), or None when not fitted;
    focal_length: pixels, and whether it was given (else the default); fps: the video's frame rate, or
    None (then `DEFAULT_FPS` served the filter and the trajectory's prior); checkpoint / frames_per_window:
    the model; detector_3d: (N, 17, 3) the detector's own 3D (root-relative) or None.
    """
    name: str
    keypoints: object
    pixels: np.ndarray
    weights: np.ndarray
    stages: dict
    trajectory: np.ndarray
    bone_lengths: np.ndarray | None
    focal_length: float
    focal_length_given: bool
    fps: float | None
    checkpoint: str
    frames_per_window: int
    detector_3d: np.ndarray | None
    joints: object = H36M_17

    @property
    def poses(self):
        return list(self.stages.values())[-1]

    @property
    def poses_camera(self):
        return (self.poses + self.trajectory[:, None, :]).astype(np.float32)

    @property
    def frames(self):
        """(N,) int: the video frame of each row (``keypoints.first_frame`` on: a person of several covers
        the frames from their first to their last detection; the one-person path every frame)."""
        return np.arange(len(self.poses)) + int(getattr(self.keypoints, 'first_frame', 0))

    @property
    def width(self):
        return self.keypoints.width

    @property
    def height(self):
        return self.keypoints.height

    @property
    def centre(self):
        return (self.width / 2.0, self.height / 2.0)

    @property
    def rate(self):
        """The frame rate the filters use: the video's, else `DEFAULT_FPS`."""
        return self.fps or float(DEFAULT_FPS)

    def place(self, poses):
        """(N, 17, 3) root-relative poses -> (N, 3) their camera-frame pelvis (`scene.fit_trajectory`)."""
        return fit_trajectory(poses, self.pixels, self.weights, self.focal_length, self.centre, self.rate,
                              keypoint_noise(self.width, self.height)).astype(np.float32)


def resolve_checkpoint(given):
    """The checkpoint file to use (`DEFAULT_CHECKPOINT` when None); UserError (setting ``checkpoint``) otherwise."""
    if given is None:
        path = REPO / DEFAULT_CHECKPOINT
        if not path.is_file():
            raise UserError(f'not given and the default model {DEFAULT_CHECKPOINT} is not in this copy; give a '
                            'PoseFormer checkpoint (e.g. checkpoint/synthetic/best_epoch.bin after the README\'s '
                            'quick start)', setting='checkpoint')
        return path
    path = Path(given)
    if path.is_dir():
        inside = sorted(p.name for p in path.glob('*.bin'))[:3]
        raise UserError(f'{given}: is a folder; give the checkpoint file inside it'
                        + (f' (e.g. {path / inside[0]})' if inside else ''), setting='checkpoint')
    if not path.is_file():
        raise UserError(f'{given}: checkpoint file not found', setting='checkpoint')
    return path


class VideoLifter:
    """The pipeline (see the module). Made once, it lifts any number of videos with the same model."""

    def __init__(self, settings=LiftSettings(), model=None):
        """``model``: an already built ``PoseTransformer`` lifting Human3.6M-17 joints (e.g. for a benchmark
        with random weights); then ``settings.checkpoint`` is not read."""
        from common.io.checkpoint import load_checkpoint
        from common.model.loading import check_data_fit, checkpoint_layouts, model_from_checkpoint
        self.settings = settings
        if settings.focal_length is not None:
            check_focal_length(settings.focal_length)
        if settings.person_height is not None:
            check_person_height(settings.person_height)
            if not settings.fit_bones:
                raise UserError(f'{settings.person_height}: sets the size of the fitted skeleton; the bones are '
                                'not fitted (bone fitting is switched off)', setting='person_height')
        if model is not None:
            self.checkpoint, self.model, self.notes = '(a model given in memory)', model.eval(), []
            return
        self.checkpoint = resolve_checkpoint(settings.checkpoint)
        loaded = load_checkpoint(self.checkpoint)
        self.model = model_from_checkpoint(str(self.checkpoint), device=settings.device, checkpoint=loaded)
        try:
            self.notes = check_data_fit(loaded, str(self.checkpoint), 'video', H36M_17, H36M_17)
        except UserError:
            joints, keypoints, stored = checkpoint_layouts(loaded, str(self.checkpoint))
            known = f' ({"trained on" if stored else "presumably"} {joints!r} joints from {keypoints!r} keypoints)' \
                if joints else ''
            raise UserError(f'{self.checkpoint}: the model lifts {self.model.num_joints} joints{known}, but a video '
                            'gives the 17 Human3.6M joints (COCO keypoints converted); use a model trained on a '
                            'Human3.6M-layout dataset (Human3.6M or the embedded synthetic data)', setting='checkpoint') from None
        if getattr(self.model, 'in_chans', 2) != 2:
            raise UserError(f'{self.checkpoint}: the model reads {self.model.in_chans} values per joint, the '
                            'detector gives (x, y)', setting='checkpoint')

    def lift(self, path, progress=False, warn=None, make_detector=None):
        """Run every stage on the video file `path`; returns a `VideoResult`.

        warn(message): receives the warnings (a truncated file, joints never confident); make_detector:
        the 2D backend (default: `common.detection.MediaPipePose`). Raises UserError for an unreadable
        video or one without a person.
        """
        from common.detection.video import detect_video
        if make_detector is None:
            from common.detection.mediapipe_pose import MediaPipePose as make_detector
        detected = detect_video(path, make_detector, self.settings.min_confidence, progress=progress, warn=warn,
                                setting='video')
        return self.lift_keypoints(detected, progress=progress)

    def lift_people(self, path, choice='all', progress=False, warn=None, make_detector=None):
        """Every person `choice` names ('all', 'largest' or an id) of the video file `path`, each lifted by
        `lift_keypoints`; returns a `common.video_pipeline.people.PeopleResult` (see that module)."""
        from common.video_pipeline.people import lift_people
        return lift_people(self, path, choice, progress=progress, warn=warn, make_detector=make_detector)

    def lift_keypoints(self, detected, progress=False):
        """The 3D stages on a 2D stage's result (`common.detection.video.VideoKeypoints`, COCO-17)."""
        from common.evaluation import predict_sequence
        codec = KeypointCodec(detected.width, detected.height)
        pixels = codec.pixels(detected.keypoints)
        symmetry = Symmetry(list(H36M_17.left), list(H36M_17.right), list(H36M_17.left), list(H36M_17.right))
        raw = predict_sequence(self.model, codec.normalise(pixels), symmetry, tta=self.settings.tta,
                               device=self.settings.device, progress=progress)
        stages = {'raw': codec.root_relative(raw)}
        lengths = None
        fps = detected.fps
        rate = fps or float(DEFAULT_FPS)
        if self.settings.fit_bones:
            lengths = scale_to_height(bone_lengths(stages['raw'], H36M_17.parents), self.settings.person_height)
            stages['fitted'] = fit_bones(stages['raw'], H36M_17.parents, lengths)
        if self.settings.smoothing is not None:
            smoothed = codec.root_relative(one_euro(stages['raw'], rate, self.settings.smoothing))
            stages['smoothed'] = smoothed if lengths is None else fit_bones(smoothed, H36M_17.parents, lengths)
        given = self.settings.focal_length is not None
        focal = float(self.settings.focal_length) if given else default_focal_length(detected.width, detected.height)
        world = None if detected.world is None else codec.root_relative(codec.points_3d(detected.world))
        result = VideoResult(name=detected.name, keypoints=detected, pixels=pixels,
                             weights=codec.weights(detected.scores), stages=stages, trajectory=None,
                             bone_lengths=lengths, focal_length=focal, focal_length_given=given, fps=fps,
                             checkpoint=str(self.checkpoint), frames_per_window=int(self.model.num_frame),
                             detector_3d=world)
        result.trajectory = result.place(result.poses)
        return result


def lift_video(path, settings=None, progress=False, warn=None, **fields):
    """Lift one video file with a new `VideoLifter`: ``lift_video('clip.mp4', focal_length=1200)``.

    `settings`: a `LiftSettings`, or its fields as keyword arguments. Returns a `VideoResult`.
    """
    if settings is not None and fields:
        raise TypeError(f'lift_video: give either settings or its fields ({", ".join(fields)}), not both')
    if settings is None:
        settings = LiftSettings(**fields)
    return VideoLifter(settings).lift(path, progress=progress, warn=warn)
