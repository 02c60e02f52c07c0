package cache

import (
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/zeebo/blake3"
)

// Digest is the full BLAKE3-256 of some content: 64 lowercase hex characters.
type Digest string

// ParseDigest checks s and returns it as a Digest. Upper-case hex is accepted
// and lowered, so a digest has exactly one spelling inside the store.
func ParseDigest(s string) (Digest, error) {
	if len(s) != 64 {
		return "", fmt.Errorf("parse digest %q: length %d, want 64: %w", s, len(s), ErrBadDigest)
	}
	s = strings.ToLower(s)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return "", fmt.Errorf("parse digest %q: byte %d is not hex: %w", s, i, ErrBadDigest)
		}
	}
	return Digest(s), nil
}

// Valid reports whether d is 64 lowercase hex characters.
func (d Digest) Valid() bool {
	p, err := ParseDigest(string(d))
	return err == nil && p == d
}

// String returns the hex form.
func (d Digest) String() string { return string(d) }

// Short returns the first 12 characters, for display only: never use it as a key.
func (d Digest) Short() string {
	if len(d) < 12 {
		return string(d)
	}
	return string(d[:12])
}

// DigestBytes returns the digest of b.
func DigestBytes(b []byte) Digest {
	sum := blake3.Sum256(b)
	return Digest(hex.EncodeToString(sum[:]))
}

func digestOf(h *blake3.Hasher) Digest {
	var buf [32]byte
	return Digest(hex.EncodeToString(h.Sum(buf[:0])))
}
