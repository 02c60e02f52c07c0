package main

import (
	"strings"
	"testing"
	"time"
)

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name  string
		raw   map[string]any
		check func(*config) bool
	}{
		{"defaults", map[string]any{}, func(c *config) bool {
			return c.Precision == "fp16" && c.Preset == "auto" && c.OptLevel == -1 && c.Workspace == 0 && c.Device == 0 && c.Profiles == nil
		}},
		{"single shape fixes an input", map[string]any{"shapes": map[string]any{"images": "4x3x16x16"}}, func(c *config) bool {
			p := c.Profiles[0]
			return len(c.Profiles) == 1 && p.Input == "images" && dims(p.Min) == "4x3x16x16" && dims(p.Max) == "4x3x16x16"
		}},
		{"profiles from strings and lists, sorted by input", map[string]any{"shapes": map[string]any{
			"images": map[string]any{"min": "1x3x16x16", "opt": []any{8, 3, 16, 16}, "max": []any{int64(32), 3.0, "16", 16}},
			"bias":   []any{1, 3, 1, 1},
		}}, func(c *config) bool {
			return len(c.Profiles) == 2 && c.Profiles[0].Input == "bias" && dims(c.Profiles[1].Opt) == "8x3x16x16" && dims(c.Profiles[1].Max) == "32x3x16x16"
		}},
		{"workspace and level", map[string]any{"workspace": "4GiB", "builder_optimization_level": 5}, func(c *config) bool {
			return c.Workspace == 4<<30 && c.OptLevel == 5
		}},
		{"level 0 is kept", map[string]any{"builder_optimization_level": 0}, func(c *config) bool { return c.OptLevel == 0 }},
		{"timing", map[string]any{"iterations": 100, "duration": "10s"}, func(c *config) bool {
			return c.Iterations == 100 && c.Duration == 10*time.Second
		}},
		{"int8 with a cache", map[string]any{"precision": "int8", "calibration": map[string]any{"cache": "/x/calib.cache"}}, func(c *config) bool {
			return c.CalibCache == "/x/calib.cache" && c.usesInt8()
		}},
		{"extra args", map[string]any{"extra_args": []any{"--noTF32", "--useCudaGraph"}}, func(c *config) bool {
			return strings.Join(c.ExtraArgs, " ") == "--noTF32 --useCudaGraph"
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parseConfig(input(t, tc.raw))
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(c) {
				t.Fatalf("config %+v", c)
			}
		})
	}
}

func TestParseConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		raw  map[string]any
		want string // the whole error, every problem
	}{
		{"calibration data", map[string]any{"precision": "int8", "calibration": map[string]any{"data": "/x/cal.npz"}},
			"calibration.data: calibrating on data is not supported: trtexec only reads a calibration cache (--calib). Write one with a TensorRT calibrator (for example `polygraphy convert --int8 --calibration-cache`) and give it as calibration.cache"},
		{"cache without int8", map[string]any{"calibration": map[string]any{"cache": "/x/c"}},
			"calibration.cache: a calibration cache is only used with precision int8 or best, not fp16"},
		{"bad shapes", map[string]any{"shapes": map[string]any{
			"a": "1x0x3", "b": map[string]any{"min": "1x3", "opt": "2x3"}, "c": map[string]any{"min": "4", "opt": "2", "max": "8"},
			"d": map[string]any{"min": "1", "opt": "1", "max": "1", "best": "1"}, "e": 7, "f": "1x3", "g": map[string]any{"min": "1x3", "opt": "1x3", "max": "1"},
		}},
			"shapes.a: dimension 1 is 0; sizes must be whole numbers of 1 or more\n" +
				"shapes.b.max: missing; give min, opt and max\n" +
				"shapes.c: dimension 0: need min <= opt <= max, got 4, 2, 8\n" +
				"shapes.d.best: unknown key; a shape profile has min, opt and max\n" +
				"shapes.e: expected a shape like 1x3x224x224, a list of sizes, or {min, opt, max}; got 7\n" +
				"shapes.g: min, opt and max have different ranks (2, 2, 1)"},
		{"workspace", map[string]any{"workspace": "4 gigs"}, `workspace: "4 gigs" is not a size; write it like 4GiB, 512MiB or 1.5G`},
		{"tiny workspace", map[string]any{"workspace": "512K"}, `workspace: "512K" is less than 1MiB, too small for a builder workspace`},
		{"ranges", map[string]any{"builder_optimization_level": 6, "device": -1, "iterations": 0, "duration": "0s"},
			"builder_optimization_level: must be 0 to 5, got 6\ndevice: must be 0 or more, got -1\niterations: must be 1 or more, got 0\nduration: must be positive, got 0s"},
		{"extra args", map[string]any{"iterations": 5, "extra_args": []any{"noTF32", "--saveEngine=/tmp/x", "--iterations=9", "--duration=3", "-onnx=m"}},
			"extra_args[0]: \"noTF32\" is not a flag; write trtexec flags like --useCudaGraph or --noTF32\n" +
				"extra_args[1]: --saveEngine is set by the stage from the engine output; use that instead\n" +
				"extra_args[2]: --iterations is also set by the parameter iterations; give one of them\n" +
				"extra_args[4]: --onnx is set by the stage from model; use that instead"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseConfig(input(t, tc.raw))
			if err == nil {
				t.Fatal("no error")
			}
			if err.Error() != tc.want {
				t.Fatalf("error:\n%s\nwant:\n%s", err, tc.want)
			}
		})
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]uint64{"4GiB": 4 << 30, "4G": 4 << 30, "512MiB": 512 << 20, "1.5G": 3 << 29, "1T": 1 << 40, "2097152B": 2 << 20, " 64 M ": 64 << 20} {
		got, err := parseSize(in)
		if err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "4", "4GB", "-1G", "4 GiBs", "2048P"} {
		if _, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) succeeded", in)
		}
	}
}
