package recipe

import (
	"math"
	"reflect"
	"sort"
	"strconv"
	"time"

	"github.com/zclconf/go-cty/cty"
)

// ToGo converts a cty value into plain Go: string, int64 for integral
// numbers, float64, bool, []any, map[string]any or nil. ok is false when v is
// or contains an unknown value.
func ToGo(v cty.Value) (any, bool) {
	if v == cty.NilVal {
		return nil, true
	}
	v, _ = v.UnmarkDeep()
	if !v.IsWhollyKnown() {
		return nil, false
	}
	if v.IsNull() {
		return nil, true
	}
	t := v.Type()
	switch {
	case t == cty.String:
		return v.AsString(), true
	case t == cty.Bool:
		return v.True(), true
	case t == cty.Number:
		bf := v.AsBigFloat()
		if bf.IsInt() {
			if i, acc := bf.Int64(); acc == 0 {
				return i, true
			}
		}
		f, _ := bf.Float64()
		return f, true
	case t.IsListType() || t.IsTupleType() || t.IsSetType():
		out := make([]any, 0, v.LengthInt())
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			x, ok := ToGo(e)
			if !ok {
				return nil, false
			}
			out = append(out, x)
		}
		return out, true
	case t.IsMapType() || t.IsObjectType():
		out := map[string]any{}
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			x, ok := ToGo(e)
			if !ok {
				return nil, false
			}
			out[k.AsString()] = x
		}
		return out, true
	}
	return nil, false
}

// FromGo converts a plain Go value (as decoded from YAML or JSON, or a stage
// output) into cty. Lists and maps whose elements all have one type become
// cty lists and maps, others tuples and objects.
func FromGo(v any) cty.Value {
	switch x := v.(type) {
	case nil:
		return cty.NullVal(cty.DynamicPseudoType)
	case cty.Value:
		return x
	case string:
		return cty.StringVal(x)
	case bool:
		return cty.BoolVal(x)
	case int:
		return cty.NumberIntVal(int64(x))
	case int32:
		return cty.NumberIntVal(int64(x))
	case int64:
		return cty.NumberIntVal(x)
	case uint64:
		return cty.NumberUIntVal(x)
	case float32:
		return floatVal(float64(x))
	case float64:
		return floatVal(x)
	case time.Duration:
		return cty.StringVal(x.String())
	case []any:
		elems := make([]cty.Value, len(x))
		for i, e := range x {
			elems[i] = FromGo(e)
		}
		return listOrTuple(elems)
	case map[string]any:
		attrs := make(map[string]cty.Value, len(x))
		for k, e := range x {
			attrs[k] = FromGo(e)
		}
		return mapOrObject(attrs)
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		elems := make([]cty.Value, rv.Len())
		for i := range elems {
			elems[i] = FromGo(rv.Index(i).Interface())
		}
		return listOrTuple(elems)
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			break
		}
		attrs := make(map[string]cty.Value, rv.Len())
		for it := rv.MapRange(); it.Next(); {
			attrs[it.Key().String()] = FromGo(it.Value().Interface())
		}
		return mapOrObject(attrs)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return cty.NumberIntVal(rv.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return cty.NumberUIntVal(rv.Uint())
	case reflect.String:
		return cty.StringVal(rv.String())
	}
	return cty.NullVal(cty.DynamicPseudoType)
}

func floatVal(f float64) cty.Value {
	if math.IsNaN(f) {
		// cty has no NaN; a metric that is not a number reads as null.
		return cty.NullVal(cty.Number)
	}
	return cty.NumberFloatVal(f)
}

func listOrTuple(elems []cty.Value) cty.Value {
	if len(elems) == 0 {
		return cty.EmptyTupleVal
	}
	if sameType(elems) {
		return cty.ListVal(elems)
	}
	return cty.TupleVal(elems)
}

func mapOrObject(attrs map[string]cty.Value) cty.Value {
	if len(attrs) == 0 {
		return cty.EmptyObjectVal
	}
	elems := make([]cty.Value, 0, len(attrs))
	for _, e := range attrs {
		elems = append(elems, e)
	}
	if sameType(elems) {
		return cty.MapVal(attrs)
	}
	return cty.ObjectVal(attrs)
}

func sameType(elems []cty.Value) bool {
	t := elems[0].Type()
	if t == cty.DynamicPseudoType || !elems[0].IsWhollyKnown() {
		return false
	}
	for _, e := range elems[1:] {
		if !e.Type().Equals(t) || !e.IsWhollyKnown() {
			return false
		}
	}
	return true
}

// valueString renders a scalar the way a template interpolates it: integral
// numbers without a fraction, bools as true/false.
func valueString(v cty.Value) (string, bool) {
	switch v.Type() {
	case cty.String:
		return v.AsString(), true
	case cty.Bool:
		return strconv.FormatBool(v.True()), true
	case cty.Number:
		bf := v.AsBigFloat()
		if bf.IsInt() {
			return bf.Text('f', 0), true
		}
		f, _ := bf.Float64()
		return strconv.FormatFloat(f, 'f', -1, 64), true
	}
	return "", false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// typeName names a cty type for users: list, map, number, string, bool.
func typeName(t cty.Type) string {
	switch {
	case t.IsListType() || t.IsTupleType() || t.IsSetType():
		return "list"
	case t.IsMapType() || t.IsObjectType():
		return "map"
	case t == cty.DynamicPseudoType:
		return "unknown"
	}
	return t.FriendlyName()
}
