package awsenv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// ErrorCode returns the AWS error code err carries (a smithy.APIError anywhere in its
// chain: "Throttling", "AccessDenied", "ResourceNotFoundException", ...), or "" if none.
func ErrorCode(err error) string {
	if ae, ok := apiError(err); ok {
		return ae.ErrorCode()
	}
	return ""
}

// apiError returns the smithy.APIError in err's chain.
func apiError(err error) (smithy.APIError, bool) {
	var ae smithy.APIError
	ok := errors.As(err, &ae)
	return ae, ok
}

// IsThrottle reports whether err is AWS saying "slow down": a throttling error code
// (the SDK's retry.DefaultThrottleErrorCodes: Throttling, RequestLimitExceeded,
// TooManyRequestsException, ...) or HTTP 429.
func IsThrottle(err error) bool {
	if _, ok := retry.DefaultThrottleErrorCodes[ErrorCode(err)]; ok {
		return true
	}
	return httpStatus(err) == 429
}

// IsAccessDenied reports whether err is AWS refusing a call the credentials are not
// allowed to make.
func IsAccessDenied(err error) bool {
	switch ErrorCode(err) {
	case "AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedAccess", "AuthorizationError":
		return true
	}
	return false
}

// IsInvalidCredentials reports whether AWS rejected the credentials themselves (an
// unknown or expired key, a bad signature), as opposed to a missing permission.
func IsInvalidCredentials(err error) bool {
	switch ErrorCode(err) {
	case "InvalidClientTokenId", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken",
		"ExpiredTokenException", "AuthFailure", "IncompleteSignature", "MissingAuthenticationToken":
		return true
	}
	return false
}

// notFoundMessage matches CloudFormation's and Auto Scaling's way of saying not found:
// a ValidationError whose message reads "Stack with id X does not exist" or
// "Resource X does not exist for stack Y".
var notFoundMessage = regexp.MustCompile(`(?i)\b(does not exist|not found)\b`)

// IsNotFound reports whether err says the thing asked about does not exist: EC2's
// *.NotFound codes, ResourceNotFound, or CloudFormation's ValidationError "... does not
// exist", or HTTP 404.
func IsNotFound(err error) bool {
	ae, ok := apiError(err)
	if !ok {
		return httpStatus(err) == 404
	}
	code := ae.ErrorCode()
	switch {
	case strings.HasSuffix(code, "NotFound"), // EC2's *.NotFound, ResourceNotFound
		code == "ResourceNotFoundException", code == "NoSuchEntity":
		return true
	case code == "ValidationError" && notFoundMessage.MatchString(ae.ErrorMessage()):
		return true
	}
	return false
}

// IsUnreachable reports whether err means the endpoint could not be reached or failed
// on its side (connection refused, timeout, DNS, HTTP 5xx): waiting may fix it. Explain
// tells the two apart: a 5xx is an answer, not an endpoint out of reach.
func IsUnreachable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	// Only the message of a token failure tells a connection failure from a refusal.
	if isTokenFailure(err) {
		return tokenUnreachable.MatchString(err.Error())
	}
	var se *smithyhttp.RequestSendError
	if errors.As(err, &se) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	return httpStatus(err) >= 500
}

// isTokenFailure reports whether err is the IMDS client failing to get an IMDSv2
// session token. The client hides why behind an error type without Unwrap
// (feature/ec2/imds token_provider.go retryableError, when the IMDSv1 fallback is
// off), so its message is all there is to go by.
func isTokenFailure(err error) bool {
	return strings.Contains(err.Error(), "failed to get API token")
}

var tokenUnreachable = regexp.MustCompile(`request send failed|StatusCode: 5\d\d|deadline exceeded|timeout|connection refused|connection reset`)

var tokenStatus = regexp.MustCompile(`StatusCode: (5\d\d)`)

// serverError returns the HTTP status (500 to 599) of an endpoint that answered but failed
// on its side, or 0. A failed IMDSv2 token request says its status only in its message.
func serverError(err error) int {
	if code := httpStatus(err); code >= 500 {
		return code
	}
	if isTokenFailure(err) {
		if m := tokenStatus.FindStringSubmatch(err.Error()); m != nil {
			code, _ := strconv.Atoi(m[1])
			return code
		}
	}
	return 0
}

func httpStatus(err error) int {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

func isNotFoundHTTP(err error) bool { return httpStatus(err) == 404 }

// principalRole finds the role in an AccessDenied message such as "User:
// arn:aws:sts::123456789012:assumed-role/web/i-0abc is not authorized to perform ...".
var principalRole = regexp.MustCompile(`assumed-role/([^/\s]+)`)

// principalUser finds the principal of any other AccessDenied message.
var principalUser = regexp.MustCompile(`User: (arn:\S+)`)

// Explain returns the one line a person reads about err, for action (an IAM action
// such as "cloudformation:DescribeStackResource"): what failed and what to do. It names
// the missing permission and the role when AWS says access is denied, says so when
// there are no credentials at all, and keeps AWS's own message otherwise.
func Explain(err error, action string) string {
	if err == nil {
		return ""
	}
	ae, hasAPI := apiError(err)
	switch {
	case IsNoCredentials(err):
		return fmt.Sprintf("%s: no AWS credentials on this instance: attach an instance profile whose role allows %s, or set credential-file", action, action)
	case IsAccessDenied(err):
		who := "this instance's credentials"
		if m := principalRole.FindStringSubmatch(ae.ErrorMessage()); m != nil {
			who = "role " + m[1]
		} else if m := principalUser.FindStringSubmatch(ae.ErrorMessage()); m != nil {
			who = m[1]
		}
		return fmt.Sprintf("%s denied for %s: add it to the instance profile (%s)", action, who, ae.ErrorCode())
	case IsInvalidCredentials(err):
		return fmt.Sprintf("%s: AWS rejected the credentials (%s: %s): check the instance profile or credential-file", action, ae.ErrorCode(), ae.ErrorMessage())
	case IsThrottle(err):
		code := "HTTP 429"
		if hasAPI {
			code = ae.ErrorCode()
		}
		return fmt.Sprintf("%s throttled by AWS (%s): backing off", action, code)
	case IsNotFound(err):
		if hasAPI {
			return fmt.Sprintf("%s: not found: %s", action, ae.ErrorMessage())
		}
		return fmt.Sprintf("%s: not found", action)
	case serverError(err) != 0:
		// The endpoint was reached and answered; it failed on its side. IsUnreachable still
		// holds, so the call is retried like one that got no answer.
		if hasAPI {
			return fmt.Sprintf("%s: AWS answered HTTP %d (a server error; retrying): %s: %s", action, serverError(err), ae.ErrorCode(), ae.ErrorMessage())
		}
		return fmt.Sprintf("%s: AWS answered HTTP %d (a server error; retrying)", action, serverError(err))
	case IsUnreachable(err):
		return fmt.Sprintf("%s: AWS endpoint unreachable, will retry: %v", action, err)
	case hasAPI:
		return fmt.Sprintf("%s failed: %s: %s", action, ae.ErrorCode(), ae.ErrorMessage())
	}
	return fmt.Sprintf("%s failed: %v", action, err)
}

// explained is an error whose message is Explain's line and which still unwraps to the
// SDK's error, so callers can classify it (IsThrottle, IsAccessDenied, ...).
type explained struct {
	msg string
	err error
}

func (e *explained) Error() string { return e.msg }
func (e *explained) Unwrap() error { return e.err }

// ExplainErr is Explain as an error that keeps err underneath.
func ExplainErr(err error, action string) error {
	if err == nil {
		return nil
	}
	return &explained{msg: Explain(err, action), err: err}
}
