package main

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// metrics are a classifier's scores on labelled samples.
type metrics struct {
	Samples  int          `json:"samples"`
	K        int          `json:"k"`
	Accuracy float64      `json:"accuracy"`
	TopK     float64      `json:"top_k"`
	MacroF1  float64      `json:"macro_f1"`
	PerClass []classScore `json:"per_class"`
	// Confusion[true][predicted] counts samples.
	Confusion [][]int64 `json:"confusion"`
}

type classScore struct {
	Class     int     `json:"class"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
	Support   int64   `json:"support"`
}

// computeMetrics scores rows of class scores against labels. k is clipped to
// the number of classes.
func computeMetrics(scores [][]float64, classes int, labels []int64, k int) (*metrics, error) {
	m := &metrics{Samples: len(labels), K: min(k, classes), Confusion: make([][]int64, classes)}
	for i := range m.Confusion {
		m.Confusion[i] = make([]int64, classes)
	}
	if len(labels) == 0 {
		return nil, fmt.Errorf("score: no samples")
	}
	var hits, topHits int
	for i, row := range scores {
		y := labels[i]
		if y < 0 || y >= int64(classes) {
			return nil, fmt.Errorf("score: label of sample %d is %d, outside the model's %d classes", i, y, classes)
		}
		order := rank(row)
		pred := order[0]
		m.Confusion[y][pred]++
		if int64(pred) == y {
			hits++
		}
		for _, c := range order[:m.K] {
			if int64(c) == y {
				topHits++
				break
			}
		}
	}
	m.Accuracy = float64(hits) / float64(len(labels))
	m.TopK = float64(topHits) / float64(len(labels))

	var f1Sum float64
	var present int
	for c := 0; c < classes; c++ {
		var tp, predicted, actual int64
		tp = m.Confusion[c][c]
		for o := 0; o < classes; o++ {
			predicted += m.Confusion[o][c]
			actual += m.Confusion[c][o]
		}
		if predicted == 0 && actual == 0 {
			continue // absent from labels and predictions: not averaged, as in scikit-learn
		}
		cs := classScore{Class: c, Support: actual, Precision: ratio(tp, predicted), Recall: ratio(tp, actual)}
		if cs.Precision+cs.Recall > 0 {
			cs.F1 = 2 * cs.Precision * cs.Recall / (cs.Precision + cs.Recall)
		}
		m.PerClass = append(m.PerClass, cs)
		f1Sum += cs.F1
		present++
	}
	m.MacroF1 = f1Sum / float64(present)
	return m, nil
}

// rank returns class indices by descending score, ties by index (stable),
// so that argmax picks the first maximum as numpy does.
func rank(row []float64) []int {
	order := make([]int, len(row))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return row[order[a]] > row[order[b]] })
	return order
}

func ratio(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func (m *metrics) confusionCSV() string {
	var b strings.Builder
	b.WriteString("true\\predicted")
	for c := range m.Confusion {
		b.WriteString("," + strconv.Itoa(c))
	}
	b.WriteString("\n")
	for y, row := range m.Confusion {
		b.WriteString(strconv.Itoa(y))
		for _, n := range row {
			b.WriteString("," + strconv.FormatInt(n, 10))
		}
		b.WriteString("\n")
	}
	return b.String()
}

// perClassValue is PerClass as a JSON-friendly value output keyed by class.
func (m *metrics) perClassValue() map[string]any {
	out := make(map[string]any, len(m.PerClass))
	for _, c := range m.PerClass {
		out[strconv.Itoa(c.Class)] = map[string]any{
			"precision": c.Precision, "recall": c.Recall, "f1": c.F1, "support": c.Support,
		}
	}
	return out
}
