package source

import (
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
)

// isThrottle reports whether err is AWS asking the caller to slow down, by the SDK's own
// list of throttling error codes.
func isThrottle(err error) bool {
	return retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err) == aws.TrueTernary
}

// explained is an AWS error with a message a person can act on; it still unwraps to
// the SDK's error, so callers can classify it.
type explained struct {
	msg string
	err error
}

func (e *explained) Error() string { return e.msg }
func (e *explained) Unwrap() error { return e.err }

// explain turns an AWS error into one line a person can act on, naming the API action.
func explain(err error, action string) error {
	return &explained{msg: explainText(err, action).Error(), err: err}
}

func explainText(err error, action string) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code := ae.ErrorCode()
		switch {
		case code == "AccessDenied" || code == "AccessDeniedException" || code == "UnauthorizedOperation" || strings.HasPrefix(code, "AccessDenied"):
			return fmt.Errorf("%s is denied (%s): add %s to the instance profile's role", action, ae.ErrorMessage(), action)
		case code == "ExpiredToken" || code == "InvalidClientTokenId" || code == "UnrecognizedClientException" || code == "InvalidAccessKeyId":
			return fmt.Errorf("%s: the credentials are not valid (%s: %s); check the instance profile or credential-file", action, code, ae.ErrorMessage())
		}
		return fmt.Errorf("%s: %s: %s", action, code, ae.ErrorMessage())
	}
	msg := err.Error()
	if strings.Contains(msg, "failed to retrieve credentials") || strings.Contains(msg, "no EC2 IMDS role found") {
		return fmt.Errorf("%s: no AWS credentials: attach an instance profile with %s to the instance", action, action)
	}
	return fmt.Errorf("%s: %w", action, err)
}

// apiCode returns the AWS error code of err, or "".
func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}
