"""ONNX export of a policy (normaliser inside the graph) with its PolicySpec YAML, verified."""
