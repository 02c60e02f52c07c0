package runtime

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
)

type npyHeader struct {
	descr   string // '<f4' without quotes
	fortran bool
	shape   []int64
	// size is the header's length in bytes: the data starts this far into the stream.
	size int64
}

var (
	npyMagic   = []byte("\x93NUMPY")
	reDescr    = regexp.MustCompile(`'descr'\s*:\s*'([^']*)'`)
	reFortran  = regexp.MustCompile(`'fortran_order'\s*:\s*(True|False)`)
	reShape    = regexp.MustCompile(`'shape'\s*:\s*\(([^)]*)\)`)
	errNPYMeta = errors.New("npy header is not a NumPy array description")
)

// readNPYHeader reads the magic string, version, and the Python-dict header of a .npy
// file (format versions 1 to 3), leaving r at the first data byte.
func readNPYHeader(r io.Reader, size int64) (npyHeader, error) {
	var h npyHeader
	var pre [8]byte
	if _, err := io.ReadFull(r, pre[:]); err != nil {
		return h, fmt.Errorf("read npy header: %w", err)
	}
	if !bytes.Equal(pre[:6], npyMagic) {
		return h, fmt.Errorf("not a .npy file (bad magic)")
	}
	var hlen, fixed int64
	switch pre[6] {
	case 1:
		fixed = 10
		var b [2]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return h, fmt.Errorf("read npy header: %w", err)
		}
		hlen = int64(binary.LittleEndian.Uint16(b[:]))
	case 2, 3:
		fixed = 12
		var b [4]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return h, fmt.Errorf("read npy header: %w", err)
		}
		hlen = int64(binary.LittleEndian.Uint32(b[:]))
	default:
		return h, fmt.Errorf("npy format version %d.%d is not supported", pre[6], pre[7])
	}
	if hlen > 1<<20 || hlen > size {
		return h, fmt.Errorf("npy header length %d is implausible", hlen)
	}
	buf := make([]byte, hlen)
	if _, err := io.ReadFull(r, buf); err != nil {
		return h, fmt.Errorf("read npy header: %w", err)
	}
	text := string(buf)
	d, f, sh := reDescr.FindStringSubmatch(text), reFortran.FindStringSubmatch(text), reShape.FindStringSubmatch(text)
	if d == nil || f == nil || sh == nil {
		return h, fmt.Errorf("%w: %q", errNPYMeta, strings.TrimSpace(text))
	}
	h.descr, h.fortran = d[1], f[1] == "True"
	h.size = fixed + hlen
	for _, tok := range strings.Split(sh[1], ",") {
		tok = strings.TrimSpace(tok)
		if tok == "" {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSuffix(tok, "L"), 10, 64)
		if err != nil || n < 0 {
			return h, fmt.Errorf("%w: bad shape (%s)", errNPYMeta, sh[1])
		}
		h.shape = append(h.shape, n)
	}
	return h, nil
}
