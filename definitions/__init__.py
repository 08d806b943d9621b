"""Data definitions that the pose stage and the recognizer both use, below both: the MA-52 skeleton
layout (``layout``), action label sets (``labels``) and skeleton file formats (``skeleton_io``).
Imports point one way: pipeline -> pose, recognizer -> definitions -> common."""
