// Command go_verify checks the egov-bus signed-records test vector with a second implementation.
//
// It is written from docs/events.md ("Signed records") and RFC 9162, using Go's standard library
// only, so that the definition of the signed bytes is not only Python's:
//
//	go run . ../signing_vector.json
//
// Every leaf is recomputed from the record's raw fields, every record's root from its own
// egov_proof header (RFC 9162 §2.1.3.2), the batch's signature is verified with the public key
// derived from the (TEST ONLY) seed, and a record whose value has one byte changed must fail.
// Any mismatch is printed and the exit status is 1.
package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
)

const (
	leafDomain  = "egov-bus/record/v1\n"
	batchDomain = "egov-bus/batch/v1\n"
	hashSize    = sha256.Size
)

type vector struct {
	Key struct {
		RegionCode string `json:"region_code"`
		SeedHex    string `json:"test_only_private_seed_hex"`
		PublicHex  string `json:"public_key_hex"`
		KeyID      string `json:"key_id"`
	} `json:"key"`
	Batch struct {
		Size       uint32 `json:"size"`
		RootHex    string `json:"root_hex"`
		MessageHex string `json:"signed_message_hex"`
		SigHex     string `json:"signature_hex"`
	} `json:"batch"`
	Records []record `json:"records"`
}

type record struct {
	Topic        string `json:"topic"`
	KeyHex       string `json:"key_hex"`
	ValueHex     string `json:"value_hex"`
	CeID         string `json:"ce_id"`
	CeType       string `json:"ce_type"`
	CeSource     string `json:"ce_source"`
	CeTime       string `json:"ce_time"`
	ValueSHA256  string `json:"value_sha256_hex"`
	LeafInputHex string `json:"leaf_input_hex"`
	LeafHex      string `json:"leaf_hex"`
	LeafHashHex  string `json:"leaf_hash_hex"`
	Proof        struct {
		Index   uint32   `json:"index"`
		Size    uint32   `json:"size"`
		PathHex []string `json:"path_hex"`
	} `json:"proof"`
	Headers struct {
		Kid      string `json:"egov_kid"`
		SigHex   string `json:"egov_sig_hex"`
		ProofHex string `json:"egov_proof_hex"`
	} `json:"headers"`
}

var failures int

func check(ok bool, what string, args ...any) {
	if ok {
		fmt.Printf("ok    "+what+"\n", args...)
		return
	}
	failures++
	fmt.Printf("FAIL  "+what+"\n", args...)
}

// because renders an error as a suffix of a check's line, nothing when there is none.
func because(err error) string {
	if err == nil {
		return ""
	}
	return ": " + err.Error()
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		fmt.Printf("FAIL  bad hex %q: %v\n", s, err)
		os.Exit(1)
	}
	return b
}

// lengthPrefixed is the 4-byte big-endian length of b followed by b.
func lengthPrefixed(b []byte) []byte {
	out := binary.BigEndian.AppendUint32(nil, uint32(len(b)))
	return append(out, b...)
}

// leafInput is the byte string whose SHA-256 is a record's leaf (docs/events.md).
func leafInput(topic string, key, value []byte, ceID, ceType, ceSource, ceTime string) []byte {
	valueDigest := sha256.Sum256(value)
	var buf bytes.Buffer
	buf.WriteString(leafDomain)
	buf.Write(lengthPrefixed([]byte(topic)))
	buf.Write(lengthPrefixed(key))
	buf.Write(valueDigest[:])
	for _, field := range []string{ceID, ceType, ceSource, ceTime} {
		buf.Write(lengthPrefixed([]byte(field)))
	}
	return buf.Bytes()
}

func hashLeaf(leaf []byte) []byte {
	h := sha256.Sum256(append([]byte{0x00}, leaf...))
	return h[:]
}

func hashChildren(left, right []byte) []byte {
	h := sha256.New()
	h.Write([]byte{0x01})
	h.Write(left)
	h.Write(right)
	return h.Sum(nil)
}

