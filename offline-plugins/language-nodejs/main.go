// Command pulumi-language-nodejs is a small Node.js language host for the Pulumi engine.
//
// Pulumi's own Node.js language host is not available from the Go module proxy this project can
// reach, so this one is built from the Pulumi Go SDK alone. It does what a TypeScript program with
// dynamic providers needs: it reports the provider packages found in node_modules, runs the program
// with the @pulumi/pulumi "run" entry point (ts-node is set up by @pulumi/pulumi itself), and maps
// the program's exit to the engine's run result. Dependency installation is left to npm.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/config"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// version is reported by GetPluginInfo; the setup script sets it with -ldflags "-X main.version=...".
var version = "v0.0.0-dev"

// runEntryPoint is the module, resolved from the program directory, that runs a Pulumi program.
const runEntryPoint = "@pulumi/pulumi/cmd/run"

// exitCodeUserActionable is the exit code with which @pulumi/pulumi's run entry point says it has
// already shown the user an actionable message: the engine then stops without adding its own.
const exitCodeUserActionable = 32

func main() {
	showVersion := flag.Bool("version", false, "print the plugin version and exit")
	tracing := flag.String("tracing", "", "tracing endpoint, passed on to the program")
	// The engine may pass flags we do not use (e.g. -runtime); accept them instead of failing.
	flag.String("runtime", "nodejs", "runtime (only nodejs is supported)")
	flag.Parse()
	if *showVersion {
		fmt.Println(version)
		return
	}

	var engineAddress string
	if args := flag.Args(); len(args) > 0 {
		engineAddress = args[0]
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	serverCancel := make(chan bool)
	go func() {
		<-ctx.Done()
		close(serverCancel)
	}()

	host := newHost(engineAddress, *tracing)
	if engineAddress != "" {
		// Exit when the engine goes away.
		if err := rpcutil.Healthcheck(ctx, engineAddress, 5*time.Minute, stop); err != nil {
			fail(fmt.Errorf("could not start the engine health check: %w", err))
		}
	}

	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: serverCancel,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, host)
			return nil
		},
	})
	if err != nil {
		fail(fmt.Errorf("could not start the language host RPC server: %w", err))
	}
	// Like every plugin, tell the engine where we listen.
	fmt.Printf("%d\n", handle.Port)

	if err := <-handle.Done; err != nil {
		fail(fmt.Errorf("language host RPC server stopped: %w", err))
	}
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "pulumi-language-nodejs: %v\n", err)
	os.Exit(1)
}

type host struct {
	pulumirpc.UnimplementedLanguageRuntimeServer

	engineAddress string
	tracing       string

	// cancelled by the Cancel RPC: a running program gets SIGINT.
	cancelCtx  context.Context
	cancelFunc context.CancelFunc
}

func newHost(engineAddress, tracing string) *host {
	ctx, cancel := context.WithCancel(context.Background())
	return &host{engineAddress: engineAddress, tracing: tracing, cancelCtx: ctx, cancelFunc: cancel}
}

func (h *host) Handshake(ctx context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	if addr := req.GetEngineAddress(); addr != "" {
		h.engineAddress = addr
	}
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *host) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version}, nil
}

func (h *host) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	h.cancelFunc()
	return &emptypb.Empty{}, nil
}

// ---- options (the `runtime.options` of Pulumi.yaml) ----------------------------------------------

type options struct {
	typescript bool     // run TypeScript through ts-node (default true)
	tsconfig   string   // tsconfig path, relative to the program directory
	nodeargs   []string // extra arguments for node
}

func parseOptions(info *pulumirpc.ProgramInfo) (options, error) {
	opts := options{typescript: true}
	if info == nil || info.GetOptions() == nil {
		return opts, nil
	}
	m := info.GetOptions().AsMap()
	if v, ok := m["typescript"]; ok {
		b, isBool := v.(bool)
		if !isBool {
			return opts, errors.New("the nodejs runtime option 'typescript' must be a boolean")
		}
		opts.typescript = b
	}
	if v, ok := m["tsconfig"]; ok {
		s, isString := v.(string)
		if !isString {
			return opts, errors.New("the nodejs runtime option 'tsconfig' must be a string")
		}
		opts.tsconfig = s
	}
	if v, ok := m["nodeargs"]; ok {
		s, isString := v.(string)
		if !isString {
			return opts, errors.New("the nodejs runtime option 'nodeargs' must be a string")
		}
		args, err := splitArgs(s)
		if err != nil {
			return opts, fmt.Errorf("the nodejs runtime option 'nodeargs': %w", err)
		}
		opts.nodeargs = args
	}
	return opts, nil
}

