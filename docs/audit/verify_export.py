#!/usr/bin/env python3
"""Verify an aduan export without the engine: the reference check for auditors, in
plain Python (3.9 or later) with the standard library only. See docs/audit.md.

    python3 verify_export.py EXPORT [--checkpoint CHECKPOINT.json] [--public-key KEY.pub]
                             [--format jsonl|csv] [--json]
    python3 verify_export.py EXPORT CHECKPOINT.json      (the same as --checkpoint)
    python3 verify_export.py --self-test

EXPORT is what `aduan export` wrote, JSON Lines or CSV. Without --format the script
looks at the file's first character: `{` begins JSON Lines, anything else is CSV.

It makes the checks of `aduan verify --export`, in the same order, and names failures
as that program's `--json` report does (`hash_mismatch`, `broken_link`, `missing`,
`out_of_order`, `unreadable`, `truncated_since_checkpoint`, `differs_from_checkpoint`,
`not_in_checkpoint`): every event's chain link and hash; and, given a checkpoint, its
format, that its heads give its root, its Ed25519 signature, and that the export still
extends it. With --public-key (the `.pub` file: 64 hex digits), the checkpoint must
also be signed by that key. Without it, the signature is checked against the key
written in the checkpoint itself, which catches a checkpoint altered after signing but
not one signed afresh by another key; the script says so on standard error.

Exits 0 when everything holds, printing `verified: ...`. Otherwise prints each failure
as `FAIL complaint ID sequence N: KIND: what is wrong` and exits 1, naming the first
failure on standard error; a checkpoint that fails its own checks is named on standard
error as `checkpoint: ...`, as `aduan verify` names it. --json prints the report in the
form of `aduan verify --json`.

--self-test checks the Ed25519 code against the test vectors 1 to 3 of RFC 8032,
section 7.1, and the canonical JSON against a known form, then exits.
"""
import argparse
import csv
import hashlib
import io
import json
import re
import sys
import textwrap

GENESIS = "0" * 64
CHECKPOINT_FORMAT = "aduan-checkpoint-v1"
CSV_HEADER = ["complaint_id", "sequence", "position", "recorded_at", "event_type",
              "event_version", "prev_hash", "hash", "payload", "metadata"]
KEEP_FAILURES = 1000  # as aduan verify: every failure is counted, the first 1000 kept
I64 = range(-2**63, 2**63)
U64 = range(0, 2**64)


# The hashes (docs/audit.md, "The exact form of the hashes").

def canonical(value):
    """JSON with keys sorted (by code point, which is UTF-8 byte order) and no spaces."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def framed(hasher, text):
    data = text.encode("utf-8")
    hasher.update(str(len(data)).encode() + b":" + data + b"\n")


def event_hash(e):
    metadata = e["metadata"]
    if isinstance(metadata, dict):
        metadata = {k: v for k, v in metadata.items() if k != "hash"}
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


# Ed25519 verification (RFC 8032, sections 5.1.3 and 5.1.7), with Python's integers.
# Points are in extended coordinates (X, Y, Z, T) with x = X/Z, y = Y/Z, x*y = T/Z.

P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493  # the order of the base point
D = -121665 * pow(121666, P - 2, P) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)


def _point_add(a, b):
    x1, y1, z1, t1 = a
    x2, y2, z2, t2 = b
    pa, pb = (y1 - x1) * (y2 - x2) % P, (y1 + x1) * (y2 + x2) % P
    pc, pd = t1 * 2 * D * t2 % P, z1 * 2 * z2 % P
    e, f, g, h = pb - pa, pd - pc, pd + pc, pb + pa
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def _point_mul(s, point):
    q = (0, 1, 1, 0)  # the neutral element
    while s > 0:
        if s & 1:
            q = _point_add(q, point)
        point = _point_add(point, point)
        s >>= 1
    return q


def _point_encode(point):
    x, y, z, _ = point
    zinv = pow(z, P - 2, P)
    x, y = x * zinv % P, y * zinv % P
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


def _point_decode(data):
    """The point 32 bytes encode, or None (RFC 8032, 5.1.3)."""
    if len(data) != 32:
        return None
    y = int.from_bytes(data, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    if y >= P:
        return None
    x2 = (y * y - 1) * pow(D * y * y + 1, P - 2, P) % P
    if x2 == 0:
        if sign:
            return None
        return (0, y, 1, 0)
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P != 0:
        x = x * SQRT_M1 % P
    if (x * x - x2) % P != 0:
        return None
    if (x & 1) != sign:
        x = P - x
    return (x, y, 1, x * y % P)


BASE = _point_decode((4 * pow(5, P - 2, P) % P).to_bytes(32, "little"))


def ed25519_verify(public_key, message, signature):
    """Whether `signature` (64 bytes) is `public_key`'s (32 bytes) over `message`:
    [S]B = R + [k]A, checked as the encoding of [S]B - [k]A being R's bytes."""
    a = _point_decode(public_key)
    if a is None or len(signature) != 64:
        return False
    r, s = signature[:32], int.from_bytes(signature[32:], "little")
    if s >= L:
        return False
    k = int.from_bytes(hashlib.sha512(r + public_key + message).digest(), "little") % L
    minus_a = ((P - a[0]) % P, a[1], a[2], (P - a[3]) % P)
    return _point_encode(_point_add(_point_mul(s, BASE), _point_mul(k, minus_a))) == r


