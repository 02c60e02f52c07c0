package fp16

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/sentinelzer0/szrun/onnx"
	"github.com/sentinelzer0/szrun/onnx/onnxpb"
)

type verKey struct {
	s    *scope
	name string
	to   onnx.DataType
}

type converter struct {
	ctx       context.Context
	m         *onnxpb.ModelProto
	opts      Options
	opset     int64
	namer     *onnx.Namer
	opBlock   map[string]bool
	nodeBlock map[string]bool
	blocked   map[*onnxpb.NodeProto]string
	children  map[*onnxpb.NodeProto][]*scope
	scopes    []*scope
	versions  map[verKey]string
	copies    map[*scope][][2]string // float32 initializer -> its float16 copy
	res       *Result
	err       error // the first failure to read a tensor's data
}

// fail records the first error of a step that cannot return one.
func (c *converter) fail(err error) {
	if c.err == nil {
		c.err = err
	}
}

// Convert rewrites m in place so that it computes in float16 where that is
// safe, and returns what it did. m must be a valid model with its tensor
// data in memory (as after onnx.Load) or in external files under opts.Dir
// (onnx.LoadOptions.KeepExternal); on error m may be partly changed.
func Convert(ctx context.Context, m *onnxpb.ModelProto, opts Options) (*Result, error) {
	g := m.GetGraph()
	if g == nil {
		return nil, fmt.Errorf("fp16: model has no graph")
	}
	c := &converter{ctx: ctx, m: m, opts: opts, opBlock: map[string]bool{}, nodeBlock: map[string]bool{},
		blocked: map[*onnxpb.NodeProto]string{}, children: map[*onnxpb.NodeProto][]*scope{},
		versions: map[verKey]string{}, copies: map[*scope][][2]string{},
		res: &Result{Blocked: []Blocked{}, KeptInputs: []KeptInput{}, SharedInitializers: []string{}, Float32Initializers: []string{},
			Clamped: []Clamped{}, Warnings: []string{}}}
	c.opset, _ = onnx.OpsetFor(m, "")
	if c.opset == 0 {
		c.opset = 1
	}
	if err := c.checkLists(); err != nil {
		return nil, err
	}
	if err := onnx.TopoSort(g); err != nil {
		return nil, fmt.Errorf("fp16: sort graph: %w", err)
	}
	root := newScope(g, nil)
	c.infer(root)
	if err := c.checkHasFloat32(); err != nil {
		return nil, err
	}
	c.res.OpsetUpgradedFrom = c.upgradeOpset()
	c.plan(root, "")
	c.markShapeMath(root)
	c.markShapeDerived(root, map[string]bool{})
	c.markConstants(root)
	c.namer = onnx.NewNamer(m)

	inputs := map[string]onnx.DataType{}
	for _, vi := range g.GetInput() {
		if t := root.orig[vi.GetName()]; t == onnx.Float && opts.FP16IO && root.inits[vi.GetName()] == nil {
			inputs[vi.GetName()] = onnx.Float16
		}
	}
	outputs := make([]onnx.DataType, len(g.GetOutput()))
	for k, vi := range g.GetOutput() {
		outputs[k] = root.origType(vi.GetName())
		if outputs[k] == onnx.Float && opts.FP16IO {
			outputs[k] = onnx.Float16
		}
	}
	if err := c.convertGraph(root, inputs, outputs, true); err != nil {
		return nil, err
	}
	if c.err != nil {
		return nil, fmt.Errorf("fp16: %w", c.err)
	}
	for _, s := range c.scopes {
		if err := c.finishInitializers(s); err != nil {
			return nil, err
		}
	}
	for _, s := range c.scopes {
		c.removeCasts(s)
		updateDeclarations(s)
	}
	if err := onnx.TopoSort(g); err != nil {
		return nil, fmt.Errorf("fp16: sort converted graph: %w", err)
	}
	c.collectBlocked(root)
	shared := map[string]bool{}
	for _, n := range c.res.SharedInitializers {
		shared[n] = true
	}
	for _, s := range c.scopes {
		for _, t := range s.g.GetInitializer() {
			if onnx.DataType(t.GetDataType()) == onnx.Float && !shared[t.GetName()] {
				c.res.Float32Initializers = append(c.res.Float32Initializers, t.GetName())
			}
		}
	}
	sort.Strings(c.res.Float32Initializers)
	sort.Slice(c.res.Clamped, func(i, j int) bool { return c.res.Clamped[i].Tensor < c.res.Clamped[j].Tensor })
	sort.Strings(c.res.SharedInitializers)
	return c.res, nil
}

func (c *converter) warn(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	c.res.Warnings = append(c.res.Warnings, msg)
	if c.opts.Warn != nil {
		c.opts.Warn(msg)
	}
}

