"""The edge latent diffusion model: real diffusers/transformers parts, any size.

:class:`EdgeLDM` wraps an :class:`~diffusers.AutoencoderKL` VAE, a
:class:`~diffusers.UNet2DConditionModel` noise predictor, a :class:`~transformers.CLIPTextModel`
text encoder, its :class:`~transformers.CLIPTokenizer` and a diffusers scheduler. It is saved in
the Stable Diffusion folder layout (``model_index.json`` + one subfolder per part), so
``StableDiffusionPipeline.from_pretrained`` reads it too, and SD 2.1 loads into it unchanged.

The offline default is a tiny LDM that the library pre-trains on the shapes world
(``semdistill pretrain-edge``) and ships in ``semdistill/assets/edge``: 32×32 RGB images,
8×8×4 latents.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from diffusers import (
    AutoencoderKL,
    DDIMScheduler,
    DDPMScheduler,
    DPMSolverMultistepScheduler,
    EulerDiscreteScheduler,
    PNDMScheduler,
    UNet2DConditionModel,
)
from pydantic import Field
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

from semdistill.config import ConfigError, StrictModel
from semdistill.generative.tokenizer import build_clip_tokenizer
from semdistill.hub import ModelNotAvailable, load_or_explain
from semdistill.registry import Registry
from semdistill.utils.io import fingerprint_tensors

if TYPE_CHECKING:
    from semdistill.generative.deliverable import MAKDDeliverable

#: sampler name → diffusers scheduler class (built from the model's training scheduler config)
SAMPLERS: Registry[type] = Registry("sampler")
for _name, _cls in {"ddim": DDIMScheduler, "ddpm": DDPMScheduler,
                    "dpm++": DPMSolverMultistepScheduler, "euler": EulerDiscreteScheduler,
                    "pndm": PNDMScheduler}.items():
    SAMPLERS.register(_name, _cls)

ASSET_DIR = Path(__file__).resolve().parent.parent / "assets" / "edge"


class EdgeArch(StrictModel):
    """Sizes of a freshly built edge LDM (the shipped one uses these defaults)."""

    image_size: int = Field(32, ge=8, description="px")
    vae_channels: list[int] = Field(default_factory=lambda: [32, 32, 64],
                                    description="one per VAE level; latent = image/2^(n-1)")
    latent_channels: int = Field(4, ge=1)
    unet_channels: list[int] = Field(default_factory=lambda: [32, 64, 128])
    cross_attn_levels: int = Field(2, ge=1, description="first levels with cross-attention")
    attention_head_dim: int = Field(8, ge=1)
    norm_groups: int = Field(16, ge=1)
    text_hidden: int = Field(64, ge=8)
    text_layers: int = Field(2, ge=1)
    text_heads: int = Field(4, ge=1)
    max_length: int = Field(16, ge=4, description="prompt tokens incl. BOS/EOS")
    num_train_timesteps: int = Field(1000, ge=10)
    beta_schedule: str = "squaredcos_cap_v2"


def build_components(arch: EdgeArch, words: Sequence[str]) -> dict[str, Any]:
    """Randomly initialized VAE, UNet, text encoder, tokenizer (vocabulary ``words``), scheduler."""
    nv, nu = len(arch.vae_channels), len(arch.unet_channels)
    vae = AutoencoderKL(
        in_channels=3, out_channels=3, latent_channels=arch.latent_channels,
        down_block_types=("DownEncoderBlock2D",) * nv, up_block_types=("UpDecoderBlock2D",) * nv,
        block_out_channels=tuple(arch.vae_channels), layers_per_block=1,
        norm_num_groups=arch.norm_groups, sample_size=arch.image_size)
    ca = min(arch.cross_attn_levels, nu)
    unet = UNet2DConditionModel(
        sample_size=arch.image_size // 2 ** (nv - 1), in_channels=arch.latent_channels,
        out_channels=arch.latent_channels, layers_per_block=1,
        block_out_channels=tuple(arch.unet_channels),
        down_block_types=("CrossAttnDownBlock2D",) * ca + ("DownBlock2D",) * (nu - ca),
        up_block_types=("UpBlock2D",) * (nu - ca) + ("CrossAttnUpBlock2D",) * ca,
        mid_block_type="UNetMidBlock2DCrossAttn" if ca == nu else "UNetMidBlock2D",
        cross_attention_dim=arch.text_hidden, attention_head_dim=arch.attention_head_dim,
        norm_num_groups=arch.norm_groups)
    tokenizer = build_clip_tokenizer(words, max_length=arch.max_length)
    text_encoder = CLIPTextModel(CLIPTextConfig(
        vocab_size=len(tokenizer), hidden_size=arch.text_hidden,
        intermediate_size=2 * arch.text_hidden, num_hidden_layers=arch.text_layers,
        num_attention_heads=arch.text_heads, max_position_embeddings=arch.max_length,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id))
    scheduler = DDPMScheduler(num_train_timesteps=arch.num_train_timesteps,
                              beta_schedule=arch.beta_schedule, prediction_type="epsilon",
                              clip_sample=False, steps_offset=1)
    return {"vae": vae, "unet": unet, "text_encoder": text_encoder, "tokenizer": tokenizer,
            "scheduler": scheduler}


class EdgeLDM:
    """A text-to-image latent diffusion model made of diffusers/transformers parts.

    Images are (B, 3, H, W) floats in [0, 1]; latents are (B, C, h, w) already multiplied by the
    VAE's ``scaling_factor``. ``sampler``, ``steps`` and ``guidance`` are the generation defaults.
    """

    def __init__(
        self, vae: AutoencoderKL, unet: UNet2DConditionModel, text_encoder: CLIPTextModel,
        tokenizer: CLIPTokenizer, scheduler: Any, *, device: str | torch.device = "cpu",
        sampler: str = "ddim", steps: int = 25, guidance: float = 2.0, batch_size: int = 64,
    ) -> None:
        self.vae, self.unet, self.text_encoder = vae, unet, text_encoder
        self.tokenizer, self.scheduler = tokenizer, scheduler
        self.sampler, self.steps, self.guidance, self.batch_size = sampler, steps, guidance, batch_size
        self.metaword: str | None = None
        #: where the model was loaded from (folder or hub id); None: built in memory
        self.source: str | None = None
        self._fingerprint: str | None = None
        self.to(device)
        for m in (vae, unet, text_encoder):
            m.eval()

    # ---- construction and files ----------------------------------------------------------
    @classmethod
    def build(cls, arch: EdgeArch | None = None, words: Sequence[str] = (), **kw: Any) -> EdgeLDM:
        """A randomly initialized model (for pre-training and tests)."""
        return cls(**build_components(arch or EdgeArch(), words), **kw)

    @classmethod
    def from_pretrained(cls, path: str | Path, device: str | torch.device = "cpu",
                        **kw: Any) -> EdgeLDM:
        """Load a diffusers-format folder (SD layout) or, online, a hub id such as
        ``stabilityai/stable-diffusion-2-1-base``. Offline hub ids raise
        :class:`~semdistill.hub.ModelNotAvailable`."""
        src = str(path)

        def load() -> EdgeLDM:
            parts = {
                "vae": AutoencoderKL.from_pretrained(src, subfolder="vae"),
                "unet": UNet2DConditionModel.from_pretrained(src, subfolder="unet"),
                "text_encoder": CLIPTextModel.from_pretrained(src, subfolder="text_encoder"),
                "tokenizer": CLIPTokenizer.from_pretrained(src, subfolder="tokenizer"),
                "scheduler": DDPMScheduler.from_pretrained(src, subfolder="scheduler"),
            }
            edge = cls(**parts, device=device, **(_generation_defaults(src) | kw))
            edge.source = src
            return edge

        return load_or_explain(load, path, "edge model")

    def save_pretrained(self, path: str | Path) -> Path:
        """Write the SD folder layout: ``model_index.json`` and vae/unet/text_encoder/… folders."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.vae.save_pretrained(path / "vae")
        self.unet.save_pretrained(path / "unet")
        self.text_encoder.save_pretrained(path / "text_encoder")
        self.tokenizer.save_pretrained(path / "tokenizer")
        self.scheduler.save_pretrained(path / "scheduler")
        index = {
            "_class_name": "StableDiffusionPipeline", "_diffusers_version": _diffusers_version(),
            "vae": ["diffusers", "AutoencoderKL"], "unet": ["diffusers", "UNet2DConditionModel"],
            "text_encoder": ["transformers", "CLIPTextModel"],
            "tokenizer": ["transformers", "CLIPTokenizer"],
            "scheduler": ["diffusers", type(self.scheduler).__name__],
            "safety_checker": [None, None], "feature_extractor": [None, None],
            "image_encoder": [None, None], "requires_safety_checker": False,
        }
        (path / "model_index.json").write_text(json.dumps(index, indent=2) + "\n")
        (path / "generation.json").write_text(json.dumps(
            {"sampler": self.sampler, "steps": self.steps, "guidance": self.guidance}) + "\n")
        return path

    def to(self, device: str | torch.device) -> EdgeLDM:
        self.device = torch.device(device)
        for m in (self.vae, self.unet, self.text_encoder):
            m.to(self.device)
        return self

    # ---- shapes --------------------------------------------------------------------------
    @property
    def image_size(self) -> int:
        return int(self.vae.config.sample_size)

    @property
    def vae_scale(self) -> int:
        return 2 ** (len(self.vae.config.block_out_channels) - 1)

    @property
    def latent_shape(self) -> tuple[int, int, int]:
        """(C, h, w) of a latent for the configured image size."""
        s = self.image_size // self.vae_scale
        return (int(self.vae.config.latent_channels), s, s)

    @property
    def scaling_factor(self) -> float:
        return float(self.vae.config.scaling_factor)

    # ---- VAE -----------------------------------------------------------------------------
    @torch.no_grad()
    def encode_images(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) in [0, 1] → (B, C, h, w) posterior means × scaling factor."""
        x = images.to(self.device, torch.float32) * 2 - 1
        if x.shape[-1] != self.image_size or x.shape[-2] != self.image_size:
            x = torch.nn.functional.interpolate(x, size=(self.image_size, self.image_size),
                                                mode="bilinear", antialias=True,
                                                align_corners=False)
        return self.vae.encode(x).latent_dist.mean * self.scaling_factor

    @torch.no_grad()
    def decode_latents(self, latents: torch.Tensor) -> torch.Tensor:
        """(B, C, h, w) scaled latents → (B, 3, H, W) images in [0, 1]."""
        x = self.vae.decode(latents.to(self.device, torch.float32) / self.scaling_factor).sample
        return ((x + 1) / 2).clamp(0, 1)

    # ---- text ----------------------------------------------------------------------------
    def tokenize(self, prompts: Sequence[str]) -> torch.Tensor:
        """(B, L) int64 token ids, padded/truncated to the model's context length."""
        return self.tokenizer(list(prompts), padding="max_length", truncation=True,
                              max_length=self.tokenizer.model_max_length,
                              return_tensors="pt").input_ids.to(self.device)

    def encode_prompts(self, prompts: Sequence[str],
                       text_encoder: torch.nn.Module | None = None) -> torch.Tensor:
        """(B, L, D) last hidden states of the text encoder (grad flows if enabled)."""
        te = text_encoder if text_encoder is not None else self.text_encoder
        return te(self.tokenize(prompts))[0]

    # ---- sampling ------------------------------------------------------------------------
    def make_sampler(self, name: str | None = None) -> Any:
        """A fresh scheduler of the named sampler built from the training schedule."""
        return SAMPLERS.get(name or self.sampler).from_config(self.scheduler.config)

    def initial_noise(self, seeds: Sequence[int]) -> torch.Tensor:
        """(B, C, h, w) standard normal noise, one generator per seed (batch-size invariant)."""
        out = [torch.randn(self.latent_shape, generator=torch.Generator().manual_seed(int(s)))
               for s in seeds]
        return torch.stack(out).to(self.device)

    @torch.no_grad()
    def generate_latents(
        self, prompts: Sequence[str], seeds: Sequence[int], steps: int | None = None,
        guidance: float | None = None,
    ) -> torch.Tensor:
        """Reverse diffusion with classifier-free guidance → (B, C, h, w) scaled latents."""
        if len(prompts) != len(seeds):
            raise ValueError(f"{len(prompts)} prompts but {len(seeds)} seeds")
        steps = steps or self.steps
        g = self.guidance if guidance is None else guidance
        chunks = []
        for i in range(0, len(prompts), self.batch_size):
            p, s = list(prompts[i : i + self.batch_size]), list(seeds[i : i + self.batch_size])
            chunks.append(self._sample(p, s, steps, g))
        return torch.cat(chunks) if chunks else torch.zeros((0, *self.latent_shape))

    def _sample(self, prompts: list[str], seeds: list[int], steps: int, g: float) -> torch.Tensor:
        sched = self.make_sampler()
        sched.set_timesteps(steps, device=self.device)
        lat = self.initial_noise(seeds) * sched.init_noise_sigma
        cond = self.encode_prompts(prompts)
        use_cfg = g != 1.0
        if use_cfg:
            cond = torch.cat([self.encode_prompts([""] * len(prompts)), cond])
        for t in sched.timesteps:
            inp = torch.cat([lat, lat]) if use_cfg else lat
            inp = sched.scale_model_input(inp, t)
            eps = self.unet(inp, t, encoder_hidden_states=cond).sample
            if use_cfg:
                e_u, e_c = eps.chunk(2)
                eps = e_u + g * (e_c - e_u)
            lat = sched.step(eps, t, lat).prev_sample
        return lat

    def generate(self, prompts: Sequence[str], seeds: Sequence[int]) -> torch.Tensor:
        """The Generator protocol: (B, 3, H, W) images in [0, 1]."""
        return self.decode_latents(self.generate_latents(prompts, seeds))

    # ---- identity ------------------------------------------------------------------------
    def fingerprint(self) -> str:
        """Hex SHA-256 of the base model (:func:`base_tensors`): what a MAKD deliverable records
        about the edge it was made on. Computed at the first call and kept (alignment adds
        LoRA layers and metaword rows, which it leaves out; nothing else changes the base)."""
        if self._fingerprint is None:
            self._fingerprint = fingerprint_tensors(base_tensors(self))
        return self._fingerprint

    @property
    def origin(self) -> str:
        """The model's source for messages: its folder or hub id, or "built in memory"."""
        return self.source or "built in memory"

    # ---- alignment (MAKD deliverable) ----------------------------------------------------
    def load_alignment(self, path: str | Path) -> MAKDDeliverable:
        """Load a MAKD deliverable file and apply it; returns the deliverable."""
        from semdistill.generative.deliverable import MAKDDeliverable

        deliverable = MAKDDeliverable.load(path)
        self.apply_alignment(deliverable)
        return deliverable

    def apply_alignment(self, deliverable: MAKDDeliverable) -> None:
        """Add the metaword token and the LoRA adapter: prompts with the metaword are aligned.
        A deliverable made for another base edge is refused first (an ``AlignmentError``)."""
        deliverable.apply_to(self)


