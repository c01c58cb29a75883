"""Several people in one video: people found per frame against a count made by eye, identity switches, speed.

    python benchmarks/bench_multi_person.py                          # the two-person test clip
    python benchmarks/bench_multi_person.py --video my.mp4 --by-eye 3 --threads 1

Needs the video extra (``pip install -r requirements-video.txt``). The frames are decoded once into
memory (decoding is not timed). Detectors compared, each on every frame (a fresh detector per run,
its first frame not timed):

- ``mediapipe pose``: the single-person MediaPipe Pose solution (`common.detection.MediaPipePose`),
  the default of the one-person path;
- ``opencv hog``: OpenCV's built-in HOG people detector (boxes only; a box is counted when its SVM
  weight exceeds 0.5), the detector that ships inside opencv;
- ``blazepose multi``: `common.detection.multi_person.MultiPersonPose` (BlazePose's person detector
  on the picture and its tiles, its landmark model per person).

Columns: people found per frame (mean, and the share of frames where it equals the count by eye);
recall: people found / people seen by eye, each frame's found count capped at its by-eye count;
for the pose detectors, after `common.detection.multi_tracking.track_people`: the people kept and
the identity switches, counted as (a) frames where a kept track's hips jump more than a third of
its size from one frame with a detection to the next (the track went over to another body) plus
(b) the kept tracks beyond the count by eye (someone split into several ids); detection ms/frame
(median) and frames/s; the lift per person: the 3D stages of ``tools/video_to_3d.py --person``
(`VideoLifter.lift_keypoints` on `common.detection.people.person_keypoints`: codec, PoseFormer with
flip TTA, bone fitting, One-Euro, placement; full-size configuration, seeded random weights: speed does
not depend on them; F = ``--lift-frames``) on each kept person's frames, in ms per frame and person
(median over the people); and the whole offline run's frames/s with every kept person lifted:
1000 / (detect ms + lift ms x people kept), decoding and drawing left out.

The count by eye of the test clip: two people in every one of its 100 frames, nobody else (every
10th frame looked at; see tests/test_multi_person_video.py). For another video give ``--by-eye N``
(the same count in every frame).
"""
import argparse
import os
import sys
import time
from pathlib import Path

if __package__ in (None, ''):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks import common_bench as cb  # noqa: E402  (path set up above)

CLIP = os.path.join(cb.ROOT, 'tests', 'data', 'pose2sim_multi_cam04.mp4')
CLIP_BY_EYE = 2
HOG_MIN_WEIGHT = 0.5
SWITCH_JUMP = 1 / 3         # of the person's size: a track's hips jumping this far went to another body


def read_frames(path):
    from common.detection.video import open_video
    with open_video(path, setting='video') as video:
        return [frame.copy() for frame in video.frames()], video.fps


class HogPeople:
    """OpenCV's HOG people detector as a counter: one (17, 3) NaN entry per box (no keypoints)."""

    name = 'opencv hog'

    def __enter__(self):
        import cv2
        self._hog = cv2.HOGDescriptor()
        self._hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
        return self

    def __exit__(self, *exc):
        pass

    def detect(self, frame):
        import cv2
        import numpy as np
        boxes, weights = self._hog.detectMultiScale(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), winStride=(4, 4),
                                                    padding=(8, 8), scale=1.05)
        count = int((np.asarray(weights).ravel() > HOG_MIN_WEIGHT).sum()) if len(boxes) else 0
        return [None] * count


def identity_switches(people, by_eye):
    """Hips jumps beyond `SWITCH_JUMP` of the size between consecutive detections, plus extra tracks."""
    import numpy as np
    jumps = 0
    for person in people:
        frames = np.flatnonzero(person.detected)
        hips = person.keypoints[frames][:, [11, 12], :2].mean(axis=1)
        jumps += int((np.linalg.norm(np.diff(hips, axis=0), axis=-1) > SWITCH_JUMP * person.mean_size()).sum())
    return jumps + max(0, len(people) - by_eye)