// splitArgs splits a command line on blanks, honouring single and double quotes and backslashes.
func splitArgs(s string) ([]string, error) {
	var args []string
	var cur strings.Builder
	inArg, quote, escaped := false, rune(0), false
	for _, r := range s {
		switch {
		case escaped:
			cur.WriteRune(r)
			escaped = false
		case r == '\\' && quote != '\'':
			escaped, inArg = true, true
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '"' || r == '\'':
			quote, inArg = r, true
		case r == ' ' || r == '\t' || r == '\n':
			if inArg {
				args = append(args, cur.String())
				cur.Reset()
				inArg = false
			}
		default:
			cur.WriteRune(r)
			inArg = true
		}
	}
	if quote != 0 || escaped {
		return nil, fmt.Errorf("unterminated quote or escape in %q", s)
	}
	if inArg {
		args = append(args, cur.String())
	}
	return args, nil
}

// ---- Run -----------------------------------------------------------------------------------------

func (h *host) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	info := req.GetInfo()
	if info == nil {
		return nil, status.Error(codes.InvalidArgument, "RunRequest has no program info")
	}
	opts, err := parseOptions(info)
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}

	// `node` from PATH: the project's scripts put node_modules/.bin (Node 22) first.
	nodeBin, err := exec.LookPath("node")
	if err != nil {
		return &pulumirpc.RunResponse{Error: "could not find node on the $PATH: " + err.Error()}, nil
	}
	runPath, err := resolveModule(ctx, nodeBin, info.GetProgramDirectory(), runEntryPoint)
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}

	configJSON, err := configEnv(req.GetConfig())
	if err != nil {
		return &pulumirpc.RunResponse{Error: "failed to serialize configuration: " + err.Error()}, nil
	}
	secretKeys := req.GetConfigSecretKeys()
	if secretKeys == nil {
		secretKeys = []string{}
	}
	secretKeysJSON, err := json.Marshal(secretKeys)
	if err != nil {
		return &pulumirpc.RunResponse{Error: "failed to serialize secret configuration keys: " + err.Error()}, nil
	}

	env := append(os.Environ(),
		"PULUMI_CONFIG="+configJSON,
		"PULUMI_CONFIG_SECRET_KEYS="+string(secretKeysJSON),
	)
	if opts.typescript {
		env = append(env, "PULUMI_NODEJS_TYPESCRIPT=true")
	}
	if opts.tsconfig != "" {
		env = append(env, "PULUMI_NODEJS_TSCONFIG_PATH="+opts.tsconfig)
	}

	args := append(append([]string{}, opts.nodeargs...), h.runArguments(req, runPath)...)
	return h.runNode(ctx, nodeBin, args, env), nil
}

// runArguments builds the command line of @pulumi/pulumi/cmd/run. The monitor address is the
// engine's own: @pulumi/pulumi 3.259 does not use the synchronous-invoke pipes (--sync) for which
// Pulumi's host puts a proxy in between, so neither is needed.
func (h *host) runArguments(req *pulumirpc.RunRequest, runPath string) []string {
	args := []string{runPath}
	add := func(name, value string) {
		if value != "" {
			args = append(args, "--"+name, value)
		}
	}
	add("monitor", req.GetMonitorAddress())
	add("engine", h.engineAddress)
	add("organization", req.GetOrganization())
	add("project", req.GetProject())
	add("root-directory", req.GetInfo().GetRootDirectory())
	add("stack", req.GetStack())
	add("pwd", req.GetInfo().GetProgramDirectory())
	if req.GetDryRun() {
		args = append(args, "--dry-run")
	}
	add("parallel", strconv.Itoa(int(req.GetParallel())))
	add("tracing", h.tracing)
	entry := req.GetInfo().GetEntryPoint()
	if entry == "" {
		entry = "."
	}
	args = append(args, entry)
	return append(args, req.GetArgs()...)
}

// configEnv serializes the stack config the way @pulumi/pulumi reads PULUMI_CONFIG: keys in the
// "<namespace>:config:<name>" form, which every @pulumi/pulumi version understands.
func configEnv(cfg map[string]string) (string, error) {
	out := make(map[string]string, len(cfg))
	for k, v := range cfg {
		key, err := config.ParseKey(k)
		if err != nil {
			return "", err
		}
		out[key.Namespace()+":config:"+key.Name()] = v
	}
	b, err := json.Marshal(out)
	return string(b), err
}

