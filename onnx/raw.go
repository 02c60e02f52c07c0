package onnx

import (
	"encoding/binary"
	"unsafe"
)

// fixed is the set of element types stored fixed-width in raw_data.
type fixed interface {
	~int8 | ~int16 | ~int32 | ~int64 | ~uint8 | ~uint16 | ~uint32 | ~uint64 | ~float32 | ~float64
}

// hostLittleEndian lets decoding be a memcpy on amd64/arm64, which matters
// for multi-GiB models; big-endian hosts take the byte-swapping path.
var hostLittleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

func asBytes[T fixed](s []T) []byte {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), len(s)*int(unsafe.Sizeof(s[0])))
}

// fromRaw copies little-endian raw bytes into a new []T.
func fromRaw[T fixed](raw []byte) []T {
	var zero T
	size := int(unsafe.Sizeof(zero))
	out := make([]T, len(raw)/size)
	if hostLittleEndian {
		copy(asBytes(out), raw)
		return out
	}
	for i := range out {
		b := raw[i*size:]
		switch size {
		case 1:
			out[i] = T(b[0])
		case 2:
			*(*uint16)(unsafe.Pointer(&out[i])) = binary.LittleEndian.Uint16(b)
		case 4:
			*(*uint32)(unsafe.Pointer(&out[i])) = binary.LittleEndian.Uint32(b)
		case 8:
			*(*uint64)(unsafe.Pointer(&out[i])) = binary.LittleEndian.Uint64(b)
		}
	}
	return out
}

// toRaw returns the little-endian encoding of s in a new slice.
func toRaw[T fixed](s []T) []byte {
	var zero T
	size := int(unsafe.Sizeof(zero))
	out := make([]byte, len(s)*size)
	if hostLittleEndian {
		copy(out, asBytes(s))
		return out
	}
	for i := range s {
		p := unsafe.Pointer(&s[i])
		switch size {
		case 1:
			out[i] = *(*byte)(p)
		case 2:
			binary.LittleEndian.PutUint16(out[i*2:], *(*uint16)(p))
		case 4:
			binary.LittleEndian.PutUint32(out[i*4:], *(*uint32)(p))
		case 8:
			binary.LittleEndian.PutUint64(out[i*8:], *(*uint64)(p))
		}
	}
	return out
}
