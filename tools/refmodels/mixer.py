"""timm's MlpMixer (stem.proj, MixerBlock with mlp_tokens / mlp_channels,
LayerNorm eps 1e-6, exact GELU, global average pooling before the head)."""

from torch import nn

from refmodels.vit import Mlp, PatchEmbed


class MixerBlock(nn.Module):
    def __init__(self, dim, tokens, token_dim, channel_dim):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp_tokens = Mlp(tokens, token_dim)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp_channels = Mlp(dim, channel_dim)

    def forward(self, x):
        x = x + self.mlp_tokens(self.norm1(x).transpose(1, 2)).transpose(1, 2)
        return x + self.mlp_channels(self.norm2(x))


class MlpMixer(nn.Module):
    def __init__(self, height, width, channels, classes, patch, dim, depth, token_dim, channel_dim):
        super().__init__()
        n = (height // patch) * (width // patch)
        self.stem = PatchEmbed(channels, patch, dim)
        self.blocks = nn.Sequential(*[MixerBlock(dim, n, token_dim, channel_dim)
                                      for _ in range(depth)])
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.head = nn.Linear(dim, classes)

    def forward(self, x):
        x = self.norm(self.blocks(self.stem(x)))
        return self.head(x.mean(dim=1))

    def forward_taps(self, x):
        """(logits, taps): each block's output averaged over tokens ("block<i>"),
        then the final norm averaged over tokens ("prelogits")."""
        taps = {}
        x = self.stem(x)
        for i, block in enumerate(self.blocks):
            x = block(x)
            taps[f"block{i}"] = x.mean(dim=1)
        pre = self.norm(x).mean(dim=1)
        taps["prelogits"] = pre
        return self.head(pre), taps


def build(config):
    m = config["mixer"]
    return MlpMixer(config["height"], config["width"], config["channels"], config["n_classes"],
                    m["patch"], m["dim"], m["depth"], m["token_mlp_dim"], m["channel_mlp_dim"])
