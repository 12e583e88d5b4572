"""xfer's mlp family in plain PyTorch (see src/models/mlp.h): flatten the
image in xfer's H x W x C order, depth x [Linear(width) + exact GELU], then a
Linear head. State_dict names: blocks.{i}.fc.weight/bias, head.weight/bias."""

from torch import nn


class Block(nn.Module):
    def __init__(self, d_in, width):
        super().__init__()
        self.fc = nn.Linear(d_in, width)
        self.act = nn.GELU()

    def forward(self, x):
        return self.act(self.fc(x))


class MLP(nn.Module):
    def __init__(self, d_in, width, depth, n_classes):
        super().__init__()
        self.blocks = nn.ModuleList(
            [Block(d_in if i == 0 else width, width) for i in range(depth)])
        self.head = nn.Linear(width, n_classes)

    def forward(self, x):
        # NCHW in, flattened as NHWC so weights match xfer's input layout.
        x = x.permute(0, 2, 3, 1).flatten(1)
        for block in self.blocks:
            x = block(x)
        return self.head(x)


def build(config):
    c = config["mlp"]
    d_in = config["height"] * config["width"] * config["channels"]
    return MLP(d_in, c["width"], c["depth"], config["n_classes"])
