"""Deployment: the transmitters and receivers of the trained systems as ONNX graphs.

- :mod:`.parts`: each deployable part (a transmitter or a receiver) as an ``nn.Module`` with
  real inputs and outputs only: complex channel symbols travel as real pairs
  (``torch.view_as_real``, last dim 2), so every graph runs in any ONNX runtime.
- :mod:`.onnx`: export a part with the dynamo exporter (dynamic batch axis), check ONNX Runtime
  against PyTorch, time it, and describe it in a manifest entry.

Which parts a run has is its system's business (``experiments/<system>/deploy.py``);
``semdistill export RUN`` writes them (docs/export.md).
"""

from semdistill.deploy.parts import (
    CodecDecoder,
    CodecEncoder,
    Part,
    TaskReceiver,
    TaskTransmitter,
    Tensor,
)

__all__ = ["CodecDecoder", "CodecEncoder", "Part", "TaskReceiver", "TaskTransmitter", "Tensor"]
