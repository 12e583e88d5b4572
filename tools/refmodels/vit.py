"""timm's VisionTransformer, written from its published structure (pre-norm
blocks, LayerNorm eps 1e-6, exact GELU, learned position embeddings), with
the options timm checkpoints use:

  class_token   a class token prepended (cls_token [1, 1, dim])
  global_pool   'token' (the class token) or 'avg' (mean of the tokens after
                the prefix (class) token)
  fc_norm       with 'avg': no final `norm`, a LayerNorm `fc_norm` after pooling
                (timm's default for 'avg')
  qkv_bias      attn.qkv with or without bias
  init_values   LayerScale (ls1.gamma, ls2.gamma) when not None
  num_classes   0: no head (a feature-only checkpoint)

xfer's own models are two of these configs (src/models/vit.h): pool "cls" =
class_token=True, global_pool='token'; pool "gap" = class_token=False,
global_pool='avg', fc_norm=False. forward_taps() also returns what xfer's
taps hold (docs/models.md)."""

import torch
from torch import nn
from torch.nn import functional as F


class PatchEmbed(nn.Module):
    def __init__(self, channels, patch, dim):
        super().__init__()
        self.proj = nn.Conv2d(channels, dim, patch, stride=patch)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)


class Attention(nn.Module):
    def __init__(self, dim, heads, qkv_bias=True):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        b, n, c = x.shape
        hd = c // self.heads
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, hd).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        attn = (q @ k.transpose(-2, -1)) * hd ** -0.5
        attn = attn.softmax(dim=-1)
        x = (attn @ v).transpose(1, 2).reshape(b, n, c)
        return self.proj(x)


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class LayerScale(nn.Module):
    def __init__(self, dim, init_values):
        super().__init__()
        self.gamma = nn.Parameter(init_values * torch.ones(dim))

    def forward(self, x):
        return x * self.gamma


class Block(nn.Module):
    def __init__(self, dim, heads, hidden, qkv_bias=True, init_values=None):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, heads, qkv_bias)
        self.ls1 = LayerScale(dim, init_values) if init_values is not None else nn.Identity()
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, hidden)
        self.ls2 = LayerScale(dim, init_values) if init_values is not None else nn.Identity()

    def forward(self, x):
        x = x + self.ls1(self.attn(self.norm1(x)))
        return x + self.ls2(self.mlp(self.norm2(x)))


class VisionTransformer(nn.Module):
    def __init__(self, height, width, channels, classes, patch, dim, depth, heads, mlp_ratio,
                 class_token=True, global_pool="token", fc_norm=False, qkv_bias=True,
                 init_values=None):
        super().__init__()
        self.global_pool = global_pool
        self.prefix = 1 if class_token else 0
        n = (height // patch) * (width // patch)
        self.patch_embed = PatchEmbed(channels, patch, dim)
        if class_token:
            self.cls_token = nn.Parameter(torch.randn(1, 1, dim) * 0.02)
        self.pos_embed = nn.Parameter(torch.randn(1, n + self.prefix, dim) * 0.02)
        hidden = int(round(dim * mlp_ratio))
        self.blocks = nn.Sequential(*[Block(dim, heads, hidden, qkv_bias, init_values)
                                      for _ in range(depth)])
        self.norm = nn.Identity() if fc_norm else nn.LayerNorm(dim, eps=1e-6)
        self.fc_norm = nn.LayerNorm(dim, eps=1e-6) if fc_norm else nn.Identity()
        self.head = nn.Linear(dim, classes) if classes > 0 else nn.Identity()

    def tokens(self, x):
        x = self.patch_embed(x)
        if self.prefix:
            x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1)
        return x + self.pos_embed

    def pool(self, x):
        x = x[:, 0] if self.global_pool == "token" else x[:, self.prefix:].mean(dim=1)
        return self.fc_norm(x)

    def forward(self, x):
        return self.head(self.pool(self.norm(self.blocks(self.tokens(x)))))

    def forward_taps(self, x):
        """(logits, taps): per block the mean of its patch tokens ("block<i>") and,
        with a class token, the class token ("block<i>_cls"), then "prelogits"."""
        taps = {}
        x = self.tokens(x)
        for i, block in enumerate(self.blocks):
            x = block(x)
            taps[f"block{i}"] = x[:, self.prefix:].mean(dim=1)
            if self.prefix:
                taps[f"block{i}_cls"] = x[:, 0]
        pre = self.pool(self.norm(x))
        taps["prelogits"] = pre
        return self.head(pre), taps


def resample_pos_embed(pos_embed, prefix, old_grid, new_grid):
    """timm's resample_abs_pos_embed with antialias=False: the prefix tokens
    kept, the grid resized bicubically."""
    dim = pos_embed.shape[-1]
    grid = pos_embed[:, prefix:].reshape(1, old_grid[0], old_grid[1], dim).permute(0, 3, 1, 2)
    grid = F.interpolate(grid, size=new_grid, mode="bicubic", align_corners=False,
                         antialias=False)
    grid = grid.permute(0, 2, 3, 1).reshape(1, -1, dim)
    return torch.cat([pos_embed[:, :prefix], grid], dim=1)


def build(config):
    v = config["vit"]
    cls = v["pool"] == "cls"
    return VisionTransformer(config["height"], config["width"], config["channels"],
                             config["n_classes"], v["patch"], v["dim"], v["depth"], v["heads"],
                             v["mlp_ratio"], class_token=cls,
                             global_pool="token" if cls else "avg", fc_norm=False)