// treeHash is MTH over already leaf-hashed entries (RFC 9162 §2.1.1): split at k, the largest
// power of two strictly smaller than n.
func treeHash(leafHashes [][]byte) []byte {
	n := len(leafHashes)
	if n == 1 {
		return leafHashes[0]
	}
	k := 1
	for k*2 < n {
		k *= 2
	}
	return hashChildren(treeHash(leafHashes[:k]), treeHash(leafHashes[k:]))
}

// rootFromInclusionProof follows RFC 9162 §2.1.3.2, "Verifying an Inclusion Proof", steps 1-5,
// returning the root the proof leads to (the caller compares it with the signed root).
func rootFromInclusionProof(leafHash []byte, leafIndex, treeSize uint32, path [][]byte) ([]byte, error) {
	// Step 1.
	if leafIndex >= treeSize {
		return nil, fmt.Errorf("leaf_index %d >= tree_size %d", leafIndex, treeSize)
	}
	// Steps 2 and 3.
	fn, sn := leafIndex, treeSize-1
	r := leafHash
	// Step 4.
	for _, p := range path {
		if sn == 0 { // 4a
			return nil, fmt.Errorf("inclusion path longer than the tree")
		}
		if fn%2 == 1 || fn == sn { // 4b: p is a left sibling
			r = hashChildren(p, r)
			if fn%2 == 0 {
				// fn was the last node of its level with no right sibling: climb to where it has one.
				for fn != 0 && fn%2 == 0 {
					fn /= 2
					sn /= 2
				}
			}
		} else { // p is a right sibling
			r = hashChildren(r, p)
		}
		fn /= 2 // 4c
		sn /= 2
	}
	// Step 5 (the root comparison is the caller's).
	if sn != 0 {
		return nil, fmt.Errorf("inclusion path shorter than the tree")
	}
	return r, nil
}

// parseProof reads an egov_proof header: uint32 index, uint32 size, then 32-byte hashes.
func parseProof(raw []byte) (uint32, uint32, [][]byte, error) {
	if len(raw) < 8 || (len(raw)-8)%hashSize != 0 {
		return 0, 0, nil, fmt.Errorf("egov_proof of %d bytes", len(raw))
	}
	index := binary.BigEndian.Uint32(raw[0:4])
	size := binary.BigEndian.Uint32(raw[4:8])
	var path [][]byte
	for off := 8; off < len(raw); off += hashSize {
		path = append(path, raw[off:off+hashSize])
	}
	return index, size, path, nil
}

func signedMessage(size uint32, root []byte) []byte {
	msg := append([]byte(batchDomain), binary.BigEndian.AppendUint32(nil, size)...)
	return append(msg, root...)
}

func keyID(region string, public []byte) string {
	digest := sha256.Sum256(public)
	return region + ":" + hex.EncodeToString(digest[:])[:16]
}

// verifyRecord is what a verifier does with one record alone: its leaf from its fields, its
// root from its proof, the batch message from that root and the proof's size, the signature.
func verifyRecord(public []byte, rec record, value []byte) error {
	leaf := sha256.Sum256(leafInput(rec.Topic, mustHex(rec.KeyHex), value, rec.CeID, rec.CeType, rec.CeSource, rec.CeTime))
	index, size, path, err := parseProof(mustHex(rec.Headers.ProofHex))
	if err != nil {
		return err
	}
	root, err := rootFromInclusionProof(hashLeaf(leaf[:]), index, size, path)
	if err != nil {
		return err
	}
	if !ed25519.Verify(public, signedMessage(size, root), mustHex(rec.Headers.SigHex)) {
		return fmt.Errorf("signature does not verify")
	}
	return nil
}

