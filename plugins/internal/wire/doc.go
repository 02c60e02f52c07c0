// Package wire is the code the szrun plugin host and the plugin SDK share:
// the go-plugin handshake and plugin map, and the conversions between
// stages.Spec, parameters, outputs and their protocol (JSON and protobuf)
// forms. Keeping both directions here means a value survives the round trip
// the same way in a real plugin process and in sdk.RunLocal.
package wire