# Reading an export, as `aduan verify --export` reads it.

class ExportError(Exception):
    """A line that cannot be read at all: verification stops there."""

    def __init__(self, line, reason):
        super().__init__(f"export line {line}: {reason}")


class Unreadable:
    """A payload or metadata that is not JSON: the event fails as `unreadable`."""

    def __init__(self, reason):
        self.reason = reason


def detect_format(path):
    with open(path, "rb") as f:
        first = f.read(1)
    return "jsonl" if first == b"{" else "csv"


def read_jsonl(path):
    with open(path, "rb") as f:
        for number, raw in enumerate(f, 1):
            try:
                line = raw.decode("utf-8").removesuffix("\n").removesuffix("\r")
                v = json.loads(line)
            except ValueError as e:
                raise ExportError(number, e) from None
            if not isinstance(v, dict):
                raise ExportError(number, "not a JSON object")

            def text(key):
                if not isinstance(v.get(key), str):
                    raise ExportError(number, f"no `{key}`")
                return v[key]

            def integer(key):
                n = v.get(key)
                if isinstance(n, bool) or not isinstance(n, int) or n not in I64:
                    raise ExportError(number, f"no `{key}`")
                return n

            yield {
                "complaint_id": text("complaint_id"), "sequence": integer("sequence"),
                "position": integer("position"), "recorded_at": text("recorded_at"),
                "event_type": text("event_type"), "event_version": text("event_version"),
                "payload": v["payload"] if "payload" in v else Unreadable("no `payload`"),
                "metadata": v["metadata"] if "metadata" in v else Unreadable("no `metadata`"),
            }


def read_csv(path):
    """RFC 4180 CSV with the header of `aduan export --format csv` (skipped when it is
    the first line); payload and metadata are JSON text. The prev_hash and hash columns
    are copies for people; as in aduan, the check reads the hashes in the metadata."""

    def integer(number, text):
        if not re.fullmatch(r"[+-]?[0-9]+", text) or int(text) not in I64:
            raise ExportError(number, f"`{text}` is not an integer")
        return int(text)

    def parsed(text):
        try:
            return json.loads(text)
        except ValueError as e:
            return Unreadable(str(e))

    with open(path, "rb") as raw:
        reader = csv.reader(io.TextIOWrapper(raw, encoding="utf-8", newline=""), strict=True)
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except (csv.Error, UnicodeDecodeError) as e:
                raise ExportError(reader.line_num + 1, e) from None
            number = reader.line_num
            if number == 1 and row == CSV_HEADER:
                continue
            if len(row) != len(CSV_HEADER):
                raise ExportError(number, f"expected 10 fields, found {len(row)}")
            yield {
                "complaint_id": row[0], "sequence": integer(number, row[1]),
                "position": integer(number, row[2]), "recorded_at": row[3],
                "event_type": row[4], "event_version": row[5],
                "payload": parsed(row[8]), "metadata": parsed(row[9]),
            }


# The checkpoint and the public key, as aduan reads and checks them.

class CheckpointError(Exception):
    """Printed as `checkpoint: ...`, as aduan prints its own."""


def unhex(text, size, what):
    text = text.strip()
    if len(text) != 2 * size or not re.fullmatch(r"[0-9a-fA-F]*", text):
        raise CheckpointError(f"{what} is not {size} bytes of hex")
    return bytes.fromhex(text)


