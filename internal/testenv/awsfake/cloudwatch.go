package awsfake

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// cloudWatch speaks Smithy RPC v2 CBOR, which service/cloudwatch has sent
// since v1.53.0 (api_client.go: rpcv2.NewCBOR(schemas.GraniteServiceVersion20100801)).
// Its errors are the modelled shapes of service/cloudwatch/type_registry.go
// with the query codes of their awsQueryError traits (schemas/schemas.go).
var cloudWatch = &service{
	name:      "monitoring",
	namespace: "http://monitoring.amazonaws.com/doc/2010-08-01/",
	proto: rpcV2CBOR{
		service:   "GraniteServiceVersion20100801",
		namespace: "com.amazonaws.cloudwatch",
		errors: map[string]errorShape{
			"InternalServiceError":        {"InternalServiceFault", "Message"},
			"InvalidParameterValue":       {"InvalidParameterValueException", "message"},
			"InvalidParameterCombination": {"InvalidParameterCombinationException", "message"},
			"MissingParameter":            {"MissingRequiredParameterException", "message"},
			"ResourceNotFound":            {"ResourceNotFound", "message"},
			"LimitExceeded":               {"LimitExceededFault", "message"},
			"InvalidNextToken":            {"InvalidNextToken", "message"},
			"ValidationError":             {"ValidationException", "message"},
			// Not in the model: AWS's generic throttling shape. The SDK finds
			// no type for it and takes the code from X-Amzn-Query-Error.
			"Throttling": {"com.amazon.coral.availability#ThrottlingException", "message"},
		},
		maxBody: map[string]int{"PutMetricData": maxPutMetricDataBytes},
	},
	// "Throttling: Rate exceeded" (HTTP 400) is what CloudWatch answers a
	// throttled call with; "Throttling" is in retry.DefaultThrottleErrorCodes.
	throttle: apiError{status: http.StatusBadRequest, code: "Throttling", message: "Rate exceeded"},
	internal: apiError{status: http.StatusInternalServerError, code: "InternalServiceError", message: "Internal service error"},
	actions: map[string]handler{
		"PutMetricData":  (*Server).putMetricData,
		"PutMetricAlarm": (*Server).putMetricAlarm,
		"DescribeAlarms": (*Server).describeAlarms,
		"DeleteAlarms":   (*Server).deleteAlarms,
	},
}

// PutMetricData limits, from the API reference
// (docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricData.html
// and API_MetricDatum.html, API_Dimension.html).
const (
	// maxPutMetricDataBytes is the "1 MB" request limit, applied to the
	// decompressed body. Read as 1 MiB, as the former "40 KB" limit was
	// 40960 bytes in CloudWatch's RequestEntityTooLarge message.
	maxPutMetricDataBytes = 1 << 20
	maxMetricData         = 1000 // datums per request, MetricData and EntityMetricData together
	maxDimensions         = 30   // per metric
	maxValues             = 150  // Values (and Counts) per datum
	maxNameLength         = 255  // Namespace, MetricName, Dimension Name
	maxDimValueLength     = 1024 // Dimension Value
	maxPastAge            = 14 * 24 * time.Hour
	maxFutureSkew         = 2 * time.Hour
)

// maxMetricValue is CloudWatch's value range: values must lie within
// -2^360..2^360, and non-zero magnitudes below 2^-360 are rejected too.
var maxMetricValue, minMetricValue = math.Ldexp(1, 360), math.Ldexp(1, -360)

// standardUnits are the values of the StandardUnit enum
// (service/cloudwatch/types/enums.go).
var standardUnits = []string{
	"Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes",
	"Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count",
	"Bytes/Second", "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second",
	"Bits/Second", "Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second",
	"Count/Second", "None",
}

// Dimension is a name/value pair of a metric's identity.
type Dimension struct {
	Name  string
	Value string
}

// StatisticSet is a datum's pre-aggregated values.
type StatisticSet struct {
	SampleCount float64
	Sum         float64
	Minimum     float64
	Maximum     float64
}

