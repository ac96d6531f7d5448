#!/usr/bin/env bats
# End to end: the examples built by sbx build and run by sbx run -p.
#
# examples/jupyterlab is built over a Debian base image, run with
# -p PORT:8888, and used as a person would: the URL line with its token,
# /api/status with the token (curl), the tree page in headless Chromium
# (its title), then stopped, with nothing left running.  examples/ml-app is
# built, serves on port 80 inside, and keeps its data in a -v ./data volume
# that a second container sees.
#
# The base image is the debootstrap tarball tests/run-all builds as root
# (SBX_TEST_DEBIAN_TAR, by default /var/tmp/sbx-test-cache/debian-minbase.tar;
# Debian 12 minbase with python3), imported as debian:bookworm.  The RUN
# steps apt-get install from the Debian mirror the tarball names, through
# sbx's slirp network.  Slow: the jupyterlab build downloads ~80 packages
# (about a minute on an idle 2-CPU machine).
#
# Skips: no tarball (when not run by tests/run-all), the mirror unreachable
# (SBX_TEST_REQUIRE=mirror makes that a failure), chromium or curl missing
# (SBX_TEST_REQUIRE=chromium).

# Each @test runs in a subshell of its own.
# shellcheck disable=SC2030,SC2031

load helpers

if [ -n "${BATS_TEST_TIMEOUT:-}" ] && [ "$BATS_TEST_TIMEOUT" -lt 600 ]; then
  BATS_TEST_TIMEOUT=600
fi

DEFAULT_TAR=/var/tmp/sbx-test-cache/debian-minbase.tar

setup_file() {
  export DEBIAN_TAR=${SBX_TEST_DEBIAN_TAR:-$DEFAULT_TAR}
  export EXAMPLES=${SBX_TEST_EXAMPLES:-$TESTS_DIR/../examples}
  export EX_ROOT="$BATS_FILE_TMPDIR/store"
  [ -r "$DEBIAN_TAR" ] || return 0
  # The mirror the image's apt uses: the first deb line of its sources.list.
  MIRROR=$(tar -xOf "$DEBIAN_TAR" ./etc/apt/sources.list 2>/dev/null |
    awk '$1 == "deb" { print $2; exit }')
  export MIRROR
  SBX_ROOT="$EX_ROOT" sbx import "$DEBIAN_TAR" debian:bookworm >/dev/null
}

teardown_file() {
  # Layers made by RUN steps hold files of subordinate ids: only the
  # namespace removes them.
  [ ! -d "$EX_ROOT" ] || sbx unshare rm -rf --one-file-system "$EX_ROOT"
}

setup() {
  require_userns
  require_tun
  if [ ! -r "$DEBIAN_TAR" ]; then
    [ -z "${SBX_TEST_DEBIAN_TAR:-}" ] ||
      fail "tests/run-all did not build $SBX_TEST_DEBIAN_TAR (debootstrap failed? see its log above)"
    skip "no $DEBIAN_TAR: run the suite once as root (tests/run-all builds it with debootstrap)"
  fi
  [ -d "$EXAMPLES/jupyterlab" ] || fail "no examples in $EXAMPLES (set SBX_TEST_EXAMPLES)"
  command -v curl >/dev/null || require_feature curl no "curl is not installed (scripts/install-deps)"
  if [ -z "$MIRROR" ]; then
    fail "no deb line in $DEBIAN_TAR's /etc/apt/sources.list"
  elif curl -fsS -o /dev/null --max-time 20 "$MIRROR/dists/bookworm/InRelease" 2>/dev/null; then
    require_feature mirror yes ""
  else
    require_feature mirror no "the Debian mirror $MIRROR is unreachable (apt-get in RUN needs it)"
  fi
  export SBX_ROOT="$EX_ROOT"
}

teardown() {
  # A failed test must not leave its server running.
  local pid
  for pid in "${SBX_PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${SBX_PIDS[@]}"; do
    wait_for 20 bash -c "! kill -0 $pid 2>/dev/null" || kill -KILL "$pid" 2>/dev/null || true
  done
}

# A TCP port nobody listens on now, on 127.0.0.1.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Start sbx run in the background: start_bg OUT ERR ARG...; sets SBX_PID.
SBX_PIDS=()
start_bg() {
  local out=$1 err=$2
  shift 2
  "$SBX" run "$@" >"$out" 2>"$err" 3>&- &
  SBX_PID=$!
  SBX_PIDS+=("$SBX_PID")
}

# Stop a background sbx run with SIGTERM (forwarded to the container); it
# must end within 30 s with status 0.  Not under `run`: that is a subshell,
# which cannot wait for the test's children.
stop_bg() {
  local pid=$1 rc=0
  kill -TERM "$pid"
  wait_for 30 bash -c "! kill -0 $pid 2>/dev/null" ||
    fail "sbx run (pid $pid) did not end 30 s after SIGTERM"
  wait "$pid" || rc=$?
  [ "$rc" -eq 0 ] || fail "sbx run (pid $pid) exited with status $rc after SIGTERM"
}

