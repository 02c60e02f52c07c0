package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/sentinelzer0/szrun/stages"
)

// EncodeJSON encodes a parameter or output value. time.Duration becomes its
// string form ("1m30s") at any depth of []any and map[string]any, because a
// bare JSON number would lose the unit; map keys come out sorted.
func EncodeJSON(v any) (string, error) {
	b, err := json.Marshal(toJSONable(v))
	if err != nil {
		return "", err
	}
	return string(b), nil
}

func toJSONable(v any) any {
	switch x := v.(type) {
	case time.Duration:
		return x.String()
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = toJSONable(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = toJSONable(e)
		}
		return out
	}
	return v
}

// DecodeJSON decodes one JSON value. Integral numbers become int64 and other
// numbers float64, the forms stages.Spec.Coerce produces, so that an int
// parameter of 2^60 is not rounded through float64.
func DecodeJSON(s string) (any, error) {
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("trailing data after the JSON value")
	}
	return fromJSON(v)
}

func fromJSON(v any) (any, error) {
	var err error
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i, nil
		}
		f, err := x.Float64()
		if err != nil {
			// Out of float64's range: JSON could not carry it back.
			return nil, fmt.Errorf("number %s: %w", x, err)
		}
		return f, nil
	case []any:
		for i, e := range x {
			if x[i], err = fromJSON(e); err != nil {
				return nil, err
			}
		}
	case map[string]any:
		for k, e := range x {
			if x[k], err = fromJSON(e); err != nil {
				return nil, err
			}
		}
	}
	return v, nil
}

// DecodeObject decodes a JSON object; "" is an empty object.
func DecodeObject(s string) (map[string]any, error) {
	if s == "" {
		return map[string]any{}, nil
	}
	v, err := DecodeJSON(s)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("expected a JSON object, got %T", v)
	}
	return m, nil
}

// DecodeParams turns a RunRequest's params_json back into the coerced Go
// values the stage was written against (time.Duration, int64, ...).
func DecodeParams(spec stages.Spec, paramsJSON string) (map[string]any, error) {
	m, err := DecodeObject(paramsJSON)
	if err != nil {
		return nil, fmt.Errorf("decode params of stage %s: %w", spec.Name, err)
	}
	params, err := spec.Coerce(m, stages.CoerceOptions{})
	if err != nil {
		return nil, fmt.Errorf("params of stage %s: %w", spec.Name, err)
	}
	return params, nil
}
