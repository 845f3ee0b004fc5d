"""Prediction: inputs (:mod:`.sources`), results (:mod:`.results`), the ONNX backend and export
(:mod:`.onnx_backend`, :mod:`.export`) and the speed benchmark (:mod:`.benchmark`)."""
