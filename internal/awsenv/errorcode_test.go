package awsenv

import (
	"errors"
	"fmt"
	"testing"

	"github.com/aws/smithy-go"
)

func TestErrorCode(t *testing.T) {
	throttled := &smithy.GenericAPIError{Code: "Throttling", Message: "Rate exceeded"}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"nil", nil, ""},
		{"not an AWS error", errors.New("connection refused"), ""},
		{"API error", throttled, "Throttling"},
		{"wrapped", fmt.Errorf("describe: %w", throttled), "Throttling"},
		{"explained", ExplainErr(throttled, "ec2:DescribeTags"), "Throttling"},
		{"joined", errors.Join(errors.New("first"), &smithy.GenericAPIError{Code: "AccessDenied"}), "AccessDenied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ErrorCode(tt.err); got != tt.want {
				t.Errorf("ErrorCode(%v) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
}
