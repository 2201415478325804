package source

import (
	"errors"

	"github.com/aws/smithy-go"

	"github.com/stackhand/stackhand/internal/awsenv"
)

// isThrottle reports whether err is AWS asking the caller to slow down.
func isThrottle(err error) bool { return awsenv.IsThrottle(err) }

// explained is an AWS error with a message a person can act on; it still unwraps to
// the SDK's error, so callers can classify it.
type explained struct {
	msg string
	err error
}

func (e *explained) Error() string { return e.msg }
func (e *explained) Unwrap() error { return e.err }

// explain turns an AWS error into one line a person can act on, naming the API action
// (awsenv.Explain), and keeps the SDK's error underneath.
func explain(err error, action string) error {
	return &explained{msg: awsenv.Explain(err, action), err: err}
}

// apiCode returns the AWS error code of err, or "".
func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}
