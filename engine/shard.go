package engine

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sentinelzer0/szrun/dag"
)

// DefaultShardWait is how long a shard waits for another shard's result
// before computing it itself.
const DefaultShardWait = 30 * time.Minute

// Shard selects the part of a run one machine does: instance i of n
// (0 <= Index < Count). The zero value runs everything.
type Shard struct {
	Index, Count int
}

// ParseShard reads "i/n".
func ParseShard(s string) (Shard, error) {
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
		return Shard{}, fmt.Errorf("shard %q: want i/n with 0 <= i < n", s)
	}
	return Shard{Index: i, Count: n}, nil
}

func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Count) }

func (s Shard) active() bool { return s.Count > 1 }

// ShardOf returns the shard (of n) that computes the instance with this
// cache key: the key's first 8 bytes, big-endian, modulo n. Every machine
// agrees on it because it depends on the key alone.
func ShardOf(key string, n int) int {
	if n <= 1 {
		return 0
	}
	b, err := hex.DecodeString(key[:min(16, len(key))])
	if err != nil || len(b) < 8 {
		return 0
	}
	return int(binary.BigEndian.Uint64(b) % uint64(n))
}

// shardTask decides what this shard does with an instance another shard
// owns: nothing when nothing here depends on it, otherwise wait for the
// owner's result on the remote cache. It returns done=true when the
// instance was restored (or skipped); false means compute it here (the
// owner did not deliver within ShardWait, or the remote is gone).
func (x *executor) shardTask(ctx context.Context, pr *prepared) (done bool, err error) {
	owner := ShardOf(pr.key, x.opts.Shard.Count)
	if owner == x.opts.Shard.Index {
		return false, nil
	}
	if hit, err := x.restore(ctx, pr, HitLocal); err != nil || hit {
		return true, err
	}
	if len(x.p.Graph.Dependents(pr.in.ID)) == 0 {
		return true, dag.Skip(fmt.Sprintf("shard %d/%d computes it", owner, x.opts.Shard.Count))
	}
	wait := x.opts.ShardWait
	if wait <= 0 {
		wait = DefaultShardWait
	}
	deadline := time.Now().Add(wait)
	delay := 100 * time.Millisecond
	for {
		if x.fetchRemote(ctx, pr) {
			return x.restore(ctx, pr, HitRemote)
		}
		if x.remote.r.Disabled() || time.Now().After(deadline) {
			x.opts.Logger.Warn("computing another shard's stage here", "stage", pr.in.ID, "owner", fmt.Sprintf("%d/%d", owner, x.opts.Shard.Count),
				"why", "its result did not reach the remote cache in time")
			return false, nil
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return true, context.Cause(ctx)
		case <-t.C:
		}
		delay = min(delay*2, 5*time.Second)
	}
}
