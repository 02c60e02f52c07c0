package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/sentinelzer0/szrun/onnx"
	"github.com/sentinelzer0/szrun/onnx/onnxpb"
	"github.com/sentinelzer0/szrun/stages"
)

// modelInfo is what the stage needs to know about the ONNX model before
// building: its inputs and whether it is explicitly quantized.
type modelInfo struct {
	Inputs []modelInput // graph order, initializers left out
	// QDQ is true when any graph has QuantizeLinear or DequantizeLinear
	// nodes: TensorRT then takes int8/fp8 scales from the model itself.
	QDQ bool
}

type modelInput struct {
	Name   string
	Shape  []onnx.Dim
	Ranked bool
}

func (in modelInput) dynamic() bool {
	if !in.Ranked {
		return true
	}
	for _, d := range in.Shape {
		if !d.Known {
			return true
		}
	}
	return false
}

func readModel(path string) (*modelInfo, error) {
	m, err := onnx.Load(path)
	if err != nil {
		return nil, fmt.Errorf("read model inputs: %w", err)
	}
	g := m.Proto.GetGraph()
	inits := onnx.Initializers(g)
	mi := &modelInfo{}
	for _, vi := range g.GetInput() {
		if _, isInit := inits[vi.GetName()]; isInit {
			continue
		}
		in := modelInput{Name: vi.GetName()}
		if tt, ok := onnx.ValueType(g, vi.GetName()); ok {
			in.Shape, in.Ranked = tt.Shape, tt.Ranked && tt.Shape != nil
		}
		mi.Inputs = append(mi.Inputs, in)
	}
	err = onnx.WalkGraphs(g, func(s *onnx.Scope) error {
		for _, n := range s.Graph.GetNode() {
			if isQDQ(n) {
				mi.QDQ = true
				return onnx.SkipSubgraphs
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, onnx.SkipSubgraphs) {
		return nil, fmt.Errorf("scan model %s for Q/DQ nodes: %w", path, err)
	}
	return mi, nil
}

func isQDQ(n *onnxpb.NodeProto) bool {
	d := n.GetDomain()
	if d != "" && d != onnx.DefaultDomain && d != "trt" {
		return false
	}
	switch n.GetOpType() {
	case "QuantizeLinear", "DequantizeLinear", "TRT_FP8QuantizeLinear", "TRT_FP8DequantizeLinear":
		return true
	}
	return false
}

// checkModel checks the parameters against the model; problems are
// ParamErrors, and what is legal but likely unintended comes back as warnings.
func checkModel(c *config, mi *modelInfo) (warnings []string, err error) {
	var errs stages.ParamErrors
	byName := map[string]modelInput{}
	var names []string
	for _, in := range mi.Inputs {
		byName[in.Name] = in
		names = append(names, in.Name)
	}
	given := map[string]bool{}
	for _, p := range c.Profiles {
		given[p.Input] = true
		path := "shapes." + p.Input
		in, ok := byName[p.Input]
		if !ok {
			msg := fmt.Sprintf("the model has no input %q; its inputs: %s", p.Input, strings.Join(names, ", "))
			if near := stages.Nearest(p.Input, names); near != "" {
				msg = fmt.Sprintf("the model has no input %q (did you mean %q?); its inputs: %s", p.Input, near, strings.Join(names, ", "))
			}
			errs = append(errs, &stages.ParamError{Path: path, Msg: msg})
			continue
		}
		if msg := fitShape(p, in); msg != "" {
			errs = append(errs, &stages.ParamError{Path: path, Msg: msg})
		}
	}
	for _, in := range mi.Inputs {
		if in.dynamic() && !given[in.Name] {
			warnings = append(warnings, fmt.Sprintf("input %s has dynamic dimensions %s but shapes gives none: TensorRT will fix them (trtexec uses 1)", in.Name, shapeString(in)))
		}
	}
	switch {
	case c.usesInt8() && c.CalibCache == "" && !mi.QDQ && !c.AllowUncalibrated:
		errs = append(errs, &stages.ParamError{Path: "calibration", Msg: fmt.Sprintf(
			"precision %s enables int8, but the model has no Q/DQ nodes and no calibration.cache is given: "+
				"TensorRT would use placeholder scales and the engine's outputs would be wrong. "+
				"Give calibration.cache, quantize the model first, use fp16, or set allow_uncalibrated_int8 for timing only", c.Precision)})
	case c.usesInt8() && c.CalibCache == "" && !mi.QDQ:
		warnings = append(warnings, "int8 without calibration: placeholder scales, the engine is for timing only and its outputs are wrong")
	case c.usesInt8() && c.CalibCache != "" && mi.QDQ:
		warnings = append(warnings, "the model has Q/DQ nodes; TensorRT uses their scales and ignores calibration.cache for those tensors")
	}
	if c.Precision == "fp8" && !mi.QDQ {
		warnings = append(warnings, "fp8 applies only to Q/DQ-quantized layers and this model has none: expect an fp32/tf32 engine")
	}
	return warnings, errs.Err()
}

// fitShape checks a profile against the model's declared input shape.
func fitShape(p profile, in modelInput) string {
	if !in.Ranked {
		return ""
	}
	if len(p.Min) != len(in.Shape) {
		return fmt.Sprintf("input %s has rank %d (%s) but the shapes have rank %d", in.Name, len(in.Shape), shapeString(in), len(p.Min))
	}
	for i, d := range in.Shape {
		if !d.Known {
			continue
		}
		for _, s := range []struct {
			which string
			dims  []int64
		}{{"min", p.Min}, {"opt", p.Opt}, {"max", p.Max}} {
			if s.dims[i] != d.Value {
				return fmt.Sprintf("dimension %d of input %s is fixed at %d in the model (%s), but %s gives %d", i, in.Name, d.Value, shapeString(in), s.which, s.dims[i])
			}
		}
	}
	return ""
}

func shapeString(in modelInput) string {
	if !in.Ranked {
		return "[unranked]"
	}
	parts := make([]string, len(in.Shape))
	for i, d := range in.Shape {
		parts[i] = d.String()
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
