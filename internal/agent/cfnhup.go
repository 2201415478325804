package agent

import (
	"errors"
	"io/fs"
	"path/filepath"

	"go.uber.org/zap"

	"github.com/stackhand/stackhand/internal/config"
	"github.com/stackhand/stackhand/internal/engine"
	"github.com/stackhand/stackhand/internal/state"
)

// adoptCfnHup takes over what cfn-hup already ran (its metadata_db.json) at the first start
// with cfn-hup's hooks, so that switching a running fleet from cfn-hup runs no action
// twice; see engine.AdoptCfnHup. Without the file, the first pass fires post.add as a
// fresh cfn-hup's does.
func adoptCfnHup(cfg *config.Config, st *state.State, store *state.Store, log *zap.Logger) {
	if cfg.CfnHupDataDir == "" || st.CfnHupAdopted {
		return
	}
	file := filepath.Join(cfg.CfnHupDataDir, config.CfnHupDBFile)
	record, err := config.ReadCfnHupDB(cfg.CfnHupDataDir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		record = nil
	case err != nil:
		// Adopting nothing would fire every post.add again: better not to mark it done.
		log.Error("cannot adopt what cfn-hup already ran; cfn-hup's hooks wait until it is fixed", zap.Error(err))
		cfg.Watch = withoutCfnHup(cfg.Watch)
		return
	}
	adopted, changed := engine.AdoptCfnHup(st, cfg.Watch, record)
	if !changed {
		return
	}
	if err := store.Save(st); err != nil {
		log.Error("cannot save the values adopted from cfn-hup; they are adopted again at the next start", zap.Error(err))
	}
	switch {
	case record == nil:
		log.Info("no record of cfn-hup's (as on an instance where cfn-hup never ran): the first pass fires post.add, as a fresh cfn-hup's does",
			zap.String("file", file))
	default:
		log.Info("adopted what cfn-hup already ran: these hooks fire only on a change since cfn-hup's last pass",
			zap.String("file", file), zap.Strings("rules", adopted))
	}
}

// withoutCfnHup returns rules without those made from cfn-hup's hooks.
func withoutCfnHup(rules []config.WatchRule) []config.WatchRule {
	var out []config.WatchRule
	for _, r := range rules {
		if !r.CfnHup {
			out = append(out, r)
		}
	}
	return out
}
