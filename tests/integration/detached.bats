#!/usr/bin/env bats
# Detached containers without a daemon (issue 7): run -d, ps, logs, exec,
# stop, kill, restart, wait, rm, top, inspect — driven from other shells than
# the one that started the container, after it has gone.

load helpers

IMAGE=localhost/detached-bb

setup_file() {
  sbx_file_setup
  tar -C "$ROOTFS" -czf "$BATS_FILE_TMPDIR/rootfs.tgz" .
}

setup() {
  sbx_test_setup
  require_userns
  run sbx import "$BATS_FILE_TMPDIR/rootfs.tgz" "$IMAGE"
  assert_success
}

teardown() {
  # Never leave a detached monitor behind.
  sbx rm -f web job lab >/dev/null 2>&1 || true
}

# A web server in the background, started by a shell that then exits.
start_web() {
  bash -c '"$SBX" run -d --name web -p 8080 "$1" sh -c "mkdir -p /www; echo served-$$ >/www/index.html; echo hello-out; echo hello-err >&2; exec httpd -f -p 8080 -h /www"' _ "$IMAGE" >"$BATS_TEST_TMPDIR/id" 3>&-
}

web_port() {
  sbx port web 8080/tcp | sed 's/.*://'
}

web_answers() {
  local p
  p=$(web_port) && [ -n "$p" ] && curl -fsS "http://127.0.0.1:$p/" >/dev/null
}

@test "detached: run -d prints the id once the command runs; ps, logs, exec, stop, wait, rm from other shells" {
  require_tun
  start_web
  run cat "$BATS_TEST_TMPDIR/id"
  assert_output --regexp '^[0-9a-f]{64}$'
  wait_for 10 web_answers
  run curl -fsS "http://127.0.0.1:$(web_port)/"
  assert_output --partial "served-"

  run bash -c '"$SBX" ps'
  assert_success
  assert_output --regexp "web"
  assert_output --regexp "127\.0\.0\.1:[0-9]+->8080/tcp"

  run bash -c '"$SBX" logs web 2>/dev/null'
  assert_output "hello-out"
  run bash -c '"$SBX" logs web 2>&1 >/dev/null'
  assert_output "hello-err"
  run bash -c '"$SBX" logs -t web 2>/dev/null'
  assert_output --regexp '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z hello-out$'

  # exec sees the same files and processes as the container.
  run bash -c '"$SBX" exec web sh -c "cat /www/index.html; ps -o comm"'
  assert_success
  assert_output --partial "served-"
  assert_output --partial "httpd"
  run sbx exec web sh -c 'exit 7'
  assert_equal "$status" 7
  run -127 sbx exec web /nonexistent
  assert_equal "$status" 127
  run sbx exec -e FOO=bar -w /www web sh -c 'echo "$FOO $PWD"'
  assert_output "bar /www"

  run sbx top web
  assert_success
  assert_output --partial "httpd -f -p 8080"

  run sbx inspect web
  assert_success
  assert_output --partial '"Running": true'

  # httpd is PID 1 and ignores SIGTERM: stop kills it after the timeout.
  local t0=$SECONDS
  run sbx stop -t 1 web
  assert_success
  assert_output "web"
  [ $((SECONDS - t0)) -le 6 ]
  run sbx wait web
  assert_output "137"
  run sbx ps
  refute_output --partial " web"
  run sbx ps -a
  assert_output --partial "Exited (137)"
  run sbx rm web
  assert_success
  run sbx ps -a
  refute_output --partial " web"
}

@test "detached: the monitor survives the death of the starting session's process group" {
  require_tun
  # A new session whose whole process group is killed once the container runs.
  setsid bash -c '"$SBX" run -d --name web -p 8080 "$1" sh -c "mkdir -p /www; echo ok >/www/index.html; exec httpd -f -p 8080 -h /www" >/dev/null; sleep 300' _ "$IMAGE" 3>&- &
  local leader=$!
  wait_for 15 web_answers
  kill -KILL -- "-$leader" 2>/dev/null || kill -KILL "$leader"
  wait "$leader" 2>/dev/null || true
  sleep 0.5
  run web_answers
  assert_success
  run sbx kill web
  assert_success
  run sbx wait web
  assert_output "137"
}

@test "detached: everything works with XDG_RUNTIME_DIR unset" {
  unset XDG_RUNTIME_DIR
  export TMPDIR="$BATS_TEST_TMPDIR/tmp"
  mkdir -p "$TMPDIR"
  run sbx run -d --name job --network none "$IMAGE" sh -c 'echo working; sleep 300'
  assert_success
  wait_for 10 bash -c '"$SBX" logs job | grep -q working'
  run sbx ps
  assert_output --partial "job"
  [ -d "$TMPDIR/sbx-$(id -u)" ]
  run sbx exec job echo inside
  assert_output "inside"
  run sbx kill -s KILL job
  assert_success
  run sbx wait job
  assert_output "137"
  run sbx rm job
  assert_success
}

@test "detached: exit codes are recorded; restart and start run it again in the background" {
  run sbx run -d --name job --network none "$IMAGE" sh -c 'echo run; exit 3'
  assert_success
  run sbx wait job
  assert_output "3"
  run sbx start job
  assert_success
  assert_output "job"
  run sbx wait job
  assert_output "3"
  run sbx logs job
  assert_output "run
run"
  run sbx restart -t 1 job
  assert_success
  run sbx wait job
  assert_output "3"
}

@test "detached: restart keeps a --rm container and its changes; it goes when it ends" {
  run sbx run -d --rm --name job "$IMAGE" sleep 1000
  assert_success
  local id=$output
  run sbx exec job sh -c 'echo kept >/f'
  assert_success
  run sbx restart -t 1 job
  assert_success
  run sbx exec job cat /f
  assert_success
  assert_output kept
  run sbx stop -t 1 job
  assert_success
  run sbx ps -a -q
  assert_success
  refute_output --partial "${id:0:12}"
  [ ! -e "$SBX_ROOT/containers/$id" ] || fail "container directory left: $SBX_ROOT/containers/$id"
}

@test "detached: a command that cannot start is reported by run -d itself" {
  run -127 sbx run -d --name job --network none "$IMAGE" /no/such/command
  assert_equal "$status" 127
  assert_output --partial "/no/such/command"
  run sbx run -d --rootfs "$ROOTFS" true
  assert_equal "$status" 125
  assert_output --partial "-d needs an image"
}

@test "detached: stop, kill, exec and logs of an unknown or stopped container fail cleanly" {
  run sbx logs nosuch
  assert_failure
  assert_output --partial "nosuch"
  run sbx run -d --name job --network none "$IMAGE" true
  assert_success
  run sbx wait job
  assert_output "0"
  run sbx exec job true
  assert_equal "$status" 125
  assert_output --partial "not running"
  run sbx kill job
  assert_failure
  assert_output --partial "not running"
  run sbx stop job
  assert_success
}

@test "pipes: seq 100000 | sbx run -i IMAGE wc -l, and exit codes through pipefail" {
  run bash -c 'seq 100000 | "$SBX" run --rm -i --network none "$1" wc -l' _ "$IMAGE"
  assert_success
  assert_output "100000"
  run bash -c 'set -o pipefail; echo x | "$SBX" run --rm -i --network none "$1" sh -c "cat; exit 4" | cat' _ "$IMAGE"
  assert_equal "$status" 4
  assert_output "x"
}
