package wire

import (
	"errors"
	"fmt"

	"github.com/sentinelzer0/szrun/stages"

	pb "github.com/sentinelzer0/szrun/plugins/proto"
)

// SpecToProto converts a stage's Spec for Describe.
func SpecToProto(s stages.Spec) (*pb.StageSpec, error) {
	out := &pb.StageSpec{
		Name:          s.Name,
		Version:       s.Version,
		Summary:       s.Summary,
		Doc:           s.Doc,
		OpenOutputs:   s.OpenOutputs,
		Environmental: s.Environmental,
		NoCache:       s.NoCache,
		Exclusive:     s.Exclusive,
	}
	for _, p := range s.Params {
		pp, err := paramToProto(p)
		if err != nil {
			return nil, fmt.Errorf("stage %s: %w", s.Name, err)
		}
		out.Params = append(out.Params, pp)
	}
	for _, o := range s.Outputs {
		out.Outputs = append(out.Outputs, &pb.Output{Name: o.Name, Kind: string(o.Kind), Type: o.Type, Doc: o.Doc})
	}
	return out, nil
}

func paramToProto(p stages.Param) (*pb.Param, error) {
	out := &pb.Param{
		Name:     p.Name,
		Type:     string(p.Type),
		Required: p.Required,
		Doc:      p.Doc,
		Enum:     p.Enum,
		Elem:     string(p.Elem),
	}
	if p.Default != nil {
		js, err := EncodeJSON(p.Default)
		if err != nil {
			return nil, fmt.Errorf("parameter %q: encode default: %w", p.Name, err)
		}
		out.DefaultJson = js
	}
	for _, f := range p.Fields {
		pf, err := paramToProto(f)
		if err != nil {
			return nil, fmt.Errorf("parameter %q: %w", p.Name, err)
		}
		out.Fields = append(out.Fields, pf)
	}
	return out, nil
}

// SpecFromProto converts and validates a Spec received from a plugin. It
// rejects what the engine could not use: an invalid Spec or a default that
// does not fit its parameter's type.
func SpecFromProto(s *pb.StageSpec) (stages.Spec, error) {
	if s == nil {
		return stages.Spec{}, errors.New("empty stage spec")
	}
	out := stages.Spec{
		Name:          s.GetName(),
		Version:       s.GetVersion(),
		Summary:       s.GetSummary(),
		Doc:           s.GetDoc(),
		OpenOutputs:   s.GetOpenOutputs(),
		Environmental: s.GetEnvironmental(),
		NoCache:       s.GetNoCache(),
		Exclusive:     s.GetExclusive(),
	}
	for _, p := range s.GetParams() {
		out.Params = append(out.Params, paramFromProto(p))
	}
	for _, o := range s.GetOutputs() {
		out.Outputs = append(out.Outputs, stages.OutputSpec{
			Name: o.GetName(), Kind: stages.OutputKind(o.GetKind()), Type: o.GetType(), Doc: o.GetDoc(),
		})
	}
	// Validate before decoding defaults: coercion assumes known types.
	if err := out.Validate(); err != nil {
		return stages.Spec{}, err
	}
	params, err := decodeDefaults(out.Name, out.Params, s.GetParams())
	if err != nil {
		return stages.Spec{}, err
	}
	out.Params = params
	return out, nil
}

func paramFromProto(p *pb.Param) stages.Param {
	out := stages.Param{
		Name:     p.GetName(),
		Type:     stages.ParamType(p.GetType()),
		Required: p.GetRequired(),
		Doc:      p.GetDoc(),
		Enum:     p.GetEnum(),
		Elem:     stages.ParamType(p.GetElem()),
	}
	for _, f := range p.GetFields() {
		out.Fields = append(out.Fields, paramFromProto(f))
	}
	return out
}

// decodeDefaults fills each Param's Default from its JSON form, coerced to
// the declared type, so that a duration default is a time.Duration again.
func decodeDefaults(where string, params []stages.Param, raw []*pb.Param) ([]stages.Param, error) {
	out := make([]stages.Param, len(params))
	for i, p := range params {
		if len(p.Fields) > 0 {
			fields, err := decodeDefaults(where+"."+p.Name, p.Fields, raw[i].GetFields())
			if err != nil {
				return nil, err
			}
			p.Fields = fields
		}
		if js := raw[i].GetDefaultJson(); js != "" {
			v, err := DecodeJSON(js)
			if err != nil {
				return nil, fmt.Errorf("stage %s: parameter %q: default %q is not JSON: %w", where, p.Name, js, err)
			}
			one := stages.Spec{Name: where, Params: []stages.Param{p}}
			cv, err := one.Coerce(map[string]any{p.Name: v}, stages.CoerceOptions{})
			if err != nil {
				return nil, fmt.Errorf("stage %s: parameter %q: bad default: %w", where, p.Name, err)
			}
			p.Default = cv[p.Name]
		}
		out[i] = p
	}
	return out, nil
}
