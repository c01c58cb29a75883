"""Base class of the 3D datasets: subjects -> actions -> {'positions': (N, J, 3) world metres, 'cameras': [...]}."""
from common.errors import UserError


class MocapDataset:
    """A mapping ``subject -> {action -> sequence dict}`` plus skeleton, frame rate and cameras.

    A sequence dict holds ``positions`` (N, J, 3) world coordinates in metres (absent for datasets
    without 3D ground truth), ``cameras`` (list of camera dicts, see `common.data.camera`) and, after
    `prepare_camera_space`, ``positions_3d``: one (N, J, 3) camera-frame array per camera.
    """

    def __init__(self, fps, skeleton):
        self._skeleton = skeleton
        self._fps = fps
        self._data = {}
        self._cameras = {}

    def remove_joints(self, joints_to_remove):
        kept = self._skeleton.remove_joints(joints_to_remove)
        for actions in self._data.values():
            for sequence in actions.values():
                if 'positions' in sequence:
                    sequence['positions'] = sequence['positions'][:, kept]
        return kept

    def __getitem__(self, subject):
        return self._data[subject]

    def __contains__(self, subject):
        return subject in self._data

    def subjects(self):
        return list(self._data.keys())

    def fps(self):
        return self._fps

    def skeleton(self):
        return self._skeleton

    def cameras(self):
        return self._cameras

    def has_3d(self):
        return any('positions' in seq for actions in self._data.values() for seq in actions.values())

    def check_subjects(self, subjects, flag):
        """Raise a UserError naming `flag` if a requested subject is not in the dataset."""
        unknown = [s for s in subjects if s not in self._data]
        if unknown:
            raise UserError(f'{flag}: subject(s) {", ".join(unknown)} not in the dataset '
                            f'(it has: {", ".join(self.subjects())})')
