package wire

import (
	"github.com/charmbracelet/log"

	pb "github.com/sentinelzer0/szrun/plugins/proto"
)

// LevelToProto maps a charmbracelet/log level to the protocol's.
func LevelToProto(l log.Level) pb.LogLevel {
	switch {
	case l <= log.DebugLevel:
		return pb.LogLevel_LOG_LEVEL_DEBUG
	case l < log.WarnLevel:
		return pb.LogLevel_LOG_LEVEL_INFO
	case l < log.ErrorLevel:
		return pb.LogLevel_LOG_LEVEL_WARN
	}
	return pb.LogLevel_LOG_LEVEL_ERROR
}

// LevelFromProto maps the protocol's level back; unspecified is info.
func LevelFromProto(l pb.LogLevel) log.Level {
	switch l {
	case pb.LogLevel_LOG_LEVEL_DEBUG:
		return log.DebugLevel
	case pb.LogLevel_LOG_LEVEL_WARN:
		return log.WarnLevel
	case pb.LogLevel_LOG_LEVEL_ERROR:
		return log.ErrorLevel
	}
	return log.InfoLevel
}
