"""Models: the torch-free half (package format, preprocessing, datasets, metrics, ONNX Runtime
runner) used by serving and evaluation, and the torch half (`gaikan.models.nets`, training,
export) used for training only."""
