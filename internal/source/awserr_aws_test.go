package source

import "github.com/stackhand/stackhand/internal/awsenv"

// isThrottle is the classifier the pollers use, under the name the tests know it by.
var isThrottle = awsenv.IsThrottle
