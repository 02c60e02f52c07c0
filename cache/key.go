package cache

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/zeebo/blake3"
)

// KeyBuilder accumulates named fields and hashes them into a cache key with
// a canonical, versioned encoding. Fields are sorted by name before hashing,
// so the order of Add calls does not matter; adding the same name twice is a
// programming error and panics.
//
// Encoding (all lengths and counts are uvarints):
//
//	"szrun-key\x00" len(schema) schema count { len(name) name value }...
//	value = 'z' (nil) | 't' | 'f' (bool) | 'i' int64-BE (any Go integer)
//	      | 'd' float64-bits-BE (-0 as 0, every NaN as one NaN)
//	      | 's' len bytes (string) | 'h' len hex (Digest, distinct from a string)
//	      | 'u' int64-BE ns (time.Duration)
//	      | 'l' count value... ([]any, []string, []int, []float64, []Digest)
//	      | 'm' count { len(key) key value }... sorted by key (map[string]...)
//
// Typed and untyped forms of the same data ([]string and []any of strings,
// int and int64) encode identically; an int and a float64 of equal value do
// not. Change the schema string whenever the meaning of the fields changes.
type KeyBuilder struct {
	schema string
	fields map[string][]byte
}

// NewKey starts a key for the given schema, e.g. "szrun-action-v1".
func NewKey(schema string) *KeyBuilder {
	return &KeyBuilder{schema: schema, fields: map[string][]byte{}}
}

// Add sets field name to v. v must be nil, bool, a Go integer, float32/64,
// string, Digest, time.Duration, []any, []string, []int, []float64,
// []Digest, map[string]any, map[string]string, map[string]int,
// map[string]float64 or map[string]Digest, nested freely through []any and
// map[string]any. Any other type panics: keys must never depend on %v or
// reflection.
func (k *KeyBuilder) Add(name string, v any) *KeyBuilder {
	if _, dup := k.fields[name]; dup {
		panic(fmt.Sprintf("cache.KeyBuilder: field %q added twice", name))
	}
	k.fields[name] = appendValue(nil, v, name)
	return k
}

// Canonical returns the exact bytes Sum hashes.
func (k *KeyBuilder) Canonical() []byte {
	names := make([]string, 0, len(k.fields))
	for n := range k.fields {
		names = append(names, n)
	}
	sort.Strings(names)
	b := []byte("szrun-key\x00")
	b = appendStr(b, k.schema)
	b = binary.AppendUvarint(b, uint64(len(names)))
	for _, n := range names {
		b = appendStr(b, n)
		b = append(b, k.fields[n]...)
	}
	return b
}

// Sum returns the key: 64 hex characters of BLAKE3-256 over Canonical().
func (k *KeyBuilder) Sum() string {
	h := blake3.New()
	h.Write(k.Canonical())
	var buf [32]byte
	return hex.EncodeToString(h.Sum(buf[:0]))
}

func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendInt(b []byte, tag byte, x int64) []byte {
	return binary.BigEndian.AppendUint64(append(b, tag), uint64(x))
}

func appendFloat(b []byte, f float64) []byte {
	bits := math.Float64bits(f)
	switch {
	case math.IsNaN(f):
		bits = 0x7ff8000000000001
	case f == 0:
		bits = 0
	}
	return binary.BigEndian.AppendUint64(append(b, 'd'), bits)
}

func appendList[T any](b []byte, xs []T, path string) []byte {
	b = binary.AppendUvarint(append(b, 'l'), uint64(len(xs)))
	for i, x := range xs {
		b = appendValue(b, x, fmt.Sprintf("%s[%d]", path, i))
	}
	return b
}

func appendMap[T any](b []byte, m map[string]T, path string) []byte {
	keys := make([]string, 0, len(m))
	for key := range m {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	b = binary.AppendUvarint(append(b, 'm'), uint64(len(keys)))
	for _, key := range keys {
		b = appendStr(b, key)
		b = appendValue(b, m[key], path+"."+key)
	}
	return b
}

func appendValue(b []byte, v any, path string) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, 'z')
	case bool:
		if x {
			return append(b, 't')
		}
		return append(b, 'f')
	case int:
		return appendInt(b, 'i', int64(x))
	case int8:
		return appendInt(b, 'i', int64(x))
	case int16:
		return appendInt(b, 'i', int64(x))
	case int32:
		return appendInt(b, 'i', int64(x))
	case int64:
		return appendInt(b, 'i', x)
	case uint:
		return appendUint(b, uint64(x), path)
	case uint8:
		return appendInt(b, 'i', int64(x))
	case uint16:
		return appendInt(b, 'i', int64(x))
	case uint32:
		return appendInt(b, 'i', int64(x))
	case uint64:
		return appendUint(b, x, path)
	case float32:
		return appendFloat(b, float64(x))
	case float64:
		return appendFloat(b, x)
	case string:
		return appendStr(append(b, 's'), x)
	case Digest:
		if !x.Valid() {
			panic(fmt.Sprintf("cache.KeyBuilder: field %s: invalid Digest %q", path, string(x)))
		}
		return appendStr(append(b, 'h'), string(x))
	case time.Duration:
		return appendInt(b, 'u', int64(x))
	case []any:
		return appendList(b, x, path)
	case []string:
		return appendList(b, x, path)
	case []int:
		return appendList(b, x, path)
	case []float64:
		return appendList(b, x, path)
	case []Digest:
		return appendList(b, x, path)
	case map[string]any:
		return appendMap(b, x, path)
	case map[string]string:
		return appendMap(b, x, path)
	case map[string]int:
		return appendMap(b, x, path)
	case map[string]float64:
		return appendMap(b, x, path)
	case map[string]Digest:
		return appendMap(b, x, path)
	}
	panic(fmt.Sprintf("cache.KeyBuilder: field %s: unsupported type %T", path, v))
}

func appendUint(b []byte, x uint64, path string) []byte {
	if x > math.MaxInt64 {
		panic(fmt.Sprintf("cache.KeyBuilder: field %s: %d overflows int64", path, x))
	}
	return appendInt(b, 'i', int64(x))
}
