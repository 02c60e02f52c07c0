package engine_test

import "time"

type timeDuration = time.Duration
