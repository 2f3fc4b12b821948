"""MAKD step time and peak memory against a plain peft LoRA fine-tuning step, same UNet, same run.

The UNet is Stable-Diffusion-2.1-sized (diffusers config shapes, random weights: block_out_channels
(320, 640, 1280, 1280), cross_attention_dim 1024, attention_head_dim (5, 10, 20, 20), linear
projections, 64×64×4 latents) and the text encoder OpenCLIP-H-sized (1024 wide, 23 layers, 77
tokens). Variants, each in its own subprocess so that peak memory is its own:

- ``makd-metaword``: MAKD stage A, only the metaword vector trains; gradients flow through the
  frozen UNet and text encoder;
- ``makd-lora``: MAKD stage B, LoRA (rank r) on to_q/to_k/to_v/to_out.0, prompts carry the metaword;
- ``peft-lora``: plain peft LoRA fine-tuning with the same rank and targets, plain prompts.

    python benchmarks/makd_speed.py                  # GPU, SD-2.1 size
    python benchmarks/makd_speed.py --small --cpu    # a reduced size that runs on CPU

Prints a Markdown table (step ms, peak memory MiB) and, with ``--json PATH``, writes the numbers.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import torch

from semdistill.metrics.complexity import count_parameters

VARIANTS = ("peft-lora", "makd-metaword", "makd-lora")


def sizes(small: bool) -> dict:
    if small:
        return {"unet": dict(block_out_channels=(32, 64, 64, 64), attention_head_dim=(2, 4, 4, 4),
                             cross_attention_dim=64, sample_size=16, norm_num_groups=16),
                "text": dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                             intermediate_size=256, max_position_embeddings=77),
                "latent": 16}
    return {"unet": dict(block_out_channels=(320, 640, 1280, 1280),
                         attention_head_dim=(5, 10, 20, 20), cross_attention_dim=1024,
                         sample_size=64, norm_num_groups=32),
            "text": dict(hidden_size=1024, num_hidden_layers=23, num_attention_heads=16,
                         intermediate_size=4096, max_position_embeddings=77, hidden_act="gelu"),
            "latent": 64}


def run_variant(variant: str, small: bool, batch: int, rank: int, iters: int, device: str,
                dtype: str) -> dict:
    from diffusers import DDPMScheduler, UNet2DConditionModel
    from peft import LoraConfig
    from transformers import CLIPTextConfig, CLIPTextModel

    from semdistill.generative.diffusion import eps_loss
    from semdistill.generative.metaword import MetawordTextEncoder

    torch.manual_seed(0)
    s = sizes(small)
    amp = {"float32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[dtype]
    unet = UNet2DConditionModel(
        in_channels=4, out_channels=4, layers_per_block=2, use_linear_projection=True,
        down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
        up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3, **s["unet"]).to(device)
    te = CLIPTextModel(CLIPTextConfig(vocab_size=49409, **s["text"])).to(device)
    unet.requires_grad_(False)
    te.requires_grad_(False)
    sched = DDPMScheduler(num_train_timesteps=1000)
    token_id = 49408
    ids = torch.randint(0, 49407, (batch, 77), device=device)
    lora = LoraConfig(r=rank, lora_alpha=rank, target_modules=["to_q", "to_k", "to_v", "to_out.0"],
                      init_lora_weights="gaussian")
    if variant in ("makd-metaword", "makd-lora"):
        ids[:, 5] = token_id
        mw = MetawordTextEncoder(te, token_id, trainable=variant == "makd-metaword")
    if variant in ("peft-lora", "makd-lora"):
        unet.add_adapter(lora)
        params = [p for n, p in unet.named_parameters() if "lora_" in n]
    else:
        params = [mw.vector]
    opt = torch.optim.AdamW(params, lr=1e-4)
    z = torch.randn(batch, 4, s["latent"], s["latent"], device=device)

    def step() -> None:
        with torch.autocast(device_type=device.split(":")[0], dtype=amp, enabled=amp is not None):
            if variant == "makd-metaword":
                cond = mw(ids)
            else:
                with torch.no_grad():
                    cond = mw(ids) if variant == "makd-lora" else te(ids)[0]
            loss = eps_loss(unet, cond, z, sched)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    cuda = device.startswith("cuda")
    for _ in range(2):
        step()
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    for _ in range(iters):
        step()
    if cuda:
        torch.cuda.synchronize()
    ms = (time.perf_counter() - t0) / iters * 1000
    peak = (torch.cuda.max_memory_allocated() if cuda else
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024) / 2**20
    return {"variant": variant, "step_ms": round(ms, 1), "peak_mib": round(peak, 1),
            "trainable_params": sum(p.numel() for p in params),
            "unet_params": count_parameters(unet, exclude="lora_"),
            "memory": "cuda max_memory_allocated" if cuda else "process max RSS",
            "device": torch.cuda.get_device_name() if cuda else "cpu", "batch": batch,
            "rank": rank, "dtype": dtype, "size": "small" if small else "sd2.1"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--small", action="store_true", help="reduced UNet/text sizes (CPU)")
    ap.add_argument("--cpu", action="store_true", help="force CPU")
    ap.add_argument("--batch", type=int, default=None, help="default: 4 (GPU) or 2 (small)")
    ap.add_argument("--rank", type=int, default=4)
    ap.add_argument("--iters", type=int, default=None, help="timed steps (default 10 / 3)")
    ap.add_argument("--dtype", choices=["float32", "bf16", "fp16"], default="float32")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--variant", choices=VARIANTS, default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    device = "cuda" if torch.cuda.is_available() and not a.cpu else "cpu"
    batch = a.batch or (2 if a.small else 4)
    iters = a.iters or (3 if device == "cpu" else 10)
    if a.variant:
        if device == "cpu":
            torch.set_num_threads(max(1, min(2, torch.get_num_threads())))
        print(json.dumps(run_variant(a.variant, a.small, batch, a.rank, iters, device, a.dtype)))
        return
    rows = []
    for v in VARIANTS:
        cmd = [sys.executable, __file__, "--variant", v, "--batch", str(batch), "--rank",
               str(a.rank), "--iters", str(iters), "--dtype", a.dtype]
        cmd += ["--small"] * a.small + ["--cpu"] * a.cpu
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        rows.append(json.loads(out.strip().splitlines()[-1]))
    base = rows[0]["step_ms"]
    print(f"| variant | step ms | × peft-lora | peak MiB | trainable params | "
          f"(UNet {rows[0]['unet_params']:,} params, {rows[0]['device']}, batch {batch}, "
          f"rank {a.rank}, {a.dtype}, {rows[0]['size']}) |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['variant']} | {r['step_ms']} | {r['step_ms'] / base:.2f} | {r['peak_mib']} | "
              f"{r['trainable_params']:,} | |")
    if a.json:
        a.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
