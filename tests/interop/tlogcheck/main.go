// tlogcheck - checks probity's tamper-evident log output with Go's own
// golang.org/x/mod/sumdb/note and sumdb/tlog (Debian golang-golang-x-mod-dev),
// an implementation independent of ours.
//
// Build offline: GO111MODULE=off GOPATH=/usr/share/gocode go build
//
//	tlogcheck verify-dir DIR VKEY [-noproofs]   the export: checkpoint signature,
//	    every entry against the level-0 tiles, the tree hash read through
//	    tlog.TileHashReader from our C2SP tiles, and (unless -noproofs) an
//	    inclusion proof for every entry and consistency proofs for many sizes
//	tlogcheck inclusion PROOF ENTRY VKEY        a c2sp.org/tlog-proof@v1 document
//	tlogcheck consistency PROOF OLDCKPT VKEY    an "old N" consistency document
//
// Prints "ok: ..." and exits 0, or prints the failure and exits 1.
package main

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "tlogcheck: "+format+"\n", args...)
	os.Exit(1)
}

type checkpoint struct {
	origin string
	size   int64
	root   tlog.Hash
}

// openCheckpoint verifies the signed note with vkey and parses its text.
func openCheckpoint(msg []byte, vkey string) checkpoint {
	v, err := note.NewVerifier(strings.TrimSpace(vkey))
	if err != nil {
		fail("vkey: %v", err)
	}
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		fail("checkpoint signature: %v", err)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) < 4 || lines[len(lines)-1] != "" {
		fail("checkpoint text: expected origin, size, root")
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 {
		fail("checkpoint size %q", lines[1])
	}
	raw, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(raw) != tlog.HashSize {
		fail("checkpoint root %q", lines[2])
	}
	var c checkpoint
	c.origin, c.size = lines[0], size
	copy(c.root[:], raw)
	return c
}

// c2spIndex encodes a tile index as c2sp.org/tlog-tiles does (x001/234).
func c2spIndex(n int64) string {
	s := fmt.Sprintf("%03d", n%1000)
	for n >= 1000 {
		n /= 1000
		s = fmt.Sprintf("x%03d/", n%1000) + s
	}
	return s
}

func c2spPath(level string, n int64, w int) string {
	p := "tile/" + level + "/" + c2spIndex(n)
	if w < 256 {
		p += fmt.Sprintf(".p/%d", w)
	}
	return p
}

// tiles reads our C2SP tiles for Go's TileHashReader (height 8).
type tiles struct{ dir string }

func (t tiles) Height() int { return 8 }
func (t tiles) ReadTiles(ts []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(ts))
	for i, tl := range ts {
		if tl.H != 8 {
			return nil, errors.New("unexpected tile height")
		}
		b, err := os.ReadFile(filepath.Join(t.dir, c2spPath(strconv.Itoa(tl.L), tl.N, tl.W)))
		if err != nil {
			return nil, err
		}
		out[i] = b
	}
	return out, nil
}
func (t tiles) SaveTiles([]tlog.Tile, [][]byte) {}

func readEntries(dir string, size int64) [][]byte {
	var entries [][]byte
	for n := int64(0); n*256 < size; n++ {
		w := 256
		if size-n*256 < 256 {
			w = int(size - n*256)
		}
		p := c2spPath("entries", n, w)
		b, err := os.ReadFile(filepath.Join(dir, p))
		if err != nil {
			fail("%v", err)
		}
		for i := 0; i < w; i++ {
			if len(b) < 2 {
				fail("%s: ends early", p)
			}
			l := int(b[0])<<8 | int(b[1])
			if len(b) < 2+l {
				fail("%s: entry cut short", p)
			}
			entries = append(entries, b[2:2+l])
			b = b[2+l:]
		}
		if len(b) != 0 {
			fail("%s: trailing bytes", p)
		}
	}
	return entries
}

