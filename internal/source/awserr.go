package source

import (
	"errors"

	"github.com/aws/smithy-go"

	"github.com/stackhand/stackhand/internal/awsenv"
)

// isThrottle reports whether err is AWS asking the caller to slow down.
func isThrottle(err error) bool { return awsenv.IsThrottle(err) }

// explain turns an AWS error into one line a person can act on, naming the API action,
// and keeps the SDK's error underneath (awsenv.ExplainErr).
func explain(err error, action string) error { return awsenv.ExplainErr(err, action) }

// apiCode returns the AWS error code of err, or "".
func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}
