"""The streaming keyword network in PyTorch, with int8 fake quantisation for training.

Shape (must match firmware/hushword/nn.py layer for layer):
  causal conv K=3 32->C + ReLU
  4 x [depthwise causal conv K=5, dilation 1,2,4,8 -> pointwise C->C, + residual, ReLU]
  dense C->N on the current frame
Receptive field 1 + 2 + 4*(1+2+4+8) = 63 frames (1.26 s).

``w4``: which of "conv0", "pw", "dense" train and export with 4-bit weights (-7..7 per output
channel, half the device RAM per weight); the depthwise layers stay int8.
"""

import torch
import torch.nn.functional as F
from torch import nn

DILATIONS = (1, 2, 4, 8)
N_FEATURES = 32


class _RoundSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return torch.round(x)

    @staticmethod
    def backward(ctx, g):
        return g


def fq_weight(w, bits=8):
    """Symmetric int8 (or int4) per output channel, as the exporter stores weights."""
    q = 7 if bits == 4 else 127
    dims = tuple(range(1, w.dim()))
    s = w.detach().abs().amax(dim=dims, keepdim=True).clamp_min(1e-8) / q
    return torch.clamp(_RoundSTE.apply(w / s), -q, q) * s


class ActQuant(nn.Module):
    """int8 activation fake quantisation with a running max (what calibration will find)."""

    def __init__(self, momentum=0.02):
        super().__init__()
        self.register_buffer("amax", torch.tensor(0.0))
        self.momentum = momentum
        self.enabled = False

    def forward(self, x):
        if self.training:
            m = x.detach().abs().amax()
            if self.amax.item() == 0.0:
                self.amax.fill_(m.item())
            else:
                self.amax.mul_(1 - self.momentum).add_(self.momentum * m)
        if not self.enabled:
            return x
        s = self.amax.clamp_min(1e-6) / 127.0
        return torch.clamp(_RoundSTE.apply(x / s), -128, 127) * s


class KeywordNet(nn.Module):
    def __init__(self, channels=48, n_out=2, input_scale=1.0 / 16, w4=()):
        super().__init__()
        self.channels, self.n_out, self.input_scale = channels, n_out, input_scale
        c = channels
        self.conv0 = nn.Conv1d(N_FEATURES, c, 3)
        self.dw = nn.ModuleList(nn.Conv1d(c, c, 5, dilation=d, groups=c) for d in DILATIONS)
        self.pw = nn.ModuleList(nn.Conv1d(c, c, 1) for _ in DILATIONS)
        self.dense = nn.Conv1d(c, n_out, 1)
        self.q_in = ActQuant()
        self.q = nn.ModuleList(ActQuant() for _ in range(1 + 2 * len(DILATIONS) + 1))
        self.quant = False
        for name in w4:
            for conv in {"conv0": [self.conv0], "pw": list(self.pw), "dense": [self.dense]}[name]:
                conv.bits = 4  # what fq_weight and the exporter store it with (default 8)

    def set_quant(self, on):
        self.quant = on
        for q in [self.q_in, *self.q]:
            q.enabled = on

    def _conv(self, conv, x, dilation=1, groups=1):
        w = fq_weight(conv.weight, getattr(conv, "bits", 8)) if self.quant else conv.weight
        pad = (conv.kernel_size[0] - 1) * dilation
        return F.conv1d(F.pad(x, (pad, 0)), w, conv.bias, dilation=dilation, groups=groups)

    def forward(self, feats):
        """feats: int8 features as float [B, T, 32] -> logits [B, T, n_out]."""
        x = feats.transpose(1, 2) * self.input_scale
        h = self.q[0](F.relu(self._conv(self.conv0, x)))
        for i, d in enumerate(DILATIONS):
            y = self.q[1 + 2 * i](self._conv(self.dw[i], h, d, self.channels))
            # Residual before the ReLU, as the runtime computes it: relu(W y + b + h).
            h = self.q[2 + 2 * i](F.relu(self._conv(self.pw[i], y) + h))
        return self.q[-1](self._conv(self.dense, h)).transpose(1, 2)

    def float_layers(self):
        """The exporter's float description of the network."""
        layers = [_layer("conv", self.conv0, 3, 1, N_FEATURES, self.channels, True, False)]
        for i, d in enumerate(DILATIONS):
            layers.append(
                _layer("dwconv", self.dw[i], 5, d, self.channels, self.channels, False, False)
            )
            layers.append(_layer("pw", self.pw[i], 1, 1, self.channels, self.channels, True, True))
        layers.append(_layer("dense", self.dense, 1, 1, self.channels, self.n_out, False, False))
        return layers


def _layer(kind, conv, k, d, cin, cout, relu, residual):
    w = conv.weight.detach().cpu().numpy().astype("float32")
    if kind in ("pw", "dense"):
        w = w[:, :, 0]
    return {
        "type": kind,
        "k": k,
        "d": d,
        "cin": cin,
        "cout": cout,
        "relu": relu,
        "residual": residual,
        "weight": w,
        "bias": conv.bias.detach().cpu().numpy().astype("float32"),
        "bits": getattr(conv, "bits", 8),
    }