# Is nothing listening on 127.0.0.1:PORT any more?
port_closed() { ! curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$1/"; }

@test "examples/jupyterlab: build, run -p, /api/status with the token, the tree page in Chromium" {
  command -v chromium >/dev/null ||
    require_feature chromium no "chromium is not installed (scripts/install-deps)"
  local port err="$BATS_TEST_TMPDIR/run.err" url token
  run sbx build -t jupyterlab "$EXAMPLES/jupyterlab"
  assert_success
  assert_output --partial "Setting up jupyter-notebook"
  assert_line --regexp '^sha256:[0-9a-f]{64}$'
  # Nothing changed: every step is cached, nothing runs.
  run sbx build -t jupyterlab "$EXAMPLES/jupyterlab"
  assert_success
  refute_output --partial "Setting up"
  [ "$(grep -c -- '--> CACHED' <<<"$output")" -eq 4 ]

  port=$(free_port)
  start_bg "$BATS_TEST_TMPDIR/run.out" "$err" --rm -p "$port:8888" jupyterlab
  wait_for 120 grep -q 'http://127.0.0.1:8888/?token=[0-9a-f]' "$err" || {
    cat "$err"
    fail "no URL line with a token within 120 s"
  }
  grep -qx "sbx: 127.0.0.1:$port -> 8888/tcp" "$err"
  url=$(grep -o 'http://127.0.0.1:8888/?token=[0-9a-f]*' "$err" | head -n1)
  token=${url##*token=}

  # The API answers with the token, and refuses without it.
  run curl -fsS --max-time 10 -H "Authorization: token $token" "http://127.0.0.1:$port/api/status"
  assert_success
  assert_output --partial '"started":'
  run curl -s -o /dev/null -w '%{http_code}' --max-time 10 "http://127.0.0.1:$port/api/status"
  assert_output 403

  # The tree page, rendered by a browser: the token logs it in.
  run timeout 90 chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
    --no-first-run --user-data-dir="$BATS_TEST_TMPDIR/chromium" \
    --dump-dom "http://127.0.0.1:$port/tree?token=$token"
  assert_success
  assert_output --partial "<title>Home Page - Select or create a notebook</title>"

  # Stopped, nothing is left: no process, no port, no container (--rm).
  stop_bg "$SBX_PID"
  assert grep -q "received signal 15, stopping" "$err"
  no_pids "jupyter-notebook"
  no_pids "sbx run --rm -p $port:8888"
  port_closed "$port"
  run sbx ps -a -q
  assert_output ""
}

@test "examples/ml-app: build, serve on port 80 inside, data kept in a -v ./data volume" {
  local port work="$BATS_TEST_TMPDIR/app"
  run sbx build -t ml-app "$EXAMPLES/ml-app"
  assert_success
  mkdir -p "$work/data"
  cd "$work"

  port=$(free_port)
  start_bg "$work/out1" "$work/err1" --rm -v ./data:/app/data -p "$port:80" ml-app
  wait_for 60 curl -fs -o /dev/null --max-time 2 "http://127.0.0.1:$port/healthz" || {
    cat "$work/err1"
    fail "ml-app did not answer within 60 s"
  }
  assert grep -q "ml-app: listening on port 80, data in /app/data" "$work/err1"
  run curl -fsS --max-time 10 --data-binary $'1,3\n2,5\n3,7' "http://127.0.0.1:$port/samples"
  assert_success
  assert_output --partial '"added": 3'
  run curl -fsS --max-time 10 "http://127.0.0.1:$port/predict?x=10"
  assert_success
  assert_output '{"x": 10.0, "y": 21.0, "samples": 3}'
  stop_bg "$SBX_PID"
  port_closed "$port"

  # The data is on the host, yours...
  assert_equal "$(cat data/samples.csv)" $'1.0,3.0\n2.0,5.0\n3.0,7.0'
  assert grep -q '"slope": 2.0' data/model.json
  [ "$(stat -c %u data/samples.csv)" -eq "$(id -u)" ]
  # ... and a new container over the same volume has it.
  start_bg "$work/out2" "$work/err2" --rm -v ./data:/app/data -p "$port:80" ml-app
  wait_for 60 curl -fs -o /dev/null --max-time 2 "http://127.0.0.1:$port/healthz"
  run curl -fsS --max-time 10 "http://127.0.0.1:$port/"
  assert_output --partial "ml-app: 3 samples in /app/data"
  run curl -fsS --max-time 10 --data-binary '4,9' "http://127.0.0.1:$port/samples"
  assert_output --partial '"samples": 4'
  stop_bg "$SBX_PID"
  [ "$(wc -l <data/samples.csv)" -eq 4 ]
  no_pids "app.py"
  run sbx ps -a -q
  assert_output ""
}
