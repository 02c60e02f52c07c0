package dag

import (
	"errors"
	"fmt"
	"sort"
	"time"
)

// Status is the final state of one node in a Run.
type Status string

// The statuses a node can end in.
const (
	Succeeded Status = "succeeded"
	Failed    Status = "failed"
	Skipped   Status = "skipped"   // never ran (or chose not to), see Reason
	Cancelled Status = "cancelled" // the run was interrupted, see Reason
)

// NodeResult is the outcome of one node.
type NodeResult struct {
	ID     string
	Status Status
	// Err is the task's error for Failed (and for a running task that
	// returned an error after the run was interrupted).
	Err error
	// Reason says why a node was Skipped or Cancelled, for people:
	// "needs quantize, which failed", "if is false",
	// "not started: the run stopped after train failed", "interrupted".
	Reason string
	// Start and End are zero when the task never started.
	Start, End time.Time
}

// Result is the outcome of a whole Run.
type Result struct {
	// Nodes holds one entry per node of the graph.
	Nodes map[string]NodeResult
	// Order lists node ids in the order their results were decided,
	// including skipped and cancelled ones.
	Order []string

	ids []string // graph insertion order, for Failed
}

// Failed returns the ids of Failed nodes in graph insertion order (sorted
// when the Result was not built by Run).
func (r *Result) Failed() []string {
	ids := r.ids
	if ids == nil {
		for id := range r.Nodes {
			ids = append(ids, id)
		}
		sort.Strings(ids)
	}
	var out []string
	for _, id := range ids {
		if r.Nodes[id].Status == Failed {
			out = append(out, id)
		}
	}
	return out
}

// skipError is what Skip returns; the scheduler turns it into Skipped.
type skipError struct{ reason string }

func (e *skipError) Error() string { return "skipped: " + e.reason }

// Skip returns an error that a task returns to mark its node Skipped with
// reason (for example "if is false") instead of Failed. Its dependents are
// skipped too.
func Skip(reason string) error { return &skipError{reason: reason} }

// IsSkip reports whether err is (or wraps) an error made by Skip, and its
// reason.
func IsSkip(err error) (reason string, ok bool) {
	var s *skipError
	if errors.As(err, &s) {
		return s.reason, true
	}
	return "", false
}

// PanicError is the error of a node whose task panicked.
type PanicError struct {
	ID    string
	Value any
	Stack []byte // the panicking goroutine's stack, for debugging
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("task %s panicked: %v", e.ID, e.Value)
}
