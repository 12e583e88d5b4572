"""Reference models in plain PyTorch whose state_dict names and layouts are
timm's, one module per xfer family (tools/refmodels/<family>.py). Each module
defines build(config) -> nn.Module, where config is the xfer model config
(the dict of its JSON form) and the module takes NCHW images."""

import importlib


def build(family, config):
    try:
        module = importlib.import_module(f"refmodels.{family}")
    except ModuleNotFoundError as e:
        raise SystemExit(f"no reference model for family '{family}' (tools/refmodels/{family}.py)") from e
    return module.build(config)
