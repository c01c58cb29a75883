"""Video -> 3D speed on this CPU: the bundled detector plus PoseFormer, offline and streaming.

    python benchmarks/bench_video.py                 # the test clip, F = 27 and 81, 3 passes
    python benchmarks/bench_video.py --quick         # smoke run
    python benchmarks/bench_video.py --video my.mp4 --frames 81

Needs the video extra (``pip install -r requirements-video.txt``). The frames are decoded once
into memory (decoding is not timed). Model: the full-size PoseFormer (embedding 32 per joint,
4 + 4 blocks, 8 heads) with seeded random weights (speed does not depend on the weights).

Per receptive field F, the table gives

- detect: MediaPipe Pose per frame (median over the frames of all passes; a fresh detector per
  pass, its first frame not timed);
- lift: the rest of ``tools/video_to_3d.py``'s pipeline (`common.video_pipeline`: person choice,
  gaps, PoseFormer on the whole clip with flip TTA, bones, smoothing, placement), per frame;
- offline frames/s: frames / (detection time + lift time), the throughput of ``tools/video_to_3d.py``
  without decoding and rendering;
- streaming: each frame goes detector -> `common.detection.OnlineTrack` -> COCO -> Human3.6M ->
  `common.streaming.Lifter.push` (TTA off, batch 1); the time of that chain per frame (median,
  99th percentile), the frames/s it sustains, and the latency from a frame's arrival to its 3D pose at
  the video's frame rate: the model waits for (F-1)/2 later frames, then computes (latency =
  (F-1)/2 / fps + the per-frame time).
"""
import argparse
import os
import sys
import time

if __package__ in (None, ''):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks import common_bench as cb  # noqa: E402  (path set up above)

import numpy as np  # noqa: E402

CLIP = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'tests', 'data',
                    'pose2sim_cam01.mp4')


def read_frames(path, limit):
    from common.detection.video import open_video
    with open_video(path, setting='video') as video:
        frames = []
        for frame in video.frames():
            frames.append(frame.copy())
            if limit and len(frames) >= limit:
                break
        return frames, video.fps or 30.0


def offline_lift(model, candidates, width, height, fps):
    """Seconds per frame of the rest of the video command after detection (`common.video_pipeline`: person
    choice, repair, gaps, lift, bones, smoothing, placement)."""
    from common.data.layouts import COCO_17
    from common.detection.video import keep_person
    from common.video_pipeline import VideoLifter
    lifter = VideoLifter(model=model)
    start = time.perf_counter()
    detected = keep_person(candidates, None, COCO_17, 'detector', 'clip', width, height, fps)
    result = lifter.lift_keypoints(detected)
    assert np.isfinite(result.poses_camera).all()
    return (time.perf_counter() - start) / len(candidates)


def stream_pass(model, frames, width, height):
    """Seconds per frame of detector -> OnlineTrack -> Lifter.push, and the poses' count."""
    from common.data.layouts import coco_to_h36m
    from common.detection import MediaPipePose, OnlineTrack
    from common.streaming import Lifter
    lifter = Lifter(model, image_size=(width, height))
    track = OnlineTrack()
    seconds, poses = [], 0
    with MediaPipePose() as detector:
        detector.detect(frames[0])                      # start-up (graph, first inference) not timed
        for frame in frames[1:]:
            start = time.perf_counter()
            keypoints = track.push(detector.detect(frame))
            if keypoints is not None:
                poses += lifter.push(coco_to_h36m(keypoints)) is not None
            seconds.append(time.perf_counter() - start)
    poses += len(lifter.flush())
    return seconds, poses


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--video', default=CLIP, help='video to run on (default: the test clip)')
    parser.add_argument('--frames', type=int, nargs='+', default=[27, 81], help='receptive fields to measure')
    parser.add_argument('--repeats', type=int, default=3, help='passes over the video')
    parser.add_argument('--limit', type=int, default=0, help='use at most this many frames of the video')
    parser.add_argument('--threads', type=int, default=1, help='torch intra-op threads')
    parser.add_argument('--quick', action='store_true', help='smoke run: F=9, one pass, 30 frames')
    args = parser.parse_args(argv)
    if args.quick:
        args.frames, args.repeats, args.limit = [9], 1, 30

    import torch
    from common.detection import mediapipe_missing_reason
    reason = mediapipe_missing_reason()
    if reason:
        sys.exit(f'error: {reason}')
    torch.set_num_threads(args.threads)
    frames, fps = read_frames(args.video, args.limit)
    height, width = frames[0].shape[:2]
    print(f'# {os.path.basename(args.video)}: {len(frames)} frames, {width}x{height} px, {fps:g} fps; '
          f'{args.repeats} pass(es); torch {args.threads} thread(s); MediaPipe Pose (its own threads)')
    print(f'# {cb.machine_summary()}; 1-min load average before: {cb.load_average():.2f}')
    rows = []
    for num_frame in args.frames:
        model = cb.make_model(num_frame).eval()
        detect, lift, stream, produced = [], [], [], []
        for _ in range(args.repeats):
            from common.detection import MediaPipePose
            candidates, seconds = cb.timed_detections(MediaPipePose, frames)
            detect += seconds
            lift.append(offline_lift(model, candidates, width, height, fps))
            seconds, poses = stream_pass(model, frames, width, height)
            stream += seconds
            produced.append(poses)
        assert all(p == len(frames) - 1 for p in produced), produced    # one pose per timed frame
        detect_ms, lift_ms = np.median(detect) * 1e3, np.median(lift) * 1e3
        stream_ms = np.array(stream) * 1e3
        latency_frames = (num_frame - 1) // 2
        rows.append([num_frame, f'{detect_ms:.1f}', f'{lift_ms:.1f}', f'{1e3 / (detect_ms + lift_ms):.0f}',
                     f'{np.median(stream_ms):.1f}', f'{np.percentile(stream_ms, 99):.1f}',
                     f'{len(stream_ms) / (stream_ms.sum() / 1e3):.0f}', latency_frames,
                     f'{latency_frames / fps * 1e3 + np.median(stream_ms):.0f}'])
    print(cb.format_table(['F', 'detect (ms/frame)', 'lift, TTA (ms/frame)', 'offline frames/s',
                           'stream per frame median (ms)', 'p99 (ms)', 'stream frames/s', 'model latency (frames)',
                           f'stream latency at {fps:g} fps (ms)'], rows))
    print(f'# 1-min load average after: {cb.load_average():.2f}')


if __name__ == '__main__':
    main()
