#!/usr/bin/env python3
"""
A reel2real streaming consumer in Python, with only pyzmq and numpy (docs/wire-format.md is the protocol).

    from consumer import EpisodeConsumer
    with EpisodeConsumer("tcp://127.0.0.1:5555", name="trainer-a") as c:
        for ep in c:                       # acked when the loop asks for the next one
            q = ep.arrays["q"]             # numpy view on the received frame, no copy: [T, n] float32
            names = ep.header["joint_names"]

Command line (prints one JSON line per episode with each tensor's sha256, shape and sum):

    python3 consumer.py --connect tcp://127.0.0.1:5555 --name trainer-a [--max N] [--credit 16]
                        [--server-key SERVER_PUBLIC_Z85_OR_FILE --key TRAINER_KEYPAIR.json]
"""
import argparse
import hashlib
import json
import sys
import time
import zlib
from collections import deque

import numpy as np
import zmq

PROTOCOL = 1
SCHEMA = 2
HELLO_RETRY_S = 5.0


class StreamError(Exception):
    pass


class Episode:
    """One received episode: `seq`, `id`, `header` (dict), `arrays` (name -> numpy array, read-only views) and
    `reports` (dict with provenance, quality and validation; parsed when first read)."""

    __slots__ = ("seq", "id", "header", "arrays", "_frames", "_reports")

    def __init__(self, header, arrays, frames):
        self.seq = header["seq"]
        self.id = header["id"]
        self.header = header
        self.arrays = arrays
        self._frames = frames  # keeps the zmq frames (and so the arrays' memory) alive
        self._reports = None

    @property
    def reports(self):
        if self._reports is None:
            self._reports = json.loads(bytes(_view(self._frames[1])))
        return self._reports


def _dumps(obj):
    return json.dumps(obj, separators=(",", ":")).encode()


def _view(f):
    """The bytes of a frame (a zmq.Frame from recv_multipart(copy=False), or bytes) without copying."""
    return f.buffer if hasattr(f, "buffer") else memoryview(f)


def _check(seq, what, f, size, crc):
    buf = _view(f)
    if buf.nbytes != size:
        raise StreamError(seq, "%s: %d bytes, header says %d" % (what, buf.nbytes, size))
    got = zlib.crc32(buf) & 0xFFFFFFFF
    if got != crc:
        raise StreamError(seq, "%s: crc32 %d != %d" % (what, got, crc))
    return buf


_DTYPES = {}  # dtype string -> numpy dtype, made once


def decode_episode(frames):
    """Parse an EPISODE's frames (header, reports, tensors); check lengths and CRC-32 of the reports and of
    every tensor. Returns (header, arrays); the reports stay unparsed (Episode.reports). Raises
    StreamError(seq, msg)."""
    header = json.loads(bytes(_view(frames[0])))
    seq = header.get("seq")
    if header.get("schema") != SCHEMA:
        raise StreamError(seq, "schema %r not supported" % header.get("schema"))
    infos = header.get("tensors", [])
    reports = header.get("reports") or {}
    data = frames[2:]
    if len(frames) < 2 or len(infos) != len(data):
        raise StreamError(seq, "header lists %d tensors, message has %d frames" % (len(infos), max(0, len(frames) - 2)))
    _check(seq, "reports frame", frames[1], reports.get("bytes"), reports.get("crc32"))
    arrays = {}
    for info, f in zip(infos, data):
        buf = _check(seq, "tensor %s" % info["name"], f, info["bytes"], info["crc32"])
        dt = _DTYPES.get(info["dtype"]) or _DTYPES.setdefault(info["dtype"], np.dtype(info["dtype"]))
        arrays[info["name"]] = np.frombuffer(buf, dtype=dt).reshape(info["shape"])
    return header, arrays


