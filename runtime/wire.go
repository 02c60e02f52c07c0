package runtime

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// The worker protocol: szrun and its worker exchange frames over two pipes, one
// request at a time. A request is an op byte and its fields; a response is a status
// byte (wireOK, wireFailed) and its fields. Fields are fixed-size little-endian
// integers, and length-prefixed strings and byte runs. Tensor data is written
// straight from the tensor's memory and read straight into the new tensor's memory
// (bufio passes large runs through), so a tensor is copied once per direction.

// Ops.
const (
	opNewSession byte = iota + 1
	opCloseSession
	opRun
	opNewRunner
	opRunnerRun
	opRunnerOutputs
	opCloseRunner
	opOptimize
)

// Response statuses.
const (
	wireOK byte = iota
	wireFailed
)

// wireMagic starts the worker's hello frame, so that a binary that does not host a
// worker (and prints something else, or nothing) is recognized at once.
const wireMagic = "szrun-ort-worker/1"

// Limits on what a frame may announce; the two ends are the same binary, so these
// only stop a damaged stream from allocating wildly.
const (
	maxWireString = 1 << 20
	maxWireCount  = 1 << 16
	maxWireRank   = 64
)

var errWireLimit = errors.New("worker protocol: frame over limits")

type wireWriter struct {
	w   *bufio.Writer
	err error
	buf [8]byte
}

func (e *wireWriter) byte1(b byte) {
	if e.err == nil {
		e.err = e.w.WriteByte(b)
	}
}

func (e *wireWriter) u64(v uint64) {
	if e.err == nil {
		binary.LittleEndian.PutUint64(e.buf[:], v)
		_, e.err = e.w.Write(e.buf[:])
	}
}

func (e *wireWriter) i64(v int64) { e.u64(uint64(v)) }

func (e *wireWriter) raw(b []byte) {
	e.u64(uint64(len(b)))
	if e.err == nil && len(b) > 0 {
		_, e.err = e.w.Write(b)
	}
}

func (e *wireWriter) str(s string) {
	e.u64(uint64(len(s)))
	if e.err == nil {
		_, e.err = e.w.WriteString(s)
	}
}

func (e *wireWriter) strs(ss []string) {
	e.u64(uint64(len(ss)))
	for _, s := range ss {
		e.str(s)
	}
}

func (e *wireWriter) shape(shape []int64) {
	e.u64(uint64(len(shape)))
	for _, d := range shape {
		e.i64(d)
	}
}

func (e *wireWriter) tensor(t *Tensor) {
	if e.err == nil {
		e.err = t.Check()
	}
	e.str(t.Name)
	e.str(t.DType)
	e.shape(t.Shape)
	e.raw(tensorBytes(t))
}

func (e *wireWriter) tensors(ts []*Tensor) {
	e.u64(uint64(len(ts)))
	for _, t := range ts {
		e.tensor(t)
	}
}

func (e *wireWriter) infos(in []IOInfo) {
	e.u64(uint64(len(in)))
	for _, x := range in {
		e.str(x.Name)
		e.str(x.Kind)
		e.str(x.DType)
		e.shape(x.Shape)
	}
}

func (e *wireWriter) options(o SessionOptions) {
	e.i64(int64(o.IntraOpThreads))
	e.i64(int64(o.InterOpThreads))
	e.str(o.OptimizationLevel)
	e.strs(o.Providers)
	e.str(o.ProfilePrefix)
	e.str(o.OptimizedModelPath)
	b := byte(0)
	if o.Sequential {
		b |= 1
	}
	if o.NoPrepack {
		b |= 2
	}
	e.byte1(b)
}

// errorFrame writes a failed response: the message and which of the package's
// sentinels the error wraps, so errors.Is keeps working across the pipe.
func (e *wireWriter) errorFrame(err error) {
	e.byte1(wireFailed)
	e.str(err.Error())
	var mask uint64
	for i, s := range wireSentinels {
		if errors.Is(err, s) {
			mask |= 1 << i
		}
	}
	e.u64(mask)
}

func (e *wireWriter) flush() error {
	if e.err == nil {
		e.err = e.w.Flush()
	}
	return e.err
}

