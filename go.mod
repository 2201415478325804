module github.com/stackhand/stackhand

go 1.26.0

require (
	github.com/fsnotify/fsnotify v1.10.1
	github.com/kardianos/service v1.3.0
	go.uber.org/zap v1.28.0
	go.yaml.in/yaml/v3 v3.0.6
	golang.org/x/sys v0.49.0
)

require go.uber.org/multierr v1.10.0 // indirect
