// tlog-conformance checks a live credfed node against code nobody at credfed wrote: the Go
// golang.org/x/mod/sumdb/note and sumdb/tlog packages (Debian golang-golang-x-mod-dev), plus a
// cosignature/v1 check written from the C2SP tlog-cosignature text.
//
// Usage:
//
//	tlog-conformance -url http://127.0.0.1:8440 -vkey <checkpoint vkey> -token <audit token> \
//	    [-prefix /tlog] [-witness-vkey <cosigner vkey>] [-witness-url <url of that witness>]
//
// Exits non-zero with a message naming the first check that failed.
package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

var (
	baseURL     = flag.String("url", "", "node API base URL")
	vkey        = flag.String("vkey", "", "the node's checkpoint verifier key (name+hash+base64(0x01||key))")
	token       = flag.String("token", "", "audit-scope bearer token")
	prefix      = flag.String("prefix", "/tlog", "api.tlog_prefix of the node")
	witnessVkey = flag.String("witness-vkey", "", "a witness's cosignature/v1 vkey (name+hash+base64(0x04||key)); its cosignature must be on the checkpoint")
	witnessURL  = flag.String("witness-url", "", "a witness node's URL: get a cosignature from its POST {prefix}/add-checkpoint as a tlog-witness client")
)

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "FAIL: "+format+"\n", args...)
	os.Exit(1)
}

func ok(format string, args ...interface{}) { fmt.Printf("ok   "+format+"\n", args...) }

var client = &http.Client{Timeout: 20 * time.Second}

func get(url string) (int, http.Header, []byte) {
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		fail("GET %s: %v", url, err)
	}
	if *token != "" {
		req.Header.Set("Authorization", "Bearer "+*token)
	}
	resp, err := client.Do(req)
	if err != nil {
		fail("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		fail("GET %s: reading body: %v", url, err)
	}
	return resp.StatusCode, resp.Header, b
}

func mustGet(url string) []byte {
	code, _, b := get(url)
	if code != 200 {
		fail("GET %s: status %d: %s", url, code, b)
	}
	return b
}

func getJSON(url string, v interface{}) {
	if err := json.Unmarshal(mustGet(url), v); err != nil {
		fail("GET %s: JSON: %v", url, err)
	}
}

// checkpoint is a parsed C2SP tlog-checkpoint body.
type checkpoint struct {
	origin string
	size   int64
	root   tlog.Hash
}

func parseCheckpoint(text string) checkpoint {
	lines := strings.SplitN(text, "\n", 4)
	if len(lines) < 4 {
		fail("checkpoint body has fewer than three lines: %q", text)
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != lines[1] {
		fail("checkpoint size line %q is not a canonical int64", lines[1])
	}
	raw, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(raw) != tlog.HashSize {
		fail("checkpoint root line %q is not base64 of 32 bytes", lines[2])
	}
	var root tlog.Hash
	copy(root[:], raw)
	return checkpoint{origin: lines[0], size: size, root: root}
}

func hashOf(s string) tlog.Hash {
	raw, err := hex.DecodeString(s)
	if err != nil || len(raw) != tlog.HashSize {
		fail("not a hex hash: %q", s)
	}
	var h tlog.Hash
	copy(h[:], raw)
	return h
}

func hashes(list []string) []tlog.Hash {
	out := make([]tlog.Hash, len(list))
	for i, s := range list {
		out[i] = hashOf(s)
	}
	return out
}

// tileReader reads C2SP tlog-tiles over HTTP. Go's Tile.Path is tile/<H>/<L>/<N>[.p/<W>] (the
// sumdb layout, L=-1 as "data"); C2SP drops the height and names data tiles "entries".
type tileReader struct{ fetched int }

func c2spPath(t tlog.Tile) string {
	p := t.Path()
	rest := strings.TrimPrefix(p, fmt.Sprintf("tile/%d/", t.H))
	if strings.HasPrefix(rest, "data/") {
		rest = "entries/" + strings.TrimPrefix(rest, "data/")
	}
	return "tile/" + rest
}

func (r *tileReader) Height() int { return 8 }

func (r *tileReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		url := *baseURL + *prefix + "/" + c2spPath(t)
		code, hdr, b := get(url)
		if code != 200 {
			return nil, fmt.Errorf("GET %s: status %d: %s", url, code, b)
		}
		if len(b) != t.W*tlog.HashSize {
			return nil, fmt.Errorf("GET %s: %d bytes, want %d", url, len(b), t.W*tlog.HashSize)
		}
		full := t.W == 1<<uint(t.H)
		cc := hdr.Get("Cache-Control")
		if full && !strings.Contains(cc, "immutable") {
			return nil, fmt.Errorf("GET %s: full tile without an immutable Cache-Control (%q)", url, cc)
		}
		if !full && strings.Contains(cc, "immutable") {
			return nil, fmt.Errorf("GET %s: partial tile marked immutable", url)
		}
		out[i] = b
		r.fetched++
	}
	return out, nil
}

