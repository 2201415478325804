package awsfake

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/smithy-go/encoding/cbor"
)

// wireLog is an HTTP client that records the headers of what the SDK sends.
type wireLog struct {
	mu   sync.Mutex
	sent []http.Header
}

func (l *wireLog) Do(r *http.Request) (*http.Response, error) {
	l.mu.Lock()
	l.sent = append(l.sent, r.Header.Clone())
	l.mu.Unlock()
	return http.DefaultClient.Do(r)
}

func (l *wireLog) last() http.Header {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.sent[len(l.sent)-1]
}

func newCloudWatch(srv *Server, maxAttempts int) (*cloudwatch.Client, *wireLog) {
	cfg := sdkConfig(srv, maxAttempts)
	wire := &wireLog{}
	cfg.HTTPClient = wire
	return cloudwatch.NewFromConfig(cfg), wire
}

func TestPutMetricDataStored(t *testing.T) {
	srv := Start(t)
	cw, wire := newCloudWatch(srv, 1)
	ts := time.Now().Add(-time.Minute).Truncate(time.Millisecond).UTC()
	_, err := cw.PutMetricData(ctx(t), &cloudwatch.PutMetricDataInput{
		Namespace: aws.String("Stackhand"),
		MetricData: []types.MetricDatum{
			{
				MetricName: aws.String("HooksRun"),
				Dimensions: []types.Dimension{{Name: aws.String("Stack"), Value: aws.String("app")}, {Name: aws.String("Hook"), Value: aws.String("web")}},
				Timestamp:  aws.Time(ts), Value: aws.Float64(3), Unit: types.StandardUnitCount, StorageResolution: aws.Int32(1),
			},
			{
				MetricName:      aws.String("HookSeconds"),
				StatisticValues: &types.StatisticSet{SampleCount: aws.Float64(4), Sum: aws.Float64(10), Minimum: aws.Float64(1), Maximum: aws.Float64(4)},
				Unit:            types.StandardUnitSeconds,
			},
			{MetricName: aws.String("Latency"), Values: []float64{0.5, 2}, Counts: []float64{3, 1}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	// With a literal aws.Config, RequestMinCompressSizeBytes is 0, so the SDK
	// gzips every PutMetricData body (LoadDefaultConfig sets 10240).
	if h := wire.last(); h.Get("Content-Encoding") != "gzip" || h.Get("Smithy-Protocol") != "rpc-v2-cbor" {
		t.Errorf("request headers %v", h)
	}
	got := srv.MetricData()
	if len(got) != 3 {
		t.Fatalf("data %+v", got)
	}
	d := got[0]
	if d.Namespace != "Stackhand" || d.MetricName != "HooksRun" || d.Value == nil || *d.Value != 3 || d.Unit != "Count" ||
		!d.Timestamp.Equal(ts) || d.StorageResolution != 1 || d.Received.IsZero() ||
		!slices.Equal(d.Dimensions, []Dimension{{"Stack", "app"}, {"Hook", "web"}}) {
		t.Errorf("first datum %+v", d)
	}
	if d := got[1]; d.StatisticValues == nil || *d.StatisticValues != (StatisticSet{4, 10, 1, 4}) || d.Value != nil ||
		d.StorageResolution != 60 || !d.Timestamp.IsZero() {
		t.Errorf("second datum %+v", d)
	}
	if d := got[2]; !slices.Equal(d.Values, []float64{0.5, 2}) || !slices.Equal(d.Counts, []float64{3, 1}) || d.Unit != "" {
		t.Errorf("third datum %+v", d)
	}
	// MetricData is a copy.
	*got[0].Value = 99
	if *srv.MetricData()[0].Value != 3 {
		t.Error("MetricData shares its values")
	}
	log := srv.CallLog()
	if len(log) != 1 || log[0].Service != "monitoring" || log[0].Action != "PutMetricData" || log[0].Status != 200 ||
		log[0].Input["Namespace"] != "Stackhand" || len(log[0].Input["MetricData"].([]any)) != 3 {
		t.Errorf("call log %+v", log)
	}
	if srv.Calls("monitoring", "PutMetricData") != 1 {
		t.Errorf("calls %v", srv.CallCounts())
	}
	srv.ResetCalls()
	if len(srv.MetricData()) != 0 {
		t.Error("ResetCalls kept the metric data")
	}
}

func datums(n int) []types.MetricDatum {
	out := make([]types.MetricDatum, n)
	for i := range out {
		out[i] = types.MetricDatum{MetricName: aws.String(fmt.Sprintf("m%d", i)), Value: aws.Float64(float64(i))}
	}
	return out
}

func dims(n, valueLen int) []types.Dimension {
	out := make([]types.Dimension, n)
	for i := range out {
		out[i] = types.Dimension{Name: aws.String(fmt.Sprintf("d%d", i)), Value: aws.String(strings.Repeat("v", valueLen))}
	}
	return out
}

func stats(n, sum, lo, hi float64) *types.StatisticSet {
	return &types.StatisticSet{SampleCount: aws.Float64(n), Sum: aws.Float64(sum), Minimum: aws.Float64(lo), Maximum: aws.Float64(hi)}
}

// TestPutMetricDataLimits checks each limit at its edge: the last accepted
// value passes, the first rejected one fails with the code AWS answers.
func TestPutMetricDataLimits(t *testing.T) {
	srv := Start(t)
	cw, _ := newCloudWatch(srv, 1)
	one := func(d types.MetricDatum) []types.MetricDatum {
		if d.MetricName == nil {
			d.MetricName = aws.String("m")
		}
		return []types.MetricDatum{d}
	}
	// 1000 datums with one 1024-character dimension value come to more than
	// 1 MiB of CBOR; 900 do not.
	big := func(n int) []types.MetricDatum {
		d := datums(n)
		for i := range d {
			d[i].Dimensions = dims(1, 1024)
		}
		return d
	}
	now := time.Now()
	tests := []struct {
		name string
		ns   string
		data []types.MetricDatum
		code string // "" when accepted
	}{
		{"1000 datums", "App", datums(1000), ""},
		{"1001 datums", "App", datums(1001), "InvalidParameterValue"},
		{"under 1 MiB", "App", big(900), ""},
		{"over 1 MiB", "App", big(1000), "RequestEntityTooLarge"},
		{"30 dimensions", "App", one(types.MetricDatum{Value: aws.Float64(1), Dimensions: dims(30, 10)}), ""},
		{"31 dimensions", "App", one(types.MetricDatum{Value: aws.Float64(1), Dimensions: dims(31, 10)}), "InvalidParameterValue"},
		{"dimension value of 1024", "App", one(types.MetricDatum{Value: aws.Float64(1), Dimensions: dims(1, 1024)}), ""},
		{"dimension value of 1025", "App", one(types.MetricDatum{Value: aws.Float64(1), Dimensions: dims(1, 1025)}), "InvalidParameterValue"},
		{"empty dimension value", "App", one(types.MetricDatum{Value: aws.Float64(1), Dimensions: dims(1, 0)}), "InvalidParameterValue"},
		{"150 values", "App", one(types.MetricDatum{Values: make([]float64, 150)}), ""},
		{"151 values", "App", one(types.MetricDatum{Values: make([]float64, 151)}), "InvalidParameterValue"},
		{"counts shorter than values", "App", one(types.MetricDatum{Values: []float64{1, 2}, Counts: []float64{1}}), "InvalidParameterValue"},
		{"statistic set", "App", one(types.MetricDatum{StatisticValues: stats(2, 3, 1, 2)}), ""},
		{"minimum above maximum", "App", one(types.MetricDatum{StatisticValues: stats(2, 3, 2, 1)}), "InvalidParameterValue"},
		{"sample count 0", "App", one(types.MetricDatum{StatisticValues: stats(0, 0, 0, 0)}), "InvalidParameterValue"},
		{"sum beyond count*maximum", "App", one(types.MetricDatum{StatisticValues: stats(2, 5, 1, 2)}), "InvalidParameterValue"},
		{"value and statistic set", "App", one(types.MetricDatum{Value: aws.Float64(1), StatisticValues: stats(1, 1, 1, 1)}), "InvalidParameterCombination"},
		{"value and values", "App", one(types.MetricDatum{Value: aws.Float64(1), Values: []float64{1}}), "InvalidParameterCombination"},
		{"no value", "App", one(types.MetricDatum{}), "MissingParameter"},
		{"storage resolution 1", "App", one(types.MetricDatum{Value: aws.Float64(1), StorageResolution: aws.Int32(1)}), ""},
		{"storage resolution 5", "App", one(types.MetricDatum{Value: aws.Float64(1), StorageResolution: aws.Int32(5)}), "InvalidParameterValue"},
		{"NaN", "App", one(types.MetricDatum{Value: aws.Float64(math.NaN())}), "InvalidParameterValue"},
		{"2^360", "App", one(types.MetricDatum{Value: aws.Float64(math.Ldexp(1, 360))}), ""},
		{"beyond 2^360", "App", one(types.MetricDatum{Value: aws.Float64(math.Ldexp(1, 361))}), "InvalidParameterValue"},
		{"unknown unit", "App", one(types.MetricDatum{Value: aws.Float64(1), Unit: "Furlongs"}), "InvalidParameterValue"},
		{"AWS/ namespace", "AWS/EC2", one(types.MetricDatum{Value: aws.Float64(1)}), "InvalidParameterValue"},
		{"empty metric name", "App", one(types.MetricDatum{MetricName: aws.String(""), Value: aws.Float64(1)}), "InvalidParameterValue"},
		{"metric name of 255", "App", one(types.MetricDatum{MetricName: aws.String(strings.Repeat("n", 255)), Value: aws.Float64(1)}), ""},
		{"metric name of 256", "App", one(types.MetricDatum{MetricName: aws.String(strings.Repeat("n", 256)), Value: aws.Float64(1)}), "InvalidParameterValue"},
		{"13 days old", "App", one(types.MetricDatum{Value: aws.Float64(1), Timestamp: aws.Time(now.Add(-13 * 24 * time.Hour))}), ""},
		{"15 days old", "App", one(types.MetricDatum{Value: aws.Float64(1), Timestamp: aws.Time(now.Add(-15 * 24 * time.Hour))}), "InvalidParameterValue"},
		{"1 hour ahead", "App", one(types.MetricDatum{Value: aws.Float64(1), Timestamp: aws.Time(now.Add(time.Hour))}), ""},
		{"3 hours ahead", "App", one(types.MetricDatum{Value: aws.Float64(1), Timestamp: aws.Time(now.Add(3 * time.Hour))}), "InvalidParameterValue"},
	}
	// Where one check implies another, the message tells which one answered.
	wantMsg := map[string]string{
		"minimum above maximum":    "must be less than or equal to",
		"sum beyond count*maximum": "Sum (5)",
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv.ResetCalls()
			_, err := cw.PutMetricData(ctx(t), &cloudwatch.PutMetricDataInput{Namespace: aws.String(tt.ns), MetricData: tt.data})
			stored := len(srv.MetricData())
			if tt.code == "" {
				if err != nil || stored != len(tt.data) {
					t.Fatalf("want accepted, got %v with %d of %d datums stored", err, stored, len(tt.data))
				}
				return
			}
			if code, msg := apiCode(t, err); code != tt.code || !strings.Contains(msg, wantMsg[tt.name]) {
				t.Errorf("got %s %q, want %s", code, msg, tt.code)
			}
			if stored != 0 {
				t.Errorf("a rejected request stored %d datums", stored)
			}
		})
	}
}

// TestCloudWatchErrorTypes checks that the SDK turns the stand-in's errors
// into the modelled error types with their query codes.
func TestCloudWatchErrorTypes(t *testing.T) {
	srv := Start(t)
	cw, _ := newCloudWatch(srv, 1)
	_, err := cw.PutMetricData(ctx(t), &cloudwatch.PutMetricDataInput{Namespace: aws.String("AWS/EC2"), MetricData: datums(1)})
	var ipv *types.InvalidParameterValueException
	if !errors.As(err, &ipv) || ipv.ErrorCode() != "InvalidParameterValue" || ipv.ErrorMessage() != "The value AWS/EC2 for parameter Namespace is invalid." {
		t.Errorf("got %T %v", err, err)
	}
	_, err = cw.DeleteAlarms(ctx(t), &cloudwatch.DeleteAlarmsInput{AlarmNames: []string{"none"}})
	var rnf *types.ResourceNotFound
	if !errors.As(err, &rnf) || rnf.ErrorCode() != "ResourceNotFound" {
		t.Errorf("got %T %v", err, err)
	}
	srv.SetFaults(Faults{ServerErrorRate: 1})
	_, err = cw.DescribeAlarms(ctx(t), &cloudwatch.DescribeAlarmsInput{})
	var isf *types.InternalServiceFault
	if !errors.As(err, &isf) || isf.ErrorCode() != "InternalServiceError" || isf.ErrorMessage() != "Internal service error" {
		t.Errorf("got %T %v", err, err)
	}
}

func TestCloudWatchThrottle(t *testing.T) {
	srv := Start(t)
	srv.SetFaults(Faults{ThrottleRate: 1, Only: map[string]bool{"monitoring:PutMetricData": true}})
	cw, _ := newCloudWatch(srv, 3)
	_, err := cw.PutMetricData(ctx(t), &cloudwatch.PutMetricDataInput{Namespace: aws.String("App"), MetricData: datums(2)})
	var maxErr *retry.MaxAttemptsError
	if !errors.As(err, &maxErr) || maxErr.Attempt != 3 {
		t.Errorf("want MaxAttemptsError after 3 attempts, got %v", err)
	}
	if code, msg := apiCode(t, err); code != "Throttling" || msg != "Rate exceeded" {
		t.Errorf("got %s %q", code, msg)
	}
	if retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err) != aws.TrueTernary {
		t.Errorf("the SDK does not classify %v as a throttle", err)
	}
	if n := srv.Calls("monitoring", "PutMetricData"); n != 3 {
		t.Errorf("%d attempts, want 3", n)
	}
	if len(srv.MetricData()) != 0 {
		t.Error("throttled calls stored data")
	}

	// Half the calls throttled: the SDK's retries get every call through.
	srv.SetFaults(Faults{Seed: 3, ThrottleRate: 0.5})
	cw, _ = newCloudWatch(srv, 10)
	for range 10 {
		if _, err := cw.PutMetricData(ctx(t), &cloudwatch.PutMetricDataInput{Namespace: aws.String("App"), MetricData: datums(1)}); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(srv.MetricData()); n != 10 {
		t.Errorf("%d datums stored, want 10", n)
	}
}

func TestAlarmsRoundTrip(t *testing.T) {
	srv := Start(t)
	cw, _ := newCloudWatch(srv, 1)
	put := func(name string, threshold float64, tags ...types.Tag) error {
		_, err := cw.PutMetricAlarm(ctx(t), &cloudwatch.PutMetricAlarmInput{
			AlarmName:          aws.String(name),
			AlarmDescription:   aws.String("hooks failing on " + name),
			Namespace:          aws.String("Stackhand"),
			MetricName:         aws.String("HookFailures"),
			Dimensions:         []types.Dimension{{Name: aws.String("Stack"), Value: aws.String("app")}},
			Statistic:          types.StatisticSum,
			Period:             aws.Int32(60),
			EvaluationPeriods:  aws.Int32(5),
			DatapointsToAlarm:  aws.Int32(3),
			Threshold:          aws.Float64(threshold),
			ComparisonOperator: types.ComparisonOperatorGreaterThanOrEqualToThreshold,
			TreatMissingData:   aws.String("notBreaching"),
			AlarmActions:       []string{"arn:aws:sns:us-east-1:123456789012:ops"},
			OKActions:          []string{"arn:aws:sns:us-east-1:123456789012:ok"},
			ActionsEnabled:     aws.Bool(false),
			Tags:               tags,
		})
		return err
	}
	if err := put("app-hooks", 1, types.Tag{Key: aws.String("team"), Value: aws.String("infra")}); err != nil {
		t.Fatal(err)
	}
	// Replacing keeps the tags the alarm was created with.
	if err := put("app-hooks", 2, types.Tag{Key: aws.String("team"), Value: aws.String("other")}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"db-hooks", "web-hooks"} {
		if err := put(n, 1); err != nil {
			t.Fatal(err)
		}
	}

	out, err := cw.DescribeAlarms(ctx(t), &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{"app-hooks"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.MetricAlarms) != 1 {
		t.Fatalf("alarms %+v", out.MetricAlarms)
	}
	a := out.MetricAlarms[0]
	if aws.ToString(a.AlarmName) != "app-hooks" || aws.ToString(a.AlarmDescription) != "hooks failing on app-hooks" ||
		aws.ToString(a.Namespace) != "Stackhand" || aws.ToString(a.MetricName) != "HookFailures" ||
		len(a.Dimensions) != 1 || aws.ToString(a.Dimensions[0].Value) != "app" || a.Statistic != types.StatisticSum ||
		aws.ToInt32(a.Period) != 60 || aws.ToInt32(a.EvaluationPeriods) != 5 || aws.ToInt32(a.DatapointsToAlarm) != 3 ||
		aws.ToFloat64(a.Threshold) != 2 || a.ComparisonOperator != types.ComparisonOperatorGreaterThanOrEqualToThreshold ||
		aws.ToString(a.TreatMissingData) != "notBreaching" || !slices.Equal(a.AlarmActions, []string{"arn:aws:sns:us-east-1:123456789012:ops"}) ||
		!slices.Equal(a.OKActions, []string{"arn:aws:sns:us-east-1:123456789012:ok"}) || aws.ToBool(a.ActionsEnabled) ||
		a.StateValue != types.StateValueInsufficientData || aws.ToString(a.AlarmArn) != "arn:aws:cloudwatch:us-east-1:123456789012:alarm:app-hooks" ||
		a.AlarmConfigurationUpdatedTimestamp == nil || time.Since(*a.AlarmConfigurationUpdatedTimestamp) > time.Minute {
		t.Errorf("alarm %+v", a)
	}
	stored := srv.Alarms()
	if len(stored) != 3 || stored[0].AlarmName != "app-hooks" || stored[0].Threshold != 2 || stored[0].Tags["team"] != "infra" ||
		stored[1].AlarmName != "db-hooks" || stored[1].Tags != nil {
		t.Errorf("stored %+v", stored)
	}

	// Paging through the prefix's alarms two at a time.
	var names []string
	pages := cloudwatch.NewDescribeAlarmsPaginator(cw, &cloudwatch.DescribeAlarmsInput{MaxRecords: aws.Int32(2)})
	for pages.HasMorePages() {
		p, err := pages.NextPage(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range p.MetricAlarms {
			names = append(names, aws.ToString(a.AlarmName))
		}
	}
	if !slices.Equal(names, []string{"app-hooks", "db-hooks", "web-hooks"}) {
		t.Errorf("paged names %v", names)
	}
	pre, err := cw.DescribeAlarms(ctx(t), &cloudwatch.DescribeAlarmsInput{AlarmNamePrefix: aws.String("w")})
	if err != nil || len(pre.MetricAlarms) != 1 || aws.ToString(pre.MetricAlarms[0].AlarmName) != "web-hooks" {
		t.Errorf("prefix: %v %+v", err, pre)
	}

	// Unknown names beside known ones are skipped; only unknown ones fail.
	if _, err := cw.DeleteAlarms(ctx(t), &cloudwatch.DeleteAlarmsInput{AlarmNames: []string{"db-hooks", "gone"}}); err != nil {
		t.Fatal(err)
	}
	_, err = cw.DeleteAlarms(ctx(t), &cloudwatch.DeleteAlarmsInput{AlarmNames: []string{"db-hooks"}})
	if code, _ := apiCode(t, err); code != "ResourceNotFound" {
		t.Errorf("deleting a deleted alarm: %s", code)
	}
	if got := srv.Alarms(); len(got) != 2 || got[1].AlarmName != "web-hooks" {
		t.Errorf("after delete %+v", got)
	}
	if srv.Calls("monitoring", "PutMetricAlarm") != 4 || srv.Calls("monitoring", "DeleteAlarms") != 2 {
		t.Errorf("counts %v", srv.CallCounts())
	}
}

func TestPutMetricAlarmValidation(t *testing.T) {
	srv := Start(t)
	cw, _ := newCloudWatch(srv, 1)
	valid := func() *cloudwatch.PutMetricAlarmInput {
		return &cloudwatch.PutMetricAlarmInput{
			AlarmName: aws.String("a"), Namespace: aws.String("App"), MetricName: aws.String("m"),
			Statistic: types.StatisticAverage, Period: aws.Int32(300), EvaluationPeriods: aws.Int32(2),
			Threshold: aws.Float64(1), ComparisonOperator: types.ComparisonOperatorGreaterThanThreshold,
		}
	}
	tests := []struct {
		name   string
		change func(*cloudwatch.PutMetricAlarmInput)
		code   string
	}{
		{"valid", func(*cloudwatch.PutMetricAlarmInput) {}, ""},
		{"more datapoints than periods", func(in *cloudwatch.PutMetricAlarmInput) { in.DatapointsToAlarm = aws.Int32(3) }, "ValidationError"},
		{"period 45", func(in *cloudwatch.PutMetricAlarmInput) { in.Period = aws.Int32(45) }, "ValidationError"},
		{"period 10", func(in *cloudwatch.PutMetricAlarmInput) { in.Period = aws.Int32(10) }, ""},
		{"over a day at 5 minutes", func(in *cloudwatch.PutMetricAlarmInput) { in.EvaluationPeriods = aws.Int32(289) }, "ValidationError"},
		{"a week at an hour", func(in *cloudwatch.PutMetricAlarmInput) {
			in.Period, in.EvaluationPeriods = aws.Int32(3600), aws.Int32(168)
		}, ""},
		{"no statistic", func(in *cloudwatch.PutMetricAlarmInput) { in.Statistic = "" }, "InvalidParameterCombination"},
		{"no period", func(in *cloudwatch.PutMetricAlarmInput) { in.Period = nil }, "MissingParameter"},
		{"unknown comparison", func(in *cloudwatch.PutMetricAlarmInput) { in.ComparisonOperator = "Above" }, "ValidationError"},
		{"unknown missing-data treatment", func(in *cloudwatch.PutMetricAlarmInput) { in.TreatMissingData = aws.String("zero") }, "ValidationError"},
	}
	for _, tt := range tests {
		in := valid()
		tt.change(in)
		_, err := cw.PutMetricAlarm(ctx(t), in)
		if tt.code == "" {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		if code, msg := apiCode(t, err); code != tt.code {
			t.Errorf("%s: got %s %q, want %s", tt.name, code, msg, tt.code)
		}
	}
}

// TestRPCv2CBORRequests sends requests by hand that the SDK never sends.
func TestRPCv2CBORRequests(t *testing.T) {
	srv := Start(t)
	body := cbor.Encode(cbor.Map{"AlarmNames": cbor.List{cbor.String("x")}})
	send := func(path string, header map[string]string) (*http.Response, cbor.Map) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, srv.URL+path, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/monitoring/aws4_request, SignedHeaders=host, Signature=0")
		for k, v := range header {
			if v == "" {
				req.Header.Del(k)
				continue
			}
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		v, err := cbor.Decode(b.Bytes())
		if err != nil {
			t.Fatalf("reply %q: %v", b.String(), err)
		}
		return resp, v.(cbor.Map)
	}
	const op = "/service/GraniteServiceVersion20100801/operation/"
	resp, m := send(op+"DescribeAlarms", map[string]string{"Smithy-Protocol": "rpc-v2-cbor"})
	if resp.StatusCode != 200 || resp.Header.Get("Smithy-Protocol") != "rpc-v2-cbor" || len(m["MetricAlarms"].(cbor.List)) != 0 {
		t.Errorf("DescribeAlarms: %d %v", resp.StatusCode, m)
	}
	if in := srv.CallLog()[0].Input; fmt.Sprint(in["AlarmNames"]) != "[x]" {
		t.Errorf("recorded input %v", in)
	}
	resp, m = send(op+"DescribeAlarms", nil)
	if resp.StatusCode != 400 || m["__type"] != cbor.String("MissingSmithyProtocolHeader") {
		t.Errorf("without Smithy-Protocol: %d %v", resp.StatusCode, m)
	}
	resp, m = send(op+"GetDashboard", map[string]string{"Smithy-Protocol": "rpc-v2-cbor"})
	if resp.StatusCode != 400 || resp.Header.Get("X-Amzn-Query-Error") != "InvalidAction;Sender" {
		t.Errorf("unknown operation: %d %v %v", resp.StatusCode, resp.Header, m)
	}
	resp, m = send(op+"DescribeAlarms", map[string]string{"Smithy-Protocol": "rpc-v2-cbor", "Authorization": ""})
	if resp.StatusCode != 403 || m["__type"] != cbor.String("MissingAuthenticationToken") {
		t.Errorf("unsigned: %d %v", resp.StatusCode, m)
	}
	resp, m = send(op+"DeleteAlarms", map[string]string{"Smithy-Protocol": "rpc-v2-cbor"})
	if resp.StatusCode != 404 || m["__type"] != cbor.String("com.amazonaws.cloudwatch#ResourceNotFound") ||
		resp.Header.Get("X-Amzn-Query-Error") != "ResourceNotFound;Sender" {
		t.Errorf("DeleteAlarms of an unknown alarm: %d %v", resp.StatusCode, m)
	}
}
