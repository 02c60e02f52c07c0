package main

import (
	"strings"
	"testing"
	"time"
)

func TestTrtexecArgs(t *testing.T) {
	out := outputs{Engine: "/w/engine.plan", TimingCache: "/w/timing.cache", BuildLog: "/w/build.log"}
	base := "--onnx=/m/model.onnx --saveEngine=/w/engine.plan --timingCacheFile=/w/timing.cache"
	tests := []struct {
		name   string
		c      config
		preset []string
		want   string
	}{
		{"fp32 adds no precision flag", config{Precision: "fp32", OptLevel: -1}, nil, base},
		{"fp16", config{Precision: "fp16", OptLevel: -1}, nil, base + " --fp16"},
		{"int8 with cache", config{Precision: "int8", CalibCache: "/c/calib.cache", OptLevel: -1}, nil, base + " --int8 --calib=/c/calib.cache"},
		{"fp8", config{Precision: "fp8", OptLevel: -1}, nil, base + " --fp8"},
		{"best with Hopper preset", config{Precision: "best", OptLevel: -1}, []string{"--sparsity=enable", "--fp8"}, base + " --best --sparsity=enable --fp8"},
		{
			"profiles, quoted names",
			config{Precision: "fp16", OptLevel: -1, Profiles: []profile{
				{Input: "attention_mask", Min: []int64{1, 1}, Opt: []int64{8, 128}, Max: []int64{32, 512}},
				{Input: "input:0", Min: []int64{1, 1}, Opt: []int64{8, 128}, Max: []int64{32, 512}},
			}},
			nil,
			base + " --fp16 --minShapes=attention_mask:1x1,'input:0':1x1 --optShapes=attention_mask:8x128,'input:0':8x128 --maxShapes=attention_mask:32x512,'input:0':32x512",
		},
		{"workspace in MiB, rounded up", config{Precision: "fp16", OptLevel: -1, Workspace: 4<<30 + 1}, nil, base + " --fp16 --memPoolSize=workspace:4097M"},
		{"level 0, device, timing", config{Precision: "fp16", OptLevel: 0, Device: 2, Iterations: 50, Duration: 1500 * time.Millisecond}, nil,
			base + " --fp16 --builderOptimizationLevel=0 --device=2 --iterations=50 --duration=2"},
		{"extra args last, as given", config{Precision: "fp16", OptLevel: -1, ExtraArgs: []string{"--noTF32", "--useCudaGraph"}}, nil, base + " --fp16 --noTF32 --useCudaGraph"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.c.Model = "/m/model.onnx"
			got := strings.Join(trtexecArgs(&tc.c, tc.preset, out), " ")
			if got != tc.want {
				t.Fatalf("args:\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}
