package engine

// Saves reports how many times the engine wrote the state file (tests and benchmarks).
func (e *Engine) Saves() int { return e.saves }
