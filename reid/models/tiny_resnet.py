"""A small ResNet for the generated demo data: torchvision's ResNet layout (conv1, bn1, relu,
maxpool, layer1 … layer4 of BasicBlocks, He-initialised) with fewer channels and one block per
stage. On 64×32 images it trains several times faster than ResNet-18 on one CPU thread, which
is what lets the laptop demo of the lifelong benchmark train every method for several seeds.
No pretrained weights exist for it; it imports nothing of torchvision (a job's start-up is
~1 s shorter)."""

from __future__ import annotations

from torch import Tensor, nn

# name -> channels of layer1 … layer4
WIDTHS: dict[str, tuple[int, int, int, int]] = {"tiny_resnet": (32, 64, 128, 256)}


class BasicBlock(nn.Module):
    """Two 3×3 convolutions with BatchNorm and a residual (1×1 projection when the shape
    changes), as torchvision's BasicBlock."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)
            )

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


class TinyResNet(nn.Module):
    """Stem (3×3 conv, stride 2; max-pool) and four one-block stages (strides 1, 2, 2, 2)."""

    def __init__(self, widths: tuple[int, int, int, int]) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, widths[0], 3, 2, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        cin = widths[0]
        for i, cout in enumerate(widths):
            setattr(self, f"layer{i + 1}", nn.Sequential(BasicBlock(cin, cout, 1 if i == 0 else 2)))
            cin = cout
        self.out_channels = cin
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: Tensor) -> Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))


def tiny_resnet(name: str) -> TinyResNet:
    """The small ResNet registered as `name` (random initialisation from torch's RNG)."""
    return TinyResNet(WIDTHS[name])


__all__ = ["WIDTHS", "TinyResNet", "tiny_resnet"]
