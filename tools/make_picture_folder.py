#!/usr/bin/env python3
"""Writes a synthetic picture folder for measuring xfer's folder reader and
probes at scale (docs/data.md, "Memory"): N JPEG pictures of SIZE x SIZE RGB
in 10 class folders, each spread over 3 nested subfolders, every class a
colour and a shape (rectangles or ellipses) so a probe has something to find.

Needs Debian's python3-pil (`make tools-deps`):
  /usr/bin/python3 tools/make_picture_folder.py DIR [N=20000] [SIZE=224]
"""
import os
import random
import sys
from multiprocessing import Pool

from PIL import Image, ImageDraw


def make(args):
    root, i, size = args
    cls = i % 10
    rng = random.Random(i)
    folder = os.path.join(root, "class%02d" % cls, "sub%d" % (i % 3))
    os.makedirs(folder, exist_ok=True)
    base = ((cls * 70) % 256, (cls * 130 + 60) % 256, (cls * 200 + 120) % 256)
    img = Image.new("RGB", (size, size), base)
    draw = ImageDraw.Draw(img)
    scale = size / 224
    for _ in range(6):
        x0, y0 = rng.randrange(0, int(180 * scale)), rng.randrange(0, int(180 * scale))
        box = [x0, y0, x0 + (20 + cls * 4) * scale, y0 + (20 + rng.randrange(40)) * scale]
        colour = tuple(rng.randrange(256) for _ in range(3))
        (draw.ellipse if cls % 2 else draw.rectangle)(box, fill=colour)
    img.save(os.path.join(folder, "%05d.jpg" % i), quality=85)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    root = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
    size = int(sys.argv[3]) if len(sys.argv) > 3 else 224
    with Pool() as pool:
        pool.map(make, [(root, i, size) for i in range(n)], chunksize=200)


if __name__ == "__main__":
    main()
