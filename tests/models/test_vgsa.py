"""VGSA group switching, the variable-rate codec, the commitment loss and the STE gradient."""

import math
import typing

import pytest
import torch

from semdistill.models.latent_jscc import (
    DISTORTIONS,
    LatentJSCC,
    LatentJSCCConfig,
    jscc_loss,
    masked_power_normalize,
    rate_mask,
)
from semdistill.models.vgsa import SNRGroupGate, build_vgsa, snr_group_edges


def _codec(**kw):
    cfg = LatentJSCCConfig(hidden=8, width=8, k_max=16, rates=[4, 8, 16], **kw)
    return LatentJSCC((4, 4, 4), cfg)


def test_vgsa_picks_the_group_of_the_snr():
    edges = snr_group_edges(-5.0, 20.0, 5)
    assert edges == [0.0, 5.0, 10.0, 15.0]
    gate = SNRGroupGate(edges)
    snr = torch.tensor([-10.0, -0.1, 0.0, 4.9, 7.0, 12.0, 15.0, 30.0])
    assert gate.group(snr).tolist() == [0, 0, 1, 1, 2, 3, 4, 4]
    g = gate(torch.zeros(8, dtype=torch.long), snr)
    assert torch.equal(g.argmax(1), gate.group(snr)) and torch.equal(g.sum(1), torch.ones(8))


def test_vgsa_sample_only_trains_its_group():
    torch.manual_seed(0)
    model = build_vgsa(_codec(), rank=1, alpha=1.0, num_rates=3, edges_db=[5.0])
    z = torch.randn(3, 4, 4, 4)
    out = model(z, torch.tensor([2, 2, 2]), torch.tensor([10.0, 12.0, 18.0]))  # all group 1
    out.z_hat.square().sum().backward()
    layer = model.adapters["decoder.proj"]
    assert layer.lora_B.grad[:, 0].abs().sum() == 0 and layer.lora_B.grad[:, 1].abs().sum() > 0


def test_symbols_beyond_rate_are_zero_and_do_not_influence_the_output():
    torch.manual_seed(1)
    codec = _codec(quantize="none", channel={"name": "awgn"}).eval()
    z = torch.randn(2, 4, 4, 4)
    r = torch.tensor([0, 1])
    out = codec(z, r, torch.tensor([100.0, 100.0]))
    assert torch.all(out.s[0, 4:] == 0) and torch.all(out.s[1, 8:] == 0)
    assert torch.all(out.s_hat[0, 4:] == 0) and torch.all(out.s_hat[1, 8:] == 0)
    torch.testing.assert_close(out.s.abs().square()[0, :4].mean(), torch.tensor(1.0))
    # gradient of the output w.r.t. the encoder symbols is zero beyond K_r
    z = z.clone().requires_grad_(True)
    x = codec.encoder(z)
    sym = torch.view_as_complex(x.reshape(2, 16, 2))
    m = rate_mask(r, codec.rates_t, 16)
    sym_n = masked_power_normalize(sym, m)
    sym_n.retain_grad()
    zz = codec.decode(codec.transmit(codec.quantize(sym_n, m), r, torch.full((2,), 30.0)) * m, r)
    zz.sum().backward()
    assert sym_n.grad[0, 4:].abs().sum() == 0 and sym_n.grad[1, 8:].abs().sum() == 0
    assert sym_n.grad[0, :4].abs().sum() > 0


def test_decoder_is_told_the_rate():
    torch.manual_seed(2)
    codec = _codec()
    s_hat = torch.randn(1, 16, dtype=torch.complex64)
    a = codec.decode(s_hat, torch.tensor([0]))
    b = codec.decode(s_hat, torch.tensor([2]))
    assert not torch.allclose(a, b)


