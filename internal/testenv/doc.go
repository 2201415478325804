// Package testenv holds what the tests and benchmarks run the agent against: awsfake, a
// stand-in for the AWS services the agent calls, speaking their wire protocols over real
// HTTP, and imdsmock, which runs AWS's EC2 metadata mock. Nothing here is linked into the
// agent: go list -deps ./agent shows no testenv package.
package testenv
