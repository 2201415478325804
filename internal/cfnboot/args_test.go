package cfnboot

import (
	"encoding/base64"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseInitArgs(t *testing.T) {
	base := []string{"--stack", "app", "--resource", "Web"}
	tests := []struct {
		name string
		args []string
		want InitOptions
	}{
		{"long with space", []string{"--stack", "app", "--resource", "Web", "--region", "eu-west-1"},
			InitOptions{Stack: "app", Resource: "Web", AWS: AWSFlags{Region: "eu-west-1"}}},
		{"long with =", []string{"--stack=app", "--resource=Web", "--region=eu-west-1"},
			InitOptions{Stack: "app", Resource: "Web", AWS: AWSFlags{Region: "eu-west-1"}}},
		{"short with space", []string{"-s", "app", "-r", "Web"}, InitOptions{Stack: "app", Resource: "Web"}},
		{"short glued", []string{"-sapp", "-rWeb"}, InitOptions{Stack: "app", Resource: "Web"}},
		{"switch cluster with a value", []string{"-vs", "app", "-r", "Web"}, InitOptions{Stack: "app", Resource: "Web", Verbose: true}},
		{"long prefix", []string{"--sta", "app", "--reso", "Web", "--verb"}, InitOptions{Stack: "app", Resource: "Web", Verbose: true}},
		{"configsets", append(base, "-c", "a, b,c"), InitOptions{Stack: "app", Resource: "Web", ConfigSets: []string{"a", "b", "c"}}},
		{"configsets long", append(base, "--configsets=one"), InitOptions{Stack: "app", Resource: "Web", ConfigSets: []string{"one"}}},
		{"url", append(base, "-u", "https://cfn.example"), InitOptions{Stack: "app", Resource: "Web", AWS: AWSFlags{URL: "https://cfn.example"}}},
		{"url long", append(base, "--url=https://cfn.example"), InitOptions{Stack: "app", Resource: "Web", AWS: AWSFlags{URL: "https://cfn.example"}}},
		{"role", append(base, "--role", "WebRole"), InitOptions{Stack: "app", Resource: "Web", AWS: AWSFlags{Role: "WebRole"}}},
		{"credential file", append(base, "-f", "/root/creds"), InitOptions{Stack: "app", Resource: "Web", AWS: AWSFlags{CredentialFile: "/root/creds"}}},
		{"credential file long", append(base, "--credential-file=/root/creds"), InitOptions{Stack: "app", Resource: "Web", AWS: AWSFlags{CredentialFile: "/root/creds"}}},
		{"keys", append(base, "--access-key", "AK", "--secret-key=SK"), InitOptions{Stack: "app", Resource: "Web", AWS: AWSFlags{AccessKey: "AK", SecretKey: "SK"}}},
		{"proxies", append(base, "--http-proxy", "proxy:3128", "--https-proxy=https://p:443"),
			InitOptions{Stack: "app", Resource: "Web", AWS: AWSFlags{HTTPProxy: "proxy:3128", HTTPSProxy: "https://p:443"}}},
		{"verbose long", append(base, "--verbose"), InitOptions{Stack: "app", Resource: "Web", Verbose: true}},
		{"resume alone", []string{"--resume"}, InitOptions{Resume: true}},
		{"metadata", []string{"--metadata", "init.json", "-c", "x"}, InitOptions{MetadataFile: "init.json", ConfigSets: []string{"x"}}},
		{"metadata =", []string{"--metadata=init.json"}, InitOptions{MetadataFile: "init.json"}},
		{"positional file, as cfn-init", []string{"init.json"}, InitOptions{MetadataFile: "init.json"}},
		{"stdin", []string{"-v", "-"}, InitOptions{MetadataFile: "-", Verbose: true}},
		{"flags after the file", []string{"init.json", "-v"}, InitOptions{MetadataFile: "init.json", Verbose: true}},
		{"-- ends the flags", []string{"--", "-odd.json"}, InitOptions{MetadataFile: "-odd.json"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseInitArgs(tc.args)
			if err != nil {
				t.Fatalf("ParseInitArgs(%q): %v", tc.args, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ParseInitArgs(%q)\n got %+v\nwant %+v", tc.args, got, tc.want)
			}
		})
	}
}

func TestParseInitArgsErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--stack", "app"}, "give --stack and --resource"},
		{[]string{"-r", "Web"}, "give --stack and --resource"},
		{nil, "give --stack and --resource"},
		{[]string{"-s", "app", "-r", "Web", "--metadata", "f"}, "not both"},
		{[]string{"--metadata", "f", "g"}, "given twice"},
		{[]string{"a", "b"}, "one metadata file at most"},
		{[]string{"-s", "app", "-r", "Web", "--bogus"}, "no such option: --bogus"},
		{[]string{"-s", "app", "-r", "Web", "-x"}, "no such option: -x"},
		{[]string{"-s"}, "-s requires a value"},
		{[]string{"-s", "app", "--resource"}, "--resource requires a value"},
		{[]string{"-s", "app", "-r", "Web", "--verbose=yes"}, "takes no value"},
		{[]string{"-s", "app", "-r", "Web", "--re", "x"}, "ambiguous option: --re"},
		{[]string{"-s", "app", "-r", "Web", "-c", ","}, "names no configSet"},
		{[]string{"-s", "app", "-r", "Web", "--access-key", "AK"}, "go together"},
		{[]string{"-s", "app", "-r", "Web", "--secret-key", "SK"}, "go together"},
	}
	for _, tc := range tests {
		_, err := ParseInitArgs(tc.args)
		var ue *UsageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseInitArgs(%q): err %v, want a usage error saying %q", tc.args, err, tc.want)
		}
	}
	for _, h := range []string{"-h", "--help"} {
		if _, err := ParseInitArgs([]string{"-s", "x", h}); !errors.Is(err, ErrHelp) {
			t.Errorf("%s: err %v, want ErrHelp", h, err)
		}
	}
}

