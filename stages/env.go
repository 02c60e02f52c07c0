package stages

import (
	"slices"
)

// BaseEnv names the variables of szrun's own environment that every
// process a stage starts (a shell script, a plugin) receives. Everything
// else must be listed in the recipe's top-level `env:`, so that nothing a
// recipe does not name (an AWS_SECRET_ACCESS_KEY) reaches a script, and
// everything that does is part of the cache key.
var BaseEnv = []string{"HOME", "LANG", "PATH", "TMPDIR"}

// MinimalEnv returns NAME=value for each variable of BaseEnv and of allow
// (a recipe's env: list) that lookup finds set, sorted by name.
func MinimalEnv(lookup func(string) (string, bool), allow []string) []string {
	names := slices.Concat(BaseEnv, allow)
	slices.Sort(names)
	names = slices.Compact(names)
	out := make([]string, 0, len(names))
	for _, n := range names {
		if v, ok := lookup(n); ok {
			out = append(out, n+"="+v)
		}
	}
	return out
}
