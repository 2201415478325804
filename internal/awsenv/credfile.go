package awsenv

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// ReadCredentialFile reads cfn-hup's credential-file: the old AWS CLI format, lines
// "AWSAccessKeyId=<key>" and "AWSSecretKey=<secret>", as aws-cfn-bootstrap's
// cfnbootstrap/util.py extract_credentials reads it. Blank lines and lines starting with '#'
// are skipped, as is any other key; a line that is not key=value is an error naming the
// line (cfn-hup silently ignores it). On Unix a file that group or others have any
// permission on is refused, as extract_credentials refuses it (S_IRWXG|S_IRWXO).
func ReadCredentialFile(path string) (aws.Credentials, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return aws.Credentials{}, fmt.Errorf("credential-file: %w", err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return aws.Credentials{}, fmt.Errorf("credential-file %s has mode %04o: it holds a secret key, so only its owner may read it; run chmod 600 %s",
			path, fi.Mode().Perm(), path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return aws.Credentials{}, fmt.Errorf("credential-file: %w", err)
	}
	return parseCredentialFile(path, data)
}

// parseCredentialFile parses the content of a credential-file; path is for messages.
func parseCredentialFile(path string, data []byte) (aws.Credentials, error) {
	creds := aws.Credentials{Source: "credential-file " + path}
	s := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; s.Scan(); n++ {
		line := strings.TrimSpace(strings.TrimPrefix(s.Text(), "\ufeff"))
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok {
			return aws.Credentials{}, fmt.Errorf("%s:%d: expected key=value (AWSAccessKeyId=... or AWSSecretKey=...), got %q", path, n, redact(line))
		}
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		switch key {
		case "AWSAccessKeyId":
			creds.AccessKeyID = value
		case "AWSSecretKey":
			creds.SecretAccessKey = value
		}
	}
	if err := s.Err(); err != nil {
		return aws.Credentials{}, fmt.Errorf("read %s: %w", path, err)
	}
	switch {
	case creds.AccessKeyID == "" && creds.SecretAccessKey == "":
		return aws.Credentials{}, fmt.Errorf("%s: no AWSAccessKeyId= and AWSSecretKey= lines", path)
	case creds.AccessKeyID == "":
		return aws.Credentials{}, fmt.Errorf("%s: AWSSecretKey is set but AWSAccessKeyId= is missing or empty", path)
	case creds.SecretAccessKey == "":
		return aws.Credentials{}, fmt.Errorf("%s: AWSAccessKeyId is set but AWSSecretKey= is missing or empty", path)
	}
	return creds, nil
}

// redact shortens a line that may hold a secret before it goes into a message.
func redact(line string) string {
	if len(line) > 12 {
		return line[:8] + "…"
	}
	return line
}
