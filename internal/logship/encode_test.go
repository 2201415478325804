package logship

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/klauspost/compress/gzip"

	"github.com/stackhand/stackhand/internal/awsenv"
)

// appendPutLogEvents is the whole body encodePutLogEvents makes without a flush.
func appendPutLogEvents(buf []byte, key StreamKey, items []entry) []byte {
	return encodePutLogEvents(buf, key, items, nil)
}

// capture is an HTTP server that answers every call with an empty JSON 1.1 success and
// keeps the last request's body (gunzipped) and headers.
type capture struct {
	*httptest.Server
	mu     sync.Mutex
	body   []byte
	header http.Header
	calls  int
}

func newCapture(t testing.TB) *capture {
	c := &capture{}
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err == nil && r.Header.Get("Content-Encoding") == "gzip" {
			var zr *gzip.Reader
			if zr, err = gzip.NewReader(bytes.NewReader(b)); err == nil {
				b, err = io.ReadAll(zr)
			}
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		c.mu.Lock()
		c.body, c.header = b, r.Header.Clone()
		c.calls++
		c.mu.Unlock()
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		_, _ = io.WriteString(w, "{}")
	}))
	t.Cleanup(c.Close)
	return c
}

func (c *capture) last() ([]byte, http.Header) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.body, c.header
}

// agentClient is the agent's CloudWatch Logs client for endpoint, with static
// credentials.
func agentClient(endpoint string) *awsenv.LogsClient {
	return awsenv.NewLogsClient(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")}, 30*time.Second)
}

// sdkClient is a real CloudWatch Logs client for endpoint, with static credentials and
// the SDK's retries off.
func sdkClient(endpoint string) *cloudwatchlogs.Client {
	return cloudwatchlogs.New(cloudwatchlogs.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(endpoint),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		RetryMaxAttempts: 1,
	})
}

// fragments are the pieces random messages are made of: everything the escaping
// treats specially, and plain runs long enough for the 8-byte fast path.
var fragments = []string{
	"a", "hello world ", "0123456789abcdef", "GET /index.html HTTP/1.1 200 ",
	`"`, `\`, `\\"`, "/", "'", "<", ">", "&", "<script>&amp;</script>",
	"\n", "\r\n", "\t", "\b", "\f", "\x00", "\x01", "\x1b[31m", "\x1f", "\x7f", " ",
	"\u2028", "\u2029", "\u2027", "\u202a", "é", "ß", "中文", "\U0001F600", "👍🏽", "\uFEFF",
	"\uFFFD", "\u0080", "\u07ff", "\u0800", "\U0010FFFF",
	// invalid UTF-8, as a tailer that failed to repair it would hand over
	"\xff", "\xc3", "\xe2\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\x80\x80",
}

func randomMessage(r *rand.Rand) []byte {
	var b []byte
	for range r.IntN(12) {
		if r.IntN(4) == 0 {
			// a random byte, valid or not
			b = append(b, byte(r.IntN(256)))
			continue
		}
		b = append(b, fragments[r.IntN(len(fragments))]...)
	}
	return b
}

func randomName(r *rand.Rand) string {
	n := []string{"app", "/aws/ec2/web", "i-0123456789abcdef0", "a\"b", `c\d`, "é/中", "x<y>&z", "\u2028"}
	return n[r.IntN(len(n))] + n[r.IntN(len(n))]
}

