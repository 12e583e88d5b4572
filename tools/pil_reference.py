#!/usr/bin/env python3
"""Writes tests/fixtures/preprocess/: small source pictures (PNG of every
colour type PIL writes, JPEG grey, RGB and CMYK) and what PIL makes of them
through the steps xfer's pipeline (src/data/preprocess.h) names: alpha
composited onto a background with paste(mask=alpha), convert("L") or
convert("RGB"), resize with BOX, BILINEAR or BICUBIC, centre crop.

cases.txt has one case a line:
  SOURCE EXPECTED FIT HEIGHT WIDTH SHORTER CHANNELS FILTER BG_R BG_G BG_B
FIT: none, stretch, shorter, cover (as xf_fit); FILTER: bilinear, bicubic,
box. tests/test_preprocess.c decodes SOURCE, runs the pipeline and compares
with EXPECTED (an 8-bit PNG written by PIL) pixel by pixel.

Needs Debian's python3-pil (`make tools-deps`). Run from the repository root:
  /usr/bin/python3 tools/pil_reference.py
"""
import os
import random

from PIL import Image

OUT = "tests/fixtures/preprocess"
FILTERS = {"bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC, "box": Image.BOX}


def smooth_picture(mode, w, h, seed):
    """A picture with gradients, edges and noise, so every filter tap matters."""
    rng = random.Random(seed)
    bands = len(mode)
    img = Image.new(mode, (w, h))
    px = img.load()
    for y in range(h):
        for x in range(w):
            vals = []
            for b in range(bands):
                v = (x * (37 + 11 * b) + y * (23 + 7 * b)) % 256
                if (x // 5 + y // 4 + b) % 3 == 0:
                    v = 255 - v
                v = max(0, min(255, v + rng.randint(-20, 20)))
                vals.append(v)
            if mode.endswith("A"):
                # alpha: opaque, clear and partial regions
                vals[-1] = 255 if x < w // 3 else 0 if x < w // 2 else (x * 40 + y * 9) % 256
            px[x, y] = tuple(vals) if bands > 1 else vals[0]
    return img


def resized_size(fit, h, w, height, width, shorter):
    if fit == "none":
        return h, w
    if fit == "stretch":
        return height, width
    if fit == "shorter":
        return (shorter, shorter * w // h) if h <= w else (shorter * h // w, shorter)
    if height * w >= width * h:  # cover: the height binds
        return height, w * height // h
    return h * width // w, width


def pipeline(img, fit, height, width, shorter, channels, filt, bg):
    if img.mode == "P":
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA"):
        base = Image.new("RGB", img.size, bg)
        base.paste(img.convert("RGB"), mask=img.getchannel("A"))
        img = base
    if channels == 1 and img.mode != "L":
        img = img.convert("L")
    if channels == 3 and img.mode != "RGB":
        img = img.convert("RGB")
    w, h = img.size
    rh, rw = resized_size(fit, h, w, height, width, shorter)
    if (rh, rw) != (h, w):
        img = img.resize((rw, rh), FILTERS[filt])
    oh, ow = (h, w) if fit == "none" else (height, width)
    top, left = (rh - oh) // 2, (rw - ow) // 2
    return img.crop((left, top, left + ow, top + oh))


def main():
    os.makedirs(OUT, exist_ok=True)
    sources = {
        "rgb.png": smooth_picture("RGB", 37, 23, 1),
        "rgba.png": smooth_picture("RGBA", 29, 41, 2),
        "grey.png": smooth_picture("L", 19, 26, 3),
        "grey_alpha.png": smooth_picture("LA", 21, 17, 4),
    }
    pal = smooth_picture("RGB", 24, 18, 5).quantize(colors=16)
    pal.info["transparency"] = 3  # palette entry 3 is clear (tRNS)
    sources["palette.png"] = pal
    for name, img in sources.items():
        img.save(os.path.join(OUT, name), **({"transparency": 3} if name == "palette.png" else {}))
    photo = smooth_picture("RGB", 40, 30, 6)
    photo.save(os.path.join(OUT, "rgb.jpg"), quality=90)
    photo.convert("L").save(os.path.join(OUT, "grey.jpg"), quality=90)
    photo.convert("CMYK").save(os.path.join(OUT, "cmyk.jpg"), quality=90)

    cases = [
        # source, fit, height, width, shorter, channels, filter, background
        ("rgb.png", "stretch", 11, 16, 0, 3, "bilinear", (0, 0, 0)),
        ("rgb.png", "stretch", 45, 61, 0, 3, "bicubic", (0, 0, 0)),
        ("rgb.png", "stretch", 5, 9, 0, 3, "box", (0, 0, 0)),
        ("rgb.png", "stretch", 7, 4, 0, 1, "bicubic", (0, 0, 0)),
        ("rgb.png", "cover", 16, 16, 0, 3, "bilinear", (0, 0, 0)),
        ("rgb.png", "shorter", 12, 10, 14, 3, "bicubic", (0, 0, 0)),
        ("rgba.png", "shorter", 16, 16, 20, 3, "bilinear", (255, 255, 255)),
        ("rgba.png", "stretch", 12, 12, 0, 1, "bilinear", (0, 0, 0)),
        ("rgba.png", "none", 0, 0, 0, 3, "bilinear", (40, 80, 120)),
        ("grey.png", "stretch", 30, 30, 0, 3, "bicubic", (0, 0, 0)),
        ("grey.png", "cover", 9, 13, 0, 1, "box", (0, 0, 0)),
        ("grey_alpha.png", "stretch", 8, 10, 0, 1, "bilinear", (40, 80, 120)),
        ("grey_alpha.png", "none", 0, 0, 0, 3, "bilinear", (200, 100, 50)),
        ("palette.png", "none", 0, 0, 0, 3, "bilinear", (0, 0, 0)),
        ("palette.png", "stretch", 36, 48, 0, 3, "bicubic", (255, 255, 255)),
        ("rgb.jpg", "none", 0, 0, 0, 3, "bilinear", (0, 0, 0)),
        ("rgb.jpg", "shorter", 24, 24, 24, 3, "bicubic", (0, 0, 0)),
        ("grey.jpg", "none", 0, 0, 0, 1, "bilinear", (0, 0, 0)),
        ("cmyk.jpg", "none", 0, 0, 0, 3, "bilinear", (0, 0, 0)),
        ("cmyk.jpg", "stretch", 13, 17, 0, 1, "box", (0, 0, 0)),
    ]
    lines = []
    for i, (src, fit, h, w, s, c, filt, bg) in enumerate(cases):
        img = Image.open(os.path.join(OUT, src))
        img.load()
        if src == "cmyk.jpg":
            assert img.mode == "CMYK"
        out = pipeline(img, fit, h, w, s, c, filt, bg)
        name = "expected_%02d.png" % i
        out.save(os.path.join(OUT, name))
        lines.append("%s %s %s %d %d %d %d %s %d %d %d" % (src, name, fit, h, w, s, c, filt, *bg))
    with open(os.path.join(OUT, "cases.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote %d cases to %s" % (len(cases), OUT))


if __name__ == "__main__":
    main()