// wireSentinels are the errors a worker's failure may wrap, by bit position.
var wireSentinels = []error{ErrNoLibrary, ErrProviderUnavailable, ErrClosed, ErrMismatch}

// remoteError is an error the worker reported: its message, wrapping the sentinels
// the original wrapped.
type remoteError struct {
	msg  string
	errs []error
}

func (e *remoteError) Error() string   { return e.msg }
func (e *remoteError) Unwrap() []error { return e.errs }

type wireReader struct {
	r   *bufio.Reader
	err error
	buf [8]byte
}

func (d *wireReader) byte1() byte {
	if d.err != nil {
		return 0
	}
	b, err := d.r.ReadByte()
	d.err = err
	return b
}

func (d *wireReader) u64() uint64 {
	if d.err != nil {
		return 0
	}
	if _, d.err = io.ReadFull(d.r, d.buf[:]); d.err != nil {
		return 0
	}
	return binary.LittleEndian.Uint64(d.buf[:])
}

func (d *wireReader) i64() int64 { return int64(d.u64()) }

func (d *wireReader) count(limit uint64) int {
	n := d.u64()
	if n > limit && d.err == nil {
		d.err = errWireLimit
	}
	if d.err != nil {
		return 0
	}
	return int(n)
}

func (d *wireReader) str() string {
	n := d.count(maxWireString)
	if n == 0 {
		return ""
	}
	b := make([]byte, n)
	if _, d.err = io.ReadFull(d.r, b); d.err != nil {
		return ""
	}
	return string(b)
}

func (d *wireReader) strs() []string {
	n := d.count(maxWireCount)
	var out []string
	for range n {
		out = append(out, d.str())
	}
	return out
}

func (d *wireReader) shape() []int64 {
	n := d.count(maxWireRank)
	out := make([]int64, n)
	for i := range out {
		out[i] = d.i64()
	}
	return out
}

// tensor reads a tensor into fresh memory of its own type.
func (d *wireReader) tensor() *Tensor {
	name, dtype, shape := d.str(), d.str(), d.shape()
	size := d.u64()
	if d.err != nil {
		return nil
	}
	t, err := NewTensor(name, dtype, shape)
	if err != nil {
		d.err = fmt.Errorf("worker protocol: %w", err)
		return nil
	}
	dst := tensorBytes(t)
	if uint64(len(dst)) != size {
		d.err = fmt.Errorf("worker protocol: tensor %q announces %d bytes for %s %s", name, size, dtype, FormatShape(shape))
		return nil
	}
	if len(dst) > 0 {
		_, d.err = io.ReadFull(d.r, dst)
	}
	return t
}

func (d *wireReader) tensors() []*Tensor {
	n := d.count(maxWireCount)
	out := make([]*Tensor, 0, n)
	for range n {
		t := d.tensor()
		if d.err != nil {
			return nil
		}
		out = append(out, t)
	}
	return out
}

func (d *wireReader) infos() []IOInfo {
	n := d.count(maxWireCount)
	out := make([]IOInfo, 0, n)
	for range n {
		out = append(out, IOInfo{Name: d.str(), Kind: d.str(), DType: d.str(), Shape: d.shape()})
	}
	return out
}

func (d *wireReader) options() SessionOptions {
	o := SessionOptions{
		IntraOpThreads:    int(d.i64()),
		InterOpThreads:    int(d.i64()),
		OptimizationLevel: d.str(),
		Providers:         d.strs(),
		ProfilePrefix:     d.str(),
	}
	o.OptimizedModelPath = d.str()
	flags := d.byte1()
	o.Sequential, o.NoPrepack = flags&1 != 0, flags&2 != 0
	return o
}

// status reads a response's status; for wireFailed it returns the worker's error.
// A protocol failure is d.err.
func (d *wireReader) status() error {
	switch st := d.byte1(); {
	case d.err != nil:
		return nil
	case st == wireOK:
		return nil
	case st == wireFailed:
		msg, mask := d.str(), d.u64()
		e := &remoteError{msg: msg}
		for i, s := range wireSentinels {
			if mask&(1<<i) != 0 {
				e.errs = append(e.errs, s)
			}
		}
		return e
	default:
		d.err = fmt.Errorf("worker protocol: unknown status %d", st)
		return nil
	}
}
