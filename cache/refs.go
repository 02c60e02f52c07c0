package cache

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
)

// maxManifestBytes bounds how much of a tree manifest is read into memory
// from a backend; a manifest line is a path, a digest and a size, so this
// allows trees of hundreds of thousands of files.
const maxManifestBytes = 256 << 20

// need is one blob an action cannot be restored without, and what it is for
// (for error messages).
type need struct {
	what string
	ref  BlobRef
}

// decodeAction parses a stored record; a record that does not decode, or
// that is stored under another key than its own, is corrupt.
func decodeAction(key string, data []byte) (*Action, error) {
	var a Action
	if err := json.Unmarshal(data, &a); err != nil {
		return nil, fmt.Errorf("decode action %s: %w: %w", key, ErrCorrupt, err)
	}
	if a.Key != key {
		return nil, fmt.Errorf("decode action %s: record is for key %q: %w", key, a.Key, ErrCorrupt)
	}
	return &a, nil
}

// encodeAction is the one encoding of a record (map keys sorted by
// encoding/json), newline-terminated.
func encodeAction(a *Action) ([]byte, error) {
	data, err := json.Marshal(a)
	if err != nil {
		return nil, fmt.Errorf("encode action %s: %w", a.Key, err)
	}
	return append(data, '\n'), nil
}

// readTreeFrom reads and verifies the manifest of tree d from b.
func readTreeFrom(ctx context.Context, b Backend, d Digest) ([]TreeEntry, error) {
	rc, _, err := b.GetBlob(ctx, d)
	if err != nil {
		return nil, fmt.Errorf("read tree: %w", err)
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, maxManifestBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read tree %s: %w", d, err)
	}
	if len(data) > maxManifestBytes {
		return nil, fmt.Errorf("read tree %s: manifest over %d bytes: %w", d, maxManifestBytes, ErrCorrupt)
	}
	if got := DigestBytes(data); got != d {
		return nil, fmt.Errorf("read tree %s: content hashes to %s: %w", d, got, ErrCorrupt)
	}
	es, err := parseManifest(data)
	if err != nil {
		return nil, fmt.Errorf("read tree %s: %w", d, err)
	}
	return es, nil
}

// actionNeeds lists every blob a must have in b to be restored: file
// outputs with their sizes, tree manifests (read and verified from b) and
// their files, and the log. Outputs are visited in name order so errors
// are deterministic. A tree manifest that cannot be read is an error
// wrapping ErrNotFound or ErrCorrupt.
func actionNeeds(ctx context.Context, b Backend, a *Action) ([]need, error) {
	names := make([]string, 0, len(a.Files))
	for n := range a.Files {
		names = append(names, n)
	}
	sort.Strings(names)
	var needs []need
	for _, n := range names {
		r := a.Files[n]
		if !r.Tree {
			needs = append(needs, need{fmt.Sprintf("output %q", n), BlobRef{r.Digest, r.Size}})
			continue
		}
		needs = append(needs, need{fmt.Sprintf("output %q: tree manifest", n), BlobRef{r.Digest, -1}})
		es, err := readTreeFrom(ctx, b, r.Digest)
		if err != nil {
			return nil, fmt.Errorf("output %q: %w", n, err)
		}
		for _, e := range es {
			needs = append(needs, need{fmt.Sprintf("output %q: tree file %s", n, e.Path), BlobRef{e.Digest, e.Size}})
		}
	}
	if a.Log != "" {
		needs = append(needs, need{"log", BlobRef{a.Log, -1}})
	}
	return needs, nil
}

// missingRefs returns why a cannot be restored from b (a blob absent or of
// the wrong size, wrapping ErrNotFound; a tree manifest that does not
// verify, wrapping ErrCorrupt), or nil. This is the rule that makes an
// action whose blobs are missing a miss, on every backend.
func missingRefs(ctx context.Context, b Backend, a *Action) error {
	needs, err := actionNeeds(ctx, b, a)
	if err != nil {
		return err
	}
	return checkNeeds(ctx, b, needs)
}

// checkNeeds returns an error wrapping ErrNotFound naming the first of
// needs that b lacks, or nil.
func checkNeeds(ctx context.Context, b Backend, needs []need) error {
	refs := make([]BlobRef, len(needs))
	for i, n := range needs {
		refs[i] = n.ref
	}
	missing, err := b.FindMissing(ctx, refs)
	if err != nil {
		return fmt.Errorf("check blobs: %w", err)
	}
	if len(missing) == 0 {
		return nil
	}
	m := missing[0]
	for _, n := range needs {
		if n.ref == m {
			if m.Size >= 0 {
				return fmt.Errorf("%s: blob %s of %d bytes: %w", n.what, m.Digest, m.Size, ErrNotFound)
			}
			return fmt.Errorf("%s: blob %s: %w", n.what, m.Digest, ErrNotFound)
		}
	}
	return fmt.Errorf("blob %s: %w", m.Digest, ErrNotFound)
}