// A usage error never repeats the secret key.
func TestParseArgsErrorsHideSecrets(t *testing.T) {
	_, err := ParseInitArgs([]string{"--secret-key", "S3CR3TVALUE", "-s", "a"})
	if err == nil || strings.Contains(err.Error(), "S3CR3TVALUE") {
		t.Errorf("err %v: want an error without the secret", err)
	}
}

func intp(n int) *int { return &n }

func TestParseSignalArgs(t *testing.T) {
	const wch = "https://cloudformation-waitcondition-us-east-1.s3.amazonaws.com/arn%3Aaws%3A/WaitHandle?X-Amz-Signature=abc&X-Amz-Expires=86399"
	rs := []string{"--stack", "app", "--resource", "Web"}
	tests := []struct {
		name string
		args []string
		want SignalOptions
	}{
		{"resource, default success", rs, SignalOptions{Success: true, Stack: "app", Resource: "Web"}},
		{"-e 0", append([]string{"-e", "0"}, rs...), SignalOptions{Success: true, ExitCode: intp(0), Stack: "app", Resource: "Web"}},
		{"--exit-code=1 wins over --success true", append([]string{"--exit-code=1", "-s", "true"}, rs...),
			SignalOptions{Success: false, ExitCode: intp(1), Stack: "app", Resource: "Web"}},
		{"-e glued", append([]string{"-e3"}, rs...), SignalOptions{Success: false, ExitCode: intp(3), Stack: "app", Resource: "Web"}},
		{"--success false", append([]string{"--success", "false"}, rs...), SignalOptions{Success: false, Stack: "app", Resource: "Web"}},
		{"-s false", append([]string{"-s", "false"}, rs...), SignalOptions{Success: false, Stack: "app", Resource: "Web"}},
		{"id, region, url, role", append([]string{"-i", "i-1", "--region", "eu-west-1", "-u", "https://cfn", "--role", "R"}, rs...),
			SignalOptions{Success: true, ID: "i-1", Stack: "app", Resource: "Web", AWS: AWSFlags{Region: "eu-west-1", URL: "https://cfn", Role: "R"}}},
		{"--id= --url=", append([]string{"--id=i-2", "--url=https://cfn"}, rs...),
			SignalOptions{Success: true, ID: "i-2", Stack: "app", Resource: "Web", AWS: AWSFlags{URL: "https://cfn"}}},
		{"credentials and proxies", append([]string{"-f", "/c", "--access-key", "A", "--secret-key", "S", "--http-proxy", "h:1", "--https-proxy", "s:2"}, rs...),
			SignalOptions{Success: true, Stack: "app", Resource: "Web", AWS: AWSFlags{CredentialFile: "/c", AccessKey: "A", SecretKey: "S", HTTPProxy: "h:1", HTTPSProxy: "s:2"}}},
		{"handle", []string{"-e", "0", "-r", "done", "-d", "v1", wch},
			SignalOptions{Success: true, ExitCode: intp(0), Reason: "done", Data: "v1", HandleURL: wch}},
		{"handle, long flags after", []string{wch, "--reason=done", "--data=v1", "--success=false"},
			SignalOptions{Success: false, Reason: "done", Data: "v1", HandleURL: wch}},
		{"handle base64", []string{base64URL(wch)}, SignalOptions{Success: true, HandleURL: wch}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseSignalArgs(tc.args)
			if err != nil {
				t.Fatalf("ParseSignalArgs(%q): %v", tc.args, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ParseSignalArgs(%q)\n got %+v\nwant %+v", tc.args, got, tc.want)
			}
		})
	}
	errs := []struct {
		args []string
		want string
	}{
		{nil, "nothing to signal"},
		{[]string{"--resource", "Web"}, "needs --stack"},
		{[]string{"--stack", "a", "--resource", "Web", wch}, "not both"},
		{[]string{wch, wch}, "one WaitConditionHandle URL at most"},
		{[]string{"not-a-url"}, "is not a WaitConditionHandle URL"},
		{[]string{"-e", "x", wch}, "--exit-code \"x\""},
		{[]string{"-s", "maybe", wch}, "--success \"maybe\""},
		{[]string{"--bogus", wch}, "no such option"},
	}
	for _, tc := range errs {
		_, err := ParseSignalArgs(tc.args)
		var ue *UsageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseSignalArgs(%q): err %v, want a usage error saying %q", tc.args, err, tc.want)
		}
	}
}

