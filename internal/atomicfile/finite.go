package atomicfile

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
)

// NonFiniteKey is the field WriteJSON adds to a JSON object whose values
// held NaN or ±Inf (which JSON cannot hold): the path of each such value,
// written as null, and what it was ("verification.max_rel_error: +Inf").
const NonFiniteKey = "non_finite"

// marshalFinite is json.MarshalIndent for a value that may hold NaN or ±Inf
// floats: each is written as null and listed, with its path, under
// NonFiniteKey when v is an object. Encoding follows encoding/json's rules
// for field names, omitempty, "-", embedded structs and Marshalers.
func marshalFinite(v any) ([]byte, error) {
	var e finiteEncoder
	if err := e.encode(reflect.ValueOf(v), ""); err != nil {
		return nil, err
	}
	out := e.buf.Bytes()
	if len(e.notes) > 0 && len(out) > 0 && out[0] == '{' {
		notes, err := json.Marshal(e.notes)
		if err != nil {
			return nil, err
		}
		body := bytes.TrimSpace(out[1 : len(out)-1])
		var b bytes.Buffer
		b.WriteByte('{')
		b.Write(body)
		if len(body) > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%q:%s}", NonFiniteKey, notes)
		out = b.Bytes()
	}
	var ind bytes.Buffer
	if err := json.Indent(&ind, out, "", "  "); err != nil {
		return nil, err
	}
	return ind.Bytes(), nil
}

type finiteEncoder struct {
	buf   bytes.Buffer
	notes []string
}

var (
	marshalerType     = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
)

func (e *finiteEncoder) leaf(v reflect.Value) error {
	b, err := json.Marshal(v.Interface())
	if err != nil {
		return err
	}
	e.buf.Write(b)
	return nil
}

func (e *finiteEncoder) encode(v reflect.Value, path string) error {
	if !v.IsValid() {
		e.buf.WriteString("null")
		return nil
	}
	t := v.Type()
	if t.Implements(marshalerType) || t.Implements(textMarshalerType) {
		if (v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface) && v.IsNil() {
			e.buf.WriteString("null")
			return nil
		}
		return e.leaf(v)
	}
	switch v.Kind() {
	case reflect.Float32, reflect.Float64:
		f := v.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			e.buf.WriteString("null")
			e.notes = append(e.notes, fmt.Sprintf("%s: %s", strings.TrimPrefix(path, "."), finiteName(f)))
			return nil
		}
		return e.leaf(v)
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			e.buf.WriteString("null")
			return nil
		}
		return e.encode(v.Elem(), path)
	case reflect.Struct:
		e.buf.WriteByte('{')
		n := 0
		if err := e.fields(v, path, &n); err != nil {
			return err
		}
		e.buf.WriteByte('}')
		return nil
	case reflect.Map:
		if v.IsNil() {
			e.buf.WriteString("null")
			return nil
		}
		type kv struct {
			k string
			v reflect.Value
		}
		var entries []kv
		for it := v.MapRange(); it.Next(); {
			k := it.Key()
			var ks string
			if k.Kind() == reflect.String {
				ks = k.String()
			} else {
				kb, err := json.Marshal(k.Interface())
				if err != nil {
					return err
				}
				ks = strings.Trim(string(kb), `"`)
			}
			entries = append(entries, kv{ks, it.Value()})
		}
		slices.SortFunc(entries, func(a, b kv) int { return strings.Compare(a.k, b.k) })
		e.buf.WriteByte('{')
		for i, en := range entries {
			if i > 0 {
				e.buf.WriteByte(',')
			}
			kb, _ := json.Marshal(en.k)
			e.buf.Write(kb)
			e.buf.WriteByte(':')
			if err := e.encode(en.v, path+"."+en.k); err != nil {
				return err
			}
		}
		e.buf.WriteByte('}')
		return nil
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.IsNil() {
			e.buf.WriteString("null")
			return nil
		}
		if t.Elem().Kind() == reflect.Uint8 {
			return e.leaf(v) // []byte: base64, as encoding/json writes it
		}
		e.buf.WriteByte('[')
		for i := range v.Len() {
			if i > 0 {
				e.buf.WriteByte(',')
			}
			if err := e.encode(v.Index(i), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		e.buf.WriteByte(']')
		return nil
	}
	return e.leaf(v)
}

// fields writes v's exported fields as encoding/json does (embedded structs
// flattened; n counts the fields written so far).
func (e *finiteEncoder) fields(v reflect.Value, path string, n *int) error {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		fv := v.Field(i)
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				if fv.IsNil() {
					continue
				}
				fv, ft = fv.Elem(), ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				if err := e.fields(fv, path, n); err != nil {
					return err
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if slices.Contains(strings.Split(opts, ","), "omitempty") && isEmpty(fv) {
			continue
		}
		if *n > 0 {
			e.buf.WriteByte(',')
		}
		*n++
		kb, _ := json.Marshal(name)
		e.buf.Write(kb)
		e.buf.WriteByte(':')
		if err := e.encode(fv, path+"."+name); err != nil {
			return err
		}
	}
	return nil
}

// isEmpty is encoding/json's omitempty test.
func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool:
		return !v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int() == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return v.Uint() == 0
	case reflect.Float32, reflect.Float64:
		return v.Float() == 0
	case reflect.Interface, reflect.Pointer:
		return v.IsNil()
	}
	return false
}

func finiteName(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case f > 0:
		return "+Inf"
	}
	return "-Inf"
}

// isNonFinite reports whether err is encoding/json refusing NaN or ±Inf.
func isNonFinite(err error) bool {
	var uve *json.UnsupportedValueError
	return errors.As(err, &uve) && (uve.Value.Kind() == reflect.Float32 || uve.Value.Kind() == reflect.Float64)
}
