package engine

import (
	"math"
	"regexp"
	"strconv"
	"strings"
)

// Stages log with charmbracelet/log, which prints a value with %+v: floats
// with every digit (max_rel_error=0.005573848913472468) and maps in Go syntax
// (map[a:1 b:2]). tidyLogLine rewrites a log line's values for people: floats
// to 4 significant digits, maps as {a=1 b=2}.
var (
	logFloat = regexp.MustCompile(`=(-?\d+\.\d{5,}(?:e[-+]?\d+)?)(\s|$)`)
	logMap   = regexp.MustCompile(`=map\[([^\[\]]*)\]`)
)

func tidyLogLine(line string) string {
	if !strings.Contains(line, "=") {
		return line
	}
	line = logMap.ReplaceAllStringFunc(line, func(m string) string {
		inner := logMap.FindStringSubmatch(m)[1]
		parts := strings.Fields(inner)
		for i, p := range parts {
			if k, v, ok := strings.Cut(p, ":"); ok {
				parts[i] = k + "=" + v
			}
		}
		return "={" + strings.Join(parts, " ") + "}"
	})
	return logFloat.ReplaceAllStringFunc(line, func(m string) string {
		sub := logFloat.FindStringSubmatch(m)
		x, err := strconv.ParseFloat(sub[1], 64)
		if err != nil {
			return m
		}
		return "=" + RoundFloat(x) + sub[2]
	})
}

// RoundFloat renders a figure for a log line: 4 significant digits, no
// exponent between 1e-4 and 1e6.
func RoundFloat(x float64) string {
	if a := math.Abs(x); a >= 1000 && a < 1e6 {
		return strconv.FormatFloat(x, 'f', 0, 64)
	}
	return strconv.FormatFloat(x, 'g', 4, 64)
}
