package engine

import (
	"time"
)

// StageResult is the outcome of one stage instance.
type StageResult struct {
	Instance string `json:"instance"`
	Stage    string `json:"stage"`
	Uses     string `json:"uses"`
	Label    string `json:"label,omitempty"`
	Status   string `json:"status"`
	Cached   bool   `json:"cached"`
	// CacheHit says where a cached result came from: "local" or "remote".
	CacheHit   string         `json:"cache_hit,omitempty"`
	Key        string         `json:"key,omitempty"`
	Reason     string         `json:"reason,omitempty"`
	Error      string         `json:"error,omitempty"`
	Attempts   int            `json:"attempts,omitempty"`
	Start      time.Time      `json:"start,omitzero"`
	DurationMS int64          `json:"duration_ms"`
	Outputs    map[string]any `json:"outputs,omitempty"`
	// LogTail holds the last lines of a failed stage's log.
	LogTail []string `json:"log_tail,omitempty"`
	// Warnings are the warnings the stage logged (a cached result's, from
	// its stored log), each once, at most maxWarnings.
	Warnings []string `json:"warnings,omitempty"`
}

// OutputResult is one materialized recipe output.
type OutputResult struct {
	Name  string `json:"name"`
	Path  string `json:"path,omitempty"`  // a file or folder under the out dir
	Value any    `json:"value,omitempty"` // the value, for non-file outputs
	// Missing says why the output has no value (a stage it needs was skipped).
	Missing string `json:"missing,omitempty"`
	// Kept is set when a stage it needs did not run (--only, a false if) and
	// the output is what an earlier run wrote, left in place.
	Kept bool `json:"kept,omitempty"`
}

// Result is the outcome of a run; it is also written as run.json.
type Result struct {
	RunID      string          `json:"run_id"`
	Recipe     string          `json:"recipe"`
	Name       string          `json:"name"`
	Status     string          `json:"status"`
	Started    time.Time       `json:"started"`
	Finished   time.Time       `json:"finished"`
	DurationMS int64           `json:"duration_ms"`
	Params     map[string]any  `json:"params"`
	CacheDir   string          `json:"cache_dir"`
	OutDir     string          `json:"out_dir,omitempty"`
	RunDir     string          `json:"run_dir"`
	Stages     []*StageResult  `json:"stages"`
	Outputs    []*OutputResult `json:"outputs,omitempty"`
	// Shard is "i/n" for one shard of a sharded run.
	Shard string `json:"shard,omitempty"`
	// Remote is what the run did with the remote cache, when it used one.
	Remote *RemoteResult `json:"remote_cache,omitempty"`
	// OutputsError says why outputs were not materialized.
	OutputsError string `json:"outputs_error,omitempty"`
}

// Counts returns how many instances ended in each status.
func (r *Result) Counts() map[string]int {
	c := map[string]int{}
	for _, s := range r.Stages {
		c[s.Status]++
	}
	return c
}

// Failed reports whether any stage failed.
func (r *Result) Failed() bool { return r.Status == StatusFailed }
