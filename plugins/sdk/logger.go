package sdk

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/charmbracelet/log"

	"github.com/sentinelzer0/szrun/plugins/internal/wire"
	pb "github.com/sentinelzer0/szrun/plugins/proto"
)

// newEventLogger returns a logger whose records become Log events. It formats
// records as JSON and parses them back in eventWriter: charmbracelet/log has no
// structured sink, and its JSON keeps the fields in the author's order.
func newEventLogger(ev *emitter, level log.Level) *log.Logger {
	return log.NewWithOptions(&eventWriter{ev: ev}, log.Options{
		Formatter: log.JSONFormatter,
		Level:     level,
	})
}

type eventWriter struct {
	ev  *emitter
	buf []byte
}

// Write receives whole JSON records, one per line; a partial line waits for
// the rest.
func (w *eventWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		line := w.buf[:i]
		w.buf = w.buf[i+1:]
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if err := w.ev.send(&pb.RunEvent{Event: &pb.RunEvent_Log{Log: parseRecord(line)}}); err != nil {
			return len(p), err
		}
	}
	return len(p), nil
}

// parseRecord turns one charmbracelet/log JSON record into a Log event; a
// line that is not such a record is passed on as the message.
func parseRecord(line []byte) *pb.Log {
	out := &pb.Log{Level: pb.LogLevel_LOG_LEVEL_INFO}
	dec := json.NewDecoder(bytes.NewReader(line))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		out.Message = string(line)
		return out
	}
	var prefix string
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			break
		}
		key, _ := t.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			break
		}
		var s string
		if json.Unmarshal(raw, &s) != nil {
			s = string(raw)
		}
		switch key {
		case log.MessageKey:
			out.Message = s
		case log.LevelKey:
			if l, err := log.ParseLevel(s); err == nil {
				out.Level = wire.LevelToProto(l)
			}
		case log.PrefixKey:
			prefix = s
		case log.TimestampKey, log.CallerKey:
			// The host stamps its own time.
		default:
			out.Fields = append(out.Fields, &pb.Field{Key: key, Value: s})
		}
	}
	if prefix != "" {
		out.Message = strings.TrimSpace(prefix + ": " + out.Message)
	}
	return out
}
