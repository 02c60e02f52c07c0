package cache

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// metaPath maps a caller's name to a file under meta/. Each '/'-separated
// element is escaped so that it is a plain file name: bytes outside
// [A-Za-z0-9_-.] and a leading '.' become %XX, and empty elements are
// dropped. Escaping (rather than replacing) keeps distinct names distinct.
func (s *Store) metaPath(name string) (string, error) {
	var parts []string
	for _, el := range strings.Split(name, "/") {
		if el != "" {
			parts = append(parts, escapeName(el))
		}
	}
	if len(parts) == 0 {
		return "", fmt.Errorf("metadata name %q is empty", name)
	}
	return filepath.Join(append([]string{s.root, "meta"}, parts...)...), nil
}

// escapeName makes el a plain, visible file name: bytes outside
// [A-Za-z0-9_-.] and a leading '.' become %XX.
func escapeName(el string) string {
	var b strings.Builder
	for i := 0; i < len(el); i++ {
		c := el[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.' && i > 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// WriteMeta atomically replaces the metadata file name (which may contain
// '/'; see metaPath for how it is sanitized).
func (s *Store) WriteMeta(name string, data []byte) error {
	p, err := s.metaPath(name)
	if err != nil {
		return fmt.Errorf("write metadata: %w", err)
	}
	// Metadata is advisory (hints for `szrun plan`): atomic, but not worth
	// an fsync per stage.
	if err := writeFile(s.tmpDir(), p, data, 0o644, false); err != nil {
		return fmt.Errorf("write metadata %q: %w", name, err)
	}
	return nil
}

// ReadMeta returns the metadata file name; ok is false when it is absent.
func (s *Store) ReadMeta(name string) ([]byte, bool, error) {
	p, err := s.metaPath(name)
	if err != nil {
		return nil, false, fmt.Errorf("read metadata: %w", err)
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read metadata %q: %w", name, err)
	}
	return b, true, nil
}

type runRecord struct {
	RunID string `json:"run_id"`
	// Recipe groups runs for GCOptions.KeepRuns ("" for callers that have
	// no recipe: they form one group).
	Recipe string    `json:"recipe,omitempty"`
	Time   time.Time `json:"time"`
	Keys   []string  `json:"keys"`
	path   string
}

// RecordRun records which action keys a run of recipe used (hits and newly
// stored), so that GC can keep what the last N runs of each recipe needed.
// Recording the same runID again replaces the record. Any run ID is
// accepted (escaped as a file name).
func (s *Store) RecordRun(runID, recipe string, when time.Time, keys []string) error {
	if runID == "" {
		return fmt.Errorf("record run: empty run ID")
	}
	uniq := map[string]bool{}
	for _, k := range keys {
		uniq[k] = true
	}
	r := runRecord{RunID: runID, Recipe: recipe, Time: when.UTC(), Keys: make([]string, 0, len(uniq))}
	for k := range uniq {
		r.Keys = append(r.Keys, k)
	}
	sort.Strings(r.Keys)
	data, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("record run %s: %w", runID, err)
	}
	if err := writeAtomic(s.tmpDir(), filepath.Join(s.root, "runs", escapeName(runID)+".json"), append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("record run %s: %w", runID, err)
	}
	return nil
}

// readRuns returns the run records, newest first (ties by run ID).
// Undecodable records are skipped: they protect nothing.
func (s *Store) readRuns() ([]runRecord, error) {
	dir := filepath.Join(s.root, "runs")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read run records: %w", err)
	}
	var runs []runRecord
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		p := filepath.Join(dir, e.Name())
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		var r runRecord
		if json.Unmarshal(data, &r) != nil {
			continue
		}
		r.path = p
		runs = append(runs, r)
	}
	sort.Slice(runs, func(i, j int) bool {
		if !runs[i].Time.Equal(runs[j].Time) {
			return runs[i].Time.After(runs[j].Time)
		}
		return runs[i].RunID > runs[j].RunID
	})
	return runs, nil
}
