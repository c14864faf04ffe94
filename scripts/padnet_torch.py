"""PyTorch reference of Cherry's dynamic layers (test oracle and benchmark baseline only).

DynamicConv2d follows docs/PADNET.md §1-§2 with the reference grouped-conv trick (one conv with
groups = B*g over a [1, B*C, H, W] view) and Cherry's state-dict names, so a state dict moves
between the two unchanged. resnet20() builds the CIFAR ResNet-20 with static, dynamic or PAD
block convs, like train_resnet --conv.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


class KernelAttention(nn.Module):
    def __init__(self, cin, kernels, reduction):
        super().__init__()
        self.fc1 = nn.Linear(cin, max(1, cin // reduction), bias=False)
        self.fc2 = nn.Linear(max(1, cin // reduction), kernels)
        nn.init.kaiming_normal_(self.fc1.weight, mode="fan_out", nonlinearity="relu")
        nn.init.kaiming_normal_(self.fc2.weight, mode="fan_out", nonlinearity="relu")
        nn.init.zeros_(self.fc2.bias)

    def forward(self, x, temperature):
        return F.softmax(self.fc2(F.relu(self.fc1(x.mean((2, 3))))) / temperature, dim=1)


class DynamicConv2d(nn.Module):
    def __init__(self, cin, cout, k, stride=1, padding=0, dilation=1, groups=1, bias=False, kernels=4, reduction=4,
                 pad=False, scale=True, temperature=30.0):
        super().__init__()
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups
        self.pad, self.scale = pad, scale
        shape = (cout, cin // groups, k, k)
        self.weight = nn.Parameter(torch.stack([nn.init.kaiming_normal_(torch.empty(shape), mode="fan_out") for _ in range(kernels)]))
        if pad:
            self.static_weight = nn.Parameter(nn.init.kaiming_normal_(torch.empty(shape), mode="fan_out"))
            if scale:
                self.phi = nn.Parameter(torch.zeros(()))
            self.register_buffer("mask", torch.ones(shape))
        self.register_buffer("temperature", torch.tensor(float(temperature)))
        self.attention = KernelAttention(cin, kernels, reduction)
        self.bias = nn.Parameter(torch.zeros(kernels, cout)) if bias else None

    def forward(self, x):
        B, C, H, W = x.shape
        K = self.weight.shape[0]
        pi = self.attention(x, self.temperature)
        factors = self.weight
        if self.pad:
            ld = 2 * torch.sigmoid(self.phi) if self.scale else 1.0
            ls = 2 - ld if self.scale else 1.0
            factors = self.weight * (ld * self.mask)
        w = pi @ factors.reshape(K, -1)
        if self.pad:
            w = w + (self.static_weight * (ls * (1 - self.mask))).reshape(1, -1)
        cout = self.weight.shape[1]
        y = F.conv2d(x.reshape(1, B * C, H, W), w.reshape(B * cout, *self.weight.shape[2:]), None, self.stride, self.padding,
                     self.dilation, self.groups * B)
        y = y.reshape(B, cout, y.shape[2], y.shape[3])
        if self.bias is not None:
            y = y + (pi @ self.bias)[:, :, None, None]
        return y


def make_conv(kind, cin, cout, k, stride, **dynamic):
    if kind == "static":
        conv = nn.Conv2d(cin, cout, k, stride, k // 2, bias=False)
        nn.init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")
        return conv
    return DynamicConv2d(cin, cout, k, stride, k // 2, pad=(kind == "pad"), **dynamic)


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride, kind, **dynamic):
        super().__init__()
        self.conv1 = make_conv(kind, cin, cout, 3, stride, **dynamic)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = make_conv(kind, cout, cout, 3, 1, **dynamic)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(make_conv(kind, cin, cout, 1, stride, **dynamic), nn.BatchNorm2d(cout))

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        h = self.bn2(self.conv2(h))
        return F.relu(h + (self.downsample(x) if self.downsample is not None else x))


class ResNet20(nn.Module):
    """CIFAR ResNet-20; `kind` (static|dynamic|pad) applies to block and shortcut convs, the stem stays static."""

    def __init__(self, kind="static", in_channels=3, num_classes=10, **dynamic):
        super().__init__()
        self.conv1 = make_conv("static", in_channels, 16, 3, 1)
        self.bn1 = nn.BatchNorm2d(16)
        cin = 16
        for i, w in enumerate((16, 32, 64)):
            blocks = []
            for b in range(3):
                blocks.append(BasicBlock(cin, w, 2 if (b == 0 and i > 0) else 1, kind, **dynamic))
                cin = w
            setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))
        self.fc = nn.Linear(64, num_classes)

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        h = self.layer3(self.layer2(self.layer1(h)))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(h, 1), 1))


class MoeLinear(nn.Module):
    """Noisy top-k MoE linear (docs/PADNET.md §3), the same computation as Cherry's layers/moe_linear.cpp:
    per-expert gather, one GEMM per expert, scatter-add back; PAD form with pad=True."""

    def __init__(self, dense: nn.Linear, experts=8, k=2, pad=False, scale=True, noise_epsilon=0.01):
        super().__init__()
        out_f, in_f = dense.weight.shape
        self.k, self.pad, self.scale, self.noise_epsilon = k, pad, scale, noise_epsilon
        self.weight = nn.Parameter(dense.weight.detach().clone().unsqueeze(0).repeat(experts, 1, 1))
        self.bias = nn.Parameter(dense.bias.detach().clone().unsqueeze(0).repeat(experts, 1))
        if pad:
            self.static_weight = nn.Parameter(dense.weight.detach().clone())
            if scale:
                self.phi = nn.Parameter(torch.zeros(()))
            self.register_buffer("mask", torch.ones(out_f, in_f))
        self.w_gate = nn.Parameter(torch.zeros(in_f, experts))
        self.w_noise = nn.Parameter(torch.zeros(in_f, experts))
        self.balance_loss = None

    @staticmethod
    def cv_squared(x):
        return x.var() / (x.mean() ** 2 + 1e-10) if x.numel() > 1 else x.new_zeros(())

    def forward(self, x_in):
        shape = x_in.shape
        x = x_in.reshape(-1, shape[-1])
        E, k = self.weight.shape[0], self.k
        clean = x @ self.w_gate
        noisy = self.training
        if noisy:
            std = F.softplus(x @ self.w_noise) + self.noise_epsilon
            logits = clean + torch.randn_like(clean) * std
        else:
            logits = clean
        top_v, top_i = logits.topk(min(k + 1, E), dim=1)
        gates_k = F.softmax(top_v[:, :k], dim=1)
        idx = top_i[:, :k]
        gates = torch.zeros_like(logits).scatter(1, idx, gates_k)
        if noisy and k < E:
            normal = torch.distributions.Normal(0.0, 1.0)
            t_in, t_out = top_v[:, k:k + 1], top_v[:, k - 1:k]
            prob = torch.where(logits > t_in, normal.cdf((clean - t_in) / std), normal.cdf((clean - t_out) / std))
            load = prob.sum(0)
        else:
            load = (gates > 0).sum(0).to(x.dtype)
        self.balance_loss = self.cv_squared(gates.sum(0)) + self.cv_squared(load)
        w = self.weight
        if self.pad:  # Theta_e = dynamic_e + static, added into the expert kernels as Cherry does
            ld = 2 * torch.sigmoid(self.phi) if self.scale else 1.0
            ls = 2 - ld if self.scale else 1.0
            w = self.weight * (ld * self.mask) + (self.static_weight * (ls * (1 - self.mask))).unsqueeze(0)
        y = x.new_zeros(x.shape[0], w.shape[1])
        flat_gates = gates_k.reshape(-1)
        for e in range(E):
            tok, slot = (idx == e).nonzero(as_tuple=True)
            if tok.numel() == 0:
                continue
            ye = F.linear(x[tok], w[e], self.bias[e]) * flat_gates[tok * k + slot].unsqueeze(1)
            y = y.index_add(0, tok, ye.to(y.dtype))  # under autocast ye may be bf16
        return y.reshape(*shape[:-1], w.shape[1])


def moe_bert(model, experts=8, k=2, pad=False):
    """Replaces every FFN linear (intermediate.dense, output.dense) of a transformers BERT with MoeLinear."""
    for layer in model.bert.encoder.layer:
        layer.intermediate.dense = MoeLinear(layer.intermediate.dense, experts, k, pad)
        layer.output.dense = MoeLinear(layer.output.dense, experts, k, pad)
    return model