class EpisodeConsumer:
    def __init__(self, endpoint, name, mode=None, group=None, credit=16, server_key=None, keypair=None,
                 heartbeat_s=1.0, connect_timeout_s=10.0, auto_ack=True, context=None, session_timeout_s=None):
        self.endpoint = endpoint
        self.name = name
        self.mode = mode
        self.group = group
        self.window = max(1, min(4096, int(credit)))
        self.heartbeat_s = heartbeat_s
        self.connect_timeout_s = connect_timeout_s
        self.auto_ack = auto_ack
        # Ask the server to wait this long before taking a silent trainer for dead (for long blocking steps).
        self.session_timeout_s = session_timeout_s
        self.ctx = context or zmq.Context.instance()
        self.sock = self.ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt(zmq.RCVHWM, 100000)
        self.sock.setsockopt(zmq.SNDHWM, 100000)
        if server_key:
            public, secret = keypair
            self.sock.curve_secretkey = secret.encode()
            self.sock.curve_publickey = public.encode()
            self.sock.curve_serverkey = server_key.encode()
        self.buffer = deque()
        self.held = {}
        self.ack_pending = {}
        self.confirmed = set()
        self.pending_acks = []
        self.pending_credit = 0
        self.last = None
        self.welcome = None
        self.hello_pending = False
        self.hello_sent_at = 0.0
        self.ended = False
        self.started = False
        self.last_ping = 0.0
        self.stats = {"received": 0, "duplicates": 0, "corrupt": 0, "acked": 0, "confirmed": 0, "resets": 0}

    # -- protocol ------------------------------------------------------------------------------------

    def _send(self, cmd, body):
        self.sock.send_multipart([cmd.encode(), _dumps(body)])

    def _hello(self):
        self.hello_pending = True
        self.hello_sent_at = time.monotonic()
        holding = [e.seq for e in self.buffer] + list(self.held)
        self.pending_acks = []
        self.pending_credit = 0
        body = {"protocol": PROTOCOL, "name": self.name, "credit": max(0, self.window - len(holding)),
                "acks": list(self.ack_pending), "holding": holding}
        if self.mode:
            body["mode"] = self.mode
        if self.group:
            body["group"] = self.group
        if self.session_timeout_s:
            body["timeout_ms"] = int(self.session_timeout_s * 1000)
        self._send("HELLO", body)

    def start(self):
        if self.started:
            return self.welcome
        self.started = True
        # Watch the handshake so a refused key fails at once instead of timing out.
        auth_failed = getattr(zmq, "EVENT_HANDSHAKE_FAILED_AUTH", 0)
        monitor = self.sock.get_monitor_socket(auth_failed) if auth_failed else None
        try:
            self.sock.connect(self.endpoint)
            self._hello()
            deadline = time.monotonic() + self.connect_timeout_s
            while self.welcome is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise StreamError(None, "%s: no answer from a reel2real server within %.1f s" % (self.endpoint, self.connect_timeout_s))
                if monitor is not None and monitor.poll(0):
                    from zmq.utils.monitor import recv_monitor_message
                    if recv_monitor_message(monitor)["event"] == auth_failed:
                        raise StreamError(None, "%s: the server refused this trainer's key (not on its allow-list)" % self.endpoint)
                self._pump(min(left, 0.2))
        finally:
            if monitor is not None:
                self.sock.disable_monitor()
                monitor.close(linger=0)
        return self.welcome

    def _pump(self, timeout_s):
        """Wait up to timeout_s for messages; handle all that are there; send heartbeats and batched acks."""
        # Acks go out half a window at a time, or whenever nothing is buffered (so the server never waits on
        # credit this trainer is sitting on): one ACK per episode would wake the server once per episode.
        if len(self.pending_acks) >= max(1, self.window // 2) or not self.buffer:
            self._flush_acks()
        now = time.monotonic()
        if self.welcome is not None and not self.hello_pending and now - self.last_ping >= self.heartbeat_s:
            self._send("PING", {})
            self.last_ping = now
        if self.hello_pending and now - self.hello_sent_at > HELLO_RETRY_S:
            self._hello()  # the server may have died right after taking the last one
        # Take what is already there; wait (poll) only when there was nothing.
        if not self._drain() and timeout_s > 0 and self.sock.poll(int(timeout_s * 1000), zmq.POLLIN):
            self._drain()

    def _drain(self):
        """Handle every message waiting on the socket, without blocking; how many there were."""
        n = 0
        while True:
            try:
                frames = self.sock.recv_multipart(zmq.NOBLOCK, copy=False)
            except zmq.Again:
                return n
            self._handle(frames)
            n += 1

    def _handle(self, frames):
        cmd = bytes(frames[0].buffer).decode()
        if cmd == "EPISODE":
            self._on_episode(frames[1:])
            return
        body = json.loads(bytes(frames[1].buffer)) if len(frames) > 1 else {}
        if cmd == "WELCOME":
            self.welcome = body
            self.hello_pending = False
            if body.get("heartbeat_ms"):
                self.heartbeat_s = min(self.heartbeat_s, body["heartbeat_ms"] / 1000.0)
        elif cmd == "ACKED":
            for s in body.get("seqs", []):
                if s in self.ack_pending:
                    del self.ack_pending[s]
                    if s not in self.confirmed:
                        self.confirmed.add(s)
                        self.stats["confirmed"] += 1
        elif cmd == "END":
            self.ended = True
        elif cmd == "RESET":
            if not self.hello_pending:
                self.stats["resets"] += 1
                self._hello()
        elif cmd == "ERROR":
            raise StreamError(None, "%s: server error: %s" % (self.endpoint, body.get("message")))

    def _known(self, seq):
        return seq in self.confirmed or seq in self.ack_pending or seq in self.held or any(e.seq == seq for e in self.buffer)

    def _duplicate(self, seq):
        self.stats["duplicates"] += 1
        if seq in self.confirmed or seq in self.ack_pending:
            self._send("ACK", {"seqs": [seq], "credit": 1})
        else:
            self._send("CREDIT", {"n": 1})

    def _on_episode(self, frames):
        try:
            header, arrays = decode_episode(frames)
        except StreamError as e:
            seq = e.args[0]
            self.stats["corrupt"] += 1
            if seq is None:
                self._send("CREDIT", {"n": 1})
            elif self._known(seq):
                self._duplicate(seq)
            else:
                self._send("NACK", {"seqs": [seq], "credit": 1, "reason": e.args[1]})
            return
        if self._known(header["seq"]):
            self._duplicate(header["seq"])
            return
        self.stats["received"] += 1
        self.buffer.append(Episode(header, arrays, frames))

    def _flush_acks(self):
        if self.hello_pending or (not self.pending_acks and not self.pending_credit):
            return
        self._send("ACK", {"seqs": self.pending_acks, "credit": self.pending_credit})
        self.pending_acks = []
        self.pending_credit = 0

    # -- API -----------------------------------------------------------------------------------------

    def ack(self, ep):
        """The episode is done: it will never be sent to this trainer name (group) again."""
        if ep.seq not in self.held:
            return
        del self.held[ep.seq]
        self.ack_pending[ep.seq] = ep.id
        self.pending_acks.append(ep.seq)
        self.pending_credit += 1
        self.stats["acked"] += 1

    def nack(self, ep, reason="rejected by trainer"):
        """Give the episode back: the server sends it again."""
        if ep.seq not in self.held:
            return
        del self.held[ep.seq]
        self._send("NACK", {"seqs": [ep.seq], "credit": 1, "reason": reason})

    def next(self):
        """The next episode, or None at the end of the stream (acks the previous one first when auto_ack)."""
        self.start()
        if self.last is not None and self.auto_ack:
            self.ack(self.last)
        self.last = None
        # Always give the socket a turn: acks (and the credit they return) and heartbeats go out even while
        # episodes are waiting in the buffer.
        self._pump(0)
        while True:
            if self.buffer:
                ep = self.buffer.popleft()
                self.held[ep.seq] = ep
                self.last = ep
                return ep
            if self.ended and not self.held:
                self._flush_acks()
                return None
            self._pump(self.heartbeat_s)

    def __iter__(self):
        while True:
            ep = self.next()
            if ep is None:
                return
            yield ep

    def close(self, wait_s=3.0):
        """Ack the last episode (auto_ack), wait for outstanding acks to be confirmed, say BYE, close."""
        if self.sock.closed:
            return
        if self.welcome is not None:
            if self.last is not None and self.auto_ack:
                self.ack(self.last)
            self.last = None
            self._flush_acks()
            deadline = time.monotonic() + wait_s
            while self.ack_pending and time.monotonic() < deadline:
                self._pump(0.05)
            self._send("BYE", {})
        self.sock.close(linger=200)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.close()


def _read_key(arg):
    """A Z85 key given inline, or a file holding it (plain text, or key-pair JSON: its public key)."""
    if len(arg) == 40:
        return arg
    with open(arg) as f:
        text = f.read().strip()
    if text.startswith("{"):
        return json.loads(text)["public"]
    return text


def main(argv=None):
    p = argparse.ArgumentParser(description="Receive episodes from `reel2real serve` (pyzmq + numpy only).")
    p.add_argument("--connect", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--mode", choices=["shared", "broadcast"])
    p.add_argument("--group")
    p.add_argument("--credit", type=int, default=16)
    p.add_argument("--max", type=int, default=None, help="stop after this many episodes")
    p.add_argument("--server-key", help="server public key (Z85 or file): turns CURVE on; write --server-key=KEY, as a Z85 key may start with '-'")
    p.add_argument("--key", help="this trainer's key-pair JSON (from `reel2real keys gen`)")
    p.add_argument("--timeout", type=float, default=10.0)
    p.add_argument("--step-seconds", type=float, default=0.0, help="pretend to train this long on each episode")
    a = p.parse_args(argv)
    keypair = None
    if a.server_key or a.key:
        if not (a.server_key and a.key):
            p.error("CURVE needs both --server-key and --key")
        with open(a.key) as f:
            kp = json.load(f)
        keypair = (kp["public"], kp["secret"])
    c = EpisodeConsumer(a.connect, a.name, mode=a.mode, group=a.group, credit=a.credit,
                        server_key=_read_key(a.server_key) if a.server_key else None, keypair=keypair,
                        connect_timeout_s=a.timeout)
    n = 0
    try:
        c.start()
        if a.max is None or a.max > 0:
            for ep in c:
                out = {"seq": ep.seq, "id": ep.id, "delivery": ep.header["delivery"], "robot": ep.header["robot"],
                       "frames": ep.header["frames"], "task": ep.header["task"],
                       "contributor": ep.reports["provenance"]["contributor"],
                       "feasible": (ep.reports["validation"] or {}).get("feasible"), "tensors": {}}
                for k, v in ep.arrays.items():
                    out["tensors"][k] = {"dtype": v.dtype.str, "shape": list(v.shape),
                                         "sha256": hashlib.sha256(v.tobytes()).hexdigest(),
                                         "sum": float(np.nansum(v.astype(np.float64)))}
                print(json.dumps(out), flush=True)
                if a.step_seconds:
                    time.sleep(a.step_seconds)
                n += 1
                if a.max is not None and n >= a.max:
                    break
    except StreamError as e:
        print("consumer.py: %s" % e.args[1], file=sys.stderr)
        return 1
    finally:
        c.close()
    print(json.dumps({"done": True, "episodes": n, **c.stats}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
