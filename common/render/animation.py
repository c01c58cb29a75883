"""The figure of one sequence's animation: panels built once, artists moved to each frame.

One row of square panels, `size` inches each at `DPI`, so the picture is ``DPI * size * panels``
x ``DPI * size`` pixels:

1. the 2D input keypoints in the camera's pixels (``res_w`` x ``res_h`` of the sequence's camera),
   over a background picture when given (any size: it is stretched over the camera's extent) or
   over a light grey canvas;
2. the 3D reconstruction, and 3. the ground truth when given. 3D poses are shown root-relative
   (the trajectory is not shown; with ``trajectory`` the prediction's root slot is its camera-frame
   trajectory and the body moves through the scene, centred on its mean position), turned into the world's orientation with the camera's rotation
   (z up), lifted so that their lowest joint over the sequence touches the floor z=0, and viewed
   from the camera's azimuth at `ELEVATION` degrees. A camera without extrinsics (e.g.
   MPI-INF-3DHP) is shown as if level, looking along +y.

Right limbs are red, left limbs blue (`common.plots`).
"""
import numpy as np

from common.data.types import zero_root

DPI = 100
ELEVATION = 15.0
CANVAS_GREY = 240        # the 2D panel's background without a video


# ------------------------------------------------------------------------------------ geometry

def poses_for_display(poses, cam, root=0, trajectory=False):
    """Camera-frame (N, J, 3) metres -> root-relative, world-oriented (z up), lowest joint of the sequence at z=0.

    The root slot (trajectory in the ground truth, ~0 in a prediction) is zeroed first; with
    `trajectory` it is added to every joint instead (the body moves), then the sequence is centred
    horizontally on the root's mean position. Cameras with an
    ``orientation`` (quaternion, world <- camera) are rotated by it, without the translation; others are
    treated as a level camera looking along +y: (x, y, z)_camera -> (x, z, -y). Returns (N, J, 3) float32.
    """
    from common.data.camera import camera_to_world
    poses = np.asarray(poses, dtype=np.float32)
    if trajectory:
        others = [j for j in range(poses.shape[-2]) if j != root]
        poses = poses.copy()
        poses[..., others, :] += poses[..., root:root + 1, :]
    else:
        poses = zero_root(poses, root)
    if cam.get('orientation') is not None:
        world = camera_to_world(poses, R=np.asarray(cam['orientation'], dtype=np.float32),
                                t=np.zeros(3, dtype=np.float32))
    else:
        world = np.stack([poses[..., 0], poses[..., 2], -poses[..., 1]], axis=-1)
    world[..., 2] -= world[..., 2].min()
    if trajectory:
        world[..., :2] -= world[:, root, :2].mean(axis=0)
    return world


def display_azimuth(cam):
    """matplotlib azimuth (degrees) that looks at the scene from the camera's side."""
    if cam.get('orientation') is not None:
        return float(cam.get('azimuth', 0.0))
    return -90.0


def cube_span(poses_list):
    """Side of a cube (metres) around the vertical axis that holds every pose: horizontally centred, floor at 0."""
    span = 0.5
    for poses in poses_list:
        span = max(span, 2 * float(np.abs(poses[..., :2]).max()), float(poses[..., 2].max()))
    return span * 1.05


# ------------------------------------------------------------------------------------ figure

class Animation:
    """The figure (``self.figure``, Agg canvas) of a sequence; `show` moves it to one frame.

    poses_2d: (N, J, 2) normalised screen coordinates; prediction / ground_truth: (N, J, 3) camera
    frame, metres (ground_truth None: no ground-truth panel); cam: the sequence's camera dict;
    joints / keypoints: the `JointLayout` of the 3D poses / of the 2D keypoints (which index the same
    J joints: both panels draw the 3D layout's tree, coloured by each layout's sides); frames: the
    indices that will be shown (they fix the size of the 3D cubes); background: (H, W, 3) uint8
    first picture behind the 2D panel, or None; trajectory: the prediction's root slot is its
    trajectory, shown (see `poses_for_display`).
    """

    def __init__(self, poses_2d, prediction, ground_truth, cam, joints, keypoints, frames, size=5, title='',
                 background=None, trajectory=False):
        from common.data.camera import image_coordinates
        from common.plots import Skeleton2DArtist, Skeleton3DArtist, new_figure, setup_3d_axes

        width, height = int(cam['res_w']), int(cam['res_h'])
        self.keypoints = image_coordinates(np.asarray(poses_2d, dtype=np.float32), w=width, h=height)  # (N, J, 2) px
        panels = [('Reconstruction', poses_for_display(prediction, cam, joints.root, trajectory))]
        if ground_truth is not None:
            panels.append(('Ground truth', poses_for_display(ground_truth, cam, joints.root)))
        span = cube_span([poses[frames] for _, poses in panels])
        self.title = title

        n_panels = 1 + len(panels)
        self.figure = fig = new_figure(size * n_panels, size, dpi=DPI)
        fig.subplots_adjust(left=0.01, right=0.99, bottom=0.02, top=0.9, wspace=0.04)
        fontsize = max(6.0, 2.6 * size)
        linewidth = max(1.0, 0.5 * size)

        ax2d = fig.add_subplot(1, n_panels, 1)
        ax2d.set_xticks([])
        ax2d.set_yticks([])
        if background is None:
            background = np.full((2, 2, 3), CANVAS_GREY, dtype=np.uint8)
        self._picture = background
        self._image = ax2d.imshow(background, extent=(0, width, height, 0), interpolation='bilinear')
        ax2d.set_xlim(0, width)
        ax2d.set_ylim(height, 0)
        ax2d.set_aspect('equal')
        self._heading = ax2d.set_title('', fontsize=fontsize)
        self._skeleton_2d = Skeleton2DArtist(ax2d, joints.parents, keypoints.left, keypoints.right,
                                             linewidth=linewidth, markersize=max(1.5, 0.6 * size))
        self._skeletons_3d = []
        for index, (label, poses) in enumerate(panels):
            ax = fig.add_subplot(1, n_panels, index + 2, projection='3d')
            setup_3d_axes(ax, span, display_azimuth(cam), ELEVATION, title=label, fontsize=fontsize)
            artist = Skeleton3DArtist(ax, joints.parents, joints.left, joints.right,
                                      linewidth=linewidth * 1.2)
            self._skeletons_3d.append((artist, poses))

    def show(self, frame, picture=None):
        """Move every artist to `frame` (index into the sequence); `picture`: a new background, or None."""
        if picture is not None and picture is not self._picture:
            self._image.set_data(picture)
            self._picture = picture
        self._heading.set_text(f'{self.title}  frame {int(frame)}' if self.title else f'frame {int(frame)}')
        self._skeleton_2d.update(self.keypoints[frame])
        for artist, poses in self._skeletons_3d:
            artist.update(poses[frame])

    @property
    def size_px(self):
        """(width, height) of the picture in pixels."""
        return self.figure.canvas.get_width_height()
