"""Skeleton topology: parents, left/right joint lists, and joint removal (32 -> 17 for Human3.6M).

Joint indices follow the dataset's order. The 17-joint Human3.6M layout used throughout:
0 hip (root), 1-3 right leg, 4-6 left leg, 7 spine, 8 thorax, 9 neck/nose, 10 head,
11-13 left arm, 14-16 right arm.
"""
import numpy as np

# Human3.6M mocap skeleton (32 joints) as stored in data_3d_h36m.npz.
H36M_32_PARENTS = [-1, 0, 1, 2, 3, 4, 0, 6, 7, 8, 9, 0, 11, 12, 13, 14, 12,
                   16, 17, 18, 19, 20, 19, 22, 12, 24, 25, 26, 27, 28, 27, 30]
H36M_32_LEFT = [6, 7, 8, 9, 10, 16, 17, 18, 19, 20, 21, 22, 23]
H36M_32_RIGHT = [1, 2, 3, 4, 5, 24, 25, 26, 27, 28, 29, 30, 31]
# Static / duplicate joints removed to obtain the 17-joint skeleton.
H36M_REMOVED_JOINTS = [4, 5, 9, 10, 11, 16, 20, 21, 22, 23, 24, 28, 29, 30, 31]

H36M_17_PARENTS = [-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15]
H36M_17_LEFT = [4, 5, 6, 11, 12, 13]
H36M_17_RIGHT = [1, 2, 3, 14, 15, 16]
H36M_17_NAMES = ['Hip', 'RHip', 'RKnee', 'RFoot', 'LHip', 'LKnee', 'LFoot', 'Spine', 'Thorax',
                 'Neck/Nose', 'Head', 'LShoulder', 'LElbow', 'LWrist', 'RShoulder', 'RElbow', 'RWrist']


class Skeleton:
    """Tree of joints given by each joint's parent index (-1 for the root)."""

    def __init__(self, parents, joints_left, joints_right):
        assert len(joints_left) == len(joints_right)
        self._parents = np.array(parents)
        self._joints_left = list(joints_left)
        self._joints_right = list(joints_right)

    def num_joints(self):
        return len(self._parents)

    def parents(self):
        return self._parents

    def joints_left(self):
        return self._joints_left

    def joints_right(self):
        return self._joints_right

    def has_children(self):
        result = np.zeros(len(self._parents), dtype=bool)
        for parent in self._parents:
            if parent != -1:
                result[parent] = True
        return result

    def children(self):
        result = [[] for _ in self._parents]
        for joint, parent in enumerate(self._parents):
            if parent != -1:
                result[parent].append(joint)
        return result

    def set_parent(self, joint, parent):
        self._parents[joint] = parent

    def remove_joints(self, joints_to_remove):
        """Drop joints, re-attaching each kept joint to its nearest kept ancestor.

        Returns the list of kept joint indices (in the old numbering), to slice position arrays with.
        """
        removed = set(joints_to_remove)
        kept = [j for j in range(len(self._parents)) if j not in removed]
        new_index = {old: new for new, old in enumerate(kept)}
        new_parents = []
        for old in kept:
            parent = self._parents[old]
            while parent != -1 and parent in removed:
                parent = self._parents[parent]
            new_parents.append(-1 if parent == -1 else new_index[parent])
        self._parents = np.array(new_parents)
        self._joints_left = [new_index[j] for j in self._joints_left if j in new_index]
        self._joints_right = [new_index[j] for j in self._joints_right if j in new_index]
        return kept


def h36m_skeleton_32():
    return Skeleton(H36M_32_PARENTS, H36M_32_LEFT, H36M_32_RIGHT)


def h36m_skeleton_17():
    return Skeleton(H36M_17_PARENTS, H36M_17_LEFT, H36M_17_RIGHT)
