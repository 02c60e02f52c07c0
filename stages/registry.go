package stages

import (
	"fmt"
	"sort"
	"sync"
)

// Registry maps stage names (the `uses:` of a recipe) to implementations.
type Registry struct {
	mu     sync.RWMutex
	stages map[string]Stage
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{stages: map[string]Stage{}}
}

// Register adds a stage under its Spec's name; the Spec must be valid and the
// name unused.
func (r *Registry) Register(s Stage) error {
	spec := s.Spec()
	if err := spec.Validate(); err != nil {
		return fmt.Errorf("register stage: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.stages[spec.Name]; dup {
		return fmt.Errorf("register stage %q: already registered", spec.Name)
	}
	r.stages[spec.Name] = s
	return nil
}

// MustRegister is Register for static wiring; it panics on a programming error.
func (r *Registry) MustRegister(s Stage) {
	if err := r.Register(s); err != nil {
		panic(err)
	}
}

// Lookup returns the stage registered as name.
func (r *Registry) Lookup(name string) (Stage, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	s, ok := r.stages[name]
	return s, ok
}

// Names returns every registered name, sorted.
func (r *Registry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	names := make([]string, 0, len(r.stages))
	for n := range r.stages {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
