package engine

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/charmbracelet/log"
	"github.com/sentinelzer0/szrun/recipe"
	"github.com/sentinelzer0/szrun/stages"
)

// Version is szrun's version; it goes into every cache key.
const Version = "0.1.0"

// Catalog resolves a recipe's `uses:` value to a stage.
type Catalog interface {
	// Stage returns the stage for uses ("quantize", "plugin:tensorrt").
	Stage(ctx context.Context, uses string) (stages.Stage, error)
	// Names lists the stage names a recipe may use, for "did you mean".
	Names() []string
}

// Options controls loading and running a recipe. The zero value of each
// field means its default.
type Options struct {
	// Recipe is the recipe file's path.
	Recipe string
	// Params are `-p name=value` overrides.
	Params []string
	// Catalog resolves stages; required.
	Catalog Catalog
	// Parallelism bounds how many stage instances run at once; 0 means the
	// number of CPUs.
	Parallelism int
	// Only selects stages (ids or instance ids) and their ancestors.
	Only []string
	// KeepGoing runs every stage not downstream of a failure.
	KeepGoing bool
	// NoCache runs every stage without reading results from the cache;
	// what they produce is still stored, replacing what the store held.
	NoCache bool
	// CacheDir is the cache root; "" means $SZRUN_CACHE, else .szrun/cache
	// beside the recipe.
	CacheDir string
	// StateDir holds runs/ and work/; "" means .szrun beside the recipe.
	StateDir string
	// OutDir receives the recipe's outputs; "" means out/<recipe-name>
	// beside the recipe.
	OutDir string
	// Reporter receives events; nil discards them.
	Reporter Reporter
	// Logger is used for the engine's own messages; nil discards them.
	Logger *log.Logger
	// GPU is what `gpu.count` and `gpu.names` see.
	GPU recipe.GPU
	// Fingerprint returns machine facts (runtime versions, GPU models) for
	// the cache key of environment-sensitive stages; it is called at most
	// once per run, and only when such a stage runs. nil adds nothing.
	Fingerprint func() map[string]string
	// RemoteCache is a shared cache's URL (s3://, gs://, azblob://,
	// file://); "" means $SZRUN_REMOTE_CACHE, else none.
	RemoteCache string
	// RemoteCacheMode is read, write or readwrite; "" means
	// $SZRUN_REMOTE_CACHE_MODE, else readwrite.
	RemoteCacheMode string
	// RemoteTimeout bounds each small remote-cache operation; 0 means
	// cache.DefaultRemoteTimeout.
	RemoteTimeout time.Duration
	// Shard makes this run one of Count machines sharing a remote cache:
	// it computes the instances whose key falls in its Index and fetches
	// from the remote cache the others it needs (see ShardOf). Needs a
	// readwrite remote cache; outputs are not materialized.
	Shard Shard
	// ShardWait bounds how long a shard waits for another shard's result
	// before computing it itself; 0 means DefaultShardWait.
	ShardWait time.Duration
	// LookupEnv reads the environment for the recipe's `env:` allow-list;
	// nil means os.LookupEnv.
	LookupEnv func(string) (string, bool)
}

func (o *Options) applyDefaults() {
	if o.Parallelism <= 0 {
		o.Parallelism = runtime.NumCPU()
	}
	if o.Reporter == nil {
		o.Reporter = discard{}
	}
	if o.Logger == nil {
		o.Logger = log.New(io.Discard)
	}
	if o.LookupEnv == nil {
		o.LookupEnv = os.LookupEnv
	}
}

// dirs returns the cache, state and output directories for a recipe.
func (o *Options) dirs(r *recipe.Recipe) (cacheDir, stateDir, outDir string) {
	stateDir = o.StateDir
	if stateDir == "" {
		stateDir = filepath.Join(r.Dir, ".szrun")
	}
	cacheDir = o.CacheDir
	if cacheDir == "" {
		cacheDir = os.Getenv("SZRUN_CACHE")
	}
	if cacheDir == "" {
		cacheDir = filepath.Join(stateDir, "cache")
	}
	outDir = o.OutDir
	if outDir == "" {
		outDir = filepath.Join(r.Dir, "out", r.Name)
	}
	return cacheDir, stateDir, outDir
}