def lift_ms_per_person_frame(detected, num_frame, threads):
    """Median over the people of `detected` (`PeopleKeypoints`) of the ms per frame of lifting one person's
    frames through the video command's 3D stages (`VideoLifter.lift_keypoints`)."""
    import numpy as np
    import torch

    from common.detection.people import person_keypoints
    from common.video_pipeline import VideoLifter
    torch.set_num_threads(threads)
    lifter = VideoLifter(model=cb.make_model(num_frame))
    times = []
    for person in detected.people:
        keypoints = person_keypoints(detected, person)
        start = time.perf_counter()
        result = lifter.lift_keypoints(keypoints)
        times.append((time.perf_counter() - start) / len(result.poses) * 1e3)
        assert np.isfinite(result.poses_camera).all() and len(result.poses) == int(person.present.sum())
    return float(np.median(times)) if times else float('nan')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--video', default=CLIP, help='video to run on (default: the two-person test clip)')
    parser.add_argument('--by-eye', type=int, default=None,
                        help=f'people a person sees in every frame (default for the test clip: {CLIP_BY_EYE})')
    parser.add_argument('--detectors', nargs='+', default=['mediapipe pose', 'opencv hog', 'blazepose multi'],
                        choices=['mediapipe pose', 'opencv hog', 'blazepose multi'])
    parser.add_argument('--lift-frames', type=int, default=27, help='PoseFormer receptive field of the lift')
    parser.add_argument('--threads', type=int, default=1, help='torch intra-op threads (and OpenCV threads)')
    args = parser.parse_args(argv)

    import numpy as np

    from common.detection import mediapipe_missing_reason
    reason = mediapipe_missing_reason()
    if reason:
        sys.exit(f'error: {reason}')
    by_eye = args.by_eye if args.by_eye is not None else CLIP_BY_EYE if args.video == CLIP else None
    if by_eye is None:
        sys.exit('error: --by-eye: give the number of people a person sees in every frame of this video')
    import cv2
    cv2.setNumThreads(args.threads)
    from common.detection import MediaPipePose
    from common.detection.multi_person import MultiPersonPose
    from common.data.layouts import COCO_17
    from common.detection.multi_tracking import track_people
    from common.detection.people import PeopleKeypoints
    makers = {'mediapipe pose': MediaPipePose, 'opencv hog': HogPeople, 'blazepose multi': MultiPersonPose}
    frames, fps = read_frames(args.video)
    height, width = frames[0].shape[:2]
    print(f'# {os.path.basename(args.video)}: {len(frames)} frames, {width}x{height} px, {fps or 0:g} fps; '
          f'{by_eye} people by eye in every frame; torch / OpenCV {args.threads} thread(s)')
    print(f'# {cb.machine_summary()}; 1-min load average before: {cb.load_average():.2f}')
    rows = []
    for name in args.detectors:
        candidates, seconds = cb.timed_detections(makers[name], frames)
        found = np.array([len(c) for c in candidates])
        kept = switches = lift = whole = '-'
        detect_ms = np.median(seconds) * 1e3
        if name != 'opencv hog':
            people, rule = track_people(candidates, 17, fps)
            kept, switches = len(people), identity_switches(people, by_eye)
            detected = PeopleKeypoints(name=os.path.basename(args.video), path=Path(args.video), layout=COCO_17,
                                       people=people, frames=len(frames), width=width, height=height, fps=fps,
                                       detector=name, drop_rule=rule)
            lift_ms = lift_ms_per_person_frame(detected, args.lift_frames, args.threads)
            lift, whole = f'{lift_ms:.1f}', f'{1e3 / (detect_ms + lift_ms * len(people)):.1f}'
            print(f'# {name}: {rule}')
        rows.append([name, f'{found.mean():.2f}', f'{100 * np.mean(found == by_eye):.0f} %',
                     f'{100 * np.minimum(found, by_eye).sum() / (by_eye * len(frames)):.0f} %', kept, switches,
                     f'{detect_ms:.0f}', f'{1e3 / detect_ms:.1f}', lift, whole])
    print(cb.format_table(['detector', 'people/frame', 'frames = by eye', 'recall', 'people kept',
                           'identity switches', 'detect (ms/frame)', 'detect frames/s',
                           f'lift F={args.lift_frames} (ms/frame/person)', 'detect + lift all (frames/s)'], rows))
    print(f'# 1-min load average after: {cb.load_average():.2f}')


if __name__ == '__main__':
    main()
