"""PoseFormer: spatial-temporal transformer lifting 2D keypoint sequences to 3D poses."""
