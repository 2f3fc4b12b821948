"""Worker for the sharded-store test: builds a KnowledgeStore on every rank of a torchrun job.

Run as ``torchrun --nproc_per_node N store_worker.py OUT``; each rank builds its own chunks,
the main rank joins them in the manifest, and each rank records what it opened.
"""

import json
import sys
from pathlib import Path

import torch
from accelerate import PartialState

from conftest import ToyImages  # tests/ is on PYTHONPATH (see test_store.py)
from semdistill.teachers import KnowledgeStore, load_teacher


def main(out: Path) -> None:
    torch.set_num_threads(1)
    torch.manual_seed(0)
    teacher = load_teacher("timm:test_resnet", num_classes=4, pretrained=False, input_size=32)
    store = KnowledgeStore.build(teacher, ToyImages(size=40), out / "store",
                                 dataset_id={"name": "toy", "split": "train"}, views=2, k=2,
                                 seed=5, chunk_size=8, batch_size=8)
    state = PartialState()
    (out / f"rank{state.process_index}.json").write_text(json.dumps(
        {"world": state.num_processes, "samples": len(store),
         "fingerprint": store.header.fingerprint()}))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
