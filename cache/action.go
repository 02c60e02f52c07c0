package cache

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// OutputRef points at one output of an action.
type OutputRef struct {
	Digest Digest `json:"digest"`
	Tree   bool   `json:"tree,omitempty"`
	// Size is the blob's size as returned by PutFile; for a tree, the sum of
	// its files' sizes (informational: a tree's files are checked one by one
	// against its manifest).
	Size int64  `json:"size"`
	Name string `json:"name"` // base name to give it in View
	// Entry, set only on a tree, makes the output one file of the tree
	// rather than the tree: a model stored together with the external data
	// files it references is a tree {model.onnx, model.onnx.data}, and
	// downstream sees <view>/model.onnx, with its data beside it.
	Entry string `json:"entry,omitempty"`
}

// Action is what an action key maps to: a stage instance's result.
type Action struct {
	Key        string               `json:"key"`
	Stage      string               `json:"stage"`
	Instance   string               `json:"instance"`
	Files      map[string]OutputRef `json:"files"`
	Values     map[string]any       `json:"values"`
	Log        Digest               `json:"log,omitempty"`
	Inputs     map[string]any       `json:"inputs,omitempty"` // the canonical inputs the key was made from (for `plan` explanations)
	Created    time.Time            `json:"created"`
	DurationMS int64                `json:"duration_ms"`
	Version    string               `json:"szrun_version"`
}

// validKey accepts the names an action or lock key may have: they become
// file names, so only [A-Za-z0-9._-], not starting with '.', at most 200.
func validKey(k string) error {
	if k == "" || len(k) > 200 || k[0] == '.' {
		return fmt.Errorf("invalid cache key %q", k)
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("invalid cache key %q: byte %d", k, i)
		}
	}
	return nil
}

func (s *Store) actionPath(key string) string { return s.local.actionPath(key) }

// refProblem returns why a's blobs cannot be restored from the store, or nil.
func (s *Store) refProblem(a *Action) error {
	return missingRefs(context.Background(), s.local, a)
}

// PutAction stores a atomically under a.Key, replacing any previous record.
// It refuses when a referenced blob is missing or its size differs from the
// OutputRef's, so a stored action can always be restored.
func (s *Store) PutAction(a *Action) error {
	if err := validKey(a.Key); err != nil {
		return fmt.Errorf("put action: %w", err)
	}
	if err := s.refProblem(a); err != nil {
		return fmt.Errorf("put action %s: %w", a.Key, err)
	}
	data, err := encodeAction(a)
	if err != nil {
		return fmt.Errorf("put action: %w", err)
	}
	return s.local.PutAction(context.Background(), a.Key, data)
}

func (s *Store) readAction(path string) (*Action, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var a Action
	if err := json.Unmarshal(data, &a); err != nil {
		return nil, fmt.Errorf("decode action %s: %w: %w", path, ErrCorrupt, err)
	}
	return &a, nil
}

// GetAction returns the action stored under key. ok is false when there is
// none, or when it cannot be restored (a blob missing, of the wrong size or
// failing its check, an undecodable record): a miss, not an error, so the
// stage just runs again. Every blob a hit serves is checked (checkBlob: a
// stat when unchanged since stored, else a full re-hash) and one that fails
// is removed. A hit updates the record's modification time, which GC reads
// as its last use.
func (s *Store) GetAction(key string) (*Action, bool, error) {
	if err := validKey(key); err != nil {
		return nil, false, fmt.Errorf("get action: %w", err)
	}
	data, err := s.local.GetAction(context.Background(), key)
	if errors.Is(err, ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	a, err := decodeAction(key, data)
	if err != nil {
		return nil, false, nil
	}
	if err := s.checkAction(context.Background(), a); err != nil {
		if errors.Is(err, ErrCorrupt) {
			// Its blob is gone: drop the record too, so verify stays clean
			// until the stage runs again and stores it anew.
			_ = os.Remove(s.actionPath(key))
		}
		return nil, false, nil
	}
	s.local.touchAction(key)
	return a, true, nil
}

// Lock takes an exclusive flock(2) on locks/k-<key>.lock (key escaped as a
// file name, so any non-empty string works), waiting until it
// is free or ctx is done. It excludes other goroutines (each call opens its
// own file description) and other processes. Call unlock exactly when done;
// extra calls are harmless.
func (s *Store) Lock(ctx context.Context, key string) (unlock func(), err error) {
	if key == "" {
		return nil, fmt.Errorf("lock: empty key")
	}
	p := filepath.Join(s.root, "locks", "k-"+escapeName(key)+".lock")
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", key, err)
	}
	if err := flockCtx(ctx, f, syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", key, err)
	}
	var once sync.Once
	return func() { once.Do(func() { f.Close() }) }, nil
}
