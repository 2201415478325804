package cfnboot

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"go.uber.org/zap"

	"github.com/stackhand/stackhand/internal/awsenv"
)

// SignalOptions is cfn-signal's command line.
type SignalOptions struct {
	// Success is the signal's status: false when --exit-code is not 0 or --success is
	// false (aws-cfn-bootstrap bin/cfn-signal: a non-zero exit code wins).
	Success  bool
	ExitCode *int
	Reason   string
	Data     string
	// ID is the signal's UniqueId; "" means the instance id from IMDS, else the host
	// name, as cfn-signal's default.
	ID       string
	Stack    string
	Resource string
	AWS      AWSFlags
	// HandleURL is the WaitConditionHandle's presigned URL (the positional argument; a
	// base64-encoded URL is decoded, as cfn-signal does).
	HandleURL string
}

func signalOptions(o *SignalOptions, success, exit *string) []option {
	const wch, rs = "WaitConditionHandle signal", "Resource signal (CreationPolicy, UpdatePolicy WaitOnResourceSignals)"
	opts := []option{
		{short: 's', long: "success", arg: "true|false", help: "the signal: true for SUCCESS, false for FAILURE (default true)", set: str(success)},
		{short: 'e', long: "exit-code", arg: "CODE", help: "derive the signal from an exit code: 0 is SUCCESS, anything else FAILURE (wins over --success)", set: str(exit)},
		{short: 'i', long: "id", arg: "ID", help: "the signal's unique id (default: this instance's id from IMDS, else the host name)", set: str(&o.ID)},
		{short: 'r', long: "reason", arg: "TEXT", help: "the reason sent with the signal (default for a failure: Configuration failed.)", set: str(&o.Reason), section: wch},
		{short: 'd', long: "data", arg: "TEXT", help: "data sent with the signal, readable with Fn::GetAtt on the WaitCondition", set: str(&o.Data), section: wch},
		{long: "stack", arg: "STACK", help: "the stack's name or id", set: str(&o.Stack), section: rs},
		{long: "resource", arg: "LOGICAL_ID", help: "the logical id of the resource to signal", set: str(&o.Resource), section: rs},
	}
	return append(opts, awsOptions(&o.AWS, 'u')...)
}

// ParseSignalArgs parses cfn-signal's command line (without the program name).
func ParseSignalArgs(args []string) (SignalOptions, error) {
	o := SignalOptions{Success: true}
	success, exit := "true", ""
	pos, err := parseOptions(signalOptions(&o, &success, &exit), args)
	if err != nil {
		return o, err
	}
	switch strings.ToLower(success) {
	case "true":
	case "false":
		o.Success = false
	default:
		return o, usagef("--success %q: want true or false", success)
	}
	if exit != "" {
		n, err := strconv.Atoi(strings.TrimSpace(exit))
		if err != nil {
			return o, usagef("--exit-code %q: want an integer (the exit code of the step being reported, such as $?)", exit)
		}
		o.ExitCode = &n
		if n != 0 {
			o.Success = false
		}
	}
	if err := o.AWS.check(); err != nil {
		return o, err
	}
	if len(pos) > 1 {
		return o, usagef("one WaitConditionHandle URL at most; got %d arguments (quote the URL: it holds &)", len(pos))
	}
	if len(pos) == 1 {
		o.HandleURL = pos[0]
	}
	switch {
	case o.HandleURL != "" && o.Resource != "":
		return o, usagef("give either a WaitConditionHandle URL or --resource, not both")
	case o.HandleURL == "" && o.Resource == "":
		return o, usagef("nothing to signal: give --stack and --resource (a CreationPolicy), or a WaitConditionHandle URL")
	case o.Resource != "" && o.Stack == "":
		return o, usagef("--resource %s needs --stack, the stack it belongs to", o.Resource)
	}
	if o.HandleURL != "" {
		u, err := handleURL(o.HandleURL)
		if err != nil {
			return o, err
		}
		o.HandleURL = u
	}
	return o, nil
}

// handleURL accepts the URL, or the URL base64-encoded (bin/cfn-signal, signal_wch).
func handleURL(arg string) (string, error) {
	if isHTTPURL(arg) {
		return arg, nil
	}
	if b, err := base64.StdEncoding.DecodeString(arg); err == nil && isHTTPURL(string(b)) {
		return string(b), nil
	}
	return "", usagef("%q is not a WaitConditionHandle URL (want https://..., the handle's Ref)", redactURL(arg))
}

func isHTTPURL(s string) bool {
	return strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://")
}