func (h *host) runNode(ctx context.Context, nodeBin string, args, env []string) *pulumirpc.RunResponse {
	// Stop the program on the Cancel RPC or when the engine abandons the request.
	cmdCtx, cmdCancel := context.WithCancel(h.cancelCtx)
	defer cmdCancel()
	stopAfter := context.AfterFunc(ctx, cmdCancel)
	defer stopAfter()

	cmd := exec.CommandContext(cmdCtx, nodeBin, args...)
	cmd.Env = env
	cmd.Cancel = func() error {
		if err := cmd.Process.Signal(os.Interrupt); err != nil {
			return cmd.Process.Kill()
		}
		return nil
	}
	cmd.WaitDelay = 5 * time.Second
	// Node may switch its stdio to non-blocking mode; giving it pipes (copied by Go) keeps our own
	// stdout/stderr, which the engine reads, out of that.
	cmd.Stdout = struct{ io.Writer }{os.Stdout}
	cmd.Stderr = struct{ io.Writer }{os.Stderr}

	err := cmd.Run()
	_ = os.Stdout.Sync()
	_ = os.Stderr.Sync()
	if err == nil {
		return &pulumirpc.RunResponse{}
	}
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) {
		return &pulumirpc.RunResponse{
			Error: fmt.Sprintf("Problem executing program (could not run language executor): %v", err),
		}
	}
	switch code := exitErr.ExitCode(); code {
	case exitCodeUserActionable:
		return &pulumirpc.RunResponse{Bail: true}
	case 0:
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("Program exited unexpectedly: %v", err)}
	case -1:
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("Program was terminated: %v", err)}
	default:
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("Program exited with non-zero exit code: %d", code)}
	}
}

// resolveModule asks node where a module resolves from the program directory (this follows the
// program's node_modules, symlinks and hoisting exactly as the program itself will).
func resolveModule(ctx context.Context, nodeBin, dir, module string) (string, error) {
	script := "try { console.log(require.resolve(process.argv[1])); } catch (e) { " +
		"console.error(e.code === 'MODULE_NOT_FOUND' ? " +
		"'It looks like the Pulumi SDK has not been installed. Have you run npm ci?' : e.message); process.exit(1); }"
	cmd := exec.CommandContext(ctx, nodeBin, "-e", script, module)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) && len(exitErr.Stderr) > 0 {
			return "", errors.New(strings.TrimSpace(string(exitErr.Stderr)))
		}
		return "", fmt.Errorf("resolving %s from %s: %w", module, dir, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// ---- packages and dependencies -------------------------------------------------------------------

// packageJSON holds the fields of a package.json we read.
type packageJSON struct {
	Name            string            `json:"name"`
	Version         string            `json:"version"`
	Dependencies    map[string]string `json:"dependencies"`
	DevDependencies map[string]string `json:"devDependencies"`
	Pulumi          struct {
		Resource bool   `json:"resource"`
		Name     string `json:"name"`
		Version  string `json:"version"`
		Server   string `json:"server"`
	} `json:"pulumi"`
}

func readPackageJSON(path string) (*packageJSON, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var p packageJSON
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &p, nil
}

// installedPackageDirs lists the package folders directly in <dir>/node_modules, scoped ones
// (@scope/name) included. Nested node_modules are not searched.
func installedPackageDirs(dir string) []string {
	nm := filepath.Join(dir, "node_modules")
	entries, err := os.ReadDir(nm)
	if err != nil {
		return nil
	}
	var dirs []string
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		p := filepath.Join(nm, name)
		if fi, err := os.Stat(p); err != nil || !fi.IsDir() {
			continue
		}
		if strings.HasPrefix(name, "@") {
			scoped, err := os.ReadDir(p)
			if err != nil {
				continue
			}
			for _, s := range scoped {
				sp := filepath.Join(p, s.Name())
				if fi, err := os.Stat(sp); err == nil && fi.IsDir() {
					dirs = append(dirs, sp)
				}
			}
			continue
		}
		dirs = append(dirs, p)
	}
	sort.Strings(dirs)
	return dirs
}

