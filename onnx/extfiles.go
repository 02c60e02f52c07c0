package onnx

import (
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/sentinelzer0/szrun/internal/atomicfile"
	"github.com/sentinelzer0/szrun/onnx/onnxpb"
)

// A model's external data files are part of what the model is: a cache key
// over model.onnx alone would miss a changed weights file, and a model
// copied without them does not load. ExternalFiles lists them cheaply;
// RelocateExternal rewrites their names when the files are renamed.

// ExternalFiles returns the external data files the model at path
// references: locations as written (slash-separated, relative to the model's
// folder), cleaned, unique and sorted; none for a model with inline data.
// It walks the protobuf wire format over a read-only mapping and skips
// every other field without reading it, so a 2 GiB inline model costs a
// scan of its structure, not a load. A location that leaves the model's
// folder is an error, as Load makes it.
func ExternalFiles(path string) ([]string, error) {
	var out []string
	err := withFileBytes(path, func(data []byte) error {
		w := &extScanner{seen: map[string]bool{}}
		if err := w.message(data, msgModel); err != nil {
			return err
		}
		out = slices.Sorted(func(yield func(string) bool) {
			for l := range w.seen {
				if !yield(l) {
					return
				}
			}
		})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list external data of %s: %w", path, err)
	}
	return out, nil
}

// message kinds the scanner descends into.
type msgKind int

const (
	msgModel msgKind = iota
	msgGraph
	msgNode
	msgAttr
	msgTensor
	msgSparse
	msgTraining
	msgFunction
	msgEntry
)

// children maps (message kind, field number) to the kind of the
// length-delimited submessage stored there; every other field is skipped.
var children = map[msgKind]map[protowire.Number]msgKind{
	msgModel:    {7: msgGraph, 20: msgTraining, 25: msgFunction},
	msgTraining: {1: msgGraph, 2: msgGraph},
	msgFunction: {7: msgNode, 11: msgAttr},
	msgGraph:    {1: msgNode, 5: msgTensor, 15: msgSparse},
	msgNode:     {5: msgAttr},
	msgAttr:     {5: msgTensor, 6: msgGraph, 10: msgTensor, 11: msgGraph, 22: msgSparse, 23: msgSparse},
	msgSparse:   {1: msgTensor, 2: msgTensor},
	msgTensor:   {13: msgEntry},
}

// maxDepth bounds nesting (subgraphs in attributes) so hostile input cannot
// exhaust the stack.
const maxDepth = 64

type extScanner struct {
	seen  map[string]bool
	depth int
	// per tensor: its external "location" entry and whether it is external
	loc      string
	external bool
}

func (w *extScanner) message(b []byte, kind msgKind) error {
	if w.depth++; w.depth > maxDepth {
		return fmt.Errorf("%w: nested more than %d deep", ErrNotProtobuf, maxDepth)
	}
	defer func() { w.depth-- }()
	var key, value string
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("%w: %w", ErrNotProtobuf, protowire.ParseError(n))
		}
		b = b[n:]
		if typ == protowire.BytesType {
			v, m := protowire.ConsumeBytes(b)
			if m < 0 {
				return fmt.Errorf("%w: %w", ErrNotProtobuf, protowire.ParseError(m))
			}
			b = b[m:]
			if kind == msgEntry {
				switch num {
				case 1:
					key = string(v)
				case 2:
					value = string(v)
				}
				continue
			}
			child, ok := children[kind][num]
			if !ok {
				continue
			}
			if child == msgTensor {
				w.loc, w.external = "", false
			}
			if err := w.message(v, child); err != nil {
				return err
			}
			if child == msgTensor && w.external {
				if err := w.add(w.loc); err != nil {
					return err
				}
			}
			continue
		}
		if kind == msgTensor && num == 14 && typ == protowire.VarintType {
			v, m := protowire.ConsumeVarint(b)
			if m < 0 {
				return fmt.Errorf("%w: %w", ErrNotProtobuf, protowire.ParseError(m))
			}
			b = b[m:]
			w.external = v == uint64(onnxpb.TensorProto_EXTERNAL)
			continue
		}
		m := protowire.ConsumeFieldValue(num, typ, b)
		if m < 0 {
			return fmt.Errorf("%w: %w", ErrNotProtobuf, protowire.ParseError(m))
		}
		b = b[m:]
	}
	if kind == msgEntry && key == "location" {
		w.loc = value
	}
	return nil
}

func (w *extScanner) add(loc string) error {
	if loc == "" {
		return fmt.Errorf("a tensor's external data has no location")
	}
	clean, err := cleanLocation(loc)
	if err != nil {
		return err
	}
	w.seen[clean] = true
	return nil
}

// cleanLocation is loc as a clean relative slash path, or an error when it
// leaves the model's folder.
func cleanLocation(loc string) (string, error) {
	clean := filepath.Clean(filepath.FromSlash(loc))
	if filepath.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("external data location %q is outside the model's directory", loc)
	}
	return filepath.ToSlash(clean), nil
}

// RelocateExternal rewrites, in the model file at path, every external data
// location that rename maps (keys as ExternalFiles returns them) to its new
// name, and writes the model back atomically. The data itself is not read:
// only the model's own protobuf (small, when its data is external) is
// decoded and re-encoded.
func RelocateExternal(path string, rename map[string]string) error {
	var mp *onnxpb.ModelProto
	err := withFileBytes(path, func(data []byte) error {
		mp = new(onnxpb.ModelProto)
		return proto.Unmarshal(data, mp)
	})
	if err != nil {
		return fmt.Errorf("relocate external data of %s: %w", path, err)
	}
	changed := false
	err = ForEachTensor(mp, func(t *onnxpb.TensorProto) error {
		for _, kv := range t.GetExternalData() {
			if kv.GetKey() != "location" {
				continue
			}
			clean, err := cleanLocation(kv.GetValue())
			if err != nil {
				return fmt.Errorf("tensor %q: %w", t.GetName(), err)
			}
			if to, ok := rename[clean]; ok {
				kv.Value = proto.String(to)
				changed = true
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("relocate external data of %s: %w", path, err)
	}
	if !changed {
		return nil
	}
	if err := atomicfile.Write(path, func(w io.Writer) error { return writeModel(w, mp) }); err != nil {
		return fmt.Errorf("relocate external data of %s: %w", path, err)
	}
	return nil
}