// TestEncodeMatchesSDK checks that appendPutLogEvents writes, byte for byte, the body
// the SDK's own serializer writes for the same PutLogEvents input, on random input: the
// real client sends to an HTTP server that keeps the body.
func TestEncodeMatchesSDK(t *testing.T) {
	srv := newCapture(t)
	client := sdkClient(srv.URL)
	r := rand.New(rand.NewPCG(1, 2))
	var buf []byte
	for round := range 300 {
		key := StreamKey{Group: randomName(r), Stream: randomName(r)}
		items := make([]entry, r.IntN(20))
		in := &cloudwatchlogs.PutLogEventsInput{
			LogGroupName:  aws.String(key.Group),
			LogStreamName: aws.String(key.Stream),
			LogEvents:     []types.InputLogEvent{},
		}
		for n := range items {
			e := entry{Msg: randomMessage(r), Time: r.Int64N(4e12) - 1e12}
			switch r.IntN(5) {
			case 0:
				e.Time = r.Int64()
			case 1:
				e.Parts = uint32(1 + r.IntN(1000))
				e.Part = uint32(1 + r.IntN(int(e.Parts)))
			}
			items[n] = e
			msg := string(e.Msg)
			if e.Parts > 0 {
				msg = string(appendSplitSuffix([]byte(msg), e.Part, e.Parts))
			}
			in.LogEvents = append(in.LogEvents, types.InputLogEvent{Message: aws.String(msg), Timestamp: aws.Int64(e.Time)})
		}
		if _, err := client.PutLogEvents(context.Background(), in); err != nil {
			t.Fatalf("round %d: SDK PutLogEvents: %v", round, err)
		}
		want, _ := srv.last()
		buf = appendPutLogEvents(buf[:0], key, items)
		if !bytes.Equal(buf, want) {
			t.Fatalf("round %d: body differs from the SDK's\n ours: %q\n  SDK: %q\nfirst difference at byte %d",
				round, buf, want, firstDiff(buf, want))
		}
		if !json.Valid(buf) {
			t.Fatalf("round %d: invalid JSON %q", round, buf)
		}
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestEncodeEscapes pins the escaping of the bytes the SDK treats specially.
func TestEncodeEscapes(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"plain", `plain`},
		{`"q" \b`, `\"q\" \\b`},
		{"\n\r\t\b\f\x00\x1f\x7f", `\n\r\t\u0008\u000c\u0000\u001f\u007f`},
		{"<a href='x'>&</a>", `<a href='x'>&</a>`},
		{"\u2028\u2029", `\u2028\u2029`},
		{"a\xffb\xc3", "a\uFFFDb\uFFFD"},
		{"é😀", "é😀"},
		{"0123456789abcdef\"0123456789", `0123456789abcdef\"0123456789`},
	} {
		if got := string(appendJSONStringBody(nil, []byte(c.in))); got != c.want {
			t.Errorf("escape %q = %s, want %s", c.in, got, c.want)
		}
	}
}

// TestUnsafeWord checks the 8-byte fast path against the byte-by-byte rule for every
// byte value in every position.
func TestUnsafeWord(t *testing.T) {
	for pos := range 8 {
		for c := range 256 {
			w := []byte("abcdefgh")
			w[pos] = byte(c)
			want := c >= utf8.RuneSelf || !jsonSafe[c]
			got := unsafeWord(uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
				uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56)
			if got != want {
				t.Fatalf("byte %#x at %d: unsafeWord = %v, want %v", c, pos, got, want)
			}
		}
	}
}

func TestEncodeAllocs(t *testing.T) {
	key := StreamKey{Group: strings.Repeat("g", 100), Stream: "i-0123456789abcdef0/app.log"}
	items := benchItems(1000, 200)
	buf := appendPutLogEvents(nil, key, items)
	allocs := testing.AllocsPerRun(20, func() {
		buf = appendPutLogEvents(buf[:0], key, items)
	})
	if allocs != 0 {
		t.Errorf("appendPutLogEvents into a buffer big enough: %v allocations, want 0", allocs)
	}
}

// benchItems returns n events with messages of size bytes, like access log lines.
func benchItems(n, size int) []entry {
	items := make([]entry, n)
	line := []byte(strings.Repeat(`203.0.113.9 - - [12/Mar/2026:10:00:00 +0000] "GET /api/v1/items?id=42 HTTP/1.1" 200 512 "-" "curl/8.5.0" `, 1+size/100)[:size])
	for i := range items {
		items[i] = entry{Time: 1_770_000_000_000 + int64(i), Msg: line}
	}
	return items
}

func BenchmarkEncode(b *testing.B) {
	key := StreamKey{Group: "/stackhand/bench", Stream: "i-0123456789abcdef0"}
	items := benchItems(5000, 200)
	buf := appendPutLogEvents(nil, key, items)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		buf = appendPutLogEvents(buf[:0], key, items)
	}
	b.ReportMetric(float64(b.N)*float64(len(items))/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(testing.AllocsPerRun(1, func() { buf = appendPutLogEvents(buf[:0], key, items) }))/float64(len(items)), "allocs/event")
}

