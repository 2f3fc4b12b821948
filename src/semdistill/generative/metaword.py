"""The metaword: a new prompt token whose embedding is the only trainable text parameter.

Textual-inversion style: the token is added with ``tokenizer.add_tokens`` and
``text_encoder.resize_token_embeddings``, its row initialized from a class word. During training
:class:`MetawordTextEncoder` substitutes a separate trainable vector for that row (a forward hook
on the token-embedding layer), so no other row can change; :func:`write_metaword` copies the
trained vector back into the embedding table.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from transformers import CLIPTextModel, CLIPTokenizer


def token_embedding(text_encoder: CLIPTextModel) -> nn.Embedding:
    """The input token-embedding layer of a (CLIP) text encoder."""
    return text_encoder.get_input_embeddings()


def init_vector(tokenizer: CLIPTokenizer, text_encoder: CLIPTextModel, word: str) -> torch.Tensor:
    """(D,) mean embedding of the tokens of ``word`` (one token for vocabulary words)."""
    ids = tokenizer(word, add_special_tokens=False).input_ids
    if not ids:
        raise ValueError(f"init word {word!r} tokenizes to nothing")
    return token_embedding(text_encoder).weight[ids].detach().mean(0).clone()


def add_metaword(tokenizer: CLIPTokenizer, text_encoder: CLIPTextModel, token: str,
                 init: str | torch.Tensor) -> int:
    """Add ``token`` (if new), resize the embeddings, set its row; returns its id.

    ``init`` is a class word (its embedding is copied) or a (D,) vector.
    """
    vec = init_vector(tokenizer, text_encoder, init) if isinstance(init, str) else init
    if token not in tokenizer.get_vocab():
        tokenizer.add_tokens([token])
        text_encoder.resize_token_embeddings(len(tokenizer), mean_resizing=False)
    tid = tokenizer.convert_tokens_to_ids(token)
    write_metaword(text_encoder, tid, vec)
    return int(tid)


@torch.no_grad()
def write_metaword(text_encoder: CLIPTextModel, token_id: int, vector: torch.Tensor) -> None:
    """Set row ``token_id`` of the token-embedding table to ``vector`` (D,)."""
    emb = token_embedding(text_encoder).weight
    emb[token_id] = vector.to(emb.device, emb.dtype)


def _before_class(words: list[str], token: str, class_word: str) -> list[str]:
    for i, w in enumerate(words):
        if w.strip(",.").lower() == class_word.lower():
            return words[:i] + [token] + words[i:]
    return [token, *words]


#: where the metaword goes in a prompt. ``end``: appended, so under a causal text encoder (CLIP)
#: every other token's hidden state is exactly what it was without the metaword; only the
#: metaword's own state and the padding after it carry what it learned. ``before_class``:
#: "a red <meta> triangle" (DreamBooth's "a [V] dog"), which changes the encoding of every
#: later word.
PLACEMENTS = {
    "end": lambda words, token, _class: [*words, token],
    "before_class": _before_class,
}


def insert_metaword(prompt: str, token: str, class_word: str, placement: str = "end") -> str:
    """``prompt`` with ``token`` placed by :data:`PLACEMENTS` (``before_class`` prepends when
    the class word is absent)."""
    if placement not in PLACEMENTS:
        raise ValueError(f"unknown metaword placement {placement!r}; known: {sorted(PLACEMENTS)}")
    return " ".join(PLACEMENTS[placement](prompt.split(" "), token, class_word))


class MetawordTextEncoder(nn.Module):
    """A frozen text encoder whose ``token_id`` row is replaced by a trainable ``vector`` (D,).

    ``forward(ids (B, L)) -> (B, L, D)`` last hidden states. Gradients reach ``vector`` only.
    """

    def __init__(self, text_encoder: CLIPTextModel, token_id: int,
                 trainable: bool = True) -> None:
        super().__init__()
        self.text_encoder = text_encoder.requires_grad_(False)
        self.token_id = int(token_id)
        w = token_embedding(text_encoder).weight
        self.vector = nn.Parameter(w[self.token_id].detach().clone(), requires_grad=trainable)
        self._ids: torch.Tensor | None = None
        token_embedding(text_encoder).register_forward_hook(self._substitute)

    def _substitute(self, module: nn.Module, inputs: Sequence[torch.Tensor],
                    output: torch.Tensor) -> torch.Tensor:
        mask = (inputs[0] == self.token_id).unsqueeze(-1)
        if not bool(mask.any()):
            return output
        return torch.where(mask, self.vector.to(output.dtype), output)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.text_encoder(ids)[0]

    def commit(self) -> None:
        """Copy the trained vector into the embedding table (the hook stays harmless)."""
        write_metaword(self.text_encoder, self.token_id, self.vector.detach())
