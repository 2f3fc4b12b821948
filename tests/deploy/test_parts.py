"""The deployable parts in PyTorch: real pairs at the boundary, the same numbers as the models."""

from __future__ import annotations

import pytest
import torch

from semdistill.deploy.parts import BATCH, Tensor, codec_parts, task_parts
from semdistill.models.cala import CALAConfig, build_cala
from semdistill.models.latent_jscc import LatentJSCC, LatentJSCCConfig
from semdistill.models.student import StudentConfig, TaskStudent


def tiny_student() -> TaskStudent:
    torch.manual_seed(0)
    cfg = StudentConfig(widths=[8, 8, 8], bandwidth_ratio=1 / 48, adaptive_hidden=4,
                        decoder_width=8, snr_aware_decoder=True)
    return TaskStudent(cfg, 4, 32).eval()


def tiny_codec(quantize: str = "hard") -> LatentJSCC:
    torch.manual_seed(0)
    return LatentJSCC((4, 8, 8), LatentJSCCConfig(hidden=4, width=8, k_max=16, rates=[4, 16],
                                                  quantize=quantize)).eval()


def tiny_cala():
    cala = build_cala(tiny_codec(), CALAConfig(num_experts=2, rank=1, gate_hidden=4), 2)
    for layer in cala.adapters.values():  # trained experts are not zero
        torch.nn.init.normal_(layer.lora_B, std=0.1)
    return cala.eval()


@torch.no_grad()
def test_the_task_parts_are_transmit_and_receive_with_symbols_as_real_pairs():
    st = tiny_student()
    tx, rx = task_parts(st, 32, 4, "prestored")
    assert (tx.name, rx.name) == ("prestored-transmitter", "prestored-receiver")
    images, snr = tx.example(5)
    sym, w = tx.module(images, snr)
    z, w_ref = st.transmit(images, snr)
    assert sym.shape == (5, st.num_symbols, 2) and torch.equal(sym, torch.view_as_real(z))
    assert torch.equal(w, w_ref)
    assert torch.equal(rx.module(sym, snr), st.receive(z, snr))
    assert [t.name for t in tx.inputs] == ["images", "snr_db"]
    assert tx.outputs[0].shape == (BATCH, st.num_symbols, 2)


@pytest.mark.parametrize("quantize", ["hard", "soft", "none"])
@torch.no_grad()
def test_the_codec_encoder_sends_what_the_codec_sends(quantize):
    codec = tiny_codec(quantize)
    enc, _ = codec_parts(codec, "base")
    z, r = enc.example(6)
    s, mask = codec.encode(z, r)
    want = torch.view_as_real(codec.quantize(s, mask))
    got = enc.module(z, r)
    torch.testing.assert_close(got, want, rtol=0, atol=1e-7)
    assert enc.outputs[0].discrete == (quantize == "hard")
    k = torch.tensor(codec.rates)[r]
    sent = torch.arange(codec.k_max)[None, :] < k[:, None]
    assert torch.all(got[~sent] == 0)  # nothing after K_r


@torch.no_grad()
def test_the_codec_decoder_ignores_the_symbols_that_were_not_sent():
    codec = tiny_codec()
    _, dec = codec_parts(codec, "base")
    sym, r = dec.example(4)
    r = torch.tensor([0, 0, 1, 0])
    junk = sym.clone()
    junk[r == 0, codec.rates[0]:] = 7.0
    torch.testing.assert_close(dec.module(junk, r), dec.module(sym, r), rtol=0, atol=0)
    mask = torch.arange(codec.k_max)[None, :] < torch.tensor(codec.rates)[r][:, None]
    ref = codec.decode(torch.view_as_complex(sym) * mask, r)
    torch.testing.assert_close(dec.module(sym, r), ref, rtol=0, atol=0)


@torch.no_grad()
def test_the_gated_parts_mix_the_experts_of_each_sample_like_the_cala_model():
    cala = tiny_cala()
    enc, dec = codec_parts(cala, "cala")
    assert [t.name for t in enc.inputs] == ["latents", "rate_index", "snr_db"]
    z, r, snr = enc.example(5)
    with cala.condition(r, snr):
        s, mask = cala.model.encode(z, r)
        want = torch.view_as_real(cala.model.quantize(s, mask))
    torch.testing.assert_close(enc.module(z, r, snr), want, rtol=0, atol=1e-7)
    # the SNR reaches the gate: another SNR, another decoder output
    sym = enc.module(z, r, snr)
    assert not torch.allclose(dec.module(sym, r, snr), dec.module(sym, r, snr + 15))
    assert all(layer._gate is None for layer in cala.adapters.values())  # no gate left behind


def test_random_inputs_respect_their_declared_ranges():
    g = torch.Generator().manual_seed(0)
    rate = Tensor("rate_index", (BATCH,), "int64", "", 0, 3).draw(500, g)
    assert rate.dtype == torch.int64 and set(rate.tolist()) == {0, 1, 2, 3}
    img = Tensor("images", (BATCH, 3, 4, 4), "float32", "", 0.0, 1.0).draw(7, g)
    assert img.shape == (7, 3, 4, 4) and img.min() >= 0 and img.max() <= 1
