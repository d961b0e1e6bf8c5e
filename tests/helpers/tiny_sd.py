"""A tiny, randomly initialised Stable Diffusion pipeline, built offline for tests.

It has SD Turbo's component layout (UNet, VAE, CLIP text encoder and tokenizer, Euler scheduler
with trailing timesteps) at toy sizes, so `save_pretrained` writes a folder that
`local_fallback.load_generator` loads through exactly the code path it uses for
stabilityai/sd-turbo. Weights are random: the images are noise, but sizes, counts, seeds and
formats are real. Nothing is downloaded.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

_SPECIALS = ("<|startoftext|>", "<|endoftext|>")


def _byte_vocab() -> dict[str, int]:
    # CLIP's byte-level BPE needs every byte symbol (alone and word-final) in the vocabulary;
    # with no merges each character is one token, which is all a random text encoder needs.
    from tokenizers.pre_tokenizers import ByteLevel

    symbols = sorted(ByteLevel.alphabet())
    tokens = [*symbols, *(s + "</w>" for s in symbols), *_SPECIALS]
    return {token: i for i, token in enumerate(tokens)}


def _tokenizer() -> Any:
    from transformers import CLIPTokenizer

    # transformers 5 ignores vocab_file=/merges_file= silently (DEPS.md): pass the data itself.
    return CLIPTokenizer(vocab=_byte_vocab(), merges=[], model_max_length=77)


def build_tiny_pipeline(folder: str | Path, seed: int = 0) -> Path:
    """Build the tiny pipeline with weights drawn from `seed` and save it into `folder`."""
    import torch
    from diffusers import (
        AutoencoderKL,
        EulerDiscreteScheduler,
        StableDiffusionPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel

    tokenizer = _tokenizer()
    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64),
        layers_per_block=2,
        sample_size=32,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32,
        norm_num_groups=32,
    )
    torch.manual_seed(seed)
    vae = AutoencoderKL(
        block_out_channels=(32, 64),
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"),
        latent_channels=4,
        norm_num_groups=32,
    )
    torch.manual_seed(seed)
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            bos_token_id=tokenizer.convert_tokens_to_ids(_SPECIALS[0]),
            eos_token_id=tokenizer.convert_tokens_to_ids(_SPECIALS[1]),
            pad_token_id=tokenizer.convert_tokens_to_ids(_SPECIALS[1]),
            hidden_size=32,
            intermediate_size=37,
            layer_norm_eps=1e-5,
            num_attention_heads=4,
            num_hidden_layers=2,
            vocab_size=len(tokenizer),
            max_position_embeddings=77,
        )
    )
    # SD Turbo's scheduler: Euler with trailing timesteps, so one step starts from pure noise.
    scheduler = EulerDiscreteScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        timestep_spacing="trailing",
        steps_offset=1,
        prediction_type="epsilon",
    )
    pipe = StableDiffusionPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    out = Path(folder)
    pipe.save_pretrained(out, safe_serialization=True)
    return out


@cache
def tiny_pipeline_dir(seed: int = 0) -> Path:
    """The tiny pipeline saved once per test session (process) into a temp folder; read-only."""
    root = Path(tempfile.mkdtemp(prefix="pixelgate-tiny-sd-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    return build_tiny_pipeline(root / f"tiny-sd-{seed}", seed)
