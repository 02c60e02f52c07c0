package evaluate
