"""An in-memory CLIP tokenizer over a closed vocabulary (the shapes world's caption words).

A real :class:`transformers.CLIPTokenizer` is built from a ``vocab.json`` and ``merges.txt`` that
this module writes to a temporary folder, so nothing is ever downloaded. The BPE merges are
chosen so that every vocabulary word becomes exactly one token; unknown words still tokenize
(into characters), so free-form prompts never fail.
"""

from __future__ import annotations

import json
import string
import tempfile
from collections.abc import Iterable
from pathlib import Path

from transformers import CLIPTokenizer

BOS, EOS = "<|startoftext|>", "<|endoftext|>"
#: single characters every tokenizer knows (letters, digits, punctuation)
BASE_CHARS = string.ascii_lowercase + string.digits + "-'.,:;!?()/&+"


def _bpe(word: str, ranks: dict[tuple[str, str], int]) -> list[str]:
    """Greedy lowest-rank BPE of one word (CLIP's algorithm), with the ``</w>`` end marker."""
    parts = list(word[:-1]) + [word[-1] + "</w>"]
    while len(parts) > 1:
        pairs = [(ranks.get((parts[i], parts[i + 1]), 1 << 30), i) for i in range(len(parts) - 1)]
        best, i = min(pairs)
        if best == 1 << 30:
            break
        parts[i : i + 2] = [parts[i] + parts[i + 1]]
    return parts


def word_merges(words: Iterable[str]) -> list[tuple[str, str]]:
    """BPE merges under which each word in ``words`` tokenizes to a single token."""
    vocab = sorted({w.lower() for w in words if w and w.isascii() and w.isalnum()})
    merges: list[tuple[str, str]] = []
    ranks: dict[tuple[str, str], int] = {}
    for _ in range(64):  # fixed point: new merges can only join pieces, so this converges fast
        changed = False
        for w in vocab:
            parts = _bpe(w, ranks)
            while len(parts) > 1:
                pair = (parts[0], parts[1])
                ranks[pair] = len(merges)
                merges.append(pair)
                changed = True
                parts = _bpe(w, ranks)
        if not changed:
            return merges
    raise RuntimeError("BPE merge construction did not converge")


def build_clip_tokenizer(
    words: Iterable[str], max_length: int = 16, directory: str | Path | None = None
) -> CLIPTokenizer:
    """A :class:`CLIPTokenizer` whose vocabulary is ``words`` (lower-cased) plus characters.

    The files are written to ``directory`` (a fresh temporary folder by default). ``max_length``
    is the model's context length in tokens (BOS and EOS included).
    """
    words = list(words)
    merges = word_merges(words)
    vocab: dict[str, int] = {BOS: 0, EOS: 1}
    for c in BASE_CHARS:
        vocab.setdefault(c, len(vocab))
        vocab.setdefault(c + "</w>", len(vocab))
    for a, b in merges:
        for tok in (a, b, a + b):
            vocab.setdefault(tok, len(vocab))
    folder = Path(directory) if directory is not None else Path(tempfile.mkdtemp(prefix="tok-"))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text(
        "#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges))
    return CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"),
                         model_max_length=max_length, pad_token=EOS)
