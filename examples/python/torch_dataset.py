#!/usr/bin/env python3
"""
A PyTorch IterableDataset over a reel2real stream (consumer.py underneath; torch is imported only here).

Each DataLoader worker is its own trainer in shared mode: the workers of one run split the stream between
them (each episode to exactly one worker), and a restarted run resumes where the group stood.

    from torch.utils.data import DataLoader
    from torch_dataset import ReelStream

    ds = ReelStream("tcp://127.0.0.1:5555", group="g1-policy", window=32, keys=("q", "root_pos", "root_quat"))
    for batch in DataLoader(ds, batch_size=256, num_workers=2):
        obs = batch["q"]              # [256, 32, 29] float32: windows of 32 frames
        ...

An episode is acked when its last window has been yielded, i.e. after the model has consumed it; if the run
dies first, the group gets that episode again.
"""
import os
import sys

import torch
from torch.utils.data import IterableDataset, get_worker_info

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from consumer import EpisodeConsumer  # noqa: E402


class ReelStream(IterableDataset):
    def __init__(self, endpoint, group, window=32, stride=None, keys=("q", "root_pos", "root_quat"),
                 credit=8, server_key=None, keypair=None, whole_episodes=False, session_timeout_s=300.0):
        super().__init__()
        self.endpoint = endpoint
        self.group = group
        self.window = window
        self.stride = stride or window
        self.keys = tuple(keys)
        self.credit = credit
        self.server_key = server_key
        self.keypair = keypair
        self.whole_episodes = whole_episodes
        # A DataLoader worker blocks (and so stops pinging) while its output queue is full, i.e. for as long as
        # the training step takes: ask the server to wait that long before handing its episodes to others.
        self.session_timeout_s = session_timeout_s

    def __iter__(self):
        info = get_worker_info()
        worker = info.id if info is not None else 0
        consumer = EpisodeConsumer(self.endpoint, name="%s-w%d" % (self.group, worker), mode="shared",
                                   group=self.group, credit=self.credit, server_key=self.server_key,
                                   keypair=self.keypair, auto_ack=False, session_timeout_s=self.session_timeout_s)
        try:
            for ep in consumer:
                # torch.from_numpy keeps the zero-copy view; copy() because the frames are read-only.
                tensors = {k: torch.from_numpy(ep.arrays[k].copy()) for k in self.keys if k in ep.arrays}
                if self.whole_episodes:
                    yield {"episode_id": ep.id, "joint_names": ep.header["joint_names"], **tensors}
                else:
                    T = ep.header["frames"]
                    for start in range(0, T - self.window + 1, self.stride):
                        yield {k: v[start:start + self.window] for k, v in tensors.items()}
                consumer.ack(ep)
        finally:
            consumer.close()


if __name__ == "__main__":
    import argparse

    from torch.utils.data import DataLoader

    p = argparse.ArgumentParser(description="Read a reel2real stream through a PyTorch DataLoader.")
    p.add_argument("--connect", required=True)
    p.add_argument("--group", required=True)
    p.add_argument("--window", type=int, default=32)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--workers", type=int, default=0)
    a = p.parse_args()
    n = 0
    for batch in DataLoader(ReelStream(a.connect, a.group, window=a.window), batch_size=a.batch, num_workers=a.workers):
        n += batch["q"].shape[0]
        print("batch", tuple(batch["q"].shape), "windows so far", n, flush=True)
