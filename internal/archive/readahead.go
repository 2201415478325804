package archive

import (
	"io"
	"sync"
)

// readahead decompresses in a goroutine of its own, a few buffers ahead of the reader,
// so that inflating the next part of an archive overlaps with writing the last one to
// disk (as `tar xzf` overlaps gzip and tar in two processes). Its memory is fixed:
// readaheadBufs buffers of bufSize.
type readahead struct {
	src    io.Reader
	full   chan chunk    // filled buffers, in order
	free   chan *[]byte  // buffers the reader is done with
	done   chan struct{} // closed by close: the goroutine stops
	wg     sync.WaitGroup
	cur    chunk
	off    int
	closed bool
}

type chunk struct {
	buf *[]byte
	n   int
	err error
}

const readaheadBufs = 4

func newReadahead(src io.Reader) *readahead {
	r := &readahead{src: src, full: make(chan chunk, readaheadBufs), free: make(chan *[]byte, readaheadBufs), done: make(chan struct{})}
	for i := 0; i < readaheadBufs; i++ {
		r.free <- bufPool.Get().(*[]byte)
	}
	r.wg.Add(1)
	go r.fill()
	return r
}

func (r *readahead) fill() {
	defer r.wg.Done()
	for {
		var b *[]byte
		select {
		case b = <-r.free:
		case <-r.done:
			return
		}
		// Fill the buffer, keeping the source's own error: a truncated gzip stream says
		// io.ErrUnexpectedEOF, which must reach the tar reader as it is.
		n, err := 0, error(nil)
		for n < len(*b) && err == nil {
			var m int
			m, err = r.src.Read((*b)[n:])
			n += m
		}
		select {
		case r.full <- chunk{buf: b, n: n, err: err}:
		case <-r.done:
			bufPool.Put(b)
			return
		}
		if err != nil {
			return
		}
	}
}

func (r *readahead) Read(p []byte) (int, error) {
	for r.cur.buf == nil || r.off == r.cur.n {
		if r.cur.buf != nil {
			if r.cur.err != nil {
				return 0, r.cur.err
			}
			r.free <- r.cur.buf
			r.cur = chunk{}
		}
		r.cur = <-r.full
		r.off = 0
	}
	n := copy(p, (*r.cur.buf)[r.off:r.cur.n])
	r.off += n
	return n, nil
}

// close stops the goroutine and waits for it, so that nothing reads the source after.
func (r *readahead) close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	close(r.done)
	r.wg.Wait()
	if r.cur.buf != nil {
		bufPool.Put(r.cur.buf)
	}
	for {
		select {
		case c := <-r.full:
			bufPool.Put(c.buf)
		case b := <-r.free:
			bufPool.Put(b)
		default:
			return nil
		}
	}
}
