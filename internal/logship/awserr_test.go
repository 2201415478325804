package logship

import "github.com/stackhand/stackhand/internal/awsenv"

// errorCode is awsenv.ErrorCode under the name the test fakes know it by.
var errorCode = awsenv.ErrorCode
