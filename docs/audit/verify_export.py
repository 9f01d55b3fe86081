#!/usr/bin/env python3
"""Verify an aduan export (JSON Lines) without the engine: the reference check for
auditors, in plain Python 3 with no packages. See docs/audit.md.

    python3 verify_export.py EXPORT.jsonl [CHECKPOINT.json]

Exits 0 when every event's chain link and hash hold (and, given a checkpoint, when the
export still extends it); otherwise prints each failure and exits 1. The checkpoint's
Ed25519 signature is not checked here (the standard library has no Ed25519); check it
with `aduan verify --checkpoint` or any Ed25519 tool over the canonical JSON of the
checkpoint without its "signature" field.
"""
import hashlib
import json
import sys

GENESIS = "0" * 64


def canonical(value):
    """JSON with keys sorted (by code point, which is UTF-8 byte order) and no spaces."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def framed(hasher, text):
    data = text.encode("utf-8")
    hasher.update(str(len(data)).encode() + b":" + data + b"\n")


def event_hash(e):
    metadata = {k: v for k, v in e["metadata"].items() if k != "hash"}
    h = hashlib.sha256()
    for field in ("aduan-chain-v1", "complaint", e["complaint_id"], str(e["sequence"]),
                  e["event_type"], e["event_version"], canonical(e["payload"]), canonical(metadata)):
        framed(h, field)
    return h.hexdigest()


def leaf_hash(head):
    h = hashlib.sha256(b"\x00")
    for field in (head["complaint_id"], str(head["sequence"]), head["hash"]):
        framed(h, field)
    return h.digest()


def merkle_root(leaves):
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(b"\x01" + merkle_root(leaves[:k]) + merkle_root(leaves[k:])).digest()


def main(path, checkpoint_path=None):
    failures = []
    last = {}  # complaint -> (sequence, hash) of its latest event
    seen = {}  # complaint -> {sequence: hash}, only for complaints a checkpoint vouches for
    checkpoint = None
    if checkpoint_path:
        with open(checkpoint_path, encoding="utf-8") as f:
            checkpoint = json.load(f)
        root = merkle_root([leaf_hash(h) for h in checkpoint["heads"]]).hex()
        if root != checkpoint["root"]:
            print("FAIL checkpoint: its heads do not give its root")
            return 1
        vouched = {h["complaint_id"]: h for h in checkpoint["heads"]}
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            e = json.loads(line)
            cid, seq = e["complaint_id"], e["sequence"]
            prev_seq, prev_hash = last.get(cid, (0, GENESIS))
            meta = e["metadata"]
            if seq != prev_seq + 1:
                failures.append((cid, prev_seq + 1, "missing or out of order"))
                prev_hash = None
            if prev_hash is not None and meta.get("prev_hash") != prev_hash:
                failures.append((cid, seq, "prev_hash does not name the previous event"))
            if event_hash(e) != meta.get("hash"):
                failures.append((cid, seq, "stored bytes do not give the stored hash"))
            last[cid] = (seq, meta.get("hash"))
            if checkpoint is not None:
                if cid in vouched:
                    seen.setdefault(cid, {})[seq] = meta.get("hash")
                if e["position"] <= checkpoint["position"] and (cid not in vouched or seq > vouched[cid]["sequence"]):
                    failures.append((cid, seq, "inside the checkpoint but not covered by it"))
    if checkpoint is not None:
        for cid, head in vouched.items():
            have = seen.get(cid, {}).get(head["sequence"])
            if have is None:
                failures.append((cid, head["sequence"], "vouched for by the checkpoint, now missing"))
            elif have != head["hash"]:
                failures.append((cid, head["sequence"], "differs from the checkpoint"))
    for cid, seq, why in failures:
        print(f"FAIL complaint {cid} sequence {seq}: {why}")
    if not failures:
        print(f"verified: {sum(1 for _ in open(path, encoding='utf-8'))} events of {len(last)} complaints")
    return 1 if failures else 0


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        print(__doc__)
        sys.exit(2)
    sys.exit(main(*sys.argv[1:]))
