package report

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/stackhand/stackhand/internal/awsenv"
	"github.com/stackhand/stackhand/internal/contract"
)

// CloudWatchAPI is the part of the CloudWatch client the reporters use.
type CloudWatchAPI interface {
	PutMetricData(context.Context, *cloudwatch.PutMetricDataInput, ...func(*cloudwatch.Options)) (*cloudwatch.PutMetricDataOutput, error)
	PutMetricAlarm(context.Context, *cloudwatch.PutMetricAlarmInput, ...func(*cloudwatch.Options)) (*cloudwatch.PutMetricAlarmOutput, error)
	DescribeAlarms(context.Context, *cloudwatch.DescribeAlarmsInput, ...func(*cloudwatch.Options)) (*cloudwatch.DescribeAlarmsOutput, error)
	DeleteAlarms(context.Context, *cloudwatch.DeleteAlarmsInput, ...func(*cloudwatch.Options)) (*cloudwatch.DeleteAlarmsOutput, error)
}

// AutoScalingAPI is the Auto Scaling call the health reporter makes.
type AutoScalingAPI interface {
	SetInstanceHealth(context.Context, *autoscaling.SetInstanceHealthInput, ...func(*autoscaling.Options)) (*autoscaling.SetInstanceHealthOutput, error)
}

