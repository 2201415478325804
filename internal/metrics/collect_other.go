//go:build !linux && !windows

package metrics

import (
	"fmt"
	"runtime"
)

type osState struct{}

func (c *Collector) initOS(bool) {}

func (c *Collector) collect(dst []Sample) []Sample {
	c.fail(fmt.Errorf("metrics: collecting is not supported on %s", runtime.GOOS))
	return dst
}

func (c *Collector) initFamiliesOS() {}

// matchLike is false: procstat's exe and pattern are regular expressions.
const matchLike = false
