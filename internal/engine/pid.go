package engine

import "os"

var osGetpid = os.Getpid