// MetricDatum is one datum of an accepted PutMetricData call.
type MetricDatum struct {
	// Received is when the stand-in accepted the call.
	Received   time.Time
	Namespace  string
	MetricName string
	Dimensions []Dimension // in the order sent
	// Unit is as sent; "" when absent (CloudWatch then uses None).
	Unit string
	// Timestamp is as sent, in UTC; zero when absent (CloudWatch then uses
	// the time it received the datum).
	Timestamp time.Time
	// Exactly one of Value, Values (with Counts, which may be empty) and
	// StatisticValues is set.
	Value           *float64
	Values          []float64
	Counts          []float64
	StatisticValues *StatisticSet
	// StorageResolution is 1 or 60 (the default when absent).
	StorageResolution int
}

// Alarm is a metric alarm as PutMetricAlarm left it.
type Alarm struct {
	AlarmName          string
	AlarmDescription   string
	Namespace          string
	MetricName         string
	Dimensions         []Dimension
	Statistic          string // or ExtendedStatistic
	ExtendedStatistic  string
	Unit               string
	Period             int // seconds
	EvaluationPeriods  int
	DatapointsToAlarm  int // 0 when not set (CloudWatch then uses EvaluationPeriods)
	Threshold          float64
	ComparisonOperator string
	TreatMissingData   string // "" when not set (CloudWatch then uses "missing")
	AlarmActions       []string
	OKActions          []string
	// InsufficientDataActions is kept as sent.
	InsufficientDataActions []string
	ActionsEnabled          bool // default true
	// Tags are those given when the alarm was created: PutMetricAlarm on an
	// existing alarm ignores its Tags, as AWS documents.
	Tags map[string]string
	// Updated is when the alarm was last put.
	Updated time.Time
}

// cloudWatchState is the stand-in's CloudWatch state; guarded by Server.mu.
type cloudWatchState struct {
	data   []MetricDatum
	alarms map[string]*Alarm
}

// MetricData returns a copy of every datum accepted by PutMetricData since
// the last ResetCalls, in the order received. A rejected call adds none.
func (s *Server) MetricData() []MetricDatum {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]MetricDatum, len(s.cw.data))
	for i, d := range s.cw.data {
		out[i] = d.clone()
	}
	return out
}

func (d MetricDatum) clone() MetricDatum {
	d.Dimensions = slices.Clone(d.Dimensions)
	d.Values = slices.Clone(d.Values)
	d.Counts = slices.Clone(d.Counts)
	if d.Value != nil {
		v := *d.Value
		d.Value = &v
	}
	if d.StatisticValues != nil {
		v := *d.StatisticValues
		d.StatisticValues = &v
	}
	return d
}

// Alarms returns copies of the metric alarms, ordered by name.
func (s *Server) Alarms() []Alarm {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Alarm, 0, len(s.cw.alarms))
	for _, name := range slices.Sorted(maps.Keys(s.cw.alarms)) {
		out = append(out, s.cw.alarms[name].clone())
	}
	return out
}

func (a *Alarm) clone() Alarm {
	c := *a
	c.Dimensions = slices.Clone(a.Dimensions)
	c.AlarmActions = slices.Clone(a.AlarmActions)
	c.OKActions = slices.Clone(a.OKActions)
	c.InsufficientDataActions = slices.Clone(a.InsufficientDataActions)
	c.Tags = maps.Clone(a.Tags)
	return c
}

func invalidCombination(format string, args ...any) error {
	return errorf(http.StatusBadRequest, "InvalidParameterCombination", format, args...)
}

func missingParameter(name string) error {
	return errorf(http.StatusBadRequest, "MissingParameter", "The parameter %s is required.", name)
}

