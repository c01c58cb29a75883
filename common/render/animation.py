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

Right limbs are red, left limbs blue (`common.plots`). `PeopleAnimation`: several people of one video in
one 2D and one 3D panel, a colour and a ``#ID`` label per person.
"""
import numpy as np

from common.data.types import zero_root

DPI = 100
ELEVATION = 15.0
CANVAS_GREY = 240        # the 2D panel's background without a video
PERSON_COLORS = ('#1f77b4', '#ff7f0e', '#2ca02c', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22',
                 '#d62728', '#7f7f7f')


# ------------------------------------------------------------------------------------ geometry

def poses_for_display(poses, cam, root=0, trajectory=False):
    """Camera-frame (N, J, 3) metres -> root-relative, world-oriented (z up), lowest joint of the sequence at z=0.

    The root slot (trajectory in the ground truth, ~0 in a prediction) is zeroed first; with
    `trajectory` it is added to every joint instead (the body moves), then the sequence is centred
    horizontally on the root's mean position. Cameras with an
    ``orientation`` (quaternion, world <- camera) are rotated by it, without the translation; others are
    treated as a level camera looking along +y: (x, y, z)_camera -> (x, z, -y). Returns (N, J, 3) float32.
    """
    poses = np.asarray(poses, dtype=np.float32)
    if trajectory:
        others = [j for j in range(poses.shape[-2]) if j != root]
        poses = poses.copy()
        poses[..., others, :] += poses[..., root:root + 1, :]
    else:
        poses = zero_root(poses, root)
    world = display_axes(poses, cam)
    world[..., 2] -= world[..., 2].min()
    if trajectory:
        world[..., :2] -= world[:, root, :2].mean(axis=0)
    return world


def display_axes(points, cam):
    """(..., 3) camera-frame points -> the world's orientation (z up), without translation: rotated by the
    camera's ``orientation`` (quaternion, world <- camera) when it has one, else seen from a level camera
    looking along +y: (x, y, z)_camera -> (x, z, -y)."""
    from common.data.camera import camera_to_world
    if cam.get('orientation') is not None:
        return camera_to_world(points, R=np.asarray(cam['orientation'], dtype=np.float32),
                               t=np.zeros(3, dtype=np.float32))
    return np.stack([points[..., 0], points[..., 2], -points[..., 1]], axis=-1)


def scene_for_display(placed, cam, root=0):
    """(F, P, J, 3) several people's camera-frame poses (NaN where a person has none) -> one scene as
    `poses_for_display` shows one person placed: world-oriented, the lowest joint of anyone at z=0, centred
    horizontally on the mean of everyone's root. Returns (F, P, J, 3) float32."""
    world = display_axes(np.asarray(placed, dtype=np.float32), cam)
    world[..., 2] -= np.nanmin(world[..., 2])
    world[..., :2] -= np.nanmean(world[:, :, root, :2].reshape(-1, 2), axis=0)
    return world


def display_azimuth(cam):
    """matplotlib azimuth (degrees) that looks at the scene from the camera's side."""
    if cam.get('orientation') is not None:
        return float(cam.get('azimuth', 0.0))
    return -90.0


def cube_span(poses_list):
    """Side of a cube (metres) around the vertical axis that holds every pose: horizontally centred, floor at 0."""
    span = 0.5
    for poses in poses_list:                # NaN (no pose) ignored
        span = max(span, 2 * float(np.nanmax(np.abs(poses[..., :2]))), float(np.nanmax(poses[..., 2])))
    return span * 1.05


def person_color(person_id):
    """The colour of a person's skeleton and label: fixed per id (a 10-colour cycle)."""
    return PERSON_COLORS[int(person_id) % len(PERSON_COLORS)]


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

        ax2d = _picture_axes(self, fig, n_panels, background, width, height, fontsize)
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
        _show_picture(self, frame, picture)
        self._skeleton_2d.update(self.keypoints[frame])
        for artist, poses in self._skeletons_3d:
            artist.update(poses[frame])

    @property
    def size_px(self):
        """(width, height) of the picture in pixels."""
        return self.figure.canvas.get_width_height()