func verifyDir(dir, vkey string, proofs bool) {
	msg, err := os.ReadFile(filepath.Join(dir, "checkpoint"))
	if err != nil {
		fail("%v", err)
	}
	c := openCheckpoint(msg, vkey)
	entries := readEntries(dir, c.size)
	// every entry's record hash against the level-0 tiles
	for n := int64(0); n*256 < c.size; n++ {
		w := 256
		if c.size-n*256 < 256 {
			w = int(c.size - n*256)
		}
		p := c2spPath("0", n, w)
		b, err := os.ReadFile(filepath.Join(dir, p))
		if err != nil || len(b) != w*tlog.HashSize {
			fail("%s: missing or wrong size", p)
		}
		for i := 0; i < w; i++ {
			h := tlog.RecordHash(entries[n*256+int64(i)])
			if !bytes.Equal(h[:], b[i*32:i*32+32]) {
				fail("%s: hash %d does not match its entry", p, i)
			}
		}
	}
	tree := tlog.Tree{N: c.size, Hash: c.root}
	hr := tlog.TileHashReader(tree, tiles{dir})
	th, err := tlog.TreeHash(c.size, hr)
	if err != nil {
		fail("tree hash from tiles: %v", err)
	}
	if th != c.root {
		fail("tree hash from tiles differs from the checkpoint")
	}
	np := 0
	if proofs {
		// stored hashes of the whole tree, recomputed from the entries
		var stored []tlog.Hash
		for i, e := range entries {
			hs, err := tlog.StoredHashes(int64(i), e, tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
				out := make([]tlog.Hash, len(idx))
				for j, x := range idx {
					out[j] = stored[x]
				}
				return out, nil
			}))
			if err != nil {
				fail("%v", err)
			}
			stored = append(stored, hs...)
		}
		mem := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
			out := make([]tlog.Hash, len(idx))
			for j, x := range idx {
				out[j] = stored[x]
			}
			return out, nil
		})
		for i, e := range entries {
			p, err := tlog.ProveRecord(c.size, int64(i), hr)
			if err != nil {
				fail("prove %d: %v", i, err)
			}
			if err := tlog.CheckRecord(p, c.size, c.root, int64(i), tlog.RecordHash(e)); err != nil {
				fail("entry %d: %v", i, err)
			}
			np++
		}
		for m := int64(1); m < c.size; m = m*2 + 1 {
			p, err := tlog.ProveTree(c.size, m, hr)
			if err != nil {
				fail("prove tree %d: %v", m, err)
			}
			old, err := tlog.TreeHash(m, mem)
			if err != nil {
				fail("%v", err)
			}
			if err := tlog.CheckTree(p, c.size, c.root, m, old); err != nil {
				fail("consistency %d -> %d: %v", m, c.size, err)
			}
			np++
		}
	}
	fmt.Printf("ok: %s size %d: signature, %d entries, tiles and tree hash verified by Go sumdb/tlog; %d proofs checked\n",
		c.origin, c.size, len(entries), np)
}

// parseDoc splits a proof document into its header lines, proof hashes and note.
func parseDoc(b []byte) (head []string, proof []tlog.Hash, msg []byte) {
	i := bytes.Index(b, []byte("\n\n"))
	if i < 0 {
		fail("proof document: no blank line")
	}
	lines := strings.Split(string(b[:i]), "\n")
	msg = b[i+2:]
	for _, l := range lines {
		raw, err := base64.StdEncoding.DecodeString(l)
		if err == nil && len(raw) == tlog.HashSize && !strings.Contains(l, " ") {
			var h tlog.Hash
			copy(h[:], raw)
			proof = append(proof, h)
		} else {
			head = append(head, l)
		}
	}
	return head, proof, msg
}

func main() {
	if len(os.Args) < 4 {
		fail("usage: tlogcheck verify-dir DIR VKEY [-noproofs] | inclusion PROOF ENTRY VKEY | consistency PROOF OLDCKPT VKEY")
	}
	readVkey := func(s string) string {
		if b, err := os.ReadFile(s); err == nil {
			return strings.TrimSpace(string(b))
		}
		return s
	}
	switch os.Args[1] {
	case "verify-dir":
		verifyDir(os.Args[2], readVkey(os.Args[3]), !(len(os.Args) > 4 && os.Args[4] == "-noproofs"))
	case "inclusion", "consistency":
		if len(os.Args) != 5 {
			fail("usage: tlogcheck %s PROOF FILE VKEY", os.Args[1])
		}
		doc, err := os.ReadFile(os.Args[2])
		if err != nil {
			fail("%v", err)
		}
		other, err := os.ReadFile(os.Args[3])
		if err != nil {
			fail("%v", err)
		}
		vkey := readVkey(os.Args[4])
		head, proof, msg := parseDoc(doc)
		c := openCheckpoint(msg, vkey)
		if os.Args[1] == "inclusion" {
			if len(head) < 2 || head[0] != "c2sp.org/tlog-proof@v1" || !strings.HasPrefix(head[len(head)-1], "index ") {
				fail("not a tlog-proof document")
			}
			idx, err := strconv.ParseInt(strings.TrimPrefix(head[len(head)-1], "index "), 10, 64)
			if err != nil {
				fail("bad index")
			}
			if err := tlog.CheckRecord(tlog.RecordProof(proof), c.size, c.root, idx, tlog.RecordHash(other)); err != nil {
				fail("inclusion of entry %d: %v", idx, err)
			}
			fmt.Printf("ok: entry %d is in %s of size %d (Go sumdb/tlog)\n", idx, c.origin, c.size)
		} else {
			if len(head) != 1 || !strings.HasPrefix(head[0], "old ") {
				fail("not an 'old N' consistency document")
			}
			oldc := openCheckpoint(other, vkey)
			if strconv.FormatInt(oldc.size, 10) != strings.TrimPrefix(head[0], "old ") {
				fail("the proof is from another size than the old checkpoint")
			}
			if err := tlog.CheckTree(tlog.TreeProof(proof), c.size, c.root, oldc.size, oldc.root); err != nil {
				fail("consistency %d -> %d: %v", oldc.size, c.size, err)
			}
			fmt.Printf("ok: %s of size %d extends size %d (Go sumdb/tlog)\n", c.origin, c.size, oldc.size)
		}
	default:
		fail("unknown mode %q", os.Args[1])
	}
}
