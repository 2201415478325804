package cfnboot

import (
	"context"
	"fmt"
	"io"
	"net/url"

	"github.com/stackhand/stackhand/internal/cfninit"
)

// newFetcher returns the Fetcher of files' and sources' URLs.
//
// TODO(cfn-files): cfninit.HTTPFetcher, once branch cfn-files lands; until then a URL
// is refused with an error saying so.
func newFetcher() cfninit.Fetcher { return pendingFetcher{} }

type pendingFetcher struct{}

func (pendingFetcher) Open(_ context.Context, raw string, _ *cfninit.Auth) (io.ReadCloser, error) {
	return nil, fmt.Errorf("fetching %s: this build cannot fetch URLs yet (files' and sources' source)", redactURL(raw))
}

// redactURL drops a URL's user information and query (a presigned URL's signature) for
// messages.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(an unparsable URL)"
	}
	u.User = nil
	if u.RawQuery != "" {
		u.RawQuery = "…"
	}
	return u.String()
}
