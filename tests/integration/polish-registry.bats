#!/usr/bin/env bats
# Settings that need a registry: mirrors, and progress output (NO_COLOR).

# shellcheck disable=SC2030,SC2031

load helpers

FIX="$TESTS_DIR/fixtures"

setup_file() {
  [ -z "$(registry_tools_missing)" ] || return 0
  export IMAGES="$BATS_FILE_TMPDIR/images" REGDIR="$BATS_FILE_TMPDIR/registry"
  "$FIX/mkimages" "$IMAGES" busybox
  REGISTRY=$("$FIX/registry" start "$REGDIR")
  export REGISTRY
  "$FIX/push-images" "$REGDIR" "$IMAGES" busybox
}

teardown_file() {
  [ -z "${REGDIR:-}" ] || "$FIX/registry" stop "$REGDIR"
}

setup() {
  require_userns
  require_registry_tools
  sbx_test_setup
  export XDG_CONFIG_HOME="$BATS_TEST_TMPDIR/config"
  mkdir -p "$XDG_CONFIG_HOME/sbx"
  unset NO_COLOR
}

@test "polish: pull goes to a registry's mirror first" {
  # The registry itself does not exist: only the mirror can answer.
  printf '{"registry_mirrors": {"unreachable.invalid:5000": ["http://127.0.0.1:1", "http://%s"]}}\n' \
    "$REGISTRY" >"$XDG_CONFIG_HOME/sbx/config.json"
  run sbx pull -q unreachable.invalid:5000/sbx-test/busybox
  assert_success
  run sbx images --format '{{.Repository}}:{{.Tag}}'
  assert_output "unreachable.invalid:5000/sbx-test/busybox:latest"
}

@test "polish: progress bars on a terminal, none with NO_COLOR" {
  local esc=$'\033'
  run script -qec "$SBX pull $REGISTRY/sbx-test/busybox" /dev/null
  assert_success
  [[ $output == *"${esc}["* ]] || fail "no progress bar on a terminal: $output"
  sbx rmi "$REGISTRY/sbx-test/busybox" >/dev/null
  sbx image prune -a >/dev/null
  NO_COLOR=1 run script -qec "$SBX pull $REGISTRY/sbx-test/busybox" /dev/null
  assert_success
  [[ $output != *"${esc}["* ]] || fail "escape sequences with NO_COLOR: $output"
}
