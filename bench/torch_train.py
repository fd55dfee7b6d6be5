#!/usr/bin/env python3
"""PyTorch anchor for `npm run bench:train`: the same SimpleCNN, batch and optimizer, timed the same way.

    python3 bench/torch_train.py [--steps 40] [--batch-size 64] [--warmup 3] [--threads N] [--adam fused|foreach|for-loop] [--channels-last]

Network (src/model/architectures.ts): conv3x3(32, same)+ReLU+maxpool2, conv3x3(64, same)+ReLU+maxpool2,
flatten, dense 512+ReLU, dropout 0.5, dense 10; Adam(lr=1e-3) on cross-entropy, seeded noise images.
PyTorch is not a dependency of mldeploy: install it in a venv (`pip install torch`) to compare.
The last line printed is: train_img_per_s=<n> backend=torch-<version> threads=<n> adam=<implementation>
"""
import argparse
import statistics
import time

import torch
from torch import nn

parser = argparse.ArgumentParser()
parser.add_argument("--steps", type=int, default=40)
parser.add_argument("--batch-size", type=int, default=64)
parser.add_argument("--warmup", type=int, default=3)
parser.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: PyTorch's default)")
parser.add_argument("--adam", choices=["fused", "foreach", "for-loop"], default="fused",
                    help="Adam implementation (PyTorch's CPU default is for-loop; fused measured fastest here)")
parser.add_argument("--channels-last", action="store_true", help="keep the conv weights channels-last too")
args = parser.parse_args()
if args.threads:
    torch.set_num_threads(args.threads)
torch.manual_seed(1)

# Channels-last input like tfjs's NHWC; nn.Conv2d wants NCHW, so the permute is part of the step.
model = nn.Sequential(
    nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(), nn.Linear(64 * 8 * 8, 512), nn.ReLU(), nn.Dropout(0.5), nn.Linear(512, 10),
)
if args.channels_last:
    model = model.to(memory_format=torch.channels_last)
implementation = {"fused": {"fused": True}, "foreach": {"foreach": True}, "for-loop": {"foreach": False}}[args.adam]
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, **implementation)
loss_fn = nn.CrossEntropyLoss()
images = torch.randint(0, 256, (args.steps * args.batch_size, 32, 32, 3), dtype=torch.uint8)
labels = torch.randint(0, 10, (args.steps * args.batch_size,))

model.train()
step_ms = []
timed_from = 0.0
cpu_from = 0.0
last = time.perf_counter()
for step in range(args.steps):
    s = slice(step * args.batch_size, (step + 1) * args.batch_size)
    x = ((images[s].float() / 255 - 0.5) / 0.5).permute(0, 3, 1, 2)
    optimizer.zero_grad()
    loss = loss_fn(model(x), labels[s])
    loss.backward()
    optimizer.step()
    loss.item()  # the trainer reads the loss every step too
    now = time.perf_counter()
    if step + 1 == args.warmup:
        timed_from = now
        cpu_from = time.process_time()
    if step + 1 > args.warmup:
        step_ms.append((now - last) * 1000)
    last = now

seconds = time.perf_counter() - timed_from
cpu_seconds = time.process_time() - cpu_from
timed = args.steps - args.warmup
step_ms.sort()
print(f"{timed} timed steps of batch {args.batch_size} in {seconds:.2f} s")
print(f"step ms: min {step_ms[0]:.1f} median {statistics.median(step_ms):.1f} p90 {step_ms[int(0.9 * len(step_ms))]:.1f} max {step_ms[-1]:.1f}")
print(f"cpu: {cpu_seconds * 1000 / (timed * args.batch_size):.2f} ms per image")
print(f"train_img_per_s={timed * args.batch_size / seconds:.0f} backend=torch-{torch.__version__} threads={torch.get_num_threads()} adam={args.adam}")