// providerPackages returns the Pulumi resource packages installed for the program: the packages
// whose package.json has "pulumi": {"resource": true, ...}.
func providerPackages(programDir string) []*pulumirpc.PackageDependency {
	var deps []*pulumirpc.PackageDependency
	for _, dir := range installedPackageDirs(programDir) {
		p, err := readPackageJSON(filepath.Join(dir, "package.json"))
		if err != nil || !p.Pulumi.Resource {
			continue
		}
		name := p.Pulumi.Name
		if name == "" {
			if !strings.HasPrefix(p.Name, "@pulumi/") {
				fmt.Fprintf(os.Stderr, "warning: %s: a third-party Pulumi package must name its plugin "+
					"in package.json's \"pulumi\" section; ignored\n", p.Name)
				continue
			}
			name = strings.TrimPrefix(p.Name, "@pulumi/")
		}
		ver := p.Pulumi.Version
		if ver == "" {
			ver = p.Version
		}
		if ver != "" && !strings.HasPrefix(ver, "v") {
			ver = "v" + ver
		}
		deps = append(deps, &pulumirpc.PackageDependency{
			Kind: "resource", Name: name, Version: ver, Server: p.Pulumi.Server,
		})
	}
	return deps
}

func (h *host) GetRequiredPackages(ctx context.Context, req *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	return &pulumirpc.GetRequiredPackagesResponse{
		Packages: providerPackages(req.GetInfo().GetProgramDirectory()),
	}, nil
}

func (h *host) GetRequiredPlugins(ctx context.Context, req *pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	var plugins []*pulumirpc.PluginDependency
	for _, p := range providerPackages(req.GetInfo().GetProgramDirectory()) {
		plugins = append(plugins, &pulumirpc.PluginDependency{
			Kind: p.Kind, Name: p.Name, Version: p.Version, Server: p.Server,
		})
	}
	return &pulumirpc.GetRequiredPluginsResponse{Plugins: plugins}, nil
}

// GetProgramDependencies lists the program's direct dependencies at their installed versions.
func (h *host) GetProgramDependencies(ctx context.Context, req *pulumirpc.GetProgramDependenciesRequest,
) (*pulumirpc.GetProgramDependenciesResponse, error) {
	dir := req.GetInfo().GetProgramDirectory()
	if dir == "" {
		dir = req.GetPwd()
	}
	p, err := readPackageJSON(filepath.Join(dir, "package.json"))
	if err != nil {
		return &pulumirpc.GetProgramDependenciesResponse{}, nil
	}
	names := make([]string, 0, len(p.Dependencies)+len(p.DevDependencies))
	for n := range p.Dependencies {
		names = append(names, n)
	}
	for n := range p.DevDependencies {
		if _, dup := p.Dependencies[n]; !dup {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	var deps []*pulumirpc.DependencyInfo
	for _, n := range names {
		installed, err := readPackageJSON(filepath.Join(dir, "node_modules", n, "package.json"))
		if err != nil {
			continue
		}
		deps = append(deps, &pulumirpc.DependencyInfo{Name: n, Version: installed.Version})
	}
	return &pulumirpc.GetProgramDependenciesResponse{Dependencies: deps}, nil
}

// InstallDependencies does not install: `npm ci` does, before the toolchain is set up.
func (h *host) InstallDependencies(req *pulumirpc.InstallDependenciesRequest,
	server pulumirpc.LanguageRuntime_InstallDependenciesServer,
) error {
	dir := req.GetInfo().GetProgramDirectory()
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@pulumi", "pulumi")); err != nil {
		return fmt.Errorf("node_modules/@pulumi/pulumi is missing in %s: run 'npm ci' there "+
			"(this offline language host does not install dependencies)", dir)
	}
	return server.Send(&pulumirpc.InstallDependenciesResponse{Stdout: []byte("dependencies already installed\n")})
}

func (h *host) RuntimeOptionsPrompts(context.Context, *pulumirpc.RuntimeOptionsRequest,
) (*pulumirpc.RuntimeOptionsResponse, error) {
	return &pulumirpc.RuntimeOptionsResponse{}, nil
}

func (h *host) About(ctx context.Context, req *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	nodeBin, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("could not find node on the $PATH: %w", err)
	}
	resp := &pulumirpc.AboutResponse{Executable: nodeBin, Metadata: map[string]string{"packagemanager": "npm"}}
	if out, err := exec.CommandContext(ctx, nodeBin, "--version").Output(); err == nil {
		resp.Version = strings.TrimSpace(string(out))
	}
	if dir := req.GetInfo().GetProgramDirectory(); dir != "" {
		cmd := exec.CommandContext(ctx, nodeBin, "-p", "require('typescript/package.json').version")
		cmd.Dir = dir
		if out, err := cmd.Output(); err == nil {
			resp.Metadata["typescriptVersion"] = strings.TrimSpace(string(out))
		}
	}
	return resp, nil
}
