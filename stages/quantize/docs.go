package quantize

const specDoc = "TODO"