func main() {
	if len(os.Args) != 2 {
		fmt.Println("usage: go_verify <signing_vector.json>")
		os.Exit(2)
	}
	raw, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Println("FAIL ", err)
		os.Exit(1)
	}
	var v vector
	if err := json.Unmarshal(raw, &v); err != nil {
		fmt.Println("FAIL ", err)
		os.Exit(1)
	}
	check(len(v.Records) > 0 && uint32(len(v.Records)) == v.Batch.Size, "batch of %d records", len(v.Records))

	seed := mustHex(v.Key.SeedHex)
	check(len(seed) == ed25519.SeedSize, "seed is %d bytes", len(seed))
	private := ed25519.NewKeyFromSeed(seed)
	public := private.Public().(ed25519.PublicKey)
	check(bytes.Equal(public, mustHex(v.Key.PublicHex)), "public key derived from the seed: %x", []byte(public))
	check(keyID(v.Key.RegionCode, public) == v.Key.KeyID, "key id %s", keyID(v.Key.RegionCode, public))

	var leafHashes [][]byte
	for i, rec := range v.Records {
		value := mustHex(rec.ValueHex)
		valueDigest := sha256.Sum256(value)
		check(hex.EncodeToString(valueDigest[:]) == rec.ValueSHA256, "record %d: SHA-256 of the value", i)
		input := leafInput(rec.Topic, mustHex(rec.KeyHex), value, rec.CeID, rec.CeType, rec.CeSource, rec.CeTime)
		check(hex.EncodeToString(input) == rec.LeafInputHex, "record %d: leaf input (%d bytes)", i, len(input))
		leaf := sha256.Sum256(input)
		check(hex.EncodeToString(leaf[:]) == rec.LeafHex, "record %d: leaf %x", i, leaf)
		lh := hashLeaf(leaf[:])
		check(hex.EncodeToString(lh) == rec.LeafHashHex, "record %d: leaf hash (0x00 prefix)", i)
		leafHashes = append(leafHashes, lh)
	}

	root := treeHash(leafHashes)
	check(hex.EncodeToString(root) == v.Batch.RootHex, "Merkle root over all leaves (RFC 9162 MTH) %x", root)
	message := signedMessage(v.Batch.Size, root)
	check(hex.EncodeToString(message) == v.Batch.MessageHex, "signed message (%d bytes)", len(message))
	// Ed25519 is deterministic (RFC 8032): signing here must give the vector's very bytes.
	check(hex.EncodeToString(ed25519.Sign(private, message)) == v.Batch.SigHex, "signature reproduced by Go's Ed25519")
	check(ed25519.Verify(public, message, mustHex(v.Batch.SigHex)), "batch signature verifies")

	for i, rec := range v.Records {
		check(rec.Headers.Kid == v.Key.KeyID, "record %d: egov_kid %s", i, rec.Headers.Kid)
		check(rec.Headers.SigHex == v.Batch.SigHex, "record %d: egov_sig is the batch signature", i)
		index, size, path, err := parseProof(mustHex(rec.Headers.ProofHex))
		check(err == nil && index == rec.Proof.Index && size == rec.Proof.Size && size == v.Batch.Size,
			"record %d: egov_proof index %d of %d", i, index, size)
		check(int(index) == i, "record %d: proof index is its place in the batch", i)
		samePath := len(path) == len(rec.Proof.PathHex)
		for j := 0; samePath && j < len(path); j++ {
			samePath = hex.EncodeToString(path[j]) == rec.Proof.PathHex[j]
		}
		check(samePath, "record %d: egov_proof path (%d hashes)", i, len(path))
		proved, err := rootFromInclusionProof(leafHashes[i], index, size, path)
		check(err == nil && bytes.Equal(proved, root), "record %d: its proof leads to the root (RFC 9162 §2.1.3.2)", i)
		err = verifyRecord(public, rec, mustHex(rec.ValueHex))
		check(err == nil, "record %d: verifies alone%s", i, because(err))

		// The same record with one byte of its value changed must not verify.
		tampered := mustHex(rec.ValueHex)
		tampered[len(tampered)-1] ^= 0x01
		err = verifyRecord(public, rec, tampered)
		check(err != nil, "record %d: one value byte changed is refused%s", i, because(err))
	}

	if failures > 0 {
		fmt.Printf("%d check(s) failed\n", failures)
		os.Exit(1)
	}
	fmt.Println("PASS: the vector verifies in Go")
}