// SignalHelp writes cfn-signal's help.
func SignalHelp(w io.Writer, prog string) {
	fmt.Fprintf(w, `Usage: %[1]s [--success true|false | --exit-code CODE] --stack STACK --resource LOGICAL_ID [options]
   or: %[1]s [--success true|false | --exit-code CODE] [--reason TEXT] [--data TEXT] WAIT_CONDITION_HANDLE_URL

stackhand's cfn-signal: tells CloudFormation whether this instance is ready.
With --stack and --resource it calls cloudformation:SignalResource (a CreationPolicy, or an
Auto Scaling group's UpdatePolicy with WaitOnResourceSignals); with a WaitConditionHandle's
URL it PUTs the JSON document AWS defines ({"Status","Reason","UniqueId","Data"}).
Failed attempts are retried with backoff (5 attempts; a 503 answer gets more), as
cfn-signal does; each attempt has a deadline.
`, prog)
	var o SignalOptions
	var s, e string
	printOptions(w, signalOptions(&o, &s, &e))
	fmt.Fprint(w, `
Exit codes:
  0  the signal was accepted
  1  it was not (the reason is printed): a wrong stack or resource, no permission, the
     handle expired, the network
  2  usage: an unknown flag, nothing to signal
`)
}

// cfn-signal's retries: 5 tries, before try i a wait drawn in [0, min(20, 2^i-1)) seconds;
// a 503 answer adds a try; a 4xx other than 404 and 408 is final; each try has 60
// seconds (cfnbootstrap/util.py retry_on_failure, exponential_backoff, _extract_http_error,
// timeout).
const (
	signalTries    = 5
	signalMaxTries = 15 // with the tries 503 answers add: the whole signal stays bounded
	signalTimeout  = 60 * time.Second
	maxBackoff     = 20 * time.Second
)

func backoffDelay(try int) time.Duration {
	bound := time.Duration(1<<min(try, 10)-1) * time.Second
	return time.Duration(rand.Float64() * float64(min(bound, maxBackoff)))
}

// Signal sends the signal opts describe.
func Signal(ctx context.Context, opts SignalOptions, env Env) error {
	if opts.ID == "" {
		opts.ID = defaultID(ctx, env)
	}
	status := "SUCCESS"
	if !opts.Success {
		status = "FAILURE"
	}
	log := env.log().With(zap.String("status", status), zap.String("unique_id", opts.ID))
	if opts.HandleURL != "" {
		if err := signalHandle(ctx, opts, status, env); err != nil {
			log.Warn("cfn-signal: the WaitConditionHandle signal failed", zap.String("url", redactURL(opts.HandleURL)), zap.Error(err))
			return err
		}
		log.Info("cfn-signal: WaitConditionHandle signaled", zap.String("url", redactURL(opts.HandleURL)))
		fmt.Fprintf(env.stdout(), "CloudFormation signaled successfully with %s.\n", status)
		return nil
	}
	if err := signalResource(ctx, opts, status, env); err != nil {
		log.Warn("cfn-signal: SignalResource failed", zap.String("stack", opts.Stack), zap.String("resource", opts.Resource), zap.Error(err))
		return err
	}
	log.Info("cfn-signal: resource signaled", zap.String("stack", opts.Stack), zap.String("resource", opts.Resource))
	return nil
}

// handleDoc is the document a WaitConditionHandle takes (AWS's "Using wait conditions"
// page: Status, Reason, UniqueId, Data).
type handleDoc struct {
	Status   string `json:"Status"`
	Reason   string `json:"Reason"`
	UniqueID string `json:"UniqueId"`
	Data     string `json:"Data"`
}

func signalHandle(ctx context.Context, opts SignalOptions, status string, env Env) error {
	reason := opts.Reason
	if reason == "" && status == "FAILURE" {
		reason = "Configuration failed." // bin/cfn-signal's default for a failure
	}
	body, err := json.Marshal(handleDoc{Status: status, Reason: reason, UniqueID: opts.ID, Data: opts.Data})
	if err != nil {
		return err
	}
	client := env.HTTP
	if client == nil {
		client, err = signalClient(opts.AWS)
		if err != nil {
			return err
		}
	}
	sleep := env.Sleep
	if sleep == nil {
		sleep = sleepCtx
	}
	tries := signalTries
	var last error
	for try := 0; try < tries; try++ {
		if try > 0 {
			if err := sleep(ctx, backoffDelay(try)); err != nil {
				return fmt.Errorf("%w (last attempt: %v)", err, last)
			}
		}
		code, err := putHandle(ctx, client, opts.HandleURL, body)
		if err == nil {
			return nil
		}
		last = err
		env.log().Info("cfn-signal: attempt failed", zap.Int("attempt", try+1), zap.Error(err))
		switch {
		case code == http.StatusServiceUnavailable:
			tries = min(tries+1, signalMaxTries)
		case code >= 400 && code < 500 && code != http.StatusNotFound && code != http.StatusRequestTimeout:
			return explainHandleError(code, err)
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%w (last attempt: %v)", ctx.Err(), last)
		}
	}
	return fmt.Errorf("gave up after %d attempts: %w", tries, last)
}

