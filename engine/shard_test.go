package engine_test

import (
	"testing"

	"github.com/sentinelzer0/szrun/cache"
	"github.com/sentinelzer0/szrun/engine"
)

func TestParseShard(t *testing.T) {
	for _, ok := range []string{"0/1", "0/4", "3/4", "255/256"} {
		if _, err := engine.ParseShard(ok); err != nil {
			t.Errorf("ParseShard(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "1", "4/4", "-1/4", "0/0", "a/b", "1/2/3", " 1/2"} {
		if _, err := engine.ParseShard(bad); err == nil {
			t.Errorf("ParseShard(%q) accepted", bad)
		}
	}
}

// Shards split keys deterministically and every shard gets a share.
func TestShardOfSpreadsKeys(t *testing.T) {
	const n, keys = 4, 400
	count := make([]int, n)
	for i := range keys {
		k := cache.NewKey("shard-test").Add("i", i).Sum()
		s := engine.ShardOf(k, n)
		if s != engine.ShardOf(k, n) || s < 0 || s >= n {
			t.Fatalf("ShardOf(%s) = %d, not stable in [0,%d)", k, s, n)
		}
		count[s]++
	}
	for s, c := range count {
		if c < keys/n/2 {
			t.Errorf("shard %d got %d of %d keys", s, c, keys)
		}
	}
	if engine.ShardOf("zz", 3) != 0 || engine.ShardOf("", 3) != 0 {
		t.Error("a malformed key must map to shard 0, not panic")
	}
}
