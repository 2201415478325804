package awsenv

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	smithyauth "github.com/aws/smithy-go/auth"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"go.uber.org/zap"
)

// The CFN_V1 scheme: cfn-hup, on an instance without credentials, signs its
// CloudFormation calls with the instance identity document instead of SigV4.
// aws-cfn-bootstrap 1.4 cfnbootstrap/aws_client.py, CFNSigner.sign:
//
//	document = util.get_instance_identity_document()
//	signature = util.get_instance_identity_signature()
//	new_headers['Authorization'] = 'CFN_V1 %s:%s' % (base64.b64encode(document), signature.replace('\n', ''))
//
// and cfnbootstrap/util.py reads both from IMDS with trailing whitespace stripped:
//
//	requests.get('http://169.254.169.254/latest/dynamic/instance-identity/document').text.rstrip()
//	requests.get('http://169.254.169.254/latest/dynamic/instance-identity/signature').text.rstrip()
//
// (mirrors IvanAnishchuk/aws-cfn-bootstrap and mesosphere-backup/aws-cfn-bootstrap). So
// the signature part is IMDS's dynamic/instance-identity/signature (the base64 RSA
// signature of the document), not the PKCS7 blob at .../pkcs7, which some descriptions of
// the scheme name. stackhand follows the code.
const (
	identityDocumentPath  = "instance-identity/document"
	identitySignaturePath = "instance-identity/signature"
)

// Signing schemes, for the log line that says which one is in use.
const (
	schemeUnknown = iota
	schemeSigV4
	schemeCFNV1
)

// cfnV1Auth decides, request by request, whether CloudFormation calls are signed with
// SigV4 or carry the CFN_V1 header, and holds the cached identity document.
type cfnV1Auth struct {
	creds aws.CredentialsProvider
	imds  identityGetter
	log   *zap.Logger

	mu     sync.Mutex
	scheme int    // last scheme used, to log each change once
	header string // cached CFN_V1 header value; "" when not fetched or dropped
}

// identityGetter is the part of the IMDS client CFN_V1 needs.
type identityGetter interface {
	GetDynamicData(ctx context.Context, in *imds.GetDynamicDataInput, optFns ...func(*imds.Options)) (*imds.GetDynamicDataOutput, error)
}

// useCFNV1 retrieves credentials and says whether there are none at all. A failure of
// another kind (IMDS unreachable, a refused token) keeps SigV4, so that the request
// fails with that error and the caller reports it, rather than hiding it behind CFN_V1.
func (a *cfnV1Auth) useCFNV1(ctx context.Context) bool {
	scheme := schemeSigV4
	var source string
	if a.creds == nil {
		scheme = schemeCFNV1
	} else if c, err := a.creds.Retrieve(ctx); err != nil {
		if IsNoCredentials(err) {
			scheme = schemeCFNV1
		}
	} else {
		source = c.Source
	}
	a.mu.Lock()
	changed := a.scheme != scheme
	a.scheme = scheme
	a.mu.Unlock()
	if changed {
		if scheme == schemeCFNV1 {
			a.log.Info("no AWS credentials on this instance: CloudFormation requests carry the instance identity document (CFN_V1), as cfn-hup does")
		} else if source != "" {
			a.log.Info("CloudFormation requests are signed with SigV4", zap.String("credentials", source))
		}
	}
	return scheme == schemeCFNV1
}

// headerValue returns the CFN_V1 Authorization value, fetching the document and its
// signature from IMDS the first time and after a failure.
func (a *cfnV1Auth) headerValue(ctx context.Context) (string, error) {
	a.mu.Lock()
	h := a.header
	a.mu.Unlock()
	if h != "" {
		return h, nil
	}
	doc, err := a.dynamic(ctx, identityDocumentPath)
	if err != nil {
		return "", err
	}
	sig, err := a.dynamic(ctx, identitySignaturePath)
	if err != nil {
		return "", err
	}
	h = CFNV1Authorization([]byte(doc), sig)
	a.mu.Lock()
	a.header = h
	a.mu.Unlock()
	return h, nil
}