def read_checkpoint(path):
    """The fields aduan reads; any other field is ignored, as aduan ignores it (and it
    is not covered by the signature)."""
    try:
        with open(path, encoding="utf-8") as f:
            v = json.load(f)
    except (OSError, ValueError) as e:
        raise CheckpointError(f"{path}: {e}") from None

    def field(obj, key, kind):
        value = obj.get(key) if isinstance(obj, dict) else None
        ok = (isinstance(value, str) if kind is str else
              isinstance(value, list) if kind is list else
              isinstance(value, int) and not isinstance(value, bool) and value in kind)
        if not ok:
            raise CheckpointError(f"{path}: `{key}` is missing or not of its type")
        return value

    heads = [{"complaint_id": field(h, "complaint_id", str), "sequence": field(h, "sequence", U64),
              "hash": field(h, "hash", str)} for h in field(v, "heads", list)]
    return {"format": field(v, "format", str), "created_at": field(v, "created_at", str),
            "position": field(v, "position", I64), "events": field(v, "events", U64),
            "complaints": field(v, "complaints", U64), "root": field(v, "root", str),
            "heads": heads, "public_key": field(v, "public_key", str),
            "signature": field(v, "signature", str)}


def read_public_key(path):
    """A `.pub` file: the 32-byte public key as 64 hex digits."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, ValueError) as e:
        raise CheckpointError(f"{path}: {e}") from None
    key = unhex(text, 32, "the public key")
    if _point_decode(key) is None:
        raise CheckpointError("not an Ed25519 public key")
    return key


def check_checkpoint(cp, trusted):
    """The checks of aduan, in its order, with its words."""
    if cp["format"] != CHECKPOINT_FORMAT:
        raise CheckpointError(f"unknown format `{cp['format']}`")
    ids = [h["complaint_id"].encode("utf-8") for h in cp["heads"]]
    if any(a >= b for a, b in zip(ids, ids[1:])) or cp["complaints"] != len(ids):
        raise CheckpointError("its heads are not one per complaint in id order")
    if merkle_root([leaf_hash(h) for h in cp["heads"]]).hex() != cp["root"]:
        raise CheckpointError("its heads do not give its root: the file was altered")
    key = unhex(cp["public_key"], 32, "public_key")
    if _point_decode(key) is None:
        raise CheckpointError("public_key is not an Ed25519 key")
    if trusted is not None and trusted != key:
        raise CheckpointError("it was signed by another key than the one trusted")
    signature = unhex(cp["signature"], 64, "signature")
    signed = canonical({k: v for k, v in cp.items() if k != "signature"}).encode("utf-8")
    if not ed25519_verify(key, signed, signature):
        raise CheckpointError(
            "the signature does not match: the file was altered or signed by another key")


# The walk: events in complaint order, as aduan's ChainVerifier checks them.

class Verifier:
    def __init__(self, checkpoint=None):
        self.report = {"events": 0, "complaints": 0, "head_position": 0, "failures": [],
                       "failures_total": 0, "checkpoint_position": None}
        self.current = None
        self.checkpoint = checkpoint
        self.next_head = 0  # the checkpoint's heads before it are done with
        if checkpoint is not None:
            self.report["checkpoint_position"] = checkpoint["position"]

    def fail(self, complaint_id, sequence, kind, **details):
        self.report["failures_total"] += 1
        if len(self.report["failures"]) < KEEP_FAILURES:
            self.report["failures"].append(
                {"complaint_id": complaint_id, "sequence": sequence, "kind": kind, **details})

    def vouched_for(self, complaint_id):
        """The checkpoint's head for a complaint about to start; heads of complaints
        that sort before it are gone from the export."""
        if self.checkpoint is None:
            return None
        heads = self.checkpoint["heads"]
        while (self.next_head < len(heads)
               and heads[self.next_head]["complaint_id"].encode() < complaint_id.encode()):
            self.fail(heads[self.next_head]["complaint_id"], 1, "truncated_since_checkpoint")
            self.next_head += 1
        if self.next_head < len(heads) and heads[self.next_head]["complaint_id"] == complaint_id:
            self.next_head += 1
            return heads[self.next_head - 1]
        return None

    def push(self, e):
        cid, seq = e["complaint_id"], e["sequence"]
        if self.current is None or self.current["id"] != cid:
            self.finish_complaint()
            self.current = {"id": cid, "last_sequence": 0, "last_hash": GENESIS,
                            "vouched": self.vouched_for(cid), "log_hash_at_vouched": None}
            self.report["complaints"] += 1
        c = self.current
        self.report["events"] += 1
        self.report["head_position"] = max(self.report["head_position"], e["position"])
        expected = c["last_sequence"] + 1
        if seq < expected:
            self.fail(cid, seq, "out_of_order")
            return
        if seq > expected:
            self.fail(cid, expected, "missing")
            c["last_hash"] = None  # the link after a gap is not judged
        c["last_sequence"] = seq
        payload, metadata = e["payload"], e["metadata"]
        reason = next((x.reason for x in (payload, metadata) if isinstance(x, Unreadable)), None)
        if reason is None:
            prev = metadata.get("prev_hash") if isinstance(metadata, dict) else None
            stored = metadata.get("hash") if isinstance(metadata, dict) else None
            if not (isinstance(prev, str) and isinstance(stored, str)):
                reason = "the metadata has no prev_hash and hash"
        if reason is not None:
            self.fail(cid, seq, "unreadable", reason=reason)
            c["last_hash"] = None
            return
        if c["last_hash"] is not None and c["last_hash"] != prev:
            self.fail(cid, seq, "broken_link", expected=c["last_hash"], found=prev)
        computed = event_hash(e)
        if computed != stored:
            self.fail(cid, seq, "hash_mismatch", computed=computed, stored=stored)
        vouched = c["vouched"]
        if self.checkpoint is not None and e["position"] <= self.checkpoint["position"]:
            if vouched is None or seq > vouched["sequence"]:
                self.fail(cid, seq, "not_in_checkpoint")
        if vouched is not None and vouched["sequence"] == seq:
            c["log_hash_at_vouched"] = stored
        c["last_hash"] = stored

    def finish_complaint(self):
        c, self.current = self.current, None
        if c is None or c["vouched"] is None:
            return
        v, log = c["vouched"], c["log_hash_at_vouched"]
        if log is None:
            self.fail(c["id"], c["last_sequence"] + 1, "truncated_since_checkpoint")
        elif log != v["hash"]:
            self.fail(c["id"], v["sequence"], "differs_from_checkpoint",
                      checkpoint=v["hash"], log=log)

    def finish(self):
        self.finish_complaint()
        if self.checkpoint is not None:
            for head in self.checkpoint["heads"][self.next_head:]:
                self.fail(head["complaint_id"], 1, "truncated_since_checkpoint")
            self.next_head = len(self.checkpoint["heads"])
        return self.report


def describe(f):
    """A failure in words, led by its kind, the words of aduan's text report."""
    def short(h):
        return h[:12]

    words = {
        "unreadable": lambda: f.get("reason", ""),
        "missing": lambda: "an event was deleted",
        "out_of_order": lambda: "out of order or repeated",
        "broken_link": lambda: f"prev_hash {short(f['found'])} does not name the previous "
                               f"event's hash {short(f['expected'])} "
                               "(an event was inserted, removed or moved)",
        "hash_mismatch": lambda: f"the stored bytes hash to {short(f['computed'])}, not the "
                                 f"stored {short(f['stored'])} (payload or metadata changed)",
        "truncated_since_checkpoint":
            lambda: "vouched for by the checkpoint, now missing (the log was truncated)",
        "differs_from_checkpoint":
            lambda: f"the checkpoint vouches for hash {short(f['checkpoint'])}, the log now "
                    f"has {short(f['log'])} (the log was rewritten)",
        "not_in_checkpoint": lambda: "inside the checkpoint's positions but not covered by it "
                                     "(inserted into the past)",
    }[f["kind"]]()
    return f"complaint {f['complaint_id']} sequence {f['sequence']}: {f['kind']}: {words}"


