package engine

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/sentinelzer0/szrun/internal/atomicfile"
	"github.com/sentinelzer0/szrun/recipe"
)

// LatestLink is the name of the link to a recipe's latest run under
// <state>/runs: one per recipe file, since recipes in one folder share it.
func LatestLink(recipeFile string) string {
	return "latest-" + recipe.SafeName(filepath.Base(recipeFile))
}

// runIDRe is the form newRunID gives; `report --run` takes nothing else.
var runIDRe = regexp.MustCompile(`^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}$`)

// ValidRunID reports whether id is a run id (and so names a folder under
// runs/, never a path out of it).
func ValidRunID(id string) bool { return runIDRe.MatchString(id) }

// writeRunRecord writes runs/<id>/run.json and points the recipe's
// runs/latest-<recipe file> at it.
func writeRunRecord(stateDir string, res *Result) error {
	dir := filepath.Join(stateDir, "runs", res.RunID)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	// WriteJSON: a stage value that is NaN or Inf is written as null (and
	// listed) instead of losing the run's record.
	if err := atomicfile.WriteJSON(filepath.Join(dir, "run.json"), res); err != nil {
		return err
	}
	latest := filepath.Join(stateDir, "runs", LatestLink(res.Recipe))
	tmp := latest + ".tmp-" + res.RunID
	_ = os.Remove(tmp)
	if err := os.Symlink(res.RunID, tmp); err != nil {
		return fmt.Errorf("link %s: %w", latest, err)
	}
	if err := os.Rename(tmp, latest); err != nil {
		return fmt.Errorf("link %s: %w", latest, err)
	}
	return nil
}

// ReadRunRecord reads a run.json.
func ReadRunRecord(path string) (*Result, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read run record: %w", err)
	}
	var res Result
	if err := json.Unmarshal(b, &res); err != nil {
		return nil, fmt.Errorf("decode run record %s: %w", path, err)
	}
	return &res, nil
}

type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name      string      `xml:"name,attr"`
	Tests     int         `xml:"tests,attr"`
	Failures  int         `xml:"failures,attr"`
	Skipped   int         `xml:"skipped,attr"`
	Time      string      `xml:"time,attr"`
	Timestamp string      `xml:"timestamp,attr"`
	Cases     []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Body    string `xml:",chardata"`
}

// JUnitCase is an extra test case a stage contributes (an assert check).
type JUnitCase struct {
	Name    string
	Failure string // "" when it passed: "message: what was compared; values"
	// Condition is a failed check's condition as written ("${{ ... }}").
	Condition string
}

// WriteJUnit writes the run as JUnit XML: one test case per stage instance,
// except that a stage with checks (assert) is its checks, one test case
// each, so that one failed check counts one failure. Such a stage is a test
// case of its own only when it failed without a failed check (a parameter
// error).
func WriteJUnit(path string, res *Result) error {
	s := junitSuite{Name: res.Name, Timestamp: res.Started.Format(time.RFC3339), Time: seconds(res.DurationMS)}
	for _, st := range res.Stages {
		cases := checks(st)
		failedChecks := 0
		for _, chk := range cases {
			if chk.Failure != "" {
				failedChecks++
			}
		}
		if len(cases) == 0 || (st.Status == StatusFailed && failedChecks == 0) {
			s.Cases = append(s.Cases, stageCase(&s, res.Name, st))
		}
		for _, chk := range cases {
			cc := junitCase{Name: st.Instance + ": " + chk.Name, Classname: res.Name + "." + st.Uses + ".check", Time: "0"}
			if chk.Failure != "" {
				body := chk.Failure
				if chk.Condition != "" {
					body += "\ncondition: " + chk.Condition
				}
				cc.Failure = &junitMessage{Message: chk.Failure, Body: body}
				s.Failures++
			}
			s.Cases = append(s.Cases, cc)
		}
	}
	s.Tests = len(s.Cases)
	b, err := xml.MarshalIndent(junitSuites{Suites: []junitSuite{s}}, "", "  ")
	if err != nil {
		return fmt.Errorf("encode junit: %w", err)
	}
	return atomicfile.WriteFile(path, append([]byte(xml.Header), append(b, '\n')...))
}

// stageCase is the test case of one stage instance; it counts its failure
// or skip in s.
func stageCase(s *junitSuite, run string, st *StageResult) junitCase {
	c := junitCase{Name: st.Instance, Classname: run + "." + st.Uses, Time: seconds(st.DurationMS)}
	switch st.Status {
	case StatusFailed:
		c.Failure = &junitMessage{Message: firstLine(st.Error), Body: st.Error}
		s.Failures++
	case StatusSkipped:
		c.Skipped = &junitMessage{Message: st.Reason}
		s.Skipped++
	case StatusCached:
		c.SystemOut = "restored from the " + st.CacheHit + " cache (key " + st.Key + ")"
	}
	return c
}

// checks reads the per-check results a stage (assert) publishes as its
// "checks" output: a list of {name|message, passed, detail}.
func checks(st *StageResult) []JUnitCase {
	list, _ := st.Outputs["checks"].([]any)
	var out []JUnitCase
	for _, e := range list {
		m, ok := e.(map[string]any)
		if !ok {
			continue
		}
		name, _ := m["message"].(string)
		if name == "" {
			name, _ = m["name"].(string)
		}
		c := JUnitCase{Name: name}
		if passed, _ := m["passed"].(bool); !passed {
			detail, _ := m["detail"].(string)
			c.Failure = strings.TrimSpace(name + ": " + detail)
			c.Condition, _ = m["expression"].(string)
		}
		out = append(out, c)
	}
	return out
}

func seconds(ms int64) string { return fmt.Sprintf("%.3f", float64(ms)/1000) }

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
