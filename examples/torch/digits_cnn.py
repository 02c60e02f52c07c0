"""A small CNN for sklearn's 8x8 digits, for torch-prune's example recipe
(recipes/prune-finetune.yaml). The plugin imports it as digits_cnn:build with
examples/torch on python_path.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


class DigitsCNN(nn.Module):
    def __init__(self, channels=(32, 64), hidden=128, classes=10):
        super().__init__()
        c1, c2 = channels
        self.conv1 = nn.Conv2d(1, c1, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(c1)
        self.conv2 = nn.Conv2d(c1, c2, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(c2)
        self.pool = nn.MaxPool2d(2)
        self.fc1 = nn.Linear(c2 * 4 * 4, hidden)
        self.fc2 = nn.Linear(hidden, classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.pool(F.relu(self.bn2(self.conv2(x))))
        x = F.relu(self.fc1(torch.flatten(x, 1)))
        return self.fc2(x)


def build(channels=(32, 64), hidden=128, classes=10):
    return DigitsCNN(tuple(channels), hidden, classes)