// putHandle makes one PUT. The document goes with an empty Content-Type, as AWS's page
// shows it (curl -H 'Content-Type:'): the presigned URL's signature covers the
// Content-Type, signed empty.
func putHandle(ctx context.Context, client *http.Client, url string, body []byte) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, signalTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, url, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("the WaitConditionHandle URL %s: %w", redactURL(url), err)
	}
	req.Header["Content-Type"] = []string{""}
	resp, err := client.Do(req)
	if err != nil {
		// The error quotes the URL, whose query is a signature: say it without.
		var ue interface{ Unwrap() error }
		if errors.As(err, &ue) && ue.Unwrap() != nil {
			err = ue.Unwrap()
		}
		return 0, fmt.Errorf("PUT %s: %w", redactURL(url), err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
	if resp.StatusCode/100 == 2 {
		return resp.StatusCode, nil
	}
	return resp.StatusCode, fmt.Errorf("PUT %s: HTTP %d: %s", redactURL(url), resp.StatusCode, strings.TrimSpace(string(msg)))
}

func explainHandleError(code int, err error) error {
	if code == http.StatusForbidden {
		return fmt.Errorf("%w: the handle's URL is refused: it expires 24 hours after the stack created it, and must be used as the template's Ref gives it", err)
	}
	return err
}

// signalClient is the HTTP client of the WaitConditionHandle PUT: a deadline on each
// step of the connection, and the proxies given.
func signalClient(f AWSFlags) (*http.Client, error) {
	o, err := f.options(nil)
	if err != nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Timeout: 10 * time.Second}).DialContext
	tr.TLSHandshakeTimeout = 10 * time.Second
	tr.ResponseHeaderTimeout = 30 * time.Second
	if o.Proxy != nil {
		tr.Proxy = o.Proxy
	}
	return &http.Client{Transport: tr, Timeout: signalTimeout}, nil
}

func signalResource(ctx context.Context, opts SignalOptions, status string, env Env) error {
	e, err := loadAWS(ctx, &opts.AWS, env)
	if err != nil {
		return err
	}
	_, err = e.CloudFormation().SignalResource(ctx, &cloudformation.SignalResourceInput{
		StackName:         aws.String(opts.Stack),
		LogicalResourceId: aws.String(opts.Resource),
		UniqueId:          aws.String(opts.ID),
		Status:            types.ResourceSignalStatus(status),
	}, func(o *cloudformation.Options) {
		// cfn-signal tries 5 times (retry_on_failure's default); the SDK's standard
		// retryer retries throttling, 5xx and connection errors with backoff.
		o.Retryer = retry.AddWithMaxAttempts(o.Retryer, signalTries)
	})
	if err == nil {
		return nil
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "does not exist"):
		return fmt.Errorf("stack %s or its resource %s does not exist (check --stack, --resource and --region): %w", opts.Stack, opts.Resource, err)
	case strings.Contains(msg, "is in") && strings.Contains(msg, "state"),
		strings.Contains(msg, "not expecting"):
		return fmt.Errorf("%s does not expect a signal now (no CreationPolicy, its timeout passed, or it already has its signals): %w", opts.Resource, err)
	}
	return awsenv.ExplainErr(err, "cloudformation:SignalResource")
}

// defaultID is cfn-signal's default UniqueId: the instance id, else the host name.
func defaultID(ctx context.Context, env Env) string {
	get := env.InstanceID
	if get == nil {
		get = imdsInstanceID
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if id, err := get(ctx); err == nil && id != "" {
		return id
	} else {
		env.log().Info("cfn-signal: no instance id from IMDS; the signal's id is the host name", zap.Error(err))
	}
	h, _ := os.Hostname()
	return h
}

// imdsInstanceID reads the instance id over IMDSv2; AWS_EC2_METADATA_SERVICE_ENDPOINT
// overrides the endpoint, as for the agent.
func imdsInstanceID(ctx context.Context) (string, error) {
	o := imds.Options{EnableFallback: aws.FalseTernary}
	if ep := os.Getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT"); ep != "" {
		o.Endpoint = ep
	}
	return awsenv.ReadMetadata(ctx, imds.New(o), "instance-id")
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