def _picture_axes(owner, fig, n_panels, background, width, height, fontsize):
    """The first panel: the picture (`background`, or a grey canvas) in the video's pixels, a heading; sets
    ``owner._picture``, ``_image``, ``_heading`` for `_show_picture`. Returns the axes."""
    ax = fig.add_subplot(1, n_panels, 1)
    ax.set_xticks([])
    ax.set_yticks([])
    if background is None:
        background = np.full((2, 2, 3), CANVAS_GREY, dtype=np.uint8)
    owner._picture = background
    owner._image = ax.imshow(background, extent=(0, width, height, 0), interpolation='bilinear')
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)
    ax.set_aspect('equal')
    owner._heading = ax.set_title('', fontsize=fontsize)
    return ax


def _show_picture(owner, frame, picture):
    if picture is not None and picture is not owner._picture:
        owner._image.set_data(picture)
        owner._picture = picture
    owner._heading.set_text(f'{owner.title}  frame {int(frame)}' if owner.title else f'frame {int(frame)}')


class PeopleAnimation:
    """The figure of several people of one video: the video with every person's 2D skeleton, beside one 3D
    scene with every person placed by their own trajectory (`scene_for_display`); each person in one colour
    (`person_color`) and labelled ``#ID`` in both panels; a person without a pose in a frame is hidden.

    pixels: (F, P, J, 2) pixels of the video; placed: (F, P, J, 3) camera frame, metres; both NaN where a
    person has no pose; ids: the P track ids; width / height: the video's pixels; joints: the `JointLayout`
    of both; frames: the indices that will be shown (they fix the cube); background: the first picture or None.
    """

    def __init__(self, pixels, placed, ids, width, height, joints, frames, size=5, title='', background=None):
        from common.plots import Skeleton2DArtist, Skeleton3DArtist, new_figure, setup_3d_axes
        cam = {'res_w': width, 'res_h': height}
        self.pixels = np.asarray(pixels, dtype=np.float32)
        self.scene = scene_for_display(placed, cam, joints.root)
        self.title, self.joints = title, joints
        self.figure = fig = new_figure(size * 2, size, dpi=DPI)
        fig.subplots_adjust(left=0.01, right=0.99, bottom=0.02, top=0.9, wspace=0.04)
        fontsize = max(6.0, 2.6 * size)
        linewidth = max(1.0, 0.5 * size)
        ax2d = _picture_axes(self, fig, 2, background, width, height, fontsize)
        ax3d = fig.add_subplot(1, 2, 2, projection='3d')
        setup_3d_axes(ax3d, cube_span([self.scene[frames]]), display_azimuth(cam), ELEVATION,
                      title='Reconstruction (placed)', fontsize=fontsize)
        self.label_lift_px = 0.04 * height          # labels above the head
        self._people = []
        for person_id in ids:
            color = person_color(person_id)
            label = dict(color=color, fontsize=fontsize, fontweight='bold', ha='center', va='bottom')
            self._people.append((Skeleton2DArtist(ax2d, joints.parents, (), (), linewidth=linewidth,
                                                  markersize=max(1.5, 0.6 * size), color=color),
                                 ax2d.text(0, 0, f'#{person_id}', **label),
                                 Skeleton3DArtist(ax3d, joints.parents, (), (), linewidth=linewidth * 1.2, color=color),
                                 ax3d.text(0, 0, 0, f'#{person_id}', **label)))

    def show(self, frame, picture=None):
        """Move every person to `frame` (a video frame index); `picture`: a new background, or None."""
        _show_picture(self, frame, picture)
        head = self.joints.index('head')
        for index, (artist_2d, label_2d, artist_3d, label_3d) in enumerate(self._people):
            points, pose = self.pixels[frame, index], self.scene[frame, index]
            shown = bool(np.isfinite(points).all() and np.isfinite(pose).all())
            for artist in (label_2d, label_3d, artist_2d.joints, *(line for *_, line in artist_2d.bones),
                           *(line for *_, line in artist_3d.bones)):
                artist.set_visible(shown)
            if shown:
                artist_2d.update(points)
                artist_3d.update(pose)
                label_2d.set_position((points[head, 0], points[head, 1] - self.label_lift_px))
                label_3d.set_position_3d((pose[head, 0], pose[head, 1], pose[head, 2] + 0.1))

    @property
    def size_px(self):
        return self.figure.canvas.get_width_height()
