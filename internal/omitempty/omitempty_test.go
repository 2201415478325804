package omitempty

import (
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func TestOnlySetFieldsAreLogged(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	log := zap.New(core)
	log.Info("empty", String("s", ""), Bool("b", false), Strings("l", nil), Strings("l2", []string{}), Duration("d", 0))
	log.Info("set", String("s", "x"), Bool("b", true), Strings("l", []string{"a"}), Duration("d", time.Second))

	entries := logs.AllUntimed()
	if got := entries[0].ContextMap(); len(got) != 0 {
		t.Errorf("zero values logged: %v", got)
	}
	got := entries[1].ContextMap()
	if got["s"] != "x" || got["b"] != true || got["d"] != time.Second || len(got) != 4 {
		t.Errorf("set values = %v; want s, b, l and d", got)
	}
}