def note(text):
    print(f"verify_export: {text}", file=sys.stderr)


def verify(args):
    try:
        checkpoint = read_checkpoint(args.checkpoint) if args.checkpoint else None
        trusted = read_public_key(args.public_key) if args.public_key else None
        if checkpoint is not None:
            check_checkpoint(checkpoint, trusted)
            if trusted is None:
                note("note: the checkpoint's signature was checked against the public key "
                     "written in it, not against one you keep; give --public-key to check "
                     "who signed it")
        elif trusted is not None:
            note("note: no checkpoint given; the public key was not used")
        fmt = args.format or detect_format(args.export)
        verifier = Verifier(checkpoint)
        for event in (read_csv if fmt == "csv" else read_jsonl)(args.export):
            verifier.push(event)
        report = verifier.finish()
    except CheckpointError as e:
        note(f"checkpoint: {e}")
        return 1
    except ExportError as e:
        note(str(e))
        return 1
    except OSError as e:
        note(f"{e.filename}: {e.strerror}")
        return 1
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
    elif report["failures_total"] == 0:
        extends = (f"; the log extends the checkpoint at position {checkpoint['position']}"
                   if checkpoint is not None else "")
        print(f"verified: {report['events']} events of {report['complaints']} complaints, "
              f"up to position {report['head_position']}{extends}")
    else:
        for failure in report["failures"]:
            print(f"FAIL {describe(failure)}")
    if report["failures_total"]:
        note(f"the log does not verify ({report['failures_total']} failure(s)); "
             f"first: {describe(report['failures'][0])}")
        return 1
    return 0