func (r *tileReader) SaveTiles(tiles []tlog.Tile, data [][]byte) {}

// cosigner is a cosignature/v1 verifier key (C2SP tlog-cosignature): vkey
// name+hex(keyhash)+base64(0x04 || ed25519 key), keyhash = SHA-256(name || 0x0A || 0x04 || key)[:4].
type cosigner struct {
	name string
	hash uint32
	key  ed25519.PublicKey
}

func parseCosigner(vk string) cosigner {
	parts := strings.SplitN(vk, "+", 3)
	if len(parts) != 3 {
		fail("witness vkey %q: want name+hash+key", vk)
	}
	raw, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(raw) != 1+ed25519.PublicKeySize || raw[0] != 0x04 {
		fail("witness vkey %q: key must be base64(0x04 || 32-byte Ed25519 key)", vk)
	}
	h := sha256.Sum256(append([]byte(parts[0]+"\n"), raw...))
	id := binary.BigEndian.Uint32(h[:4])
	if fmt.Sprintf("%08x", id) != parts[1] {
		fail("witness vkey %q: key hash %s, computed %08x", vk, parts[1], id)
	}
	return cosigner{name: parts[0], hash: id, key: ed25519.PublicKey(raw[1:])}
}

// verifyCosignature finds c's line among the note's signatures and checks it: payload =
// keyhash (4) || timestamp (8, big-endian, < 2^63) || Ed25519 signature over
// "cosignature/v1\ntime <t>\n" || checkpoint body.
func verifyCosignature(c cosigner, body string, sigs []note.Signature) (uint64, bool) {
	for _, s := range sigs {
		if s.Name != c.name || s.Hash != c.hash {
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(s.Base64)
		if err != nil || len(raw) != 4+8+ed25519.SignatureSize || binary.BigEndian.Uint32(raw[:4]) != c.hash {
			fail("cosignature line of %s is malformed", c.name)
		}
		ts := binary.BigEndian.Uint64(raw[4:12])
		if ts >= 1<<63 {
			fail("cosignature timestamp %d of %s is not below 2^63", ts, c.name)
		}
		msg := fmt.Sprintf("cosignature/v1\ntime %d\n%s", ts, body)
		if !ed25519.Verify(c.key, []byte(msg), raw[12:]) {
			fail("cosignature of %s does not verify over the checkpoint", c.name)
		}
		return ts, true
	}
	return 0, false
}

// sigLines parses "— name base64" lines (the note's unverified signatures).
func sigLines(text string) []note.Signature {
	var out []note.Signature
	for _, l := range strings.Split(text, "\n") {
		if !strings.HasPrefix(l, "\u2014 ") {
			continue
		}
		f := strings.SplitN(strings.TrimPrefix(l, "\u2014 "), " ", 2)
		if len(f) != 2 {
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(f[1])
		if err != nil || len(raw) < 4 {
			continue
		}
		out = append(out, note.Signature{Name: f[0], Hash: binary.BigEndian.Uint32(raw[:4]), Base64: f[1]})
	}
	return out
}

// addCheckpoint is a C2SP tlog-witness client: it sends the checkpoint with a consistency
// proof from the size the witness says it holds (409 text/x.tlog.size), and returns the
// cosignature lines.
func addCheckpoint(witness string, signed []byte, cp checkpoint) string {
	old := int64(0)
	for attempt := 0; attempt < 3; attempt++ {
		var body bytes.Buffer
		fmt.Fprintf(&body, "old %d\n", old)
		if old > 0 && old < cp.size {
			var p struct{ Proof []string }
			getJSON(fmt.Sprintf("%s/v1/audit/proof/consistency?from=%d&to=%d", *baseURL, old, cp.size), &p)
			for _, h := range hashes(p.Proof) {
				fmt.Fprintf(&body, "%s\n", base64.StdEncoding.EncodeToString(h[:]))
			}
		}
		body.WriteString("\n")
		body.Write(signed)
		url := witness + *prefix + "/add-checkpoint"
		resp, err := client.Post(url, "text/plain", &body)
		if err != nil {
			fail("POST %s: %v", url, err)
		}
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		switch resp.StatusCode {
		case 200:
			return string(b)
		case 409:
			if ct := resp.Header.Get("Content-Type"); ct != "text/x.tlog.size" {
				fail("POST %s: 409 with Content-Type %q, want text/x.tlog.size", url, ct)
			}
			n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
			if err != nil || n < 0 {
				fail("POST %s: 409 body %q is not a size", url, b)
			}
			if n > cp.size {
				fail("witness holds size %d, above the checkpoint's %d", n, cp.size)
			}
			ok("add-checkpoint: 409, witness holds size %d; retrying with a consistency proof", n)
			old = n
		default:
			fail("POST %s: status %d: %s", url, resp.StatusCode, b)
		}
	}
	fail("add-checkpoint: no cosignature after 3 attempts")
	return ""
}

func main() {
	flag.Parse()
	if *baseURL == "" || *vkey == "" {
		fail("usage: tlog-conformance -url URL -vkey VKEY [-token T] [-prefix /tlog] [-witness-vkey V] [-witness-url U]")
	}
	*baseURL = strings.TrimRight(*baseURL, "/")
	verifier, err := note.NewVerifier(*vkey)
	if err != nil {
		fail("note.NewVerifier(%q): %v", *vkey, err)
	}

	// 1. The checkpoint: a signed note that sumdb/note opens with the node's vkey.
	code, hdr, signed := get(*baseURL + *prefix + "/checkpoint")
	if code != 200 {
		fail("GET checkpoint: status %d: %s", code, signed)
	}
	if cc := hdr.Get("Cache-Control"); strings.Contains(cc, "immutable") || strings.Contains(cc, "max-age=31536000") {
		fail("checkpoint is cached long (%q)", cc)
	}
	n, err := note.Open(signed, note.VerifierList(verifier))
	if err != nil {
		fail("note.Open(checkpoint): %v", err)
	}
	cp := parseCheckpoint(n.Text)
	ok("note.Open: checkpoint of %q, size %d, signed by %s (%d other signature lines)", cp.origin, cp.size, verifier.Name(), len(n.UnverifiedSigs))
	if cp.size < 2 {
		fail("checkpoint size %d: the log needs at least 2 leaves for these checks", cp.size)
	}

	// 2. The JSON proof routes, checked with tlog.CheckRecord and tlog.CheckTree.
	for _, idx := range []int64{0, cp.size / 2, cp.size - 1} {
		var p struct {
			LeafHash string `json:"leaf_hash"`
			Proof    []string
			Root     string
		}
		getJSON(fmt.Sprintf("%s/v1/audit/proof/inclusion?index=%d&size=%d", *baseURL, idx, cp.size), &p)
		if hashOf(p.Root) != cp.root {
			fail("inclusion route root %s differs from the checkpoint root", p.Root)
		}
		if err := tlog.CheckRecord(tlog.RecordProof(hashes(p.Proof)), cp.size, cp.root, idx, hashOf(p.LeafHash)); err != nil {
			fail("tlog.CheckRecord(index %d, size %d): %v", idx, cp.size, err)
		}
	}
	ok("tlog.CheckRecord: inclusion proofs of leaves 0, %d, %d", cp.size/2, cp.size-1)
	old := cp.size / 2
	var c struct {
		Proof    []string
		RootFrom string `json:"root_from"`
	}
	getJSON(fmt.Sprintf("%s/v1/audit/proof/consistency?from=%d&to=%d", *baseURL, old, cp.size), &c)
	oldRoot := hashOf(c.RootFrom)
	if err := tlog.CheckTree(tlog.TreeProof(hashes(c.Proof)), cp.size, cp.root, old, oldRoot); err != nil {
		fail("tlog.CheckTree(%d -> %d): %v", old, cp.size, err)
	}
	ok("tlog.CheckTree: consistency proof %d -> %d", old, cp.size)

	// 3. Tiles over HTTP through tlog.TileHashReader (which authenticates every tile against
	// the tree), then proofs computed by Go from them.
	tr := &tileReader{}
	thr := tlog.TileHashReader(tlog.Tree{N: cp.size, Hash: cp.root}, tr)
	th, err := tlog.TreeHash(cp.size, thr)
	if err != nil {
		fail("tlog.TreeHash over tiles: %v", err)
	}
	if th != cp.root {
		fail("tlog.TreeHash over tiles = %v, checkpoint root %v", th, cp.root)
	}
	oldTh, err := tlog.TreeHash(old, thr)
	if err != nil || oldTh != oldRoot {
		fail("tlog.TreeHash(%d) over tiles = %v (%v), consistency route root_from %v", old, oldTh, err, oldRoot)
	}
	for _, idx := range []int64{0, cp.size / 2, cp.size - 1} {
		rp, err := tlog.ProveRecord(cp.size, idx, thr)
		if err != nil {
			fail("tlog.ProveRecord(%d, %d) over tiles: %v", cp.size, idx, err)
		}
		leaf, err := thr.ReadHashes([]int64{tlog.StoredHashIndex(0, idx)})
		if err != nil {
			fail("leaf hash %d over tiles: %v", idx, err)
		}
		if err := tlog.CheckRecord(rp, cp.size, cp.root, idx, leaf[0]); err != nil {
			fail("tlog.CheckRecord of the tile-built proof for %d: %v", idx, err)
		}
	}
	tp, err := tlog.ProveTree(cp.size, old, thr)
	if err != nil {
		fail("tlog.ProveTree over tiles: %v", err)
	}
	if err := tlog.CheckTree(tp, cp.size, cp.root, old, oldRoot); err != nil {
		fail("tlog.CheckTree of the tile-built proof: %v", err)
	}
	full := cp.size >= 256
	ok("tlog.TileHashReader: %d tiles read (a full tile: %v); TreeHash, ProveRecord and ProveTree check against the checkpoint", tr.fetched, full)

	// 4. The first entry bundle: each entry's RFC 6962 record hash is the leaf hash in the tiles.
	w := cp.size
	if w > 256 {
		w = 256
	}
	bt := tlog.Tile{H: 8, L: -1, N: 0, W: int(w)}
	bundle := mustGet(*baseURL + *prefix + "/" + c2spPath(bt))
	for k := int64(0); k < w; k++ {
		if len(bundle) < 2 {
			fail("entry bundle %s truncated at entry %d", c2spPath(bt), k)
		}
		l := int(binary.BigEndian.Uint16(bundle[:2]))
		if len(bundle) < 2+l {
			fail("entry bundle %s: entry %d truncated", c2spPath(bt), k)
		}
		leaf, err := thr.ReadHashes([]int64{tlog.StoredHashIndex(0, k)})
		if err != nil || tlog.RecordHash(bundle[2:2+l]) != leaf[0] {
			fail("entry %d of %s does not hash to its leaf (%v)", k, c2spPath(bt), err)
		}
		bundle = bundle[2+l:]
	}
	if len(bundle) != 0 {
		fail("entry bundle %s has %d trailing bytes", c2spPath(bt), len(bundle))
	}
	ok("entry bundle %s: %d entries hash to the tile leaves", c2spPath(bt), w)

	// 5. Malformed and out-of-range tile paths.
	for _, p := range []string{"tile/0/0000", "tile/0/000.p/256", "tile/00/000", "tile/0/x000/001"} {
		if code, _, _ := get(*baseURL + *prefix + "/" + p); code != 400 {
			fail("GET %s: status %d, want 400", p, code)
		}
	}
	if code, _, _ := get(*baseURL + *prefix + "/tile/0/x999/999"); code != 404 {
		fail("GET tile/0/x999/999: status %d, want 404", code)
	}
	ok("malformed tile paths 400, beyond the tree 404")

	// 6. Cosignatures (C2SP tlog-cosignature, checked from the spec text).
	if *witnessVkey != "" {
		c := parseCosigner(*witnessVkey)
		ts, found := verifyCosignature(c, n.Text, sigLines(string(signed)))
		if !found {
			fail("no cosignature from %s (key hash %08x) on the checkpoint", c.name, c.hash)
		}
		ok("cosignature/v1 from %s verifies (time %d)", c.name, ts)
		if *witnessURL != "" {
			lines := addCheckpoint(strings.TrimRight(*witnessURL, "/"), signed, cp)
			ts, found := verifyCosignature(c, n.Text, sigLines(lines))
			if !found {
				fail("add-checkpoint answer %q has no cosignature from %s", lines, c.name)
			}
			ok("tlog-witness add-checkpoint at %s: cosignature/v1 from %s verifies (time %d)", *witnessURL, c.name, ts)
		}
	}
	fmt.Println("PASS: credfed node conforms to sumdb/note, sumdb/tlog, tlog-tiles, tlog-cosignature and tlog-witness checks")
}