// putMetricData answers PutMetricData(Namespace, MetricData,
// EntityMetricData[].MetricData). The whole request is rejected when one
// datum is invalid, as CloudWatch does; the entities themselves are not
// kept.
func (s *Server) putMetricData(c *call) (any, error) {
	if err := decodeCBORInput(c); err != nil {
		return nil, err
	}
	var d docReader
	in := c.Input
	ns, hasNS := d.str(in, "Namespace", "Namespace")
	data, _ := d.structs(in, "MetricData", "MetricData")
	type source struct {
		path  string
		datum map[string]any
	}
	var all []source
	for i, m := range data {
		all = append(all, source{fmt.Sprintf("MetricData.member.%d", i+1), m})
	}
	entities, _ := d.structs(in, "EntityMetricData", "EntityMetricData")
	for i, e := range entities {
		em, _ := d.structs(e, "MetricData", "EntityMetricData[].MetricData")
		for j, m := range em {
			all = append(all, source{fmt.Sprintf("EntityMetricData.member.%d.MetricData.member.%d", i+1, j+1), m})
		}
	}
	if d.err != nil {
		return nil, d.err
	}
	switch {
	case !hasNS:
		return nil, missingParameter("Namespace")
	case ns == "" || len(ns) > maxNameLength || ns[0] == ':' || !printableASCII(ns):
		return nil, invalidValue("The value %s for parameter Namespace is invalid.", ns)
	case strings.HasPrefix(ns, "AWS/"):
		// Namespaces starting with "AWS/" are reserved for AWS services.
		return nil, invalidValue("The value %s for parameter Namespace is invalid.", ns)
	case len(all) == 0:
		return nil, missingParameter("MetricData")
	case len(all) > maxMetricData:
		return nil, invalidValue("The collection MetricData must not have a size greater than %d.", maxMetricData)
	}
	s.mu.Lock()
	now := s.now()
	s.mu.Unlock()
	accepted := make([]MetricDatum, 0, len(all))
	for _, src := range all {
		md, err := readDatum(&d, src.datum, src.path, now)
		if d.err != nil {
			return nil, d.err
		}
		if err != nil {
			return nil, err
		}
		md.Received, md.Namespace = c.Time, ns
		accepted = append(accepted, md)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cw.data = append(s.cw.data, accepted...)
	return map[string]any{}, nil
}

// readDatum reads and checks one MetricDatum at path ("MetricData.member.3").
func readDatum(d *docReader, m map[string]any, path string, now time.Time) (MetricDatum, error) {
	var md MetricDatum
	var ok bool
	md.MetricName, ok = d.str(m, "MetricName", path+".MetricName")
	if !ok {
		return md, missingParameter(path + ".MetricName")
	}
	if md.MetricName == "" || len(md.MetricName) > maxNameLength || !printableASCII(md.MetricName) {
		return md, invalidValue("The value %s for parameter %s.MetricName is invalid.", md.MetricName, path)
	}
	dims, err := readDimensions(d, m, path)
	if err != nil {
		return md, err
	}
	md.Dimensions = dims
	if u, ok := d.str(m, "Unit", path+".Unit"); ok {
		if !slices.Contains(standardUnits, u) {
			return md, invalidValue("The value %s for parameter %s.Unit is invalid.", u, path)
		}
		md.Unit = u
	}
	if t, ok := d.time(m, "Timestamp", path+".Timestamp"); ok {
		switch {
		case t.Before(now.Add(-maxPastAge)):
			return md, invalidValue("The parameter %s.Timestamp must specify a time no more than two weeks in the past.", path)
		case t.After(now.Add(maxFutureSkew)):
			return md, invalidValue("The parameter %s.Timestamp must specify a time no more than two hours in the future.", path)
		}
		md.Timestamp = t
	}
	md.StorageResolution = 60
	if r, ok := d.int(m, "StorageResolution", path+".StorageResolution"); ok {
		if r != 1 && r != 60 {
			return md, invalidValue("The value %d for parameter %s.StorageResolution is invalid.", r, path)
		}
		md.StorageResolution = int(r)
	}

	value, hasValue := d.float(m, "Value", path+".Value")
	values, hasValues := d.floats(m, "Values", path+".Values")
	counts, hasCounts := d.floats(m, "Counts", path+".Counts")
	stats, hasStats := d.structure(m, "StatisticValues", path+".StatisticValues")
	if d.err != nil {
		return md, d.err
	}
	var given []string
	for _, p := range []struct {
		name string
		set  bool
	}{{"Value", hasValue}, {"StatisticValues", hasStats}, {"Values", hasValues}} {
		if p.set {
			given = append(given, path+"."+p.name)
		}
	}
	switch {
	case len(given) > 1:
		return md, invalidCombination("The parameters %s are mutually exclusive and you have specified more than one.", strings.Join(given, ", "))
	case len(given) == 0:
		return md, missingParameter(path + ".Value")
	case hasCounts && !hasValues:
		return md, invalidCombination("The parameter %s.Counts requires %s.Values.", path, path)
	}
	switch {
	case hasValue:
		if err := checkValue(value, path+".Value"); err != nil {
			return md, err
		}
		md.Value = &value
	case hasValues:
		if len(values) > maxValues {
			return md, invalidValue("The collection %s.Values must not have a size greater than %d.", path, maxValues)
		}
		if hasCounts && len(counts) != len(values) {
			return md, invalidValue("The parameters %s.Values and %s.Counts must be of the same size.", path, path)
		}
		for i, v := range values {
			if err := checkValue(v, fmt.Sprintf("%s.Values.member.%d", path, i+1)); err != nil {
				return md, err
			}
		}
		for i, n := range counts {
			if math.IsNaN(n) || math.IsInf(n, 0) || n < 0 {
				return md, invalidValue("The value %v for parameter %s.Counts.member.%d is invalid.", n, path, i+1)
			}
		}
		md.Values, md.Counts = values, counts
	default:
		set, err := readStatisticSet(d, stats, path+".StatisticValues")
		if err != nil {
			return md, err
		}
		md.StatisticValues = &set
	}
	return md, nil
}

func readDimensions(d *docReader, m map[string]any, path string) ([]Dimension, error) {
	dims, _ := d.structs(m, "Dimensions", path+".Dimensions")
	if len(dims) > maxDimensions {
		return nil, invalidValue("The collection %s.Dimensions must not have a size greater than %d.", path, maxDimensions)
	}
	var out []Dimension
	for i, dm := range dims {
		p := fmt.Sprintf("%s.Dimensions.member.%d", path, i+1)
		name, okName := d.str(dm, "Name", p+".Name")
		value, okValue := d.str(dm, "Value", p+".Value")
		switch {
		case d.err != nil:
			return nil, d.err
		case !okName:
			return nil, missingParameter(p + ".Name")
		case !okValue:
			return nil, missingParameter(p + ".Value")
		case strings.TrimSpace(name) == "" || len(name) > maxNameLength || name[0] == ':' || !printableASCII(name):
			return nil, invalidValue("The value %s for parameter %s.Name is invalid.", name, p)
		case strings.TrimSpace(value) == "" || len(value) > maxDimValueLength || !printableASCII(value):
			return nil, invalidValue("The value %s for parameter %s.Value is invalid.", value, p)
		}
		out = append(out, Dimension{Name: name, Value: value})
	}
	return out, nil
}

// readStatisticSet checks a StatisticSet: all four members present and
// finite, SampleCount positive, Minimum <= Maximum, and Sum within
// SampleCount*Minimum..SampleCount*Maximum (with a relative tolerance of
// 1e-9 for rounding). The Sum check is the stand-in's reading of what a
// consistent set is; AWS does not document it.
func readStatisticSet(d *docReader, m map[string]any, path string) (StatisticSet, error) {
	var set StatisticSet
	for _, f := range []struct {
		name string
		dst  *float64
	}{{"SampleCount", &set.SampleCount}, {"Sum", &set.Sum}, {"Minimum", &set.Minimum}, {"Maximum", &set.Maximum}} {
		v, ok := d.float(m, f.name, path+"."+f.name)
		if d.err != nil {
			return set, d.err
		}
		if !ok {
			return set, missingParameter(path + "." + f.name)
		}
		if err := checkValue(v, path+"."+f.name); err != nil {
			return set, err
		}
		*f.dst = v
	}
	tol := func(x float64) float64 { return 1e-9 * math.Max(1, math.Abs(x)) }
	switch lo, hi := set.SampleCount*set.Minimum, set.SampleCount*set.Maximum; {
	case set.SampleCount <= 0:
		return set, invalidValue("The value %v for parameter %s.SampleCount is invalid: it must be greater than 0.", set.SampleCount, path)
	case set.Minimum > set.Maximum:
		return set, invalidValue("The parameter %s.Minimum (%v) must be less than or equal to %s.Maximum (%v).", path, set.Minimum, path, set.Maximum)
	case set.Sum < lo-tol(lo) || set.Sum > hi+tol(hi):
		return set, invalidValue("The parameter %s.Sum (%v) must lie between SampleCount*Minimum (%v) and SampleCount*Maximum (%v).", path, set.Sum, lo, hi)
	}
	return set, nil
}

// checkValue rejects what CloudWatch rejects in a value: NaN, infinities,
// and magnitudes beyond 2^360 or, other than zero, below 2^-360.
func checkValue(v float64, param string) error {
	if a := math.Abs(v); math.IsNaN(v) || a > maxMetricValue || (a != 0 && a < minMetricValue) {
		return invalidValue("The value %v for parameter %s is invalid.", v, param)
	}
	return nil
}

// printableASCII reports whether s holds only ASCII characters without
// control characters, as CloudWatch requires of names and values.
func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

var (
	alarmStatistics  = []string{"SampleCount", "Average", "Sum", "Minimum", "Maximum"}
	alarmComparisons = []string{
		"GreaterThanOrEqualToThreshold", "GreaterThanThreshold", "LessThanThreshold", "LessThanOrEqualToThreshold",
		"LessThanLowerOrGreaterThanUpperThreshold", "LessThanLowerThreshold", "GreaterThanUpperThreshold",
	}
	treatMissingData = []string{"breaching", "notBreaching", "ignore", "missing"}
)

// putMetricAlarm answers PutMetricAlarm for alarms on one metric with a
// static threshold (metric math, anomaly detection and PromQL criteria are
// refused). It creates the alarm or replaces it by name, keeping the tags it
// was created with. The checks follow the API reference
// (API_PutMetricAlarm.html); they answer ValidationError, CloudWatch's code
// for them ("ValidationError: DatapointsToAlarm must be less than or equal to
// EvaluationPeriods").
func (s *Server) putMetricAlarm(c *call) (any, error) {
	if err := decodeCBORInput(c); err != nil {
		return nil, err
	}
	var d docReader
	in := c.Input
	a := &Alarm{ActionsEnabled: true, Updated: c.Time}
	var ok bool
	a.AlarmName, ok = d.str(in, "AlarmName", "AlarmName")
	if !ok && d.err == nil {
		return nil, missingParameter("AlarmName")
	}
	a.AlarmDescription, _ = d.str(in, "AlarmDescription", "AlarmDescription")
	a.Namespace, _ = d.str(in, "Namespace", "Namespace")
	a.MetricName, _ = d.str(in, "MetricName", "MetricName")
	a.Statistic, _ = d.str(in, "Statistic", "Statistic")
	a.ExtendedStatistic, _ = d.str(in, "ExtendedStatistic", "ExtendedStatistic")
	a.Unit, _ = d.str(in, "Unit", "Unit")
	period, hasPeriod := d.int(in, "Period", "Period")
	evals, hasEvals := d.int(in, "EvaluationPeriods", "EvaluationPeriods")
	points, hasPoints := d.int(in, "DatapointsToAlarm", "DatapointsToAlarm")
	threshold, hasThreshold := d.float(in, "Threshold", "Threshold")
	a.ComparisonOperator, _ = d.str(in, "ComparisonOperator", "ComparisonOperator")
	a.TreatMissingData, _ = d.str(in, "TreatMissingData", "TreatMissingData")
	a.AlarmActions, _ = d.strings(in, "AlarmActions", "AlarmActions")
	a.OKActions, _ = d.strings(in, "OKActions", "OKActions")
	a.InsufficientDataActions, _ = d.strings(in, "InsufficientDataActions", "InsufficientDataActions")
	if enabled, ok := d.bool(in, "ActionsEnabled", "ActionsEnabled"); ok {
		a.ActionsEnabled = enabled
	}
	tags, _ := d.structs(in, "Tags", "Tags")
	dims, err := readDimensions(&d, in, "Dimensions")
	if d.err != nil {
		return nil, d.err
	}
	if err != nil {
		return nil, err
	}
	a.Dimensions = dims
	for _, unsupported := range []string{"Metrics", "ThresholdMetricId", "EvaluationCriteria", "EvaluationInterval"} {
		if _, ok := in[unsupported]; ok {
			return nil, invalidValue("awsfake: PutMetricAlarm with %s is not supported (alarms on one metric with a static threshold are)", unsupported)
		}
	}
	a.Period, a.EvaluationPeriods, a.DatapointsToAlarm, a.Threshold = int(period), int(evals), int(points), threshold

	switch {
	case a.AlarmName == "" || len(a.AlarmName) > 255:
		return nil, validationError("AlarmName must be between 1 and 255 characters, got %q", a.AlarmName)
	case len(a.AlarmDescription) > 1024:
		return nil, validationError("AlarmDescription must be at most 1024 characters")
	case a.MetricName == "":
		return nil, missingParameter("MetricName")
	case a.Namespace == "":
		return nil, missingParameter("Namespace")
	case len(a.MetricName) > maxNameLength || len(a.Namespace) > maxNameLength:
		return nil, validationError("MetricName and Namespace must be at most %d characters", maxNameLength)
	case (a.Statistic == "") == (a.ExtendedStatistic == ""):
		return nil, invalidCombination("Exactly one of Statistic and ExtendedStatistic must be specified.")
	case a.Statistic != "" && !slices.Contains(alarmStatistics, a.Statistic):
		return nil, validationError("Statistic must be one of %s, got %q", strings.Join(alarmStatistics, ", "), a.Statistic)
	case a.Unit != "" && !slices.Contains(standardUnits, a.Unit):
		return nil, validationError("Unit %q is not a standard unit", a.Unit)
	case !hasPeriod:
		return nil, missingParameter("Period")
	case !(period == 10 || period == 20 || period == 30 || (period >= 60 && period%60 == 0)):
		return nil, validationError("Period must be 10, 20, 30 or a multiple of 60, got %d", period)
	case !hasEvals:
		return nil, missingParameter("EvaluationPeriods")
	case evals < 1:
		return nil, validationError("EvaluationPeriods must be at least 1, got %d", evals)
	case period < 3600 && period*evals > 86400:
		return nil, validationError("The evaluation period of an alarm with a period under one hour (Period*EvaluationPeriods = %d s) must not exceed 86400 seconds", period*evals)
	case period*evals > 604800:
		return nil, validationError("The evaluation period of an alarm (Period*EvaluationPeriods = %d s) must not exceed 604800 seconds", period*evals)
	case hasPoints && (points < 1 || points > evals):
		return nil, validationError("DatapointsToAlarm must be less than or equal to EvaluationPeriods")
	case !hasThreshold:
		return nil, missingParameter("Threshold")
	case math.IsNaN(threshold) || math.IsInf(threshold, 0):
		return nil, validationError("Threshold must be a finite number")
	case a.ComparisonOperator == "":
		return nil, missingParameter("ComparisonOperator")
	case !slices.Contains(alarmComparisons, a.ComparisonOperator):
		return nil, validationError("ComparisonOperator must be one of %s, got %q", strings.Join(alarmComparisons, ", "), a.ComparisonOperator)
	case a.TreatMissingData != "" && !slices.Contains(treatMissingData, a.TreatMissingData):
		return nil, validationError("TreatMissingData must be one of %s, got %q", strings.Join(treatMissingData, ", "), a.TreatMissingData)
	case len(a.AlarmActions) > 5 || len(a.OKActions) > 5 || len(a.InsufficientDataActions) > 5:
		return nil, validationError("An alarm may have at most 5 actions of each kind")
	case len(tags) > 50:
		return nil, validationError("An alarm may have at most 50 tags")
	}
	if len(tags) > 0 {
		a.Tags = make(map[string]string, len(tags))
		for i, t := range tags {
			p := fmt.Sprintf("Tags.member.%d", i+1)
			k, okK := d.str(t, "Key", p+".Key")
			v, okV := d.str(t, "Value", p+".Value")
			switch {
			case d.err != nil:
				return nil, d.err
			case !okK || !okV:
				return nil, missingParameter(p + ".Key and Value")
			case k == "" || len(k) > 128 || len(v) > 256:
				return nil, validationError("Tag keys must be 1 to 128 characters and values at most 256, got %q=%q", k, v)
			}
			a.Tags[k] = v
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cw.alarms == nil {
		s.cw.alarms = make(map[string]*Alarm)
	}
	if old := s.cw.alarms[a.AlarmName]; old != nil {
		a.Tags = old.Tags
	}
	s.cw.alarms[a.AlarmName] = a
	return map[string]any{}, nil
}

// describeAlarms answers DescribeAlarms(AlarmNames, AlarmNamePrefix,
// AlarmTypes, StateValue, ActionPrefix, MaxRecords, NextToken) with the
// metric alarms, ordered by name. MaxRecords is 1..100, default 50;
// NextToken is an opaque offset.
func (s *Server) describeAlarms(c *call) (any, error) {
	if err := decodeCBORInput(c); err != nil {
		return nil, err
	}
	var d docReader
	in := c.Input
	names, hasNames := d.strings(in, "AlarmNames", "AlarmNames")
	prefix, hasPrefix := d.str(in, "AlarmNamePrefix", "AlarmNamePrefix")
	types, hasTypes := d.strings(in, "AlarmTypes", "AlarmTypes")
	state, hasState := d.str(in, "StateValue", "StateValue")
	actionPrefix, _ := d.str(in, "ActionPrefix", "ActionPrefix")
	size, hasSize := d.int(in, "MaxRecords", "MaxRecords")
	token, _ := d.str(in, "NextToken", "NextToken")
	if _, ok := in["ChildrenOfAlarmName"]; ok {
		return nil, invalidValue("awsfake: ChildrenOfAlarmName is not supported")
	}
	if _, ok := in["ParentsOfAlarmName"]; ok {
		return nil, invalidValue("awsfake: ParentsOfAlarmName is not supported")
	}
	switch {
	case d.err != nil:
		return nil, d.err
	case hasNames && hasPrefix:
		return nil, invalidCombination("AlarmNamePrefix and AlarmNames cannot be specified together.")
	case len(names) > 100:
		return nil, validationError("AlarmNames must have at most 100 members")
	case hasSize && (size < 1 || size > 100):
		return nil, validationError("1 validation error detected: Value '%d' at 'maxRecords' failed to satisfy constraint: Member must have value between 1 and 100", size)
	case hasState && state != "OK" && state != "ALARM" && state != "INSUFFICIENT_DATA":
		return nil, validationError("StateValue must be OK, ALARM or INSUFFICIENT_DATA, got %q", state)
	}
	if !hasSize {
		size = 50
	}
	region := cmp.Or(c.Region, "us-east-1")

	s.mu.Lock()
	defer s.mu.Unlock()
	var selected []*Alarm
	if !hasTypes || slices.Contains(types, "MetricAlarm") {
		for _, name := range slices.Sorted(maps.Keys(s.cw.alarms)) {
			a := s.cw.alarms[name]
			switch {
			case hasNames && !slices.Contains(names, name),
				hasPrefix && !strings.HasPrefix(name, prefix),
				hasState && state != "INSUFFICIENT_DATA",
				actionPrefix != "" && !slices.ContainsFunc(slices.Concat(a.AlarmActions, a.OKActions, a.InsufficientDataActions),
					func(act string) bool { return strings.HasPrefix(act, actionPrefix) }):
				continue
			}
			selected = append(selected, a)
		}
	}
	from, to, next, err := page(len(selected), token, int(size))
	if err != nil {
		return nil, errorf(http.StatusBadRequest, "InvalidNextToken", "Invalid token")
	}
	alarms := make([]map[string]any, 0, to-from)
	for _, a := range selected[from:to] {
		alarms = append(alarms, a.reply(region))
	}
	out := map[string]any{"MetricAlarms": alarms, "CompositeAlarms": []any{}}
	if next != "" {
		out["NextToken"] = next
	}
	return out, nil
}

// reply is the MetricAlarm structure of a DescribeAlarms reply
// (schemas.MetricAlarm). The stand-in does not evaluate alarms: every alarm
// is in INSUFFICIENT_DATA since it was put.
func (a *Alarm) reply(region string) map[string]any {
	dims := make([]map[string]any, len(a.Dimensions))
	for i, d := range a.Dimensions {
		dims[i] = map[string]any{"Name": d.Name, "Value": d.Value}
	}
	m := map[string]any{
		"AlarmName":                          a.AlarmName,
		"AlarmArn":                           "arn:aws:cloudwatch:" + region + ":123456789012:alarm:" + a.AlarmName,
		"AlarmConfigurationUpdatedTimestamp": a.Updated,
		"ActionsEnabled":                     a.ActionsEnabled,
		"AlarmActions":                       nonNil(a.AlarmActions),
		"OKActions":                          nonNil(a.OKActions),
		"InsufficientDataActions":            nonNil(a.InsufficientDataActions),
		"StateValue":                         "INSUFFICIENT_DATA",
		"StateReason":                        "Unchecked: Initial alarm creation",
		"StateUpdatedTimestamp":              a.Updated,
		"StateTransitionedTimestamp":         a.Updated,
		"MetricName":                         a.MetricName,
		"Namespace":                          a.Namespace,
		"Dimensions":                         dims,
		"Period":                             a.Period,
		"EvaluationPeriods":                  a.EvaluationPeriods,
		"Threshold":                          a.Threshold,
		"ComparisonOperator":                 a.ComparisonOperator,
	}
	optional := map[string]string{
		"AlarmDescription": a.AlarmDescription, "Statistic": a.Statistic, "ExtendedStatistic": a.ExtendedStatistic,
		"Unit": a.Unit, "TreatMissingData": a.TreatMissingData,
	}
	for k, v := range optional {
		if v != "" {
			m[k] = v
		}
	}
	if a.DatapointsToAlarm > 0 {
		m["DatapointsToAlarm"] = a.DatapointsToAlarm
	}
	return m
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// deleteAlarms answers DeleteAlarms(AlarmNames): 1 to 100 names. The known
// alarms are deleted, unknown names are skipped, as the API reference says
// ("If you specify any incorrect alarm names, the alarms you specify with
// correct names are still deleted"). When none of the names is known the
// stand-in answers ResourceNotFound (HTTP 404), the error the model declares
// for DeleteAlarms; whether AWS does so in that case is not documented.
func (s *Server) deleteAlarms(c *call) (any, error) {
	if err := decodeCBORInput(c); err != nil {
		return nil, err
	}
	var d docReader
	names, _ := d.strings(c.Input, "AlarmNames", "AlarmNames")
	switch {
	case d.err != nil:
		return nil, d.err
	case len(names) == 0:
		return nil, missingParameter("AlarmNames")
	case len(names) > 100:
		return nil, validationError("1 validation error detected: Value at 'alarmNames' failed to satisfy constraint: Member must have length less than or equal to 100")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	deleted := 0
	for _, n := range names {
		if _, ok := s.cw.alarms[n]; ok {
			delete(s.cw.alarms, n)
			deleted++
		}
	}
	if deleted == 0 {
		return nil, errorf(http.StatusNotFound, "ResourceNotFound", "%s not found", quoteList(names))
	}
	return map[string]any{}, nil
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q, ", ")
}
