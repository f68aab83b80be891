"""Experiment (issue 10, direction "synthetic defects for self-supervision"): paint crack-like
synthetic defects on good training images, train a small segmentation head on the frozen
EfficientNet-Lite0 features (PatchCore's `embed`) to find them, and score test images by the head's
map, alone and summed with PatchCore's map.

    .venv/bin/python benchmarks/synth_defects_head.py /path/to/kolektorsdd --size 512x208

The split is `gaikan train`'s (seed 0, 20 % of train/good held back); the metrics are `gaikan
eval`'s (gaikan.models.metrics, masks at model resolution). Backbone features are computed once and
cached in memory (and with --cache in the temp dir); only the head is trained. Prints one table row per rule. Needs the dataset
locally; nothing in the test suite runs it.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw
from torch import nn

from gaikan.models.dataset import read_mask, test_samples, train_images
from gaikan.models.evaluate import mask_at_model_resolution
from gaikan.models.metrics import auroc, pixel_auroc, review_rate_at_zero_escapes
from gaikan.models.nets.backbone import LiteFeatures
from gaikan.models.nets.layers import GaussianBlur, MapHead, ScoreRule
from gaikan.models.nets.patchcore import MAP_SIGMA, PatchCore
from gaikan.models.package import InputSpec, Normalisation
from gaikan.models.preprocess import prepare_batch, read_image
from gaikan.models.train import holdout_split


def _smooth_noise(rng: np.random.Generator, h: int, w: int, cell: int) -> np.ndarray:
    """Low-frequency noise in [0, 1): a coarse random grid upsampled bicubically (Perlin-like)."""
    coarse = rng.random((h // cell + 2, w // cell + 2)).astype(np.float32)
    img = Image.fromarray(coarse, mode="F").resize((w + 2 * cell, h + 2 * cell), Image.BICUBIC)
    return np.asarray(img)[cell : cell + h, cell : cell + w]


def crack_mask(rng: np.random.Generator, h: int, w: int, across: bool = False) -> np.ndarray:
    """A thin random polyline (1-3 px, 2-6 segments), drawn at 4x and box-filtered: (h, w) float in [0, 1].
    `across`: mostly across the part (within ~20 degrees of horizontal) and longer, as KolektorSDD's cracks run."""
    s = 4
    canvas = Image.new("L", (w * s, h * s), 0)
    draw = ImageDraw.Draw(canvas)
    x, y = rng.uniform(0.1, 0.9) * w, rng.uniform(0.05, 0.95) * h
    angle = rng.normal(0, 0.35) + (np.pi if rng.random() < 0.5 else 0) if across else rng.uniform(0, 2 * np.pi)
    points = [(x * s, y * s)]
    for _ in range(int(rng.integers(2, 7))):
        angle += rng.normal(0, 0.3 if across else 0.6)
        step = rng.uniform(8, 40) if across else rng.uniform(4, 30)
        x, y = x + step * np.cos(angle), y + step * np.sin(angle)
        points.append((x * s, y * s))
    draw.line(points, fill=255, width=int(round(rng.uniform(0.8, 3.0) * s)), joint="curve")
    return np.asarray(canvas.resize((w, h), Image.BOX), np.float32) / 255.0