// EventBridgeAPI is the EventBridge call the notifier makes.
type EventBridgeAPI interface {
	PutEvents(context.Context, *eventbridge.PutEventsInput, ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

// AWSSink is mode aws's sink. A nil EventBridge makes Publish a no-op (notifications
// off); a nil AutoScaling makes SetUnhealthy an error.
type AWSSink struct {
	CloudWatch  CloudWatchAPI
	AutoScaling AutoScalingAPI
	EventBridge EventBridgeAPI
	// EventBus is the bus name or ARN; "" is the default bus.
	EventBus string
}

// PutMetrics sends data with one PutMetricData call (len(data) <= MaxMetricBatch).
func (s *AWSSink) PutMetrics(ctx context.Context, namespace string, data []Datum) error {
	in := &cloudwatch.PutMetricDataInput{Namespace: aws.String(namespace), MetricData: make([]cwtypes.MetricDatum, len(data))}
	for i, d := range data {
		md := cwtypes.MetricDatum{MetricName: aws.String(d.Name), Unit: cwtypes.StandardUnit(d.Unit), Timestamp: aws.Time(d.Time),
			Dimensions: cwDims(d.Dims)}
		if d.Count > 0 {
			md.StatisticValues = &cwtypes.StatisticSet{Minimum: aws.Float64(d.Min), Maximum: aws.Float64(d.Max),
				Sum: aws.Float64(d.Sum), SampleCount: aws.Float64(d.Count)}
		} else {
			md.Value = aws.Float64(d.Value)
		}
		if d.HighResolution {
			md.StorageResolution = aws.Int32(1)
		}
		in.MetricData[i] = md
	}
	_, err := s.CloudWatch.PutMetricData(ctx, in)
	return err
}

func cwDims(ds []Dim) []cwtypes.Dimension {
	out := make([]cwtypes.Dimension, len(ds))
	for i, d := range ds {
		out[i] = cwtypes.Dimension{Name: aws.String(d.Name), Value: aws.String(d.Value)}
	}
	return out
}

// alarmInput is the PutMetricAlarm call for spec: fires when fewer than one heartbeat
// arrived in EvaluationPeriods periods in a row, a missing heartbeat counting as a
// breach.
func alarmInput(spec AlarmSpec) *cloudwatch.PutMetricAlarmInput {
	actions := spec.Actions
	if actions == nil {
		actions = []string{}
	}
	return &cloudwatch.PutMetricAlarmInput{
		AlarmName:          aws.String(spec.Name),
		AlarmDescription:   aws.String(spec.Description),
		Namespace:          aws.String(spec.Namespace),
		MetricName:         aws.String(spec.Metric),
		Dimensions:         cwDims(spec.Dims),
		Statistic:          cwtypes.StatisticSampleCount,
		Period:             aws.Int32(int32(spec.Period / time.Second)),
		EvaluationPeriods:  aws.Int32(int32(spec.EvaluationPeriods)),
		DatapointsToAlarm:  aws.Int32(int32(spec.EvaluationPeriods)),
		Threshold:          aws.Float64(1),
		ComparisonOperator: cwtypes.ComparisonOperatorLessThanThreshold,
		TreatMissingData:   aws.String("breaching"),
		ActionsEnabled:     aws.Bool(true),
		AlarmActions:       actions,
		Tags:               []cwtypes.Tag{{Key: aws.String("stackhand:managed"), Value: aws.String("true")}},
	}
}

// matches reports whether an existing alarm is what in asks for.
func matches(a cwtypes.MetricAlarm, in *cloudwatch.PutMetricAlarmInput) bool {
	dims := func(ds []cwtypes.Dimension) []string {
		var out []string
		for _, d := range ds {
			out = append(out, aws.ToString(d.Name)+"="+aws.ToString(d.Value))
		}
		slices.Sort(out)
		return out
	}
	return aws.ToString(a.Namespace) == aws.ToString(in.Namespace) &&
		aws.ToString(a.MetricName) == aws.ToString(in.MetricName) &&
		aws.ToString(a.AlarmDescription) == aws.ToString(in.AlarmDescription) &&
		slices.Equal(dims(a.Dimensions), dims(in.Dimensions)) &&
		a.Statistic == in.Statistic &&
		aws.ToInt32(a.Period) == aws.ToInt32(in.Period) &&
		aws.ToInt32(a.EvaluationPeriods) == aws.ToInt32(in.EvaluationPeriods) &&
		aws.ToInt32(a.DatapointsToAlarm) == aws.ToInt32(in.DatapointsToAlarm) &&
		aws.ToFloat64(a.Threshold) == aws.ToFloat64(in.Threshold) &&
		a.ComparisonOperator == in.ComparisonOperator &&
		aws.ToString(a.TreatMissingData) == aws.ToString(in.TreatMissingData) &&
		aws.ToBool(a.ActionsEnabled) == aws.ToBool(in.ActionsEnabled) &&
		slices.Equal(sorted(a.AlarmActions), sorted(in.AlarmActions))
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// EnsureAlarm reads the alarm and writes it only when it is missing or differs, so a
// restart of the agent costs one DescribeAlarms and no write.
func (s *AWSSink) EnsureAlarm(ctx context.Context, spec AlarmSpec) (string, error) {
	in := alarmInput(spec)
	out, err := s.CloudWatch.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{spec.Name},
		AlarmTypes: []cwtypes.AlarmType{cwtypes.AlarmTypeMetricAlarm}})
	if err != nil {
		return "", fmt.Errorf("DescribeAlarms %s: %w", spec.Name, err)
	}
	change := "created"
	for _, a := range out.MetricAlarms {
		if aws.ToString(a.AlarmName) != spec.Name {
			continue
		}
		if matches(a, in) {
			return "", nil
		}
		change = "updated"
	}
	if _, err := s.CloudWatch.PutMetricAlarm(ctx, in); err != nil {
		return "", fmt.Errorf("PutMetricAlarm %s: %w", spec.Name, err)
	}
	return change, nil
}

// DeleteAlarm deletes the alarm; CloudWatch does not fail on an alarm that is gone.
func (s *AWSSink) DeleteAlarm(ctx context.Context, name string) error {
	_, err := s.CloudWatch.DeleteAlarms(ctx, &cloudwatch.DeleteAlarmsInput{AlarmNames: []string{name}})
	if err != nil && awsenv.IsNotFound(err) {
		return nil
	}
	return err
}

// SetUnhealthy calls SetInstanceHealth Unhealthy with ShouldRespectGracePeriod.
func (s *AWSSink) SetUnhealthy(ctx context.Context, instanceID string) error {
	if s.AutoScaling == nil {
		return errors.New("no Auto Scaling client")
	}
	_, err := s.AutoScaling.SetInstanceHealth(ctx, &autoscaling.SetInstanceHealthInput{InstanceId: aws.String(instanceID),
		HealthStatus: aws.String("Unhealthy"), ShouldRespectGracePeriod: aws.Bool(true)})
	if err != nil {
		return fmt.Errorf("SetInstanceHealth: %w", err)
	}
	return nil
}

// Publish sends notifications with one PutEvents call. When EventBridge refuses some
// entries the error is returned and the queue sends the batch again: at least once, so a
// rule may see an accepted entry twice.
func (s *AWSSink) Publish(ctx context.Context, ns []Notification) error {
	if s.EventBridge == nil || len(ns) == 0 {
		return nil
	}
	entries := make([]ebtypes.PutEventsRequestEntry, 0, len(ns))
	for _, n := range ns {
		detail, err := json.Marshal(n.Detail())
		if err != nil {
			return err
		}
		e := ebtypes.PutEventsRequestEntry{Source: aws.String(contract.Source), DetailType: aws.String(contract.DetailType(n.Kind)),
			Detail: aws.String(string(detail)), Time: aws.Time(n.Time)}
		if s.EventBus != "" {
			e.EventBusName = aws.String(s.EventBus)
		}
		entries = append(entries, e)
	}
	out, err := s.EventBridge.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: entries})
	if err != nil {
		return fmt.Errorf("PutEvents: %w", err)
	}
	if out.FailedEntryCount == 0 {
		return nil
	}
	for i, r := range out.Entries {
		if r.ErrorCode != nil {
			return fmt.Errorf("PutEvents: %d of %d entries refused, entry %d: %s: %s", out.FailedEntryCount, len(entries), i,
				aws.ToString(r.ErrorCode), aws.ToString(r.ErrorMessage))
		}
	}
	return fmt.Errorf("PutEvents: %d of %d entries refused", out.FailedEntryCount, len(entries))
}