# RFC 8032, section 7.1, tests 1 to 3: public key, message, signature.
RFC8032_VECTORS = [
    ("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
     "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"),
    ("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
     "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"),
    ("fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
     "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"),
]


def self_test():
    failed = []

    def expect(condition, what):
        if not condition:
            failed.append(what)

    for n, (key, message, signature) in enumerate(RFC8032_VECTORS, 1):
        key, message, signature = (bytes.fromhex(x) for x in (key, message, signature))
        expect(ed25519_verify(key, message, signature), f"RFC 8032 test {n} verifies")
        flipped = bytearray(signature)
        flipped[n] ^= 0x01
        expect(not ed25519_verify(key, message, bytes(flipped)),
               f"RFC 8032 test {n} with a signature bit flipped fails")
        expect(not ed25519_verify(key, message + b"x", signature),
               f"RFC 8032 test {n} over another message fails")
        other = bytes.fromhex(RFC8032_VECTORS[n % 3][0])
        expect(not ed25519_verify(other, message, signature),
               f"RFC 8032 test {n} under another key fails")
        s = int.from_bytes(signature[32:], "little") + L  # the same S, not reduced
        expect(not ed25519_verify(key, message, signature[:32] + s.to_bytes(32, "little")),
               f"RFC 8032 test {n} with S + L fails")
    # The form aduan's own unit test pins (workflow-store/src/chain.rs).
    expect(canonical(json.loads('{ "b": [1, {"z": null, "a": "é\\n"}], "a": true }'))
           == '{"a":true,"b":[1,{"a":"é\\n","z":null}]}', "canonical JSON")
    for what in failed:
        print(f"FAIL self-test: {what}")
    if failed:
        return 1
    print(f"self-test: ok (Ed25519 against RFC 8032 tests 1 to {len(RFC8032_VECTORS)}, "
          "canonical JSON)")
    return 0


def main(argv):
    parser = argparse.ArgumentParser(
        prog="verify_export.py", usage=textwrap.dedent(__doc__.split("\n\n")[1]).strip(),
        description="Verify an aduan export without the engine (see docs/audit.md).")
    parser.add_argument("export", nargs="?", help="the export (JSON Lines or CSV)")
    parser.add_argument("checkpoint_arg", nargs="?", metavar="CHECKPOINT",
                        help="a checkpoint; the same as --checkpoint")
    parser.add_argument("--checkpoint", help="a checkpoint written by `aduan checkpoint`")
    parser.add_argument("--public-key", help="the auditor's copy of the signing public key "
                                             "(the .pub file); the checkpoint must match it")
    parser.add_argument("--format", choices=("jsonl", "csv"),
                        help="the export's format (default: told by its first character)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--self-test", action="store_true",
                        help="check the Ed25519 code against RFC 8032's test vectors")
    args = parser.parse_args(argv)
    if args.self_test:
        return self_test()
    if args.export is None:
        parser.error("an export file is needed")
    if args.checkpoint_arg:
        if args.checkpoint:
            parser.error("give the checkpoint once")
        args.checkpoint = args.checkpoint_arg
    return verify(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