def blob_mask(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A Perlin-style patch: thresholded smooth noise inside a random box (NSA/DRAEM-like)."""
    noise = _smooth_noise(rng, h, w, int(rng.integers(4, 16)))
    mask = (noise > np.quantile(noise, 0.9)).astype(np.float32)
    bh, bw = int(rng.integers(6, 40)), int(rng.integers(6, 40))
    top, left = int(rng.integers(0, h - bh)), int(rng.integers(0, w - bw))
    box = np.zeros_like(mask)
    box[top : top + bh, left : left + bw] = 1.0
    return mask * box


def paint_defect(image: np.ndarray, rng: np.random.Generator, across: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(H, W, C) uint8 good image -> (defective image, (H, W) float mask of the painted area)."""
    h, w = image.shape[:2]
    mask = crack_mask(rng, h, w, across) if rng.random() < 0.75 else blob_mask(rng, h, w)
    if rng.random() < 0.3:  # a second crack on some images
        mask = np.maximum(mask, crack_mask(rng, h, w, across))
    sigma = rng.uniform(0.0, 1.0)
    alpha = mask if sigma < 0.3 else GaussianBlur(sigma)(torch.from_numpy(mask)[None, None])[0, 0].numpy()
    base = image.astype(np.float32)
    if rng.random() < 0.7:  # darker (most real cracks), else brighter
        target = base * rng.uniform(0.1, 0.6)
    else:
        target = np.minimum(255.0, base + rng.uniform(40, 120))
    texture = rng.normal(0, rng.uniform(0, 15), size=base.shape).astype(np.float32)
    out = base * (1 - alpha[..., None]) + (target + texture) * alpha[..., None]
    return np.clip(out, 0, 255).astype(np.uint8), mask


class SegHead(nn.Module):
    """Frozen-feature segmentation head: 3x3 conv D->hidden, BN, ReLU, 3x3 conv ->hidden/2, BN, ReLU, 1x1 -> 1 logit."""

    def __init__(self, channels: int, hidden: int = 64) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(channels, hidden, 3, padding=1), nn.BatchNorm2d(hidden), nn.ReLU(),
            nn.Conv2d(hidden, hidden // 2, 3, padding=1), nn.BatchNorm2d(hidden // 2), nn.ReLU(),
            nn.Conv2d(hidden // 2, 1, 1),
        )  # fmt: skip

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        return self.net(feats)


@torch.no_grad()
def embed_all(model: PatchCore, images: np.ndarray, batch: int = 8) -> torch.Tensor:
    out = [model.embed(torch.from_numpy(images[i : i + batch])).half() for i in range(0, len(images), batch)]
    return torch.cat(out)


@torch.no_grad()
def patchcore_raw(bank: torch.Tensor, feats: torch.Tensor) -> torch.Tensor:
    """(N, D, h, w) features -> (N, 1, h, w) nearest-neighbour distance to `bank` (M, D)."""
    maps = []
    for f in feats:
        q = f.float().permute(1, 2, 0).reshape(-1, f.shape[0])
        maps.append(torch.cdist(q, bank).amin(dim=1).view(1, f.shape[1], f.shape[2]))
    return torch.stack(maps)


@torch.no_grad()
def coreset(points: torch.Tensor, size: int, generator: torch.Generator) -> torch.Tensor:
    proj = points @ (torch.randn(points.shape[1], 64, generator=generator) / 8.0)
    sq = (proj * proj).sum(1)
    chosen = [0]
    nearest = sq - 2 * proj @ proj[0] + sq[0]
    for _ in range(size - 1):
        i = int(torch.argmax(nearest))
        chosen.append(i)
        torch.minimum(nearest, sq - 2 * proj @ proj[i] + sq[i], out=nearest)
    return points[torch.tensor(chosen)]


def metrics(scores: np.ndarray, labels: np.ndarray, maps: list[np.ndarray] | None, masks: list[np.ndarray]) -> str:
    rr = review_rate_at_zero_escapes(scores, labels)
    pix = f"{pixel_auroc(maps, masks):.3f}" if maps is not None else ""
    return f"{auroc(scores, labels):.3f} | {100 * rr:.1f} % | {pix}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", type=Path)
    parser.add_argument("--size", default="512x208", help="HxW model input")
    parser.add_argument("--variants", type=int, default=3, help="synthetic images per training image")
    parser.add_argument("--steps", type=int, default=1200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--head-seed", type=int, help="reseed the head's weights and batches")
    parser.add_argument("--hidden", type=int, default=32, help="channels of the head's first conv")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--patches", type=int, default=100_000, help="patches PatchCore's coreset is chosen from")
    parser.add_argument("--across", action="store_true", help="cracks mostly across the part (a KolektorSDD prior; not measured yet)")
    parser.add_argument("--cache", action="store_true", help="keep the backbone features in the temp dir between runs")
    parser.add_argument("--examples", type=Path, help="write a strip of 8 synthetic images to this PNG")
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    height, width = (int(v) for v in args.size.lower().split("x"))
    spec = InputSpec(height=height, width=width, colour="gray", normalisation=Normalisation(mean=[0.0], std=[1.0]))
    t0 = time.monotonic()

    good = prepare_batch([read_image(p) for p in train_images(args.data)], spec)
    train_idx, held_idx = holdout_split(len(good), 0.2, args.seed)
    train, held = good[train_idx], good[held_idx]
    samples = test_samples(args.data)
    test = prepare_batch([read_image(s.path) for s in samples], spec)
    labels = np.array([s.is_defective for s in samples])
    masks = [
        mask_at_model_resolution(read_mask(s.mask_path), spec) if s.mask_path else np.zeros((height, width), bool)
        for s in samples
    ]

    model = PatchCore(LiteFeatures("lite0"), height, width, 1).eval()
    synth, synth_masks = [], []
    for image in train:
        for _ in range(args.variants):
            painted, mask = paint_defect(image, rng, args.across)
            synth.append(painted)
            synth_masks.append(mask)
    synth_arr = np.stack(synth)
    if args.examples:
        Image.fromarray(np.concatenate([synth_arr[i, ..., 0] for i in range(0, 24, 3)], axis=1)).save(args.examples)
    tag = f"{height}x{width}_{args.variants}_{args.seed}{'_across' if args.across else ''}"
    cache = Path(tempfile.gettempdir()) / f"synth_feats_{tag}.pt"
    if args.cache and cache.is_file():
        f_train, f_synth, f_held, f_test = torch.load(cache)
    else:
        f_train, f_synth = embed_all(model, train), embed_all(model, synth_arr)
        f_held, f_test = embed_all(model, held), embed_all(model, test)
        if args.cache:
            torch.save((f_train, f_synth, f_held, f_test), cache)
    stride = model.features.stride
    cover = F.avg_pool2d(torch.from_numpy(np.stack(synth_masks))[:, None], stride)
    targets = torch.cat([torch.zeros(len(f_train), 1, *cover.shape[-2:]), (cover * 3).clamp(max=1.0)])
    feats = torch.cat([f_train, f_synth])
    print(f"features: {tuple(feats.shape)} in {time.monotonic() - t0:.0f} s", flush=True)

    # PatchCore on the same cached features (4096 rows from at most 100 000 patches).
    gen = torch.Generator().manual_seed(args.seed)
    rows = f_train.float().permute(0, 2, 3, 1).reshape(-1, f_train.shape[1])
    rows = rows[torch.randperm(len(rows), generator=gen)[: args.patches]]
    bank = coreset(rows, 4096, gen)
    head_max = MapHead(height, width, MAP_SIGMA, map_stride=stride)
    head_topk = MapHead(height, width, MAP_SIGMA, map_stride=stride, rule=ScoreRule("topk_mean"))
    pc_test, pc_held = patchcore_raw(bank, f_test), patchcore_raw(bank, f_held)
    print(f"patchcore bank in {time.monotonic() - t0:.0f} s", flush=True)

    if args.head_seed is not None:  # otherwise the weights and batches follow --seed's streams
        torch.manual_seed(args.head_seed)
        gen = torch.Generator().manual_seed(args.head_seed)
    seg = SegHead(feats.shape[1], args.hidden)
    opt = torch.optim.AdamW(seg.parameters(), lr=1e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, args.steps)
    for step in range(args.steps):
        idx = torch.randint(len(feats), (args.batch,), generator=gen)
        logits = seg(feats[idx].float())
        t = targets[idx]
        p = torch.sigmoid(logits)
        bce = F.binary_cross_entropy_with_logits(logits, t, reduction="none")
        focal = (bce * ((p - t).abs() ** 2)).mean()
        dice = 1 - (2 * (p * t).sum() + 1) / (p.sum() + t.sum() + 1)
        loss = focal * 10 + dice
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 50 == 0 or step == args.steps - 1:
            print(f"step {step} loss {loss.item():.4f} ({time.monotonic() - t0:.0f} s)", flush=True)
    seg.eval()
    with torch.no_grad():
        sg_test = torch.cat([seg(f_test[i : i + 16].float()) for i in range(0, len(f_test), 16)])
        sg_held = torch.cat([seg(f_held[i : i + 16].float()) for i in range(0, len(f_held), 16)])

    def rows_for(name: str, test_raw: torch.Tensor, held_raw: torch.Tensor) -> None:
        for rule, head in (("max", head_max), ("top 0.3 % mean", head_topk)):
            with torch.no_grad():
                scores, maps = head(test_raw)
            pix = [m.numpy() for m in maps] if rule == "max" else None
            print(f"| {name} | {rule} | {metrics(scores.numpy(), labels, pix, masks)} |", flush=True)

    def zs(test_raw: torch.Tensor, held_raw: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Standardise a raw map by the held-back good images' raw-map statistics."""
        mu, sd = held_raw.mean(), held_raw.std()
        return (test_raw - mu) / sd, (held_raw - mu) / sd

    print("| model | image score | image AUROC | review @ 0 escapes | pixel AUROC |")
    rows_for("patchcore (cached features)", pc_test, pc_held)
    rows_for("synthetic-defect head (logit)", sg_test, sg_held)
    pz, ph = zs(pc_test, pc_held)
    sz, sh = zs(sg_test, sg_held)
    for weight in (0.25, 0.5, 1.0):
        rows_for(f"patchcore z + {weight} x head z", pz + weight * sz, ph + weight * sh)
    print(f"total {time.monotonic() - t0:.0f} s")


if __name__ == "__main__":
    main()