def test_commitment_loss_and_straight_through_gradient():
    torch.manual_seed(3)
    codec = _codec()  # 16-QAM, hard quantization
    s = torch.randn(2, 16, dtype=torch.complex64, requires_grad=True)
    mask = torch.ones(2, 16)
    s_q = codec.quantize(s, mask)
    pts = codec.constellation.points
    assert torch.all((s_q.detach()[..., None] - pts).abs().min(-1).values < 1e-6)  # on the grid
    # STE: d(sum Re s_q)/ds = identity
    s_q.real.sum().backward()
    torch.testing.assert_close(s.grad, torch.ones_like(s.grad).real.to(s.grad.dtype))
    s.grad = None
    z = torch.zeros(2, 4, 4, 4)
    terms = jscc_loss(z, z + 0.5, s, codec.quantize(s, mask), mask, beta=0.25)
    expected_c = (s - codec.quantize(s, mask)).abs().square().mean()
    torch.testing.assert_close(terms["commitment"], expected_c.detach(), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(terms["mse"], torch.tensor(0.25))
    torch.testing.assert_close(terms["loss"], terms["mse"] + 0.25 * terms["commitment"])
    terms["commitment"].backward()
    # gradient of |s - sg(q)|² / N is 2 (s - q) / N: it pulls s to its nearest point
    q = codec.quantize(s.detach(), mask)
    torch.testing.assert_close(s.grad, 2 * (s.detach() - q) / 32, rtol=1e-4, atol=1e-6)


def test_every_configurable_distortion_is_registered():
    field = LatentJSCCConfig.model_fields["distortion"].annotation
    assert set(typing.get_args(field)) == set(DISTORTIONS)
    with pytest.raises(ValueError, match="unknown distortion"):
        jscc_loss(torch.zeros(1, 2), torch.zeros(1, 2), torch.zeros(1, 1, dtype=torch.complex64),
                  torch.zeros(1, 1, dtype=torch.complex64), torch.ones(1, 1), distortion="l1")


def test_log_mse_counts_every_sample_by_its_relative_error():
    torch.manual_seed(5)
    z = torch.randn(4, 2, 3, 3)
    err = torch.randn(4, 2, 3, 3) * torch.tensor([0.05, 0.3, 1.0, 3.0])[:, None, None, None]
    s = torch.zeros(4, 2, dtype=torch.complex64)
    mask = torch.ones(4, 2)

    def log_mse(e: torch.Tensor) -> torch.Tensor:
        return jscc_loss(z, z + e, s, s, mask, beta=0.0, distortion="log_mse")["loss"]

    per = err.square().flatten(1).mean(1)
    torch.testing.assert_close(log_mse(err), torch.log(per + 1e-6).mean())
    # scaling one sample's error by c adds ln(c²)/B, whatever that sample's size: the small
    # error of a good condition weighs as much as the large error of a bad one
    for b in (0, 3):
        scaled = err.clone()
        scaled[b] *= 2.0
        assert float(log_mse(scaled) - log_mse(err)) == pytest.approx(math.log(4) / 4, rel=1e-3)
    # with the batch MSE, the same scaling of the smallest error is invisible next to the largest
    mse = jscc_loss(z, z + err, s, s, mask, beta=0.0)["loss"]
    scaled = err.clone()
    scaled[0] *= 2.0
    assert float(jscc_loss(z, z + scaled, s, s, mask, beta=0.0)["loss"] - mse) < 1e-3 * float(mse)


def test_codec_trains_end_to_end():
    torch.manual_seed(4)
    codec = _codec(channel={"name": "awgn"})
    opt = torch.optim.Adam(codec.parameters(), 3e-3)
    z = (torch.randn(32, 3) @ torch.randn(3, 64)).reshape(32, 4, 4, 4)  # structured latents
    first = None
    for _ in range(60):
        out = codec(z, torch.full((32,), 2), torch.full((32,), 20.0))
        loss = jscc_loss(z, out.z_hat, out.s, out.s_q, out.mask)["loss"]
        first = first if first is not None else float(loss.detach())
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(loss.detach()) < 0.6 * first