// TestGzipBodyIsTheJSONBody: the body compressed as it is encoded, in pieces, is the
// body appendPutLogEvents encodes whole, for batches of small events, of events around
// the piece size and of one event far larger than a piece.
func TestGzipBodyIsTheJSONBody(t *testing.T) {
	for _, items := range [][]entry{
		benchItems(1000, 200),
		benchItems(7, encodeChunk-40),
		{{Time: 1, Msg: bytes.Repeat([]byte("x\"\n"), MaxMessageBytes/3)}},
		{{Time: 2, Msg: []byte("a")}},
	} {
		gz, err := gzipPutLogEvents([]byte("keep"), testKey, items, Gzip)
		if err != nil || string(gz[:4]) != "keep" {
			t.Fatalf("gzipPutLogEvents: %v, prefix %q", err, gz[:4])
		}
		got, err := gunzip(gz[4:])
		if err != nil {
			t.Fatal(err)
		}
		if want := appendPutLogEvents(nil, testKey, items); !bytes.Equal(got, want) {
			t.Fatalf("%d events: gzipped body decompresses to %d bytes differing from the %d encoded whole", len(items), len(got), len(want))
		}
	}
}

// TestEncodeBodyEachCompression: each Compression's body is the JSON body, as is or
// gzipped; Huffman-only takes more bytes than level 1 and fewer than the JSON, so the
// level each asks for is the one used; and each config name parses to its Compression.
func TestEncodeBodyEachCompression(t *testing.T) {
	items := benchItems(2000, 120)
	want := appendPutLogEvents(nil, testKey, items)
	sizes := map[Compression]int{}
	for _, comp := range []Compression{Gzip, HuffmanOnly, NoCompression} {
		body, err := encodeBody([]byte("keep"), testKey, items, comp)
		if err != nil || string(body[:4]) != "keep" {
			t.Fatalf("%s: encodeBody: %v, prefix %q", comp, err, body[:4])
		}
		body = body[4:]
		sizes[comp] = len(body)
		got := body
		if comp != NoCompression {
			if got, err = gunzip(body); err != nil {
				t.Fatalf("%s: body does not gunzip: %v", comp, err)
			}
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: body decodes to %d bytes differing from the %d of the JSON", comp, len(got), len(want))
		}
		if c, err := ParseCompression(comp.String()); err != nil || c != comp {
			t.Errorf("ParseCompression(%q) = %v, %v", comp.String(), c, err)
		}
	}
	if !(sizes[Gzip] < sizes[HuffmanOnly] && sizes[HuffmanOnly] < sizes[NoCompression]) {
		t.Errorf("body sizes gzip %d, huffman %d, none %d: want growing in that order", sizes[Gzip], sizes[HuffmanOnly], sizes[NoCompression])
	}
	t.Logf("body sizes: gzip %d, huffman %d, none %d", sizes[Gzip], sizes[HuffmanOnly], sizes[NoCompression])
	if c, err := ParseCompression(""); err != nil || c != Gzip {
		t.Errorf(`ParseCompression("") = %v, %v; want gzip`, c, err)
	}
	if _, err := ParseCompression("zstd"); err == nil || !strings.Contains(err.Error(), "use gzip, huffman or none") {
		t.Errorf(`ParseCompression("zstd") = %v`, err)
	}
}

// TestJSONExtra: jsonExtra counts what appendJSONStringBody adds, and cutEscaped cuts
// where the escaped prefix fits.
func TestJSONExtra(t *testing.T) {
	for _, s := range []string{"", "plain text of some length", "a\"b\\c\nd\re\tf\x01g\x7fh", "é\u2028\u2029✓", "\xff\xfe ok", strings.Repeat("\x00", 17)} {
		if got, want := jsonExtra([]byte(s)), len(appendJSONStringBody(nil, []byte(s)))-len(s); got != want {
			t.Errorf("jsonExtra(%q) = %d, want %d", s, got, want)
		}
	}
	msg := []byte("ab\x01cd")
	for room, want := range map[int]int{1: 1, 2: 2, 7: 2, 8: 3, 9: 4, 100: 5} {
		if got := cutEscaped(msg, room); got != want {
			t.Errorf("cutEscaped(%q, %d) = %d, want %d", msg, room, got, want)
		}
	}
}