def base_tensors(edge: EdgeLDM) -> dict[str, torch.Tensor]:
    """The base model's parameters and buffers by ``unet.*``, ``text_encoder.*``, ``vae.*``:
    without peft LoRA tensors (a wrapped layer keeps its own name, ``.base_layer`` dropped) and
    without the token-embedding rows of added, non-special tokens (metawords)."""
    out = {f"{part}.{name.replace('.base_layer', '')}": t
           for part in ("unet", "text_encoder", "vae")
           for name, t in getattr(edge, part).state_dict().items() if "lora_" not in name}
    special = set(edge.tokenizer.all_special_tokens)
    added = {i for tok, i in edge.tokenizer.get_added_vocab().items() if tok not in special}
    if added:
        emb = edge.text_encoder.get_input_embeddings()
        key = next(f"text_encoder.{n}.weight" for n, m in edge.text_encoder.named_modules()
                   if m is emb)
        out[key] = out[key][[i for i in range(out[key].shape[0]) if i not in added]]
    return out


def _diffusers_version() -> str:
    import diffusers

    return diffusers.__version__


def _generation_defaults(src: str) -> dict[str, Any]:
    path = Path(src) / "generation.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def default_edge_path() -> Path:
    """Folder of the edge LDM that ships with the package (diffusers format)."""
    return ASSET_DIR / "model"


