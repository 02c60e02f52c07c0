package cache

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

type blobInfo struct {
	digest Digest // "" when the file name is not a digest in its right fan-out dir
	path   string
	size   int64
}

// listBlobs returns every file under cas/, sorted by path.
func (s *Store) listBlobs() ([]blobInfo, error) {
	var out []blobInfo
	cas := filepath.Join(s.root, "cas")
	fans, err := os.ReadDir(cas)
	if err != nil {
		return nil, err
	}
	for _, fan := range fans {
		if !fan.IsDir() {
			out = append(out, blobInfo{path: filepath.Join(cas, fan.Name())})
			continue
		}
		ents, err := os.ReadDir(filepath.Join(cas, fan.Name()))
		if err != nil {
			return nil, err
		}
		for _, e := range ents {
			bi := blobInfo{path: filepath.Join(cas, fan.Name(), e.Name())}
			if fi, err := e.Info(); err == nil {
				bi.size = fi.Size()
				d := Digest(e.Name())
				if fi.Mode().IsRegular() && d.Valid() && strings.HasPrefix(e.Name(), fan.Name()) && len(fan.Name()) == 2 {
					bi.digest = d
				}
			}
			out = append(out, bi)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out, nil
}

type actionInfo struct {
	key     string
	path    string
	lastUse time.Time
	size    int64
}

// listActions returns every action record under ac/, sorted by key.
func (s *Store) listActions() ([]actionInfo, error) {
	var out []actionInfo
	ac := filepath.Join(s.root, "ac")
	fans, err := os.ReadDir(ac)
	if err != nil {
		return nil, err
	}
	for _, fan := range fans {
		if !fan.IsDir() {
			continue
		}
		ents, err := os.ReadDir(filepath.Join(ac, fan.Name()))
		if err != nil {
			return nil, err
		}
		for _, e := range ents {
			key, ok := strings.CutSuffix(e.Name(), ".json")
			if !ok {
				continue
			}
			ai := actionInfo{key: key, path: filepath.Join(ac, fan.Name(), e.Name())}
			if fi, err := e.Info(); err == nil {
				ai.lastUse, ai.size = fi.ModTime(), fi.Size()
			}
			out = append(out, ai)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key < out[j].key })
	return out, nil
}

// actionRefs returns every blob a restorable action needs: file outputs,
// tree manifests and their files, and the log. A tree whose manifest cannot
// be read contributes only the manifest digest.
func (s *Store) actionRefs(a *Action) []Digest {
	var ds []Digest
	for _, r := range a.Files {
		ds = append(ds, r.Digest)
		if r.Tree {
			if es, err := s.ReadTree(r.Digest); err == nil {
				for _, e := range es {
					ds = append(ds, e.Digest)
				}
			}
		}
	}
	if a.Log != "" {
		ds = append(ds, a.Log)
	}
	return ds
}

// clearDir removes everything inside dir, keeping dir itself.
func clearDir(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if err := removeAll(filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}
