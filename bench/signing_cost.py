"""The per-event cost of proof of origin, in-process, next to fastavro encoding the same events.

In one run, interleaved rounds over the same N BudgetAllocated records as the
SDK encodes them (median of per-round figures, microseconds per event):

* ``fastavro``: fastavro's ``schemaless_writer`` of the record (the baseline of B1);
* ``leaf``: the record's signed digest (:func:`schemas.signing.leaf_of`);
* ``sign_512``: leaves + one Ed25519 signature and the Merkle proofs per batch of
  512 records of one region (what the SDK's streaming path does);
* ``verify_batched``: the centre's :class:`processors.verify.Verifier` over those
  records (one signature check per batch, a proof per record);
* ``verify_each``: the same when every record carries its own signature (a
  batch of one: a region that publishes one event at a time).

    .venv/bin/python -m bench.signing_cost [--events 20000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import io
import os
import json
import statistics
import time
from datetime import datetime, timezone

import fastavro
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bench.common import ROOT, machine, now_iso
from bench.publish import build_events
from processors.verify import Verifier
from schemas import event_type as lookup
from schemas.cloudevents import build_headers
from schemas.signing import KeyRecord, SigningKey, leaf_of, raw_public_key
from schemas.topic_names import theme_topic

RESULTS = ROOT / "bench" / "results" / "signing_cost.json"


class _Msg:
    __slots__ = ("_k", "_v", "_h")

    def __init__(self, key: bytes, value: bytes, headers: list) -> None:
        self._k, self._v, self._h = key, value, headers

    def key(self) -> bytes:
        return self._k

    def value(self) -> bytes:
        return self._v

    def headers(self) -> list:
        return self._h


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    et = lookup("BudgetAllocated")
    topic = theme_topic("budgeting")
    events = [e for e in build_events("BudgetAllocated", args.events)]
    records = [e.to_avro() for e in events]
    parsed = et.parsed_schema
    key = SigningKey("32.01", Ed25519PrivateKey.generate())
    ring = {key.key_id: KeyRecord(key.key_id, "32.01", raw_public_key(key.private_key),
                                  datetime(2000, 1, 1, tzinfo=timezone.utc))}
    encoded = []
    for e, r in zip(events, records):
        buf = io.BytesIO()
        fastavro.schemaless_writer(buf, parsed, r)
        encoded.append((b"32.01", buf.getvalue(), list(build_headers(e, et))))
    n = len(encoded)

    def fastavro_round() -> None:
        for r in records:
            fastavro.schemaless_writer(io.BytesIO(), parsed, r)

    def leaf_round() -> None:
        for k, v, h in encoded:
            leaf_of(topic, k, v, h)

    def sign(batch: int) -> list[_Msg]:
        out = []
        for start in range(0, n, batch):
            chunk = encoded[start:start + batch]
            extra = key.sign_batch([leaf_of(topic, k, v, h) for k, v, h in chunk])
            out += [_Msg(k, v, h + x) for (k, v, h), x in zip(chunk, extra)]
        return out

    batched, single = sign(512), sign(1)

    def verify_round(msgs: list[_Msg]) -> None:
        verifier = Verifier(ring.get)
        for m in msgs:
            verifier.check(topic, "budgeting", m)

    paths = {"fastavro": fastavro_round, "leaf": leaf_round, "sign_512": lambda: sign(512),
             "verify_batched": lambda: verify_round(batched), "verify_each": lambda: verify_round(single)}
    rounds: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(args.rounds):
        for name, fn in paths.items():
            t0 = time.perf_counter()
            fn()
            rounds[name].append((time.perf_counter() - t0) / n * 1e6)
    median = {k: round(statistics.median(v), 2) for k, v in rounds.items()}
    result = {"benchmark": "signing cost", "us_per_event_median": median,
              "us_per_event_rounds": {k: [round(x, 2) for x in v] for k, v in rounds.items()},
              "ratio_to_fastavro_median": {k: round(statistics.median(a / b for a, b in zip(v, rounds["fastavro"])), 2)
                                           for k, v in rounds.items()},
              "params": {"events": n, "rounds": args.rounds, "batch": 512}, "machine": machine(os.getloadavg()), "when": now_iso()}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    for name, value in median.items():
        print(f"  {name:<16}{value:>8.2f} us/event  ({result['ratio_to_fastavro_median'][name]:.2f}x fastavro)")
    print(f"  -> {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