def load_default_edge(device: str | torch.device = "cpu") -> EdgeLDM:
    """The shipped offline edge model; a clear error says how to rebuild it if missing."""
    path = default_edge_path()
    if not (path / "model_index.json").is_file():
        raise ModelNotAvailable(
            f"the shipped edge model is missing at {path}; rebuild it with the command in "
            f"{ASSET_DIR / 'README.md'} (semdistill pretrain-edge --out {path})")
    return EdgeLDM.from_pretrained(path, device=device)


class EdgeSpec(StrictModel):
    """The edge model of a config: the shipped one (``model: ""``) or a diffusers-format folder."""

    model: str = ""
    sampler: str = "ddim"
    steps: int = Field(25, ge=1)
    guidance: float = Field(3.0, ge=0)
    device: str = "cpu"


def load_edge(spec: EdgeSpec) -> EdgeLDM:
    """The edge LDM of ``spec`` (shipped default when ``model`` is empty), sampler settings set."""
    edge = EdgeLDM.from_pretrained(spec.model, device=spec.device) if spec.model else \
        load_default_edge(spec.device)
    edge.sampler, edge.steps, edge.guidance = spec.sampler, spec.steps, spec.guidance
    return edge


def require_image_size(edge: EdgeLDM, size: int, key: str = "cloud.image_size") -> None:
    """Refuse, before any work, a cloud whose images the edge cannot encode (another size)."""
    if edge.image_size != size:
        raise ConfigError(f"config: {key}: {size} px, but the edge model works at "
                          f"{edge.image_size} px; set {key}={edge.image_size} (or use an edge "
                          f"model trained at {size} px)")