// checkLists validates the block lists before anything changes.
func (c *converter) checkLists() error {
	ops := map[string]bool{}
	names := map[string]bool{}
	onnx.WalkGraphs(c.m.GetGraph(), func(s *onnx.Scope) error {
		for _, n := range s.Graph.GetNode() {
			ops[n.GetOpType()] = true
			names[n.GetName()] = true
		}
		return nil
	})
	var missing []string
	for _, n := range c.opts.NodeBlockList {
		if !names[n] || n == "" {
			missing = append(missing, fmt.Sprintf("%q", n))
		}
		c.nodeBlock[n] = true
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return fmt.Errorf("fp16: node_block_list: %s: %w", strings.Join(slices.Compact(missing), ", "), ErrUnknownNode)
	}
	list := c.opts.OpBlockList
	if list == nil {
		list = DefaultOpBlockList
	}
	known := map[string]bool{}
	for _, op := range DefaultOpBlockList {
		known[op] = true
	}
	var unknown []string
	for _, op := range list {
		c.opBlock[op] = true
		if _, std := schemaTable[op]; !std && !known[op] && !ops[op] {
			unknown = append(unknown, op)
		}
	}
	sort.Strings(unknown)
	for _, op := range slices.Compact(unknown) {
		c.warn("op_block_list: no ONNX op is called %q and the model has none; ignored", op)
	}
	return nil
}

func (c *converter) checkHasFloat32() error {
	var f32, f16 bool
	for _, s := range c.scopes {
		for _, t := range s.orig {
			f32 = f32 || t == onnx.Float
			f16 = f16 || t == onnx.Float16
		}
	}
	switch {
	case f32:
		return nil
	case f16:
		return fmt.Errorf("fp16: %w", ErrAlreadyFloat16)
	}
	return fmt.Errorf("fp16: %w", ErrNoFloat32)
}

// infer records every value's original element type in s and below.
func (c *converter) infer(s *scope) {
	c.scopes = append(c.scopes, s)
	for _, vi := range s.g.GetInput() {
		s.orig[vi.GetName()] = typeOfProto(vi.GetType())
	}
	for _, t := range s.g.GetInitializer() {
		s.orig[t.GetName()] = onnx.DataType(t.GetDataType())
	}
	// Sparse initializers stay as they are; readers that want another type
	// get a Cast.
	for _, sp := range s.g.GetSparseInitializer() {
		s.orig[sp.GetValues().GetName()] = onnx.DataType(sp.GetValues().GetDataType())
	}
	for _, n := range s.g.GetNode() {
		var sub [][]onnx.DataType
		for _, a := range n.GetAttribute() {
			graphs := a.GetGraphs()
			if a.GetG() != nil {
				graphs = append([]*onnxpb.GraphProto{a.GetG()}, graphs...)
			}
			for _, sg := range graphs {
				child := newScope(sg, s)
				c.children[n] = append(c.children[n], child)
				c.infer(child)
				// Undeclared body inputs take the type of what the node feeds them.
				for k, vi := range sg.GetInput() {
					if child.orig[vi.GetName()] != onnx.Undefined {
						continue
					}
					if src := bodyInputSource(n, k); src != "" {
						child.orig[vi.GetName()] = s.origType(src)
					}
				}
				outs := make([]onnx.DataType, len(sg.GetOutput()))
				for j, vi := range sg.GetOutput() {
					outs[j] = child.origType(vi.GetName())
					if outs[j] == onnx.Undefined {
						outs[j] = typeOfProto(vi.GetType())
					}
				}
				sub = append(sub, outs)
			}
		}
		for j, t := range inferOutputs(s, n, sub) {
			if o := n.GetOutput()[j]; o != "" {
				s.orig[o] = t
			}
		}
	}
}

// bodyInputSource names the node input that feeds body input k of a Loop
// or Scan, or "" (a Loop's iteration count and condition have none worth
// typing: they are int64 and bool by definition).
func bodyInputSource(n *onnxpb.NodeProto, k int) string {
	idx := k
	if n.GetOpType() == "Loop" {
		if k < 2 {
			return ""
		}
	}
	if idx < len(n.GetInput()) {
		return n.GetInput()[idx]
	}
	return ""
}

func (c *converter) collectBlocked(root *scope) {
	var walk func(s *scope, graph string)
	walk = func(s *scope, graph string) {
		for _, n := range s.g.GetNode() {
			if why, ok := c.blocked[n]; ok && c.touchesFloat(s, n) {
				name := n.GetName()
				if name == "" {
					name = "(unnamed " + n.GetOpType() + ")"
				}
				c.res.Blocked = append(c.res.Blocked, Blocked{Node: name, Op: n.GetOpType(), Graph: graph, Reason: why})
			}
			for _, ch := range c.children[n] {
				walk(ch, graph+"/"+n.GetName())
			}
		}
	}
	walk(root, root.g.GetName())
}
