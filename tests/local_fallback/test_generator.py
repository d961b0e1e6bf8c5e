"""The local fallback on a tiny random SD pipeline, loaded through SD Turbo's own code path."""

from __future__ import annotations

import io
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from helpers.images import astronaut, encode
from helpers.tiny_sd import tiny_pipeline_dir
from PIL import Image

from local_fallback import FallbackUnavailable, GenerationRequest, Generator, load_generator

# The tiny pipeline's native size: output sizes come from resizing, as with SD Turbo's 512.
NATIVE = 64


@pytest.fixture(scope="module")
def generator() -> Generator:
    return load_generator(str(tiny_pipeline_dir()), native_size=NATIVE)


def decode(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    image.load()
    return image


def test_tiny_pipeline_loads_on_cpu_in_float32(generator: Generator) -> None:
    assert (generator.device, generator.dtype) == ("cpu", "float32")
    assert generator.model == str(tiny_pipeline_dir())


def test_text_to_image_returns_n_pngs_of_the_requested_size(generator: Generator) -> None:
    pngs = generator.generate(GenerationRequest("a lighthouse", n=2, width=1024, height=1024))
    assert len(pngs) == 2
    assert [decode(png).size for png in pngs] == [(1024, 1024)] * 2


def test_landscape_size_is_exact(generator: Generator) -> None:
    (png,) = generator.generate(GenerationRequest("a lighthouse", width=1536, height=1024))
    assert decode(png).size == (1536, 1024)


def test_generation_keeps_the_requested_aspect_ratio_near_native_area(
    generator: Generator,
) -> None:
    assert generator.native_dims(1024, 1024) == (NATIVE, NATIVE)
    w, h = generator.native_dims(1536, 1024)
    assert w > h and abs(w * h - NATIVE * NATIVE) < NATIVE * NATIVE // 4


def test_same_seed_gives_identical_images(generator: Generator) -> None:
    request = GenerationRequest("a lighthouse", width=256, height=256, seed=7)
    assert generator.generate(request) == generator.generate(request)


def test_different_seeds_give_different_images(generator: Generator) -> None:
    first = generator.generate(GenerationRequest("a lighthouse", width=256, height=256, seed=1))
    second = generator.generate(GenerationRequest("a lighthouse", width=256, height=256, seed=2))
    assert first != second


def test_image_to_image_returns_the_requested_size(generator: Generator) -> None:
    init = encode(astronaut().resize((128, 128)))
    request = GenerationRequest("an astronaut", width=1024, height=1536, init_image=init, seed=3)
    (png,) = generator.generate(request)
    assert decode(png).size == (1024, 1536)


def test_image_to_image_keeps_at_least_one_denoising_step(generator: Generator) -> None:
    assert generator.image2image_steps(0.5) == 2
    assert int(generator.image2image_steps(0.3) * 0.3) >= 1


def test_undecodable_init_image_is_a_value_error(generator: Generator) -> None:
    with pytest.raises(ValueError, match="init_image"):
        generator.generate(GenerationRequest("x", init_image=b"not an image"))


def test_concurrent_calls_each_get_their_own_images(generator: Generator) -> None:
    requests = [GenerationRequest("a lighthouse", width=64, height=64, seed=s) for s in range(4)]
    expected = [generator.generate(r) for r in requests]
    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(generator.generate, requests)) == expected


def test_unavailable_device_is_unavailable() -> None:
    with pytest.raises(FallbackUnavailable, match="'cuda' is not available"):
        load_generator(str(tiny_pipeline_dir()), "cuda")


def test_missing_folder_is_unavailable_naming_it(tmp_path: Path) -> None:
    folder = tmp_path / "sd-turbo"
    with pytest.raises(FallbackUnavailable, match="no such folder") as info:
        load_generator(str(folder))
    assert str(folder) in str(info.value)


def test_empty_folder_is_not_a_pipeline(tmp_path: Path) -> None:
    with pytest.raises(FallbackUnavailable, match="not a diffusers pipeline") as info:
        load_generator(str(tmp_path))
    assert str(tmp_path) in str(info.value)


def test_garbage_model_index_is_not_a_pipeline(tmp_path: Path) -> None:
    (tmp_path / "model_index.json").write_bytes(b"\x00garbage{")
    with pytest.raises(FallbackUnavailable, match="not a diffusers pipeline") as info:
        load_generator(str(tmp_path))
    assert str(tmp_path) in str(info.value)


def test_garbage_weights_are_unavailable_without_library_text(tmp_path: Path) -> None:
    index = (tiny_pipeline_dir() / "model_index.json").read_text()
    (tmp_path / "model_index.json").write_text(index)
    for part in ("unet", "vae", "text_encoder", "tokenizer", "scheduler"):
        (tmp_path / part).mkdir()
        (tmp_path / part / "config.json").write_text("garbage")
    with pytest.raises(FallbackUnavailable) as info:
        load_generator(str(tmp_path))
    message = str(info.value)
    assert message.startswith(f"loading {tmp_path} as a diffusers pipeline on cpu failed (")
    assert "garbage" not in message.replace(str(tmp_path), "")


def test_importing_the_package_does_not_import_torch() -> None:
    code = (
        "import sys, local_fallback; "
        "sys.exit(any(m in sys.modules for m in ('torch', 'diffusers', 'transformers')))"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[2])
