package cache_test

import (
	"path/filepath"
	"testing"

	"github.com/sentinelzer0/szrun/cache"
	"github.com/sentinelzer0/szrun/cache/cachetest"
)

func TestLocalBackendContract(t *testing.T) {
	s, err := cache.Open(filepath.Join(t.TempDir(), "cache"), cache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cachetest.Backend(t, s.Local())
}