// drop forgets the cached document, so the next request fetches it again.
func (a *cfnV1Auth) drop() {
	a.mu.Lock()
	a.header = ""
	a.mu.Unlock()
}

func (a *cfnV1Auth) dynamic(ctx context.Context, path string) (string, error) {
	b, err := readDynamic(ctx, a.imds, path)
	if err != nil {
		return "", fmt.Errorf("CFN_V1: read IMDS dynamic/%s: %w", path, err)
	}
	return strings.TrimRight(string(b), " \t\r\n"), nil
}

// readDynamic reads one IMDS dynamic-data path (at most 1 MiB).
func readDynamic(ctx context.Context, md identityGetter, path string) ([]byte, error) {
	out, err := md.GetDynamicData(ctx, &imds.GetDynamicDataInput{Path: path})
	if err != nil {
		return nil, err
	}
	defer out.Content.Close()
	return io.ReadAll(io.LimitReader(out.Content, 1<<20))
}

// CFNV1Authorization returns cfn-hup's CFN_V1 Authorization header value for an instance
// identity document and its signature: "CFN_V1 <base64 document>:<signature without
// newlines>".
func CFNV1Authorization(document []byte, signature string) string {
	return "CFN_V1 " + base64.StdEncoding.EncodeToString(document) + ":" + strings.ReplaceAll(signature, "\n", "")
}

// cfnAuthResolver chooses the anonymous auth scheme (no SigV4) when the instance has no
// credentials, and otherwise what the client would choose.
type cfnAuthResolver struct {
	inner cloudformation.AuthSchemeResolver
	auth  *cfnV1Auth
}

func (r *cfnAuthResolver) ResolveAuthSchemes(ctx context.Context, p *cloudformation.AuthResolverParameters) ([]*smithyauth.Option, error) {
	if r.auth.useCFNV1(ctx) {
		return []*smithyauth.Option{{SchemeID: smithyauth.SchemeIDAnonymous}}, nil
	}
	return r.inner.ResolveAuthSchemes(ctx, p)
}

// addMiddleware adds the step that sets the CFN_V1 header on a request the anonymous
// scheme left unsigned. It runs after signing, once per attempt.
func (a *cfnV1Auth) addMiddleware(stack *middleware.Stack) error {
	return stack.Finalize.Insert(middleware.FinalizeMiddlewareFunc("StackhandCFNV1",
		func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			req, ok := in.Request.(*smithyhttp.Request)
			if !ok || req.Header.Get("Authorization") != "" {
				return next.HandleFinalize(ctx, in)
			}
			a.mu.Lock()
			cfnv1 := a.scheme == schemeCFNV1
			a.mu.Unlock()
			if !cfnv1 {
				return next.HandleFinalize(ctx, in)
			}
			h, err := a.headerValue(ctx)
			if err != nil {
				return middleware.FinalizeOutput{}, middleware.Metadata{}, err
			}
			req.Header.Set("Authorization", h)
			out, md, err := next.HandleFinalize(ctx, in)
			if st := httpStatus(err); st == 401 || st == 403 {
				// The document may have changed (a stopped and started instance keeps
				// its id but not necessarily its document): fetch it again next time.
				a.drop()
			}
			return out, md, err
		}), "Signing", middleware.After)
}

// IsNoCredentials reports whether err says there are no AWS credentials at all: no role
// in IMDS (iam/security-credentials/ answers 404 or an empty list) or empty static
// credentials. IMDS being unreachable, or refusing a token, is a different failure.
func IsNoCredentials(err error) bool {
	if err == nil {
		return false
	}
	var empty *credentials.StaticCredentialsEmptyError
	if errors.As(err, &empty) {
		return true
	}
	if isTokenFailure(err) {
		return false
	}
	msg := err.Error()
	if strings.Contains(msg, "unexpected empty EC2 IMDS role list") {
		return true
	}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() == 404 && strings.Contains(msg, "EC2 IMDS role") {
		return true
	}
	return false
}