func TestParseGetMetadataArgs(t *testing.T) {
	got, err := ParseGetMetadataArgs([]string{"-s", "app", "--resource=Web", "-k", "a.b", "--region", "us-east-2", "-u", "https://cfn", "-v",
		"-f", "/c", "--role", "R", "--access-key", "A", "--secret-key", "S", "--http-proxy", "h:1", "--https-proxy=s:2"})
	want := GetMetadataOptions{Stack: "app", Resource: "Web", Key: "a.b", Verbose: true,
		AWS: AWSFlags{Region: "us-east-2", URL: "https://cfn", CredentialFile: "/c", Role: "R", AccessKey: "A", SecretKey: "S", HTTPProxy: "h:1", HTTPSProxy: "s:2"}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, %v\nwant %+v", got, err, want)
	}
	got, err = ParseGetMetadataArgs([]string{"--stack=app", "-rWeb", "--key=x"})
	if err != nil || got.Stack != "app" || got.Resource != "Web" || got.Key != "x" {
		t.Errorf("got %+v, %v", got, err)
	}
	for _, args := range [][]string{{"-s", "app"}, {"-r", "Web"}, {"-s", "a", "-r", "b", "extra"}} {
		var ue *UsageError
		if _, err := ParseGetMetadataArgs(args); !errors.As(err, &ue) {
			t.Errorf("ParseGetMetadataArgs(%q): err %v, want a usage error", args, err)
		}
	}
}

func base64URL(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestDropInName(t *testing.T) {
	for argv0, want := range map[string]string{
		"cfn-init": "cfn-init", "/opt/aws/bin/cfn-init": "cfn-init", "/usr/local/bin/cfn-signal": "cfn-signal",
		`C:\Program Files\Amazon\cfn-bootstrap\cfn-init.exe`: "cfn-init", `CFN-GET-METADATA.EXE`: "cfn-get-metadata",
		"/usr/bin/stackhand": "", "cfn-init-old": "", "cfn-hup": "", "": "", "/opt/aws/bin/cfn-init.sh": "",
	} {
		if got := DropInName(argv0); got != want {
			t.Errorf("DropInName(%q) = %q, want %q", argv0, got, want)
		}
	}
}
