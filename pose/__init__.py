"""Pose stage: the 44-joint layout, pose backends (MediaPipe, AlphaPose), tracking, caching."""
