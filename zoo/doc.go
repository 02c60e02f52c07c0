// Package zoo owns the model zoo: it runs zoo/zoo.yaml with the real szrun
// binary over a corpus that zoo/build.py makes outside git (one run per
// model, so one model's failure never hides another's cells), and renders
// the results as docs/ZOO.md. `make zoo` runs the whole corpus through
// zoo/cmd/zoo; the package's test runs a small subset in CI.
package zoo
