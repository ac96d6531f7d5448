#!/usr/bin/env bats
# sbx unshare: a command as root of sbx's user namespace, in the caller's
# file system, working directory and environment.

# The sh -c scripts are expanded by the command, not here.
# shellcheck disable=SC2016

load helpers

setup() {
  sbx_test_setup
  require_userns
}

@test "unshare: the command runs as root, with the caller's cwd and environment" {
  cd "$BATS_TEST_TMPDIR"
  FR_MARK=kept run sbx unshare sh -c 'id -u; id -g; pwd; echo "$FR_MARK"'
  assert_success
  assert_output "$(printf '%s\n' 0 0 "$BATS_TEST_TMPDIR" kept)"
}

@test "unshare: without a command, \$SHELL runs" {
  run env SHELL=/bin/sh sbx unshare <<<'echo "shell as $(id -u)"'
  assert_success
  assert_output "shell as 0"
}

@test "unshare: exit status is the command's (127 not found, 128+N signal)" {
  run sbx unshare sh -c 'exit 7'
  assert_equal "$status" 7
  run -127 sbx unshare /nonexistent/command
  run sbx unshare sh -c 'kill -TERM $$'
  assert_equal "$status" 143
}

@test "unshare: single mode maps only the user, as 0" {
  SBX_USERNS_MODE=single run sbx unshare cat /proc/self/uid_map
  assert_success
  assert_output --regexp "^ +0 +$(id -u) +1$"
}

@test "unshare: subuid mode maps 1..65536 to the subordinate range" {
  require_mode subuid
  cd "$BATS_TEST_TMPDIR"
  run sbx unshare sh -c 'wc -l </proc/self/uid_map; touch f && chown 1:1 f && stat -c %u:%g f'
  assert_success
  assert_output "$(printf '2\n1:1')"
  first=$(sbx unshare awk '$1 == 1 { print $2 }' /proc/self/uid_map)
  assert_equal "$(stat -c %u f)" "$first"
  # Only the namespace may remove what it gave to another id.
  run sbx unshare rm f
  assert_success
  [ ! -e f ]
}
