"""Tensor operations: letterbox, region decoding, detections (pure functions)."""
