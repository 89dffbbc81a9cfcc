"""The "Signed records" section of ``docs/events.md``: the signed bytes, spelled out for producers in other languages.

The prose is fixed text; the header names and the batch limit come from :mod:`schemas.signing`, and
``tests/schemas/test_signing.py`` keeps the code equal to the published test vector, so the
definition here, the code and the vector cannot drift apart unnoticed.
"""

from __future__ import annotations

from schemas.signing import HEADER_KEY_ID, HEADER_PROOF, HEADER_SIGNATURE, MAX_BATCH

VECTOR = "tests/schemas/signing_vector.json"
GO_VERIFIER = "tests/schemas/go_verify/main.go"


def signed_records_markdown() -> list[str]:
    """The section's lines (a level-2 heading and its subsections)."""
    depth = (MAX_BATCH - 1).bit_length()
    return [
        "## Signed records",
        "",
        "Every record a region publishes carries its proof of origin: the region's Ed25519 key signs, once per "
        "produce batch, the Merkle root of the batch's records, and each record carries the signature and its own "
        "inclusion proof, so it verifies on its own. This section defines the signed bytes exactly, so that a producer "
        "written in Java, Go or any other language can sign too (`schemas/signing.py` is the Python implementation). "
        f"The reference to test against is the test vector `{VECTOR}` and its second, independent verifier "
        f"`{GO_VERIFIER}` (Go standard library only):",
        "",
        "```",
        "cd tests/schemas/go_verify && go run . ../signing_vector.json      # PASS: the vector verifies in Go",
        "```",
        "",
        "A producer is right when, from the vector's inputs (topic, key, value, CloudEvents fields) and its **TEST ONLY** "
        "key seed (RFC 8032 §7.1, test 1, public: never sign real events with it), it computes every hex string of the "
        "vector: each record's leaf input, leaf and leaf hash, the root, the signed message, the signature (Ed25519 is "
        "deterministic) and the three headers.",
        "",
        "**Notation.** `||` concatenates; `uint32(n)` is 4 bytes, big-endian; `lp(x)` is `uint32(length of x in bytes) || x`; "
        "text is its UTF-8 bytes (no terminator, no normalisation); `SHA-256` gives 32 bytes.",
        "",
        "### The leaf: one record",
        "",
        "```",
        'leaf = SHA-256( "egov-bus/record/v1\\n"     19 bytes, the last one 0x0a',
        "                || lp(topic)                 e.g. egov.budgeting.events",
        "                || lp(key)                   the record key's bytes, e.g. 32.01 (no key: empty)",
        "                || SHA-256(value)            of the value bytes as produced: the Confluent frame (magic byte,",
        "                                             schema id) and the Avro body (no value: SHA-256 of empty)",
        "                || lp(ce_id) || lp(ce_type) || lp(ce_source) || lp(ce_time) )",
        "```",
        "",
        "The four CloudEvents fields are the values of the record's headers of those names, exactly as sent (`ce_time` "
        "as written, e.g. `2025-03-14T02:30:00.000Z`). Not signed: the other headers (`ce_specversion`, `content-type`, "
        "`traceparent`), the partition, offset and timestamp. The length prefixes keep the fields apart: bytes moved "
        "from one field to the next change the leaf.",
        "",
        "### The batch: a Merkle tree (RFC 9162 §2.1)",
        "",
        f"A producer signs a batch of `n` leaves, 1 ≤ `n` ≤ {MAX_BATCH:,}, in an order of its choosing; a record's "
        f"index is its place in that list. A larger batch is split into consecutive chunks of {MAX_BATCH:,} records, "
        "each a batch of its own with its own signature. The tree is RFC 9162's Merkle Tree Hash:",
        "",
        "```",
        "leaf hash  H(i)        = SHA-256(0x00 || leaf(i))",
        "node       N(l, r)     = SHA-256(0x01 || l || r)",
        "MTH(H(0) .. H(n-1))    = H(0)                                      when n = 1",
        "                       = N(MTH(H(0) .. H(k-1)), MTH(H(k) .. H(n-1)))  otherwise, k = the largest power of two < n",
        "root                   = MTH(H(0) .. H(n-1))",
        "```",
        "",
        "So a batch of one has the root `SHA-256(0x00 || leaf)`, not the leaf, and an odd last node is never "
        "duplicated (a batch of 3 is `N(N(H0, H1), H2)`).",
        "",
        "### The signed message and the headers",
        "",
        "```",
        'message  = "egov-bus/batch/v1\\n" || uint32(n) || root           18 + 4 + 32 = 54 bytes',
        "signature = Ed25519-Sign(region's private key, message)            RFC 8032 pure Ed25519: no prehash, no context",
        "```",
        "",
        "Each record of the batch carries three headers after the CloudEvents ones; the values are raw bytes "
        "(not hex, not base64):",
        "",
        "| header | bytes | content |",
        "|---|---|---|",
        f"| `{HEADER_KEY_ID}` | UTF-8 text | the key id: `<region code>:<the first 16 hex digits (lowercase) of SHA-256 of the "
        "raw 32-byte public key>`, e.g. `32.01:21fe31dfa154a261` |",
        f"| `{HEADER_SIGNATURE}` | 64 | the batch's signature, the same in every record of the batch |",
        f"| `{HEADER_PROOF}` | 8 + 32·m | `uint32(index) \\|\\| uint32(n) \\|\\| p(1) \\|\\| … \\|\\| p(m)`: the record's audit "
        "path, RFC 9162 §2.1.3.1 `PATH(index, D[n])`, from the leaf's sibling up to the root's other child; "
        f"m = 0 for n = 1, at most {depth} |",
        "",
        f"A record with none of the three is unsigned; one with only some of them, with a `{HEADER_SIGNATURE}` of "
        f"another length than 64 or a `{HEADER_PROOF}` whose length is not 8 + 32·m is malformed. The centre refuses "
        "both (a dead letter with stage `verify`, `EGOV_VERIFY_SIGNATURES`, on by default).",
        "",
        "### Verifying one record alone",
        "",
        f"1. Read `{HEADER_KEY_ID}`, `{HEADER_SIGNATURE}` and `{HEADER_PROOF}` (index, n, path) as above.",
        "2. Recompute the record's leaf from its topic, key, value and CloudEvents headers, and its leaf hash.",
        "3. Recompute the root from the leaf hash, index, n and path with RFC 9162 §2.1.3.2: refuse `index ≥ n`; "
        "`fn = index`, `sn = n - 1`, `r` = leaf hash; for each `p`: refuse if `sn = 0`; if `fn` is odd or `fn = sn`, "
        "`r = N(p, r)` and, when `fn` was even, shift `fn` and `sn` right until `fn` is odd or 0; else `r = N(r, p)`; "
        "then shift both right once. Refuse unless `sn = 0` at the end: the path is used exactly.",
        "4. Build the message from that root and the proof's `n`, and verify the signature with the public key the "
        f"register (`egov.keys`) holds for `{HEADER_KEY_ID}`. `n` is signed, so a record cannot claim another batch size.",
        "5. Check the key: its region is the record's (key, envelope `region_code`), and it was valid at `ce_time` "
        "(`valid_from` ≤ `ce_time` < `valid_until`; a revoked key accepts nothing).",
        "",
        "A verifier that sees several records of a batch checks their one signature once (same key id, signature, n "
        "and root), and each record's path.",
        "",
        "**Changing the definition** changes the domain strings (`/v1` → `/v2`), so old and new records cannot be "
        "confused; then regenerate the vector with `.venv/bin/python -m tests.schemas.make_signing_vector` "
        "(`tests/schemas/test_signing.py` fails while the code and the vector differ).",
        "",
    ]
