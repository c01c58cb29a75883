"""From a video to motion people can use: the pipeline of ``tools/video_to_3d.py``, as a library.

    from common.video_pipeline import lift_video
    result = lift_video('tests/data/pose2sim_cam01.mp4')
    print(result.poses_camera.shape)            # (100, 17, 3): metres, camera frame

* `pipeline`: `VideoLifter` / `lift_video` (video -> 2D -> 3D, placed, fitted, smoothed), `LiftSettings`,
  `VideoResult`;
* `codec`: `KeypointCodec`, the one owner of pixels -> normalised -> root-relative;
* `scene`: the camera-frame pelvis (trajectory) by fitting the 3D to the 2D through a pinhole camera;
* `skeleton`: one length per bone, every frame fitted to it;
* `smoothing`: the One-Euro filter;
* `people`: several people of one video, each lifted by the same stages (`VideoLifter.lift_people`, `PeopleResult`);
* `outputs`: the files of a result (npy, JSON, CSV, BVH), written atomically into a locked folder;
* `bvh`: the BVH writer (hierarchy, inverse kinematics).
"""
from common.video_pipeline.pipeline import LiftSettings, VideoLifter, VideoResult, lift_video
from common.video_pipeline.smoothing import OneEuro

__all__ = ['LiftSettings', 'VideoLifter', 'VideoResult', 'lift_video', 'OneEuro']
